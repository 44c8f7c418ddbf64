"""The alerts part keeps to the layers: its SQL lives in `store/`, and no transaction is open while
it talks to the network (on SQLite an open write transaction would stall every other writer for
as long as a slow SMTP server or webhook receiver takes to answer)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import townsquare.alerts
from townsquare.alerts import webhooks
from townsquare.alerts.polling import FeedPoller
from townsquare.store import article_feeds
from townsquare.store.db import now

from tests.test_alerts_support import (
    HttpReceiver, SmtpSink, config, core_for, deliver_all, follower, make_site, post, sqlite_engine,
)


def test_alert_modules_run_no_sql_of_their_own():
    root = Path(townsquare.alerts.__file__).parent
    offenders = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for path in sorted(root.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"sqlalchemy|\.execute\(", line)
    ]
    assert offenders == []


def writer_could_start(path: Path) -> bool:
    """Whether a writer gets SQLite's write lock within half a second (a lock held across a
    network call is not released until the call returns)."""
    db = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()


class CheckingSmtpSink(SmtpSink):
    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.free: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.free.append(writer_could_start(self.path))
        return await super().handle_DATA(server, session, envelope)


async def test_no_transaction_is_open_while_email_and_webhooks_go_out(tmp_path):
    engine = sqlite_engine(tmp_path)
    path = tmp_path / "alerts.db"
    site = make_site(engine)
    follower(engine, site.id, "ann@example.org")
    webhook_free: list[bool] = []

    def receive(request):
        webhook_free.append(writer_could_start(path))
        return 200, b"{}"

    sink = CheckingSmtpSink(path).start()
    try:
        with HttpReceiver(receive) as receiver:
            with engine.begin() as conn:
                webhooks.create(conn, site_id=site.id, url=receiver.url, kinds=["thread"], now=now())
            post(core_for(engine, f"sqlite:///{path}"), "A thoughtful article, thank you.")
            await deliver_all(engine, config(sink.port))
    finally:
        sink.stop()
        engine.dispose()
    assert sink.free == [True] and webhook_free == [True]


async def test_no_transaction_is_open_while_a_feed_is_fetched(tmp_path):
    engine = sqlite_engine(tmp_path)
    path = tmp_path / "alerts.db"
    site = make_site(engine)
    fetch_free: list[bool] = []

    def rss(request):
        fetch_free.append(writer_could_start(path))
        return 200, (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Daily</title>"
                     b"<item><title>Old story</title><link>https://daily.example/old</link></item></channel></rss>")

    with HttpReceiver(rss, content_type="application/rss+xml") as server:
        with engine.begin() as conn:
            article_feeds.set_feed(conn, site_id=site.id, url=server.url + "/feed.xml", interval=300, now=now())
        assert await FeedPoller(engine, allow_private=True).poll_due() == 1
    engine.dispose()
    assert fetch_free == [True]
