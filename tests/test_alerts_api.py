"""Alerts through the web app: sign-up with double opt-in, one-click unsubscribe, the management
page, article announcements (exactly once), feed polling, Atom feeds, the delivery report."""

from __future__ import annotations

import dataclasses
import hashlib

import feedparser
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from townsquare import accounts
from townsquare.alerts.polling import FeedPoller
from townsquare.alerts.settings import WhatsAppSettings
from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.tables import comments as comments_table
from townsquare.store.alerts import alert_feeds, alert_outbox
from townsquare.store.db import make_engine, migrate, now

from tests.moderation_support import csrf_of
from tests.test_alerts_support import HttpReceiver, SmtpSink, config, deliver_all, statuses

API_KEY = "site-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def env(db_url):
    """The app on SQLite and on PostgreSQL (conftest's `db_url`)."""
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", ["https://daily.example"], {})
        site_store.update_site(conn, site_id, api_key_hash=hashlib.sha256(API_KEY.encode()).hexdigest())
    sink = SmtpSink().start()
    cfg = config(sink.port)
    app = create_app(load_settings(None, environ={}, db=db_url, rate_limits="off",
                                   alerts={"worker_in_serve": False}), engine)
    app.state.alerts_config = cfg  # the test's SMTP sink and signing secret
    with TestClient(app, base_url="http://testserver") as client:
        yield client, engine, sink, cfg
    sink.stop()
    engine.dispose()


def link_in(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return next(w for w in text.split() if w.startswith(f"http://testserver{path}"))


def announce(client, **article):
    return client.post("/api/v1/articles", headers=AUTH, json={"site": "daily", **article})


async def test_news_signup_confirm_announce_once_and_one_click_unsubscribe(env):
    client, engine, sink, cfg = env
    r = client.post("/api/v1/subscriptions", headers={"Origin": "https://daily.example"},
                    json={"site": "daily", "kind": "news", "address": "Reader@Example.org"})
    assert r.status_code == 202 and r.json()["status"] == "confirmation_sent"
    await deliver_all(engine, cfg)
    [confirmation] = sink.to("Reader@example.org")
    url = link_in(confirmation, "/alerts/confirm")

    assert announce(client, url="https://daily.example/a1", title="Before confirming").status_code == 201
    await deliver_all(engine, cfg)
    assert len(sink.to("Reader@example.org")) == 1, "nothing is sent before the link is followed"

    page = client.get(url.removeprefix("http://testserver"))
    assert page.status_code == 200 and 'action="/alerts/confirm"' in page.text
    token = url.split("token=")[1]
    done = client.post("/alerts/confirm", data={"token": token})
    assert done.status_code == 200 and "Your alerts are on" in done.text

    first = announce(client, url="https://daily.example/2015/putin", title="Putin accuses US", section="world")
    again = announce(client, url="https://daily.example/2015/putin", title="Putin accuses US (updated)")
    assert (first.status_code, first.json()["announced"]) == (201, True)
    assert (again.status_code, again.json()["announced"]) == (200, False)
    await deliver_all(engine, cfg)
    news = sink.to("Reader@example.org")[1:]
    assert [m["Subject"] for m in news] == ["Daily: Putin accuses US"]

    unsubscribe = news[0]["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")
    assert "Unsubscribe" in client.get(unsubscribe).text  # a GET (link scanners) changes nothing
    r = client.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "no more" in r.text
    announce(client, url="https://daily.example/2015/next", title="The next story")
    await deliver_all(engine, cfg)
    assert len(sink.to("Reader@example.org")) == 2


def test_publisher_calls_need_the_site_api_key(env):
    client = env[0]
    article = {"site": "daily", "url": "https://daily.example/x", "title": "X"}
    assert client.post("/api/v1/articles", json=article).status_code == 401
    assert client.post("/api/v1/articles", json=article, headers={"Authorization": "Bearer nope"}).status_code == 401
    r = announce(client, url="javascript:alert(1)", title="X")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/alerts/deliveries?site=daily").status_code == 401
    r = client.post("/api/v1/subscriptions", json={"site": "daily", "kind": "moderator", "address": "m@daily.example"})
    assert r.status_code == 401


def test_bad_signups_get_clear_errors_and_store_nothing(env):
    client, engine, _, cfg = env
    whatsapp = {"site": "daily", "kind": "news", "channel": "whatsapp", "address": "+2348136370421", "consent": True}
    # No WhatsApp account to send from: the channel is not offered, and a sign-up is refused.
    assert client.get("/api/v1/alerts/channels").json() == {"channels": ["email"]}
    r = client.post("/api/v1/subscriptions", json=whatsapp)
    assert r.status_code == 422 and r.json()["detail"].startswith("WhatsApp alerts are not set up"), r.text
    client.app.state.alerts_config = dataclasses.replace(
        cfg, whatsapp=WhatsAppSettings(phone_number_id="106540352242922", token="test-token"))
    assert client.get("/api/v1/alerts/channels").json() == {"channels": ["email", "whatsapp"]}
    cases = [
        ({"site": "daily", "kind": "news", "address": "not an address"}, 422, "valid email"),
        ({**whatsapp, "consent": False}, 422, "consent"),
        ({"site": "daily", "kind": "thread", "address": "a@example.org"}, 422, "uri"),
        ({"site": "nope", "kind": "news", "address": "a@example.org"}, 404, "no site"),
    ]
    for body, status, words in cases:
        r = client.post("/api/v1/subscriptions", json=body)
        assert r.status_code == status and words in r.json()["detail"], r.text
    r = client.post("/api/v1/subscriptions", headers={"Origin": "https://evil.example"},
                    json={"site": "daily", "kind": "news", "address": "a@example.org"})
    assert r.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(alert_outbox)).all() == []


async def test_manage_page_changes_delivery_and_unsubscribes(env):
    client, engine, sink, cfg = env
    for body in ({"kind": "news"}, {"kind": "thread", "uri": "/2015/putin", "title": "Putin accuses US"}):
        client.post("/api/v1/subscriptions", json={"site": "daily", "address": "ann@example.org", **body})
    await deliver_all(engine, cfg)
    for m in sink.to("ann@example.org"):
        client.post("/alerts/confirm", data={"token": link_in(m, "/alerts/confirm").split("token=")[1]})
    announce(client, url="https://daily.example/2015/putin", title="Putin accuses US")
    await deliver_all(engine, cfg)
    manage = link_in(sink.to("ann@example.org")[-1], "/alerts/manage").removeprefix("http://testserver")
    page = client.get(manage)
    assert "Every new article" in page.text and "New comments on “Putin accuses US”" in page.text
    with engine.connect() as conn:
        ids = dict(conn.execute(select(alert_outbox.c.kind, alert_outbox.c.subscription_id)
                                .where(alert_outbox.c.kind == "news")).all())
    r = client.post(manage, data={"subscription": ids["news"], "action": "delivery", "delivery": "daily"})
    assert r.status_code == 200 and 'value="daily" selected' in r.text
    r = client.post(manage, data={"subscription": ids["news"], "action": "unsubscribe"})
    assert "Every new article" not in r.text and "Putin accuses US" in r.text
    forged = manage[:-3] + "abc"
    assert client.get(forged).status_code == 400


async def test_feed_polling_alerts_each_new_article_once(env):
    client, engine, sink, cfg = env
    items = ['<item><title>Old story</title><link>https://daily.example/old</link><guid>old-1</guid></item>']

    def rss(request):
        return 200, ("<?xml version='1.0'?><rss version='2.0'><channel><title>Daily</title>"
                     "<link>https://daily.example/</link><description>News</description>"
                     + "".join(items) + "</channel></rss>").encode()

    with engine.begin() as conn:
        site_id = site_store.by_name(conn, "daily").id
    from tests.test_alerts_support import follower

    follower(engine, site_id, "ann@example.org", kind="news")
    with HttpReceiver(rss, content_type="application/rss+xml") as server:
        r = client.put("/api/v1/article-feed", headers=AUTH,
                       json={"site": "daily", "url": server.url + "/feed.xml", "interval_minutes": 5})
        assert r.status_code == 200
        poller = FeedPoller(engine, allow_private=True)
        assert await poller.poll_due() == 1
        assert await poller.poll_due() == 0, "not due again before its interval"
        items.insert(0, '<item><title>Chechnya, fifteen years on</title><link>https://daily.example/new</link>'
                        '<guid>new-1</guid><description>&lt;p&gt;A &lt;b&gt;long&lt;/b&gt; read&lt;/p&gt;</description></item>')
        for _ in range(2):
            with engine.begin() as conn:
                conn.execute(update(alert_feeds).values(next_poll_at=now() - 1))
            assert await poller.poll_due() == 1
    assert announce(client, url="https://daily.example/new", guid="new-1", title="Chechnya").json()["announced"] is False
    await deliver_all(engine, cfg)
    [alert] = sink.to("ann@example.org")
    assert alert["Subject"] == "Daily: Chechnya, fifteen years on"
    assert "A long read" in alert.get_body(("plain",)).get_content()


def test_atom_feeds_are_valid_and_show_published_comments_only(env):
    client, engine, _, _ = env
    post = {"site": "daily", "uri": "/2015/putin", "title": "Putin accuses US", "url": "https://daily.example/2015/putin"}
    first = client.post("/api/v1/comments", json={**post, "text": "A thoughtful article, thank you.",
                                                  "author": {"name": "MirM"}}).json()["comment"]
    client.post("/api/v1/comments", json={**post, "parent_id": first["id"], "text": "It airs on *Rossiya 1* tonight 🎬",
                                          "author": {"name": "Jiri Klouda"}})
    held = client.post("/api/v1/comments", json={**post, "text": "Another calm remark.", "author": {"name": "X"}}).json()
    with engine.begin() as conn:
        conn.execute(update(comments_table).where(comments_table.c.id == held["comment"]["id"]).values(status="pending"))

    thread = client.get("/feeds/daily/thread.atom", params={"uri": "/2015/putin"})
    assert thread.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(thread.content)
    assert not parsed.bozo and parsed.version == "atom10"
    assert parsed.feed.title == "Comments on “Putin accuses US”"
    assert [e.author for e in parsed.entries] == ["Jiri Klouda", "MirM"]
    assert parsed.entries[0].link == f"https://daily.example/2015/putin#comment-{first['id'] + 1}"
    assert "<em>Rossiya 1</em>" in parsed.entries[0].content[0].value and "🎬" in parsed.entries[0].content[0].value
    assert len({e.id for e in parsed.entries}) == 2

    recent = feedparser.parse(client.get("/feeds/daily/recent.atom").content)
    assert not recent.bozo and [e.author for e in recent.entries] == ["Jiri Klouda", "MirM"]
    assert client.get("/feeds/daily/thread.atom", params={"uri": "/nowhere"}).status_code == 404
    assert client.get("/feeds/nope/recent.atom").status_code == 404


async def test_delivery_report_shows_failures(env):
    client, engine, sink, cfg = env
    sink.stop()  # the mail server is down
    client.post("/api/v1/subscriptions", json={"site": "daily", "kind": "news", "address": "ann@example.org"})
    broken = type(cfg)(email=cfg.email, whatsapp=cfg.whatsapp, links=cfg.links,
                       alerts=cfg.alerts.model_copy(update={"max_attempts": 2}))
    await deliver_all(engine, broken)
    report = client.get("/api/v1/alerts/deliveries", params={"site": "daily", "status": "failed"}, headers=AUTH).json()
    assert report["counts"] == {"email": {"failed": 1}}
    [item] = report["items"]
    assert item["kind"] == "confirm" and item["attempts"] == 2 and "unavailable" in item["last_error"]
    # The page is the admin UI's: the site key opens the JSON report only, a signed-in admin the page.
    assert client.get("/admin/alerts", headers=AUTH, follow_redirects=False).status_code == 303
    accounts.create_user(engine, email="ed@daily.example", password="correct horse battery")
    form = client.get("/admin/login")
    client.post("/admin/login", data={"email": "ed@daily.example", "password": "correct horse battery",
                                      "csrf": csrf_of(form.text), "next": "/admin/queue/pending"})
    page = client.get("/admin/alerts", params={"status": "failed"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "unavailable" in page.text and "ann@example.org" in page.text
    assert '<a href="/admin/alerts">Alerts</a>' in client.get("/admin/queue/pending").text
    assert statuses(engine) == {"failed": 1}


def test_webhook_endpoints_are_managed_with_the_site_key(env):
    client = env[0]
    r = client.post("/api/v1/webhooks", headers=AUTH,
                    json={"site": "daily", "url": "https://cms.daily.example/hook", "events": ["thread", "news"]})
    assert r.status_code == 201
    hook = r.json()
    assert hook["secret"].startswith("whsec_") and hook["kinds"] == ["news", "thread"]
    listed = client.get("/api/v1/webhooks", params={"site": "daily"}, headers=AUTH).json()["webhooks"]
    assert listed == [{"id": hook["id"], "url": "https://cms.daily.example/hook", "active": True, "kinds": ["news", "thread"]}]
    assert "secret" not in listed[0]
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate", params={"site": "daily"}, headers=AUTH,
                          json={"grace_seconds": 60}).json()
    assert rotated["secret"] != hook["secret"] and rotated["previous_secrets_valid_for"] == 60
    bad = client.post("/api/v1/webhooks", headers=AUTH, json={"site": "daily", "url": "ftp://x", "events": ["news"]})
    assert bad.status_code == 422 and "http(s)" in bad.json()["detail"]
    assert client.post("/api/v1/webhooks", json={"site": "daily", "url": "https://x.example", "events": ["news"]}).status_code == 401
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", params={"site": "daily"}, headers=AUTH).status_code == 204
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", params={"site": "daily"}, headers=AUTH).status_code == 404


async def test_following_an_article_alerts_its_new_comments_only(env):
    client, engine, sink, cfg = env
    article = {"site": "daily", "uri": "/2015/putin", "title": "Putin accuses US", "url": "https://daily.example/2015/putin"}
    r = client.post("/api/v1/subscriptions", json={**article, "kind": "thread", "address": "ann@example.org"})
    assert r.status_code == 202
    await deliver_all(engine, cfg)
    [confirmation] = sink.to("ann@example.org")
    client.post("/alerts/confirm", data={"token": link_in(confirmation, "/alerts/confirm").split("token=")[1]})
    for uri, text in (("/2015/putin", "A thoughtful article, thank you."), ("/2015/other", "Unrelated remark.")):
        r = client.post("/api/v1/comments", json={**article, "uri": uri, "url": f"https://daily.example{uri}",
                                                  "text": text, "author": {"name": "MirM"}})
        assert r.status_code == 201 and r.json()["comment"]["status"] == "published"
    await deliver_all(engine, cfg)
    [alert] = sink.to("ann@example.org")[1:]
    assert alert["Subject"] == "New comment by MirM on “Putin accuses US”"
    assert "A thoughtful article, thank you." in alert.get_body(("plain",)).get_content()
