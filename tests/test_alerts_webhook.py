"""Webhooks against a real HTTP receiver on 127.0.0.1: retries, signatures, secret rotation."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from townsquare.alerts import webhooks
from townsquare.alerts.channels.webhook import SIGNATURE_HEADER, verify
from townsquare.store.alerts import alert_outbox
from townsquare.store.db import now

from tests.test_alerts_support import (
    HttpReceiver, config, core_for, deliver_all, free_port, make_site, post, sqlite_engine,
)


@pytest.fixture
def setup(tmp_path):
    engine = sqlite_engine(tmp_path)
    site = make_site(engine)
    yield engine, site, core_for(engine, str(engine.url))
    engine.dispose()


async def test_receiver_fails_twice_then_accepts_one_delivery_with_valid_signature(setup):
    engine, site, core = setup
    answers = iter([500, 500])

    with HttpReceiver(lambda request: (next(answers, 200), b"{}")) as receiver:
        with engine.begin() as conn:
            hook = webhooks.create(conn, site_id=site.id, url=receiver.url + "/hooks/townsquare",
                                   kinds=["thread"], now=now())
        comment = post(core, "A thoughtful article, thank you.")
        await deliver_all(engine, config(free_port()))

    assert len(receiver.requests) == 3
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert len(keys) == 1, "every retry carries the same idempotency key"
    last = receiver.requests[-1]
    assert last["path"] == "/hooks/townsquare"
    assert last["headers"]["Content-Type"] == "application/json"
    assert last["headers"]["Townsquare-Event"] == "comment.published"
    assert verify(last["headers"][SIGNATURE_HEADER], last["body"], hook["secret"])
    assert not verify(last["headers"][SIGNATURE_HEADER], last["body"], "whsec_wrong")
    assert not verify(last["headers"][SIGNATURE_HEADER], last["body"] + b" ", hook["secret"])
    event = orjson.loads(last["body"])
    assert event["id"] == keys.pop()
    assert event["comment"]["id"] == comment["id"]
    assert event["comment"]["text"] == "A thoughtful article, thank you."
    assert event["site"] == {"name": "daily", "title": "Daily"}
    assert "match" not in event and "exclude" not in event
    with engine.connect() as conn:
        row = conn.execute(select(alert_outbox).where(alert_outbox.c.channel == "webhook")).one()
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


async def test_rotation_signs_with_old_and_new_secret_until_the_grace_period_ends(setup):
    engine, site, core = setup
    with HttpReceiver(lambda request: (200, b"{}")) as receiver:
        with engine.begin() as conn:
            hook = webhooks.create(conn, site_id=site.id, url=receiver.url, kinds=["thread"], now=now())
            new_secret = webhooks.rotate(conn, hook["id"], now=now(), grace=3600)
        post(core, "A thoughtful article, thank you.")
        await deliver_all(engine, config(free_port()))
        with engine.begin() as conn:
            newest = webhooks.rotate(conn, hook["id"], now=now(), grace=0)  # old secrets end now
        post(core, "Another calm remark about the broadcast schedule.")
        await deliver_all(engine, config(free_port()))

    during, after = receiver.requests
    header = during["headers"][SIGNATURE_HEADER]
    assert header.count("v1=") == 2
    assert verify(header, during["body"], hook["secret"]) and verify(header, during["body"], new_secret)
    header = after["headers"][SIGNATURE_HEADER]
    assert header.count("v1=") == 1
    assert verify(header, after["body"], newest)
    assert not verify(header, after["body"], hook["secret"]) and not verify(header, after["body"], new_secret)


async def test_gone_receiver_fails_permanently_and_is_visible(setup):
    engine, site, core = setup
    with HttpReceiver(lambda request: (410, b"{}")) as receiver:
        with engine.begin() as conn:
            webhooks.create(conn, site_id=site.id, url=receiver.url, kinds=["thread"], now=now())
        post(core, "A thoughtful article, thank you.")
        await deliver_all(engine, config(free_port()))
    assert len(receiver.requests) == 1
    with engine.connect() as conn:
        row = conn.execute(select(alert_outbox).where(alert_outbox.c.channel == "webhook")).one()
    assert row.status == "failed" and "410" in row.last_error
