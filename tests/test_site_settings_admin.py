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

from .moderation_support import PASSWORD, add_moderator, add_site, csrf_of, moderation_app, page_form

FORM = {"moderation": "post", "require_identity": "none", "email_sign_in": "on", "tell_authors_why": "on",
        "erasure": "delete", "edit_window": "900", "min_length": "1", "max_length": "10000", "max_name_length": "100",
        "posts_per_minute": "10", "votes_per_minute": "60", "reports_to_hold": "3"}


@pytest.fixture
def web(db_url):  # SQLite and PostgreSQL
    url = db_url
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


def post_form(web, form: dict[str, list[str]], **changes):
    data = {**form, **{k.replace("__", "."): v for k, v in changes.items()}}
    return web.post("/admin/settings", data=data)


def test_every_site_setting_is_on_the_page():
    from townsquare.config import SiteSettings
    from townsquare.moderation.settings import ModerationRules
    from townsquare.site_config import FORM_FIELDS, OWN_PAGE

    every = {k for k in SiteSettings.model_fields if k != "moderation_rules"} | {
        f"moderation_rules.{k}" for k in ModerationRules.model_fields}
    assert every - OWN_PAGE == set(FORM_FIELDS)
    assert OWN_PAGE == {"moderation_rules.banned_words", "moderation_rules.suspect_words"}  # the words page


def test_the_page_shows_every_field_and_an_untouched_post_changes_nothing(web):
    from townsquare.site_config import FIELDS

    sign_in(web)
    html = web.get("/admin/settings").text
    for f in FIELDS:
        assert f'id="field-{f.name}"' in html, f.name
    assert 'name="close_after_days" value=""' in html
    form = page_form(html)
    resp = web.post("/admin/settings", data=form)
    assert resp.status_code == 303 and "Nothing+changed" in resp.headers["location"], resp.text[-2000:]
    assert stored(web) == {}


def test_nested_optional_and_list_settings_are_stored_and_shown(web):
    sign_in(web)
    form = page_form(web.get("/admin/settings").text)
    form["flags_shown"] = form["flags_shown"]  # the boxes the page showed
    form.pop("moderation_rules.toxicity")  # unticked: the model is switched off
    resp = post_form(web, form, close_after_days="14", moderation_rules__max_links="0",
                     moderation_rules__allowed_domains="example.org\n  daily.example \n",
                     moderation_rules__hold_thresholds__insult="0.7", moderation_rules__hold_thresholds__threat="",
                     moderation_rules__reject_thresholds__threat="0.95",
                     moderation_rules__trusted_skip=["", "links", "rate"], moderation_rules__auto_hold_score="0.65")
    assert resp.status_code == 303, [line for line in resp.text.splitlines() if "error" in line]
    assert stored(web) == {"close_after_days": 14, "moderation_rules": {
        "max_links": 0, "allowed_domains": ["example.org", "daily.example"], "toxicity": False,
        "hold_thresholds": {"insult": 0.7}, "reject_thresholds": {"threat": 0.95},
        "trusted_skip": ["links", "rate"], "auto_hold_score": 0.65}}
    with web.engine.connect() as conn:
        details = orjson.loads(conn.execute(select(audit_log.c.details).where(audit_log.c.action == "site_settings")).scalar_one())
    assert details["close_after_days"] == {"from": None, "to": 14}
    assert details["moderation_rules.hold_thresholds.insult"] == {"from": None, "to": 0.7}
    html = web.get("/admin/settings").text
    assert 'name="close_after_days" value="14"' in html and "example.org\ndaily.example</textarea>" in html
    assert 'name="moderation_rules.hold_thresholds.insult" value="0.7"' in html

    # Emptied, the optional setting drops the site's own value: the instance default (none) again.
    form = page_form(html)
    assert post_form(web, form, close_after_days="").status_code == 303
    assert "close_after_days" not in stored(web)


def test_nested_errors_come_back_next_to_their_fields_as_typed(web):
    sign_in(web)
    form = page_form(web.get("/admin/settings").text)
    resp = post_form(web, form, close_after_days="0", moderation_rules__hold_thresholds__insult="2",
                     moderation_rules__heat_hostility="lots", moderation_rules__near_duplicate_similarity="nan",
                     sso_public_key="not a key", moderation_rules__allowed_domains="a\x01b")
    assert resp.status_code == 422
    html = resp.text
    for name in ("close_after_days", "moderation_rules.hold_thresholds", "moderation_rules.heat_hostility",
                 "moderation_rules.near_duplicate_similarity", "sso_public_key", "moderation_rules.allowed_domains"):
        assert f'id="err-{name}"' in html, name
    assert 'id="err-moderation_rules.heat_hostility">Type a number' in html
    assert 'name="close_after_days" value="0"' in html and 'name="moderation_rules.hold_thresholds.insult" value="2"' in html
    assert "not a key</textarea>" in html
    assert stored(web) == {}


def test_the_sign_on_secret_is_never_shown_and_stays_unless_replaced_or_removed(web):
    sign_in(web)
    secret = "s" * 40
    form = page_form(web.get("/admin/settings").text)
    assert post_form(web, form, sso_secret=secret).status_code == 303
    assert stored(web)["sso_secret"] == secret
    with web.engine.connect() as conn:
        details = conn.execute(select(audit_log.c.details).where(audit_log.c.action == "site_settings")).scalar_one()
    assert secret not in details and "(secret)" in details
    html = web.get("/admin/settings").text
    assert secret not in html and "(set;" in html
    form = page_form(html)
    assert form["sso_secret"] == [""]
    assert post_form(web, form, max_length="5000").status_code == 303  # left empty: kept
    assert stored(web)["sso_secret"] == secret and stored(web)["max_length"] == 5000
    short = post_form(web, page_form(web.get("/admin/settings").text), sso_secret="short")
    assert short.status_code == 422 and 'id="err-sso_secret"' in short.text
    assert 'value="short"' not in short.text  # a secret is never sent back, even a wrong one
    assert stored(web)["sso_secret"] == secret
    assert post_form(web, page_form(web.get("/admin/settings").text), **{"sso_secret.remove": "on"}).status_code == 303
    assert "sso_secret" not in stored(web)


def test_odd_posts_are_a_clear_answer_never_a_5xx(web):
    sign_in(web)
    csrf = csrf_of(web.get("/admin/settings").text)
    base = {"site": "daily", "csrf": csrf}
    files = {"moderation_rules.hold_thresholds.insult": ("x.txt", b"0.5"), "max_length": ("y.txt", b"9")}
    assert web.post("/admin/settings", data=base, files=files).status_code == 303  # files are no values: nothing sent
    assert web.post("/admin/settings", data={**base, "moderation_rules.auto_hold_score": "0.123456789"}).status_code == 303
    assert stored(web) == {"moderation_rules": {"auto_hold_score": 0.123456789}}
    assert 'name="moderation_rules.auto_hold_score" value="0.123456789"' in web.get("/admin/settings").text
    for bad in ({"moderation_rules.auto_hold_score": "inf"}, {"moderation_rules.hold_thresholds.insult": "x"},
                {"max_length": "9" * 30}, {"moderation_rules.trusted_skip": "sleeping"}, {"site": "nowhere"},
                {"close_after_days": "1.5"}, {"moderation_rules.phone_region": "U\x00S"}):
        resp = web.post("/admin/settings", data={**base, **bad})
        assert resp.status_code in (404, 422), (bad, resp.status_code)
    assert stored(web) == {"moderation_rules": {"auto_hold_score": 0.123456789}}
