"""The admins' site-settings page: the settings in force, errors next to their fields with nothing
stored, a change stored and audit-logged, CSRF required, moderators refused."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate
from townsquare.store.moderation import audit_log

from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, moderation_app

FORM = {"moderation": "post", "require_identity": "none", "email_sign_in": "on", "tell_authors_why": "on",
        "erasure": "delete", "edit_window": "900", "min_length": "1", "max_length": "10000", "max_name_length": "100",
        "posts_per_minute": "10", "votes_per_minute": "60", "reports_to_hold": "3"}


@pytest.fixture
def web(tmp_path):
    url = f"sqlite:///{tmp_path}/settings.db"
    engine = make_engine(url)
    migrate(engine)
    add_site(engine)
    add_moderator(engine, "admin@daily.example", role="admin")
    add_moderator(engine, "mod@daily.example")
    with TestClient(moderation_app(load_settings(None, environ={}, db=url), engine), base_url="https://testserver",
                    follow_redirects=False) as c:
        c.engine = engine
        yield c
    engine.dispose()


def sign_in(web, email="admin@daily.example"):
    form = web.get("/admin/login")
    assert web.post("/admin/login", data={"email": email, "password": PASSWORD, "csrf": csrf_of(form.text),
                                          "next": "/admin/settings"}).status_code == 303


def stored(web) -> dict:
    with web.engine.connect() as conn:
        return site_store.by_name(conn, "daily").settings


def test_a_change_is_stored_and_audit_logged(web):
    sign_in(web)
    page = web.get("/admin/settings")
    assert page.status_code == 200 and 'name="edit_window" value="900"' in page.text
    resp = web.post("/admin/settings", data={**FORM, "site": "daily", "csrf": csrf_of(page.text), "moderation": "pre",
                                             "reports_to_hold": "5"})
    assert resp.status_code == 303 and "Saved+2+settings" in resp.headers["location"]
    assert stored(web) == {"moderation": "pre", "reports_to_hold": 5}  # only what changed
    with web.engine.connect() as conn:
        entry = conn.execute(select(audit_log).where(audit_log.c.action == "site_settings")).one()
    assert entry.actor == "admin@daily.example"
    assert orjson.loads(entry.details)["reports_to_hold"] == {"from": None, "to": 5}
    assert "<option selected>pre</option>" in web.get("/admin/settings").text


def test_errors_come_back_next_to_their_fields_and_nothing_is_stored(web):
    sign_in(web)
    page = web.get("/admin/settings")
    resp = web.post("/admin/settings", data={**FORM, "site": "daily", "csrf": csrf_of(page.text), "edit_window": "-1",
                                             "max_length": "lots", "moderation": "sometimes"})
    assert resp.status_code == 422
    html = resp.text
    assert 'id="err-edit_window"' in html and 'id="err-max_length">Type a whole number.' in html
    assert 'id="err-moderation"' in html and 'aria-invalid="true"' in html
    assert 'value="lots"' in html  # what was typed comes back
    assert stored(web) == {}


def test_needs_the_csrf_token_and_an_admin(web):
    sign_in(web)
    assert web.post("/admin/settings", data={**FORM, "site": "daily", "csrf": "forged", "moderation": "pre"}).status_code == 403
    assert stored(web) == {}
    web.cookies.clear()
    sign_in(web, "mod@daily.example")
    page = web.get("/admin/settings")
    assert page.status_code == 403
    assert web.post("/admin/settings", data={**FORM, "site": "daily", "csrf": csrf_of(page.text),
                                             "moderation": "pre"}).status_code == 403
    assert stored(web) == {}


def test_needs_a_session(web):
    assert web.get("/admin/settings").headers["location"] == "/admin/login?next=%2Fadmin%2Fsettings"
    assert web.post("/admin/settings", data={**FORM, "site": "daily", "moderation": "pre"}).status_code == 303
    assert stored(web) == {}
