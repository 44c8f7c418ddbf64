"""Webhooks and article feeds may not reach loopback or private addresses unless the operator
allows it: refused at registration, and again at delivery after DNS (a name that resolves to
127.0.0.1 is caught even if it was stored), with a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import ipaddress

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from townsquare.alerts import webhooks
from townsquare.alerts.polling import FeedPoller
from townsquare.alerts.targets import check_url, refusal
from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store import article_feeds
from townsquare.store import sites as site_store
from townsquare.store.alerts import alert_feeds, alert_outbox
from townsquare.store.db import now

from tests.test_alerts_support import (
    HttpReceiver, config, core_for, deliver_all, free_port, make_site, post, sqlite_engine,
)

API_KEY = "site-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("10.0.0.1", "private"),
    ("192.168.1.1", "private"), ("172.16.5.4", "private"), ("fd00::1", "private"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "not a public address"),
])
def test_non_public_addresses_are_refused(address, kind):
    assert kind in refusal(ipaddress.ip_address(address))


def test_public_addresses_pass():
    assert refusal(ipaddress.ip_address("93.184.215.14")) is None
    assert refusal(ipaddress.ip_address("2606:4700::1111")) is None
    assert check_url("http://127.0.0.1:9/", allow_private=True) is None


@pytest.fixture
def api(engine, db_url):
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", ["https://daily.example"], {})
        site_store.update_site(conn, site_id, api_key_hash=hashlib.sha256(API_KEY.encode()).hexdigest())
    app = create_app(load_settings(None, environ={}, db=db_url, alerts={"worker_in_serve": False}), engine)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://10.0.0.1/", "http://[::1]/hook",
                                 "http://localhost:9000/hook", "http://169.254.169.254/latest/meta-data/"])
def test_registering_a_private_webhook_or_feed_is_refused(api, url):
    hook = api.post("/api/v1/webhooks", headers=AUTH, json={"site": "daily", "url": url, "events": ["news"]})
    assert hook.status_code == 422 and hook.headers["content-type"] == "application/problem+json"
    assert "allow_private_targets" in hook.json()["detail"]
    feed = api.put("/api/v1/article-feed", headers=AUTH, json={"site": "daily", "url": url, "interval_minutes": 5})
    assert feed.status_code == 422 and "allow_private_targets" in feed.json()["detail"]
    assert api.get("/api/v1/webhooks", params={"site": "daily"}, headers=AUTH).json()["webhooks"] == []
    # Without the site key nothing is looked up: the answer is about the key.
    assert api.post("/api/v1/webhooks", json={"site": "daily", "url": url, "events": ["news"]}).status_code == 401


@pytest.fixture
def stored_hook(tmp_path):
    """A site with a webhook on `localhost` (stored before the rule, or with the rule off then)."""
    engine = sqlite_engine(tmp_path)
    site = make_site(engine)

    def register(url: str) -> None:
        with engine.begin() as conn:
            webhooks.create(conn, site_id=site.id, url=url, kinds=["thread"], now=now())

    yield engine, site, register, core_for(engine, str(engine.url))
    engine.dispose()


async def test_a_name_that_resolves_to_loopback_is_refused_at_delivery(stored_hook):
    engine, _, register, core = stored_hook
    with HttpReceiver(lambda request: (200, b"{}")) as receiver:
        register(receiver.url.replace("127.0.0.1", "localhost") + "/hook")
        post(core, "A thoughtful article, thank you.")
        await deliver_all(engine, config(free_port(), allow_private_targets=False))
    assert receiver.requests == []
    with engine.connect() as conn:
        row = conn.execute(select(alert_outbox).where(alert_outbox.c.channel == "webhook")).one()
    assert row.status == "failed" and row.attempts == 1
    assert "localhost resolves to 127.0.0.1, which is a loopback address" in row.last_error


async def test_with_private_targets_allowed_the_webhook_is_delivered_by_name(stored_hook):
    engine, _, register, core = stored_hook
    with HttpReceiver(lambda request: (200, b"{}")) as receiver:
        register(receiver.url.replace("127.0.0.1", "localhost") + "/hook")
        post(core, "A thoughtful article, thank you.")
        await deliver_all(engine, config(free_port(), allow_private_targets=True))
    [request] = receiver.requests
    assert request["path"] == "/hook"
    # Connected to the checked address, but the receiver still sees the name it was given.
    assert request["headers"]["Host"] == receiver.url.replace("http://127.0.0.1", "localhost")


async def test_a_feed_on_a_private_address_is_not_fetched(stored_hook):
    engine, site, _, _ = stored_hook
    with HttpReceiver(lambda request: (200, b"<rss version='2.0'><channel></channel></rss>")) as server:
        with engine.begin() as conn:
            article_feeds.set_feed(conn, site_id=site.id, url=server.url.replace("127.0.0.1", "localhost") + "/feed",
                                   interval=300, now=now())
        assert await FeedPoller(engine).poll_due() == 1
    assert server.requests == []
    with engine.connect() as conn:
        error = conn.execute(select(alert_feeds.c.last_error)).scalar_one()
    assert "localhost resolves to 127.0.0.1, which is a loopback address" in error
