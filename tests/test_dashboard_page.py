"""The dashboard page and its CSV downloads (server-rendered; the browser test checks the drawing)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from townsquare.config import load_settings
from townsquare.store import threads as thread_store
from townsquare.store.db import make_engine, migrate

from .dashboard_support import generate
from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, moderation_app
from .store_support import insert_comment


@pytest.fixture
def web(db_url):  # SQLite and PostgreSQL
    url = db_url
    engine = make_engine(url)
    migrate(engine)
    site_id = add_site(engine)
    add_moderator(engine)
    with TestClient(moderation_app(load_settings(None, environ={}, db=url), engine), base_url="https://testserver",
                    follow_redirects=False) as c:
        c.engine, c.site_id = engine, site_id
        yield c
    engine.dispose()


def sign_in(web):
    form = web.get("/admin/login")
    resp = web.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD, "csrf": csrf_of(form.text),
                                          "next": "/admin/"})
    assert resp.status_code == 303


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("path", ["/admin/dashboard", "/admin/dashboard.csv?chart=days"])
def test_needs_a_session(web, path):
    resp = web.get(path)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/admin/login?next=")


def test_admin_home_is_the_dashboard_with_charts_and_tables(web):
    expected = generate(web.engine, web.site_id, days=30)
    sign_in(web)
    assert web.get("/admin/").headers["location"] == "/admin/dashboard"
    page = web.get("/admin/dashboard")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">Dashboard' in html.replace("\n", "")
    assert html.count("<svg class=\"chart") == 4 and html.count("<details class=\"figures\">") == 4
    assert " style=" not in html and "<style" not in html  # the CSP allows neither
    assert 'viewBox="0 0 400' in html and 'width="100%"' in html
    assert f'id="queue-pending"><a href="/admin/queue/pending?site=daily">{expected["pending"]}</a>' in html
    for uri in expected["top_threads"]:
        assert f"{uri} · {expected['top_threads'][uri]} comments" in html
    assert 'href="/admin/queue/all?site=daily"' in html


def test_days_csv_equals_the_figures(web):
    expected = generate(web.engine, web.site_id, days=7)
    sign_in(web)
    resp = web.get("/admin/dashboard.csv", params={"site": "daily", "days": 7, "chart": "days"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"].startswith('attachment; filename="townsquare-daily-days-')
    rows = rows_of(resp.text)
    assert rows[0] == ["date", "published", "held", "rejected", "deleted", "reports", "votes", "commenters"]
    assert rows[1:] == [[str(v) for v in d.values()] for d in expected["per_day"]]
    toxicity = rows_of(web.get("/admin/dashboard.csv", params={"days": 7, "chart": "toxicity"}).text)
    assert [int(r[2]) for r in toxicity[1:]] == expected["toxicity"]


def test_csv_cells_cannot_be_formulas(web):
    with web.engine.begin() as conn:
        for uri, title in [("/=cmd", "=HYPERLINK(\"http://evil\")"), ("/plus", "+1+1"), ("/minus", "-2"), ("/at", "@SUM(A1)")]:
            thread = thread_store.get_or_create(conn, web.site_id, uri, title, "")
            insert_comment(conn, {"thread_id": thread.id, "author_name": "A", "text": "t"})
    sign_in(web)
    rows = rows_of(web.get("/admin/dashboard.csv", params={"chart": "threads"}).text)
    titles = {r[1] for r in rows[1:]}
    assert titles == {"'=HYPERLINK(\"http://evil\")", "'+1+1", "'-2", "'@SUM(A1)"}
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.parametrize("query", ["days=0", "days=400", "days=x", "chart=pie"])
def test_bad_input_is_a_4xx(web, query):
    sign_in(web)
    path = "/admin/dashboard.csv?" + ("chart=days&" if "chart" not in query else "") + query
    assert web.get(path).status_code == 422
    if "chart" not in query:
        assert web.get("/admin/dashboard?" + query).status_code == 422


def test_another_site_is_refused(web):
    add_site(web.engine, "weekly")
    sign_in(web)
    assert web.get("/admin/dashboard?site=weekly").status_code == 403
    assert web.get("/admin/dashboard?site=nowhere").status_code == 404


def test_a_threads_view_is_reached_from_the_dashboard_and_the_queue(web):
    expected = generate(web.engine, web.site_id, days=30)
    sign_in(web)
    uri = max(expected["top_threads"], key=expected["top_threads"].get)
    thread_link = "/admin/dashboard?" + urlencode({"site": "daily", "thread": uri})
    assert thread_link.replace("&", "&amp;") in web.get("/admin/queue/all?site=daily").text  # each item's thread title
    assert ("/admin/dashboard?" + urlencode({"site": "daily", "days": 30, "thread": uri})).replace("&", "&amp;") \
        in web.get("/admin/dashboard").text  # the busiest threads' titles
    page = web.get(thread_link)
    assert page.status_code == 200
    html = page.text
    assert "<h1>Thread · Story " in html and html.count('<svg class="chart') == 3  # no busiest threads
    want = expected["threads"][uri]
    scope = urlencode({"site": "daily", "thread": uri}).replace("&", "&amp;")
    assert f'id="queue-pending"><a href="/admin/queue/pending?{scope}">{want["pending"]}</a>' in html
    assert f'href="/admin/queue/all?{scope}"' in html  # the per-day chart's comments in the queue
    assert f'href="/admin/dashboard.csv?{scope}&amp;days=30&amp;chart=days"' in html

    # The chart's link goes to the queue filtered to the thread: only its comments, links kept.
    queue = web.get(f"/admin/queue/all?{urlencode({'site': 'daily', 'thread': uri})}")
    assert queue.status_code == 200
    shown = re.findall(r'<span class="where">#\d+ · daily · <a href="([^"]+)"', queue.text)
    assert shown and {unescape(h) for h in shown} == {"/admin/dashboard?" + urlencode({"site": "daily", "thread": uri})}
    assert f'href="/admin/queue/pending?{scope}"' in queue.text  # the tabs stay on the thread
    assert f'name="back" value="/admin/queue/all?{scope}"' in queue.text  # and so do its actions

    # CSV of the thread's figures
    resp = web.get("/admin/dashboard.csv", params={"site": "daily", "days": 30, "chart": "days", "thread": uri})
    assert resp.status_code == 200 and "-thread-" in resp.headers["content-disposition"]
    assert rows_of(resp.text)[1:] == [[str(v) for v in d.values()] for d in want["per_day"]]
    reasons = rows_of(web.get("/admin/dashboard.csv", params={"chart": "reasons", "thread": uri}).text)
    assert {r[0]: int(r[1]) for r in reasons[1:]} == want["held_reasons"]


def test_an_unknown_thread_is_a_404_page(web):
    generate(web.engine, web.site_id, days=3)
    sign_in(web)
    for path in ("/admin/dashboard?thread=/nowhere", "/admin/queue/pending?site=daily&thread=/nowhere"):
        resp = web.get(path)
        assert resp.status_code == 404 and "There is no thread" in resp.text, path
    csv_resp = web.get("/admin/dashboard.csv?chart=days&thread=/nowhere")
    assert csv_resp.status_code == 404 and csv_resp.headers["content-type"].startswith("application/problem+json")
    assert web.get("/admin/dashboard?thread=" + "x" * 2001).status_code == 422
