"""Helpers shared by the alerts tests (a real SMTP sink, config, subscribers), and unit tests of
the small pure parts: signed links, digest times, backoff."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from townsquare.alerts import outbox, subscriptions
from townsquare.alerts.links import InvalidLink, Links
from townsquare.alerts.runtime import AlertsConfig
from townsquare.alerts.settings import AlertSettings, EmailSettings, WhatsAppSettings
from townsquare.alerts.worker import run
from townsquare.store import sites as site_store
from townsquare.store.alerts import alert_outbox
from townsquare.store.db import make_engine, migrate, now

SECRET = "test-secret-for-alert-links-0123456789"
PUBLIC_URL = "http://testserver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepted."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)
            self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def start(self) -> "SmtpSink":
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=30)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m, rcpts in zip(self.messages, self.envelopes) if address in rcpts]


def config(smtp_port: int, **alerts) -> AlertsConfig:
    # The receivers in these tests listen on 127.0.0.1.
    tuning = {"backoff_base": 0.05, "backoff_max": 0.2, "poll_interval": 0.05, "lease_seconds": 30,
              "allow_private_targets": True, **alerts}
    return AlertsConfig(
        email=EmailSettings(smtp_host="127.0.0.1", smtp_port=smtp_port, sender="News <alerts@daily.example>", timeout=5),
        whatsapp=WhatsAppSettings(),
        alerts=AlertSettings(**tuning),
        links=Links(public_url=PUBLIC_URL, secret=SECRET),
    )


def sqlite_engine(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path}/alerts.db")
    migrate(engine)
    return engine


def make_site(engine, name: str = "daily") -> dict:
    with engine.begin() as conn:
        site_id = site_store.create(conn, name, name.title(), ["https://daily.example"], {})
        return site_store.by_id(conn, site_id)


def follower(engine, site_id: int, address: str, *, kind: str = "thread", scope: str = "",
             channel: str = "email", delivery: str = "immediate") -> int:
    """A confirmed subscriber (as if the confirmation link had been followed)."""
    with engine.begin() as conn:
        sub = subscriptions.subscribe(conn, site_id=site_id, kind=kind, channel=channel, target=address,
                                      now=now(), scope=scope, delivery=delivery)
        subscriptions.confirm(conn, sub.id, now=now())
        # The confirmation message is not what these tests look at.
        conn.execute(alert_outbox.delete().where(alert_outbox.c.kind == "confirm"))
        return sub.id


def statuses(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(alert_outbox.c.status).where(alert_outbox.c.channel != "fanout")).scalars()
        counts: dict[str, int] = {}
        for s in rows:
            counts[s] = counts.get(s, 0) + 1
        return counts


def unfinished(engine) -> int:
    """Rows still to deliver now or after a short backoff (a digest waiting for its hour is not)."""
    with engine.connect() as conn:
        return len(conn.execute(select(alert_outbox.c.id).where(
            alert_outbox.c.status.in_(("pending", "sending")), alert_outbox.c.next_attempt_at < now() + 60)).all())


async def deliver_all(engine, cfg: AlertsConfig, *, timeout: float = 30.0) -> None:
    """Run the worker until every row due soon is delivered."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(engine, cfg, stop))
    deadline = time.monotonic() + timeout
    try:
        while await asyncio.to_thread(unfinished, engine):
            assert time.monotonic() < deadline, f"alerts still undelivered: {statuses(engine)}"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


# -- unit tests of the pure parts ---------------------------------------------------------------
def test_signed_links_round_trip_and_reject_tampering():
    links = Links(public_url=PUBLIC_URL, secret=SECRET)
    token = links.unsubscribe_url(42).split("token=")[1]
    assert links.read_unsubscribe(token) == 42
    with pytest.raises(InvalidLink):
        links.read_unsubscribe(token[:-2] + "xx")
    with pytest.raises(InvalidLink):  # a confirmation token is no unsubscribe token
        links.read_unsubscribe(links.confirm_url(42).split("token=")[1])
    manage = links.manage_url(3, "email", "reader@example.org").split("token=")[1]
    assert links.read_manage(manage) == (3, "email", "reader@example.org")
    other = Links(public_url=PUBLIC_URL, secret="another-secret-entirely-123456")
    with pytest.raises(InvalidLink):
        other.read_manage(manage)


def test_digest_due_times():
    t = 1_700_000_123.0  # 2023-11-14 22:15:23 UTC
    assert outbox.digest_due(t, "hourly", 7) == 1_700_002_800.0  # 23:00
    daily = outbox.digest_due(t, "daily", 7)
    assert daily > t and daily % 86400 == 7 * 3600 and daily - t < 86400


def test_backoff_doubles_and_caps():
    delays = [outbox.backoff_delay(n, 10, 300) for n in range(1, 10)]
    assert 8 <= delays[0] <= 12 and 16 <= delays[1] <= 24 and 32 <= delays[2] <= 48
    assert all(d <= 360 for d in delays) and delays[-1] >= 240


def core_for(engine, db_url: str):
    """The discussion core (real services) on the test database."""
    from townsquare.app import build_core
    from townsquare.config import load_settings

    return build_core(load_settings(None, environ={}, db=db_url, rate_limits="off"), engine)


def post(core, text: str, *, uri: str = "/2015/putin", parent_id: int | None = None,
         name: str = "MirM", email_address: str | None = None) -> dict:
    from townsquare.services import Client

    body = {"site": "daily", "uri": uri, "title": "Putin accuses US", "url": f"https://daily.example{uri}",
            "text": text, "parent_id": parent_id, "author": {"name": name, "email": email_address}}
    return core.post_comment(body, Client(ip="127.0.0.1"))["comment"]


class HttpReceiver:
    """A real HTTP server on 127.0.0.1 that records requests; `answer(request)` picks the reply."""

    def __init__(self, answer, content_type: str = "application/json"):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.requests: list[dict] = []
        self._answer = answer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._reply({"method": "POST", "path": self.path, "headers": dict(self.headers.items()), "body": body})

            def do_GET(self):
                self._reply({"method": "GET", "path": self.path, "headers": dict(self.headers.items()), "body": b""})

            def _reply(self, request):
                receiver.requests.append(request)
                status, reply = receiver._answer(request)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "HttpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
