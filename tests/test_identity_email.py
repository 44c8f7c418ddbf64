"""E-mail sign-in end to end: the link goes out through the outbox to a real SMTP server
(aiosmtpd), leads back to the article page with a one-time code, and the code signs the reader in
once. Comments then show verified, without badges."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import identities, sign_in_links_used
from tests.conftest import LENIENT
from tests.test_alerts_support import SmtpSink, config, deliver_all

PAGE = "https://daily.example/2026/12/story?utm=x"


@pytest.fixture
def env(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        site_store.create(conn, "daily", "Daily", ["https://daily.example"], {"moderation_rules": LENIENT})
    sink = SmtpSink().start()
    app = create_app(load_settings(None, environ={}, db=db_url, alerts={"worker_in_serve": False}), engine)
    with TestClient(app, base_url="http://testserver") as client:
        yield client, engine, sink, config(sink.port)
    sink.stop()
    engine.dispose()


def ask(client, email="reader@mail.example", url=PAGE, name="Rita Reader"):
    return client.post("/api/v1/auth/email", json={"site": "daily", "email": email, "name": name, "url": url})


def code_in(message) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    link = next(w for w in text.split() if w.startswith("https://daily.example/"))
    page, code = re.match(r"^(.*)#townsquare-sign-in=(.+)$", link).groups()
    return page, code


async def test_a_mailed_link_signs_in_once_and_comments_show_verified(env):
    client, engine, sink, cfg = env
    resp = ask(client)
    assert resp.status_code == 202, resp.text
    await deliver_all(engine, cfg)
    [message] = sink.to("reader@mail.example")
    assert "Sign in" in message["Subject"]
    page, code = code_in(message)
    assert page == PAGE  # back to the page the reader was on
    signed = client.post("/api/v1/auth/email/redeem", json={"site": "daily", "code": code})
    assert signed.status_code == 200, signed.text
    user = signed.json()["user"]
    assert (user["name"], user["verified"], user["badges"], user["kind"]) == ("Rita Reader", True, [], "email")
    # The link works once.
    again = client.post("/api/v1/auth/email/redeem", json={"site": "daily", "code": code})
    assert again.status_code == 401 and "used already" in again.json()["detail"]
    posted = client.post("/api/v1/comments", json={"site": "daily", "uri": "/story", "text": "Signed in by mail.",
                                                   "author": {}},
                         headers={"X-Townsquare-Session": signed.json()["session_token"]})
    assert posted.status_code == 201, posted.text
    assert posted.json()["comment"]["author"]["verified"] is True
    assert posted.json()["comment"]["author"]["badges"] == []
    with engine.connect() as conn:
        subject = conn.execute(select(identities.c.subject)).scalar_one()
    assert "reader@mail.example" not in subject  # only a keyed hash of the address is kept


async def test_a_tampered_or_other_site_code_is_refused_and_stores_nothing(env):
    client, engine, sink, cfg = env
    ask(client)
    await deliver_all(engine, cfg)
    _, code = code_in(sink.to("reader@mail.example")[0])
    tampered = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    assert client.post("/api/v1/auth/email/redeem", json={"site": "daily", "code": tampered}).status_code == 401
    assert client.post("/api/v1/auth/email/redeem", json={"site": "other", "code": code}).status_code == 401
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(identities)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(sign_in_links_used)).scalar_one() == 0


def test_links_lead_only_to_the_sites_pages_and_are_limited_per_address(env):
    client, engine, _sink, _cfg = env
    elsewhere = ask(client, url="https://evil.example/catch")
    assert elsewhere.status_code == 403 and "origins" in elsewhere.json()["detail"]
    assert ask(client, url="javascript:alert(1)").status_code == 422
    assert [ask(client).status_code for _ in range(4)] == [202, 202, 202, 429]
    assert ask(client, email="someone-else@mail.example").status_code == 202


async def test_the_readers_data_export_and_erasure_cover_their_identity_and_sessions(env):
    from townsquare import privacy

    client, engine, sink, cfg = env
    ask(client)
    await deliver_all(engine, cfg)
    _, code = code_in(sink.to("reader@mail.example")[0])
    session = client.post("/api/v1/auth/email/redeem", json={"site": "daily", "code": code}).json()["session_token"]
    client.post("/api/v1/comments", json={"site": "daily", "uri": "/story", "text": "Mine, by mail.", "author": {}},
                headers={"X-Townsquare-Session": session})
    signer = client.app.state.core.signer
    with engine.begin() as conn:
        data = privacy.export_author(conn, signer, "Reader@Mail.example")
        assert [c["text"] for c in data["comments"]] == ["Mine, by mail."]
        [identity] = data["identities"]
        assert identity["name"] == "Rita Reader" and len(identity["sessions"]) == 1
        assert session not in str(data)
        done = privacy.erase_author(conn, signer, "reader@mail.example", mode="delete")
    assert done["comments"] == 1 and done["identities"] == 1
    assert client.get("/api/v1/auth/session", headers={"X-Townsquare-Session": session}).status_code == 401
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(identities)).scalar_one() == 0
