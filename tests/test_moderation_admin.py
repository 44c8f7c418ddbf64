"""The moderators' web UI without a browser: sign-in, throttling, CSRF, the queue page, actions."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from townsquare.config import load_settings
from townsquare.moderation import auth
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import comments

from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, moderation_app, post


@pytest.fixture
def web(tmp_path):
    url = f"sqlite:///{tmp_path}/admin.db"
    engine = make_engine(url)
    migrate(engine)
    settings = load_settings(None, environ={}, db=url)
    add_site(engine, posts_per_minute=10_000)
    add_moderator(engine)
    with TestClient(moderation_app(settings, engine), base_url="https://testserver", follow_redirects=False) as c:
        c.engine = engine
        yield c
    engine.dispose()


def sign_in(web, password=PASSWORD):
    form = web.get("/admin/login")
    return web.post("/admin/login", data={"email": "MOD@daily.example", "password": password,
                                          "csrf": csrf_of(form.text), "next": "/admin/queue/pending"})


@pytest.mark.parametrize("path", ["/admin/queue/pending", "/admin/audit", "/admin/bans", "/admin/privacy", "/admin/words",
                                  "/admin/alerts"])
def test_pages_need_a_session(web, path):
    resp = web.get(path)
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/login?next=" + quote(path, safe="")


def test_alert_deliveries_are_for_admins(web):
    sign_in(web)  # a moderator of one site: the page names subscribers' addresses
    assert "/admin/alerts" not in web.get("/admin/queue/pending").text
    refused = web.get("/admin/alerts")
    assert refused.status_code == 403 and "Only admins" in refused.text
    add_moderator(web.engine, email="ed@daily.example", role="admin")
    web.cookies.clear()
    form = web.get("/admin/login")
    web.post("/admin/login", data={"email": "ed@daily.example", "password": PASSWORD, "csrf": csrf_of(form.text)})
    page = web.get("/admin/alerts")
    assert page.status_code == 200 and "Alert deliveries · daily" in page.text and "No alerts yet." in page.text
    assert web.get("/admin/alerts", params={"site": "nope"}).status_code == 404


def test_forms_need_a_session_and_change_nothing(web):
    held = post(web, "Ring +2348136370421 now", name="Caller")["comment"]["id"]
    resp = web.post("/admin/bulk", data={"csrf": "x", "action": "approve", "ids": [held], "back": "/admin/queue/pending"})
    assert resp.status_code == 303 and resp.headers["location"].startswith("/admin/login")
    sign_in(web)
    assert f'data-id="{held}"' in web.get("/admin/queue/pending").text


def test_sign_in_sets_a_strict_session_cookie_and_shows_the_queue(web):
    held = post(web, "Ring +2348136370421 now", name="Caller")["comment"]["id"]
    resp = sign_in(web)
    assert resp.status_code == 303 and resp.headers["location"] == "/admin/queue/pending"
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" in cookie
    page = web.get("/admin/queue/pending")
    assert page.status_code == 200
    assert f'data-id="{held}"' in page.text
    assert '<mark title="phone_number">+2348136370421</mark>' in page.text


def test_wrong_password_then_throttling(web):
    for _ in range(auth.FAILURES_BEFORE_LOCK):
        resp = sign_in(web, "wrong password!")
        assert resp.status_code == 401 and "Wrong e-mail or password." in resp.text
    throttled = sign_in(web)  # even the right password waits now
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
    assert 0 < int(throttled.headers["Retry-After"]) <= auth.LOCK_SECONDS


def test_passwords_are_checked_with_no_transaction_open(web, monkeypatch):
    """argon2 takes a good part of a second: while it runs, no connection (and so no write lock)
    is held, whether the password is right or wrong."""
    from townsquare.accounts import verify_password

    held_while_verifying = []

    def verify(password_hash, password):
        held_while_verifying.append(web.engine.pool.checkedout())
        return verify_password(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", verify)
    assert sign_in(web, "wrong password!").status_code == 401
    assert sign_in(web).status_code == 303
    assert held_while_verifying == [0, 0]


def test_approving_a_deleted_comment_is_refused(web):
    from townsquare.store import comments as comment_store

    held = post(web, "Ring +2348136370421 now")["comment"]["id"]
    sign_in(web)
    token = csrf_of(web.get("/admin/queue/pending").text)
    with web.engine.begin() as conn:
        comment_store.update_comment(conn, held, status="deleted")
    resp = web.post("/admin/bulk", data={"csrf": token, "action": "approve", "ids": [held], "back": "/admin/queue/all"})
    assert "Not done: This comment was deleted." in web.get(resp.headers["location"]).text
    with web.engine.connect() as conn:
        assert conn.execute(select(comments.c.status).where(comments.c.id == held)).scalar() == "deleted"


def test_actions_need_the_csrf_token(web):
    held = post(web, "Ring +2348136370421 now")["comment"]["id"]
    sign_in(web)
    forged = web.post(f"/admin/comments/{held}/approve", data={"back": "/admin/queue/pending"})
    assert forged.status_code == 403
    with web.engine.connect() as conn:
        assert conn.execute(select(comments.c.status).where(comments.c.id == held)).scalar() == "pending"
    token = csrf_of(web.get("/admin/queue/pending").text)
    done = web.post(f"/admin/comments/{held}/approve", data={"csrf": token, "back": "/admin/queue/pending"})
    assert done.status_code == 303 and "Approved+comment" in done.headers["location"]
    with web.engine.connect() as conn:
        assert conn.execute(select(comments.c.status).where(comments.c.id == held)).scalar() == "published"


def test_refused_action_comes_back_as_a_notice(web):
    held = post(web, "Ring +2348136370421 now")["comment"]["id"]
    sign_in(web)
    token = csrf_of(web.get("/admin/queue/pending").text)
    resp = web.post(f"/admin/comments/{held}/reject", data={"csrf": token, "back": "/admin/queue/pending", "reason": " "})
    assert resp.status_code == 303
    page = web.get(resp.headers["location"])
    assert "Not done: Say why the comment is rejected." in page.text


def test_bulk_approve_and_sign_out(web):
    ids = [post(web, f"Number {n}: +2348136370421")["comment"]["id"] for n in range(3)]
    sign_in(web)
    token = csrf_of(web.get("/admin/queue/pending").text)
    resp = web.post("/admin/bulk", data={"csrf": token, "action": "approve", "ids": ids[:2], "back": "/admin/queue/pending"})
    assert "Approved+2+comments" in resp.headers["location"]
    page = web.get("/admin/queue/pending").text
    assert f'data-id="{ids[2]}"' in page and f'data-id="{ids[0]}"' not in page
    web.post("/admin/logout", data={"csrf": token})
    assert web.get("/admin/queue/pending").status_code == 303
