"""A setting changed on the admin's settings page is obeyed by the very next post, in every server
process: two real `townsquare serve` processes on one database (SQLite and PostgreSQL); the
settings page of one changes the site to pre-moderation with a shorter length limit, and the next
posts through the other are held, and refused when too long, at once; changed back, the next
post is published again."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LENIENT, add_site
from tests.moderation_support import PASSWORD, add_moderator, csrf_of, page_form
from tests.test_live_streams import ORIGIN, WAIT, start_servers
from tests.test_serve_cli import kill_all, stop
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate

ADMIN = "admin@daily.example"


def post(base: str, text: str) -> httpx.Response:
    return httpx.post(base + "/api/v1/comments", headers=ORIGIN, timeout=WAIT, json={
        "site": "daily", "uri": "/story", "text": text, "author": {"name": "Ann"}, "elapsed_ms": 60_000})


def admin_session(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=WAIT)
    form = client.get("/admin/login")
    resp = client.post("/admin/login", data={"email": ADMIN, "password": PASSWORD, "csrf": csrf_of(form.text),
                                             "next": "/admin/settings"})
    assert resp.status_code == 303, resp.text
    return client


def change_settings(client: httpx.Client, **changes: str) -> None:
    """Through the settings page, as a browser sends it: the whole form, these fields changed."""
    page = client.get("/admin/settings", params={"site": "daily"})
    assert page.status_code == 200
    resp = client.post("/admin/settings", data={**page_form(page.text), **changes})
    assert resp.status_code == 303 and "Saved" in resp.headers["location"], resp.text


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_a_setting_changed_in_one_process_applies_to_the_next_post_in_another(tmp_path, request, db):
    db_url = f"sqlite:///{tmp_path}/settings.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(db_url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000, moderation_rules=LENIENT)
    add_moderator(engine, ADMIN, role="admin")
    servers = start_servers(tmp_path, db_url, 2)
    (a, _), (b, _) = servers
    try:
        # B has served the site's settings as they were (whatever it keeps of them).
        first = post(b, "Published as the site stands.")
        assert first.status_code == 201 and first.json()["comment"]["status"] == "published", first.text
        long_text = "A comment of a good sixty characters, give or take a few more."
        assert post(b, long_text).json()["comment"]["status"] == "published"

        admin = admin_session(a)
        try:
            change_settings(admin, moderation="pre", max_length="40")
            with engine.connect() as conn:
                assert site_store.by_name(conn, "daily").settings["moderation"] == "pre"

            # The next posts through B, straight away: held, and a long one refused.
            held = post(b, "Held for a moderator now.")
            assert held.status_code == 201 and held.json()["comment"]["status"] == "pending", held.text
            too_long = post(b, long_text)
            assert too_long.status_code == 422, too_long.text
            assert too_long.headers["content-type"].startswith("application/problem+json")
            assert post(a, "Held here too.").json()["comment"]["status"] == "pending"

            change_settings(admin, moderation="post", max_length="10000")
            again = post(b, long_text + " Again.")
            assert again.status_code == 201 and again.json()["comment"]["status"] == "published", again.text
        finally:
            admin.close()
    finally:
        for _, server in servers:
            stop(server)
            kill_all(server, [])
        engine.dispose()
