"""The outbox worker: several workers never deliver twice, and a worker killed mid-batch
(a real subprocess, SIGKILL) loses nothing and duplicates nothing once another one runs."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from townsquare.alerts import outbox
from townsquare.alerts.worker import run
from townsquare.store import outbox as outbox_rows
from townsquare.store import sites as site_store
from townsquare.store.alerts import alert_outbox
from townsquare.store.db import make_engine, migrate, now

from tests.test_alerts_support import SmtpSink, config, core_for, follower, post, statuses, unfinished

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def db(db_url):
    engine = make_engine(db_url)
    migrate(engine)
    with engine.begin() as conn:
        site = site_store.by_id(conn, site_store.create(conn, "daily", "Daily", ["*"], {}))
    yield db_url, engine, site
    engine.dispose()


async def test_concurrent_workers_deliver_each_alert_once(db):
    url, engine, site = db
    readers = [f"reader{i}@example.org" for i in range(60)]
    for r in readers:
        follower(engine, site.id, r)
    post(core_for(engine, url), "A thoughtful article, thank you.")
    sink = SmtpSink().start()
    cfg = config(sink.port, batch_size=7, fanout_chunk=25, concurrency=2)
    stop = asyncio.Event()
    workers = [asyncio.create_task(run(engine, cfg, stop)) for _ in range(3)]
    try:
        deadline = time.monotonic() + 60
        while await asyncio.to_thread(unfinished, engine):
            assert time.monotonic() < deadline, statuses(engine)
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.gather(*workers)
        sink.stop()
    assert sorted(r for rcpts in sink.envelopes for r in rcpts) == sorted(readers)
    assert statuses(engine) == {"sent": len(readers)}


def test_claims_of_two_open_transactions_never_overlap(pg_url):
    """PostgreSQL: a second claim made while the first is uncommitted skips the locked rows."""
    engine = make_engine(pg_url)
    migrate(engine)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", ["*"], {})
        for i in range(10):
            outbox.enqueue(conn, key=f"k{i}", site_id=site_id, kind="news", channel="email",
                           target=f"r{i}@example.org", now=now())
    with engine.connect() as a, engine.connect() as b:
        with a.begin():
            first = outbox_rows.claim(a, worker="a", now=now(), lease=60, limit=6)
            with b.begin():
                second = outbox_rows.claim(b, worker="b", now=now(), lease=60, limit=6)
    engine.dispose()
    assert len(first) == 6 and len(second) == 4
    assert not {r.id for r in first} & {r.id for r in second}


class GatedSink(SmtpSink):
    """Accepts `allow` messages, then holds the next one unanswered (it is never delivered)."""

    def __init__(self, allow: int):
        super().__init__()
        self.allow = allow
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if len(self.messages) >= self.allow and not self.release.is_set():
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 try again later"
        return await super().handle_DATA(server, session, envelope)


def start_worker(url: str, port: int) -> subprocess.Popen:
    code = (
        "import asyncio, signal, sys\n"
        "from tests.test_alerts_support import config\n"
        "from townsquare.alerts.worker import run\n"
        "from townsquare.store.db import make_engine\n"
        "async def main():\n"
        "    stop = asyncio.Event()\n"
        "    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)\n"
        f"    cfg = config({port}, batch_size=5, concurrency=1, lease_seconds=1.5)\n"
        f"    await run(make_engine({url!r}), cfg, stop)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env)


def test_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(db):
    url, engine, site = db
    readers = [f"reader{i}@example.org" for i in range(24)]
    for r in readers:
        follower(engine, site.id, r)
    post(core_for(engine, url), "A thoughtful article, thank you.")
    sink = GatedSink(allow=8)
    sink.start()
    first = start_worker(url, sink.port)
    try:
        assert sink.holding.wait(60), "the worker never reached the held message"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with engine.connect() as conn:
            stuck = conn.execute(select(alert_outbox.c.id).where(alert_outbox.c.status == "sending")).all()
        assert stuck, "the killed worker held claimed rows"
        assert len(sink.messages) == 8
        sink.release.set()

        second = start_worker(url, sink.port)
        try:
            deadline = time.monotonic() + 60
            while unfinished(engine):
                assert time.monotonic() < deadline, statuses(engine)
                assert second.poll() is None, "the restarted worker exited"
                time.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0, "the worker stops cleanly on SIGTERM"
    finally:
        if first.poll() is None:
            first.kill()
        sink.stop()
    delivered = sorted(r for rcpts in sink.envelopes for r in rcpts)
    assert delivered == sorted(readers)
    assert len({m["Message-ID"] for m in sink.messages}) == len(readers)
    assert statuses(engine) == {"sent": len(readers)}


async def test_worker_inside_serve_uses_the_app_settings_and_stops_cleanly(tmp_path):
    from townsquare.alerts.links import Links
    from townsquare.alerts.worker import background_worker
    from townsquare.config import load_settings

    from tests.test_alerts_support import make_site, sqlite_engine

    engine = sqlite_engine(tmp_path)
    site = make_site(engine)
    follower(engine, site.id, "ann@example.org")
    post(core_for(engine, str(engine.url)), "A thoughtful article, thank you.")
    sink = SmtpSink().start()
    # No secret configured: links are signed with the installation's secret from the database.
    settings = load_settings(None, environ={}, db=str(engine.url), host="127.0.0.1", port=8000,
                             email={"smtp_host": "127.0.0.1", "smtp_port": sink.port},
                             alerts={"poll_interval": 0.05})
    try:
        async with background_worker(engine, settings):
            deadline = time.monotonic() + 30
            while await asyncio.to_thread(unfinished, engine):
                assert time.monotonic() < deadline, statuses(engine)
                await asyncio.sleep(0.05)
    finally:
        sink.stop()
    [msg] = sink.to("ann@example.org")
    url = msg["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://127.0.0.1:8000/alerts/unsubscribe?token=")
    with engine.connect() as conn:
        secret = site_store.instance_secret(conn)
    assert Links(public_url="", secret=secret).read_unsubscribe(url.split("token=")[1]) > 0
    engine.dispose()
