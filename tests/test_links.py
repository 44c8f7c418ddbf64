"""Links: every stored URL is http(s), checked at input (422 otherwise), and every rendered link
goes through one rule, so a URL stored before the check (or written straight into the database)
never becomes a `javascript:` link in a page, a feed or an alert mail."""

from __future__ import annotations

import hashlib
import re

import feedparser
import orjson
import pytest
from starlette.testclient import TestClient

from townsquare.alerts.channels import Item, Outgoing
from townsquare.alerts.templating import render
from townsquare.config import load_settings
from townsquare.domain.validate import http_url, link_target
from townsquare.store import sites as site_store
from townsquare.store import threads
from townsquare.store.db import make_engine, migrate
from townsquare.web.paths import TEMPLATES

from tests.moderation_support import ORIGIN, PASSWORD, add_moderator, csrf_of, moderation_app
from tests.store_support import insert_comment

API_KEY = "site-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
BAD = ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "\x01javascript:alert(1)",
       "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "javascript://%0aalert(1)",
       "http:", "https:///nohost", "http://[::1", "ftp://example.org/a"]
GOOD = ["https://daily.example/a", "http://daily.example/a?b=c#d", "HTTPS://Daily.example/"]


@pytest.mark.parametrize("url", BAD)
def test_unsafe_urls_are_neither_stored_nor_linked(url):
    assert http_url(url) is None
    assert link_target(url) is None


@pytest.mark.parametrize("url", ['https://x"><svg onload=alert(1)>', "https://daily.example/a b"])
def test_urls_no_browser_would_send_are_not_stored(url):
    assert http_url(url) is None
    assert link_target(url) == url  # escaped when rendered; only the scheme decides a link


@pytest.mark.parametrize("url", GOOD)
def test_http_urls_are_stored_and_linked(url):
    assert http_url(url) == url.strip()
    assert link_target(url) == url.strip()


@pytest.mark.parametrize("url", ["/t/daily/a", "?site=daily", "#c1", "//daily.example/a", "page.html"])
def test_relative_references_are_linked_but_not_stored(url):
    assert link_target(url) == url
    assert http_url(url) is None


def test_no_scheme_hidden_before_the_first_slash():
    assert link_target("1javascript:alert(1)") is None


# -- input ------------------------------------------------------------------------------------------
@pytest.fixture
def app_parts(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/links.db")
    migrate(engine)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", ["https://daily.example"], {
            "moderation_rules": {"author_rate": 1000, "ip_rate": 1000, "min_submit_seconds": 0, "repeat_window": 0}})
        site_store.update_site(conn, site_id, api_key_hash=hashlib.sha256(API_KEY.encode()).hexdigest())
    settings = load_settings(None, environ={}, db=str(engine.url), rate_limits="off",
                             alerts={"worker_in_serve": False}, public_url="https://comments.daily.example")
    app = moderation_app(settings, engine)
    # https, as public_url says: the admin's cookies are Secure and the client sends them back.
    with TestClient(app, base_url="https://testserver") as client:
        yield client, engine, site_id
    engine.dispose()


def comment(**extra):
    body = {"site": "daily", "uri": "/a", "text": "Hello there", "author": {"name": "Ann"}}
    return {**body, **extra}


INPUTS = {
    "comment url": ("POST", "/api/v1/comments", lambda url: comment(url=url), "url"),
    "author website": ("POST", "/api/v1/comments", lambda url: comment(author={"name": "Ann", "website": url}),
                       "author.website"),
    "alert sign-up url": ("POST", "/api/v1/subscriptions",
                          lambda url: {"site": "daily", "kind": "thread", "address": "r@example.org", "uri": "/a",
                                       "url": url}, "url"),
    "article url": ("POST", "/api/v1/articles", lambda url: {"site": "daily", "url": url, "title": "A"}, "url"),
    "article feed url": ("PUT", "/api/v1/article-feed", lambda url: {"site": "daily", "url": url}, "url"),
}
# Webhook addresses have further rules of their own (where they may point); the scheme rule holds.
REFUSING = {**INPUTS, "webhook url": ("POST", "/api/v1/webhooks",
                                      lambda url: {"site": "daily", "url": url, "events": ["thread"]}, "url")}


@pytest.mark.parametrize("where", REFUSING)
@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "vbscript:msgbox(1)"])
def test_each_input_refuses_a_url_that_is_not_http(app_parts, where, url):
    client, _, _ = app_parts
    method, path, body, field = REFUSING[where]
    resp = client.request(method, path, json=body(url), headers={**ORIGIN, **AUTH})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["field"] == field


def test_each_input_takes_an_http_url(app_parts):
    client, _, _ = app_parts
    for where, (method, path, body, _) in INPUTS.items():
        resp = client.request(method, path, json=body("https://daily.example/a"), headers={**ORIGIN, **AUTH})
        assert resp.status_code < 300, (where, resp.text)


# -- stored before the check -------------------------------------------------------------------------
JS = "javascript:alert(document.domain)"


@pytest.fixture
def stored_bad_urls(app_parts):
    """A thread whose URL and an author whose website are `javascript:`, written past the API."""
    client, engine, site_id = app_parts
    with engine.begin() as conn:
        thread = threads.get_or_create(conn, site_id, "/bad", "Bad links", JS)
        published = insert_comment(conn, {"thread_id": thread.id, "author_name": "Mallory", "author_website": JS,
                                          "text": "published", "html": "<p>published</p>"})
        pending = insert_comment(conn, {"thread_id": thread.id, "author_name": "Mallory", "author_website": JS,
                                        "text": "pending", "html": "<p>pending</p>", "status": "pending"})
    return client, engine, published, pending


def test_a_stored_javascript_url_is_not_a_link_in_the_admin_queue(stored_bad_urls):
    client, engine, _, pending = stored_bad_urls
    add_moderator(engine)
    form = client.get("/admin/login")
    client.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD, "csrf": csrf_of(form.text)})
    page = client.get("/admin/queue/pending")
    assert page.status_code == 200 and f'id="c{pending}"' in page.text
    assert "javascript:" not in page.text.lower()
    # The title opens the thread's figures; the link to the article's page is inert.
    assert re.search(r'<a href="/admin/dashboard\?[^"]*"[^>]*>Bad links</a>', page.text)
    assert re.search(r'<a href="#"[^>]*>page</a>', page.text)


def test_a_stored_javascript_url_is_not_a_link_on_the_plain_page(stored_bad_urls):
    client, _, published, _ = stored_bad_urls
    page = client.get("/t/daily/bad")
    assert page.status_code == 200 and f'id="c{published}"' in page.text
    assert "javascript:" not in page.text.lower()
    assert "Read the article" not in page.text  # no article link rather than a dead one
    assert "<b>Mallory</b>" in page.text  # the name, without the website link


def test_a_stored_javascript_url_is_not_a_link_in_the_feeds(stored_bad_urls):
    client, _, published, _ = stored_bad_urls
    for path in ("/feeds/daily/thread.atom?uri=/bad", "/feeds/daily/recent.atom"):
        feed = client.get(path)
        assert feed.status_code == 200
        assert "javascript:" not in feed.text.lower()
        parsed = feedparser.parse(feed.content)
        [entry] = parsed.entries
        assert entry.id.endswith(f"/comment/{published}")
        assert all(link.href.startswith("http") for link in [*parsed.feed.links, *entry.get("links", [])])


def test_a_stored_javascript_url_is_not_a_link_in_an_alert_mail():
    item = Item(kind="thread", title="Bad links", url=JS + "#comment-1", author="Mallory", text="hi", event={})
    message = Outgoing(key="k", kind="thread", channel="email", target="r@example.org", site_title="Daily",
                       subject="s", items=(item,), unsubscribe_url="https://c.example/alerts/unsubscribe?token=t",
                       manage_url="https://c.example/alerts/manage?token=t")
    html = render("email.html", m=message)
    assert "javascript:" not in html.lower()
    assert '<a href="#">Read and reply</a>' in html
    assert 'href="https://c.example/alerts/unsubscribe?token=t"' in html


# -- templates ----------------------------------------------------------------------------------------
def test_every_link_a_template_builds_from_data_goes_through_safe_url():
    """An `href`/`src`/`action` whose value starts with data (a `{{ … }}`) must be `|safe_url`, a
    variable set from `|safe_url`, or the thread pages' own `link(…)`; one that starts with a fixed
    path ("/admin/…", "?…", "#…") cannot carry a scheme."""
    unchecked = []
    for path in TEMPLATES.rglob("*.html"):
        text = re.sub(r"<pre>.*?</pre>", "", path.read_text(), flags=re.S)  # markup shown as text
        checked = set(re.findall(r"{%\s*set\s+(\w+)\s*=[^%]*\|safe_url", text))
        for expr in re.findall(r'(?:href|src|action|formaction)="{{\s*([^}]*?)\s*}}', text):
            if "|safe_url" in expr or expr.startswith("link(") or expr in checked:
                continue
            unchecked.append(f"{path.relative_to(TEMPLATES)}: {expr}")
    assert unchecked == []


def test_the_filter_is_the_one_rule():
    from townsquare.web.templating import templates

    env_filter = templates.filters["safe_url"]
    assert env_filter(JS) == "#" and env_filter(JS, None) is None
    assert env_filter("https://daily.example/a") == "https://daily.example/a"
    assert "http_url" not in templates.filters  # one filter, not two with different rules


# -- imports --------------------------------------------------------------------------------------------
def export_file(tmp_path, *, origins=("https://imp.example",)):
    """An own-format file: one site, a thread with a `javascript:` URL and one with an http(s) URL,
    and comments whose websites are `javascript:`, a bare host and an address."""
    def comment(ref, thread, website):
        return {"type": "comment", "site": "imp", "thread": thread, "ref": ref, "parent": None,
                "author": {"name": "Ann", "email": None, "website": website, "key": None}, "ip_hash": None,
                "text": "Hello", "quote": None, "html": "<p>Hello</p>", "status": "published", "created": 1.0,
                "edited": None, "likes": 0, "dislikes": 0, "moderation": None, "votes": []}

    lines = [{"type": "header", "format": "townsquare", "version": 1},
             {"type": "site", "name": "imp", "title": "Imp", "origins": list(origins), "settings": {}, "created": 1.0},
             {"type": "thread", "site": "imp", "uri": "/bad", "title": "Bad", "url": JS, "closed": False, "created": 1.0},
             {"type": "thread", "site": "imp", "uri": "/good", "title": "Good", "url": "https://imp.example/good",
              "closed": False, "created": 1.0},
             comment("c1", "/bad", JS), comment("c2", "/good", "ann.example"), comment("c3", "/good", "https://ann.example/")]
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def test_an_import_keeps_only_http_links(tmp_path):
    from tests.test_import_support import run_import, sqlite_database, stored
    from townsquare.importers.run import ensure_sites

    engine = sqlite_database(tmp_path)
    path = export_file(tmp_path)
    ensure_sites(engine, path, ["imp"])
    run_import(engine, "jsonl", path, site="imp")
    rows = stored(engine)
    assert [r["author_website"] for r in rows] == [None, "https://ann.example", "https://ann.example/"]
    with engine.connect() as conn:
        site = site_store.by_name(conn, "imp")
        assert threads.by_uri(conn, site.id, "/bad").url == ""
        assert threads.by_uri(conn, site.id, "/good").url == "https://imp.example/good"


def test_an_import_refuses_a_site_origin_that_is_not_http(tmp_path):
    from tests.test_import_support import sqlite_database
    from townsquare.importers.loader import ImportProblem
    from townsquare.importers.run import ensure_sites

    engine = sqlite_database(tmp_path)
    with pytest.raises(ImportProblem, match="javascript:"):
        ensure_sites(engine, export_file(tmp_path, origins=["https://imp.example", JS]), ["imp"])
    with engine.connect() as conn:
        assert site_store.by_name(conn, "imp") is None
