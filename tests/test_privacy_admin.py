"""Personal-data requests in the moderators' web UI: one author's export and erasure, on the real
app over SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import asdict

import orjson
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from townsquare.config import load_settings
from townsquare.moderation import audit
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import comments

from .moderation_support import ORIGIN, PASSWORD, add_moderator, add_site, csrf_of, moderation_app, post

ANN = "ann@example.org"
ADMIN = "admin@example.org"


@pytest.fixture(params=["sqlite", "postgresql"])
def web(request, tmp_path):
    url = f"sqlite:///{tmp_path}/admin.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(url)
    migrate(engine)
    settings = load_settings(None, environ={}, db=url)
    add_site(engine, posts_per_minute=10_000)
    add_site(engine, "weekly", posts_per_minute=10_000)
    add_moderator(engine, ADMIN, role="admin")
    add_moderator(engine, "mod@weekly.example", sites=("weekly",))
    with TestClient(moderation_app(settings, engine), base_url="https://testserver", follow_redirects=False) as c:
        c.engine = engine
        yield c
    engine.dispose()


def sign_in(web, email=ADMIN) -> str:
    """Sign in and answer the CSRF token of the personal-data page."""
    form = web.get("/admin/login")
    resp = web.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf": csrf_of(form.text),
                                          "next": "/admin/privacy"})
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/privacy"
    page = web.get("/admin/privacy")
    assert page.status_code == 200 and 'href="/admin/privacy"' in page.text
    return csrf_of(page.text)


def thread(web, uri="/a") -> list[dict]:
    resp = web.get("/api/v1/threads", params={"site": "daily", "uri": uri})
    assert resp.status_code == 200
    return resp.json()["comments"]


def entries(web, action: str) -> list[dict]:
    return [asdict(e) for e in audit.entries(web.engine, audit.Filters(action=action))]


def conversation(web) -> dict[str, int]:
    """Ann opens a thread and is answered by Bob; she also leaves a comment nobody answers."""
    opening = post(web, "I was at the market this morning.", name="Ann", email=ANN)["comment"]["id"]
    answer = post(web, "So was I, Ann.", name="Bob", email="bob@example.org", parent_id=opening)["comment"]["id"]
    alone = post(web, "Nobody answers this one.", name="Ann", email="ANN@example.org")["comment"]["id"]
    return {"opening": opening, "answer": answer, "alone": alone}


def test_the_page_needs_a_session(web):
    resp = web.get("/admin/privacy")
    assert resp.status_code == 303 and resp.headers["location"].startswith("/admin/login")
    assert web.post("/admin/privacy/export", data={"email": ANN, "site": "daily"}).status_code == 303


def test_export_downloads_the_authors_comments_and_is_audited(web):
    ids = conversation(web)
    token = sign_in(web)
    resp = web.post("/admin/privacy/export",
                    data={"csrf": token, "email": " Ann@Example.org ", "site": "daily", "reason": "Request #7"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["content-disposition"].startswith('attachment; filename="townsquare-daily-')
    assert resp.headers["cache-control"] == "no-store"
    data = orjson.loads(resp.content)
    assert data["email"] == ANN
    assert sorted(c["id"] for c in data["comments"]) == sorted([ids["opening"], ids["alone"]])
    assert {c["text"] for c in data["comments"]} == {"I was at the market this morning.", "Nobody answers this one."}
    [entry] = entries(web, "privacy_export")
    assert entry["actor"] == ADMIN and entry["reason"] == "Request #7"
    assert entry["details"] == {"comments": 2, "subscriptions": 0}
    assert entry["target"].startswith("author:") and ANN not in entry["target"]
    assert thread(web)[0]["author"]["name"] == "Ann"  # an export changes nothing


def test_erase_asks_first_then_deletes_and_is_audited(web):
    ids = conversation(web)
    token = sign_in(web)
    form = {"csrf": token, "email": ANN, "site": "daily", "reason": "Asked by e-mail on 3 May"}
    ask = web.post("/admin/privacy/erase", data=form)
    assert ask.status_code == 200
    assert "2 comment(s)" in ask.text and 'name="confirmed" value="true"' in ask.text
    assert 'value="delete" checked' in ask.text  # deleting is the default
    assert len(thread(web)) == 2 and entries(web, "privacy_erase") == []  # nothing erased yet

    done = web.post("/admin/privacy/erase", data={**form, "csrf": csrf_of(ask.text), "mode": "delete", "confirmed": "true"})
    assert done.status_code == 303 and done.headers["location"].startswith("/admin/privacy?done=")
    assert "2 comment(s) deleted" in web.get(done.headers["location"]).text

    [opening] = thread(web)  # the unanswered comment is gone; the answered one stays as a placeholder
    assert opening["id"] == ids["opening"] and opening["status"] == "deleted"
    assert opening["author"]["name"] == "[deleted]" and "market" not in opening["html"]
    assert [r["id"] for r in opening["replies"]] == [ids["answer"]] and opening["replies"][0]["author"]["name"] == "Bob"
    with web.engine.connect() as conn:
        rows = conn.execute(select(comments.c.text, comments.c.author_email)
                            .where(comments.c.id.in_([ids["opening"], ids["alone"]]))).all()
    assert rows and all(r.text == "" and r.author_email is None for r in rows)
    [entry] = entries(web, "privacy_erase")
    assert entry["actor"] == ADMIN and entry["reason"] == "Asked by e-mail on 3 May"
    assert entry["details"] == {"mode": "delete", "comments": 2, "votes": 0, "subscriptions": 0, "identities": 0}


def test_anonymise_keeps_the_words_and_removes_proven_votes(web):
    ids = conversation(web)
    vote = web.post(f"/api/v1/comments/{ids['answer']}/vote", json={"value": 1}, headers=ORIGIN)
    assert vote.status_code == 200, vote.text
    token = sign_in(web)
    done = web.post("/admin/privacy/erase", data={
        "csrf": token, "email": ANN, "site": "daily", "reason": "GDPR request", "mode": "anonymise",
        "voter_tokens": vote.headers["x-townsquare-voter"], "confirmed": "true"})
    assert done.status_code == 303
    shown = {c["id"]: c for c in thread(web)}
    assert shown[ids["alone"]]["author"]["name"] == "Anonymous" and "Nobody answers" in shown[ids["alone"]]["html"]
    assert shown[ids["opening"]]["replies"][0]["likes"] == 0
    [entry] = entries(web, "privacy_erase")
    assert entry["details"] == {"mode": "anonymise", "comments": 2, "votes": 1, "subscriptions": 0, "identities": 0}


def test_a_moderator_of_another_site_is_refused(web):
    conversation(web)
    token = sign_in(web, "mod@weekly.example")
    page = web.get("/admin/privacy").text
    assert "<option>weekly</option>" in page and "<option>daily</option>" not in page
    for path, extra in (("/admin/privacy/export", {}), ("/admin/privacy/erase", {"confirmed": "true"})):
        resp = web.post(path, data={"csrf": token, "email": ANN, "site": "daily", "reason": "curious", **extra})
        assert resp.status_code == 403 and "You do not moderate this site." in resp.text
    assert len(thread(web)) == 2
    assert entries(web, "privacy_export") == [] and entries(web, "privacy_erase") == []


def test_a_form_without_its_csrf_token_is_refused(web):
    conversation(web)
    sign_in(web)
    resp = web.post("/admin/privacy/erase", data={"email": ANN, "site": "daily", "reason": "x", "confirmed": "true"})
    assert resp.status_code == 403 and "reload the page" in resp.text
    export = web.post("/admin/privacy/export", data={"csrf": "forged", "email": ANN, "site": "daily", "reason": "x"})
    assert export.status_code == 403 and export.headers["content-type"].startswith("text/html")
    assert len(thread(web)) == 2 and entries(web, "privacy_erase") == [] and entries(web, "privacy_export") == []


@pytest.mark.parametrize(("change", "message"), [
    ({"email": "not-an-address"}, "is not an e-mail address"),
    ({"reason": "  "}, "Say why"),
    ({"site": "nowhere"}, "Choose a site."),
    ({"mode": "shred"}, "deleted or anonymised"),
    ({"voter_tokens": "not-a-token"}, "voter token is not valid"),
])
def test_bad_input_comes_back_on_the_form_and_erases_nothing(web, change, message):
    conversation(web)
    token = sign_in(web)
    form = {"csrf": token, "email": ANN, "site": "daily", "reason": "Request #9", "confirmed": "true", **change}
    resp = web.post("/admin/privacy/erase", data=form)
    assert resp.status_code == 422 and message in resp.text
    assert f'value="{form["reason"]}"' in resp.text  # what was typed is kept
    assert len(thread(web)) == 2 and entries(web, "privacy_erase") == []
