"""Benchmark: one news alert fanned out to N email subscribers, delivered to a local SMTP sink.

    python bench/alerts_fanout.py                      # 100,000 subscribers, SQLite
    python bench/alerts_fanout.py --subscribers 20000 --db postgresql://postgres@127.0.0.1/bench

The SMTP sink (aiosmtpd on 127.0.0.1) runs in its own process and only counts messages, so the
figures are those of Townsquare's side: fan-out expansion, composing, SMTP, outbox bookkeeping.
Reports messages per second and the worker process's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from townsquare.alerts import articles  # noqa: E402
from townsquare.alerts.links import Links  # noqa: E402
from townsquare.alerts.runtime import AlertsConfig  # noqa: E402
from townsquare.alerts.settings import AlertSettings, EmailSettings, WhatsAppSettings  # noqa: E402
from townsquare.alerts.worker import run  # noqa: E402
from townsquare.store import sites as site_store  # noqa: E402
from townsquare.store.alerts import alert_outbox, alert_subscriptions  # noqa: E402
from townsquare.store.db import make_engine, migrate, now  # noqa: E402


def sink(port: int, count, ready) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server, session, envelope):
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def add_subscribers(engine, site_id: int, n: int) -> None:
    t = now()
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(alert_subscriptions.insert(), [
                {"site_id": site_id, "kind": "news", "channel": "email", "target": f"reader{i}@example.org",
                 "scope": "", "delivery": "immediate", "confirmed": t, "consent": "{}", "created": t}
                for i in range(start, min(n, start + 5000))
            ])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()

    url = args.db or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        site = site_store.by_id(conn, site_store.create(conn, "daily", "Daily", ["*"], {}))
    add_subscribers(engine, site["id"], args.subscribers)

    count, ready = multiprocessing.Value("q", 0), multiprocessing.Event()
    server = multiprocessing.Process(target=sink, args=(args.port, count, ready), daemon=True)
    server.start()
    ready.wait(10)

    config = AlertsConfig(
        email=EmailSettings(smtp_host="127.0.0.1", smtp_port=args.port, sender="News <alerts@daily.example>"),
        whatsapp=WhatsAppSettings(),
        alerts=AlertSettings(batch_size=args.batch, concurrency=args.concurrency, poll_interval=0.05),
        links=Links(public_url="https://comments.daily.example", secret="bench-secret-0123456789abcdef"),
    )
    baseline = rss_mib()
    started = time.perf_counter()
    with engine.begin() as conn:
        articles.announce(conn, site=site, url="https://daily.example/2015/putin", title="Putin accuses US",
                          summary="Russian President Vladimir Putin accused the United States…", now=now(), source="api")
    stop = asyncio.Event()
    worker = asyncio.create_task(run(engine, config, stop))
    while count.value < args.subscribers:
        await asyncio.sleep(0.2)
        if worker.done():
            worker.result()
    elapsed = time.perf_counter() - started
    stop.set()
    await worker
    server.terminate()

    with engine.connect() as conn:
        sent = conn.execute(select(func.count()).where(alert_outbox.c.status == "sent",
                                                       alert_outbox.c.channel == "email")).scalar_one()
    print(f"database        {engine.dialect.name}")
    print(f"subscribers     {args.subscribers}")
    print(f"received        {count.value} messages by the SMTP sink; {sent} marked sent in the outbox")
    print(f"elapsed         {elapsed:.1f} s (announcement to last message accepted)")
    print(f"throughput      {count.value / elapsed:.0f} messages/s")
    print(f"peak RSS        {rss_mib():.0f} MiB (before the fan-out: {baseline:.0f} MiB)")


if __name__ == "__main__":
    asyncio.run(main())
