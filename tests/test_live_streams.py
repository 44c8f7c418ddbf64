"""Live thread streams across real `townsquare serve` processes: a stream on one process receives
what is posted through another (PostgreSQL), or through the same one (SQLite); a reconnect with
Last-Event-ID receives what it missed; a held comment sends nothing."""

from __future__ import annotations

import queue
import subprocess
import threading
import time

import httpx
import orjson
import pytest
from sqlalchemy import update

from tests.conftest import LENIENT, add_site
from tests.moderation_support import PASSWORD, add_moderator, csrf_of
from tests.test_alerts_support import free_port
from tests.test_serve_cli import child_env, kill_all, stop, townsquare_cmd, wait_healthy
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import threads

ORIGIN = {"Origin": "https://daily.example"}
WAIT = 30  # seconds: a generous bound, never a measurement
RULES = {**LENIENT, "min_submit_seconds": 5}  # a form sent in 0.1 s is held


class Stream:
    """An SSE stream read in a thread; its events land in a queue as (id, kind, data)."""

    def __init__(self, base: str, uri: str, last_event_id: str | None = None):
        self.events: queue.Queue = queue.Queue()
        self.status: int | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=WAIT))
        headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
        self._request = self._client.build_request("GET", base + "/api/v1/threads/events",
                                                   params={"site": "daily", "uri": uri}, headers=headers)
        self._open, self.ended = threading.Event(), threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._open.wait(WAIT), "the stream did not open"

    def _read(self) -> None:
        try:
            resp = self._client.send(self._request, stream=True)
            try:
                self.status, self.content_type = resp.status_code, resp.headers.get("content-type")
                self._open.set()
                fields: dict[str, str] = {}
                for line in resp.iter_lines():
                    if not line:
                        if "event" in fields:
                            self.events.put((fields.get("id"), fields["event"], orjson.loads(fields["data"])))
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
            finally:
                resp.close()
        except (httpx.HTTPError, RuntimeError):
            pass  # closed by the test
        finally:
            self._open.set()
            self.ended.set()

    def next(self, kind: str | None = None) -> tuple[str, str, dict]:
        """The next event (of `kind`, skipping others), within WAIT seconds."""
        while True:
            event = self.events.get(timeout=WAIT)
            if kind is None or event[1] == kind:
                return event

    def close(self) -> None:
        self._client.close()


def post(base: str, uri: str, text: str, elapsed_ms: int = 60_000) -> dict:
    resp = httpx.post(base + "/api/v1/comments", headers=ORIGIN, timeout=WAIT, json={
        "site": "daily", "uri": uri, "text": text, "author": {"name": "Ann"}, "elapsed_ms": elapsed_ms})
    assert resp.status_code == 201, resp.text
    return resp.json()


def start_servers(tmp_path, db_url: str, count: int, **extra: str) -> list[tuple[str, subprocess.Popen]]:
    env = {"TOWNSQUARE_DB": db_url, "TOWNSQUARE_ALERTS__WORKER_IN_SERVE": "false",
           "TOWNSQUARE_LIVE__POLL_INTERVAL": "0.2", "TOWNSQUARE_LIVE__HEARTBEAT": "2", **extra}
    servers = []
    for _ in range(count):
        port = free_port()
        server = subprocess.Popen(townsquare_cmd("serve", "--workers", "1", "--port", str(port)), cwd=tmp_path,
                                  env=child_env(**env), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        servers.append((f"http://127.0.0.1:{port}", server))
    for base, server in servers:
        wait_healthy(base, server)
    return servers


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_stream_follows_posts_from_another_process(tmp_path, request, db):
    db_url = f"sqlite:///{tmp_path}/live.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(db_url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000, moderation_rules=RULES)
    engine.dispose()
    if db == "sqlite":
        servers = start_servers(tmp_path, db_url, 1)
    else:
        # Polls and heartbeats far apart: within WAIT, only the NOTIFY on commit can wake the stream.
        servers = start_servers(tmp_path, db_url, 2, TOWNSQUARE_LIVE__POLL_INTERVAL="60",
                                TOWNSQUARE_LIVE__HEARTBEAT="60")
    reading, writing = servers[0][0], servers[-1][0]
    try:
        # A stream opened before the thread exists follows it from its first comment on.
        stream = Stream(reading, "/live")
        assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
        assert stream.next()[1] == "ready"
        first = post(writing, "/live", "First!")["comment"]
        event_id, kind, shown = stream.next()
        assert kind == "comment" and shown["id"] == first["id"] and shown["html"] == first["html"]

        # A held comment sends nothing: the next event is the comment posted after it.
        held = post(writing, "/live", "Too fast to be a person", elapsed_ms=100)
        assert held["comment"]["status"] == "pending"
        second = post(writing, "/live", "Second")["comment"]
        event_id, kind, shown = stream.next()
        assert (kind, shown["id"]) == ("comment", second["id"])

        vote = httpx.post(f"{writing}/api/v1/comments/{second['id']}/vote", json={"value": 1}, headers=ORIGIN,
                          timeout=WAIT)
        assert vote.status_code == 200, vote.text
        event_id, kind, totals = stream.next()
        assert kind == "vote" and totals == {"id": second["id"], "likes": 1, "dislikes": 0, "votes": 1}
        stream.close()

        # Missed while away: a reconnect with Last-Event-ID receives them, in order, once.
        missed = [post(writing, "/live", f"While away {i}")["comment"]["id"] for i in range(3)]
        again = Stream(reading, "/live", last_event_id=event_id)
        assert again.next()[1] == "ready"
        assert [again.next("comment")[2]["id"] for _ in missed] == missed
        again.close()
    finally:
        for _, server in servers:
            stop(server)
            kill_all(server, [])


def test_bad_requests_and_too_many_streams_are_problems(tmp_path):
    db_url = f"sqlite:///{tmp_path}/live.db"
    engine = make_engine(db_url)
    migrate(engine)
    add_site(engine)
    engine.dispose()
    [(base, server)] = start_servers(tmp_path, db_url, 1, TOWNSQUARE_LIVE__MAX_STREAMS="1")
    try:
        resp = httpx.get(base + "/api/v1/threads/events", params={"site": "daily", "uri": "/x"},
                         headers={"Last-Event-ID": "abc"}, timeout=WAIT)
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
        resp = httpx.get(base + "/api/v1/threads/events", params={"site": "nope", "uri": "/x"}, timeout=WAIT)
        assert resp.status_code == 404 and resp.headers["content-type"] == "application/problem+json"
        # One stream open: the next is refused, with a time to come back, until the first closes.
        first = Stream(base, "/x")
        assert first.status == 200 and first.next()[1] == "ready"
        resp = httpx.get(base + "/api/v1/threads/events", params={"site": "daily", "uri": "/x"}, timeout=WAIT)
        assert resp.status_code == 503 and int(resp.headers["retry-after"]) > 0
        assert resp.headers["content-type"] == "application/problem+json"
        first.close()
    finally:
        stop(server)
        kill_all(server, [])


class QueueStream(Stream):
    """A moderator's queue stream (`/admin/queue-events`), signed in with the admin session cookie."""

    def __init__(self, base: str, email: str):
        self.events = queue.Queue()
        self.status = None
        self._client = httpx.Client(base_url=base, timeout=httpx.Timeout(5, read=WAIT), follow_redirects=True)
        form = self._client.get("/admin/login")
        signed_in = self._client.post("/admin/login", data={"email": email, "password": PASSWORD,
                                                            "csrf": csrf_of(form.text), "next": "/admin/queue/pending"})
        assert signed_in.status_code == 200 and 'data-waiting="0"' in signed_in.text
        self._request = self._client.build_request("GET", "/admin/queue-events")
        self._open, self.ended = threading.Event(), threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._open.wait(WAIT), "the stream did not open"


def moderator_key(db_url: str) -> str:
    engine = make_engine(db_url)
    try:
        return add_moderator(engine)[1]
    finally:
        engine.dispose()


def test_moderators_and_authors_changes_reach_readers_and_held_comments_reach_only_the_queue(tmp_path):
    db_url = f"sqlite:///{tmp_path}/live.db"
    engine = make_engine(db_url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000, moderation_rules=RULES, reports_to_hold=1)
    engine.dispose()
    key = {"Authorization": f"Bearer {moderator_key(db_url)}"}
    [(base, server)] = start_servers(tmp_path, db_url, 1)
    try:
        stream, desk = Stream(base, "/mod"), QueueStream(base, "mod@daily.example")
        assert stream.next()[1] == "ready" and desk.next() == (None, "queue", {"pending": 0})
        first = post(base, "/mod", "First words")["comment"]
        second = post(base, "/mod", "Second words")["comment"]
        assert [stream.next()[2]["id"] for _ in range(2)] == [first["id"], second["id"]]

        # A moderator's edit: the new words. A rejection: removed, as on a reload.
        edited = httpx.patch(f"{base}/api/v1/moderation/comments/{first['id']}", headers=key, timeout=WAIT,
                             json={"text": "Words a moderator fixed", "reason": "typo"})
        assert edited.status_code == 200, edited.text
        _, kind, shown = stream.next()
        assert kind == "edit" and shown["id"] == first["id"] and "Words a moderator fixed" in shown["html"]
        rejected = httpx.post(f"{base}/api/v1/moderation/comments/{first['id']}/reject", headers=key, timeout=WAIT,
                              json={"reason": "off topic"})
        assert rejected.status_code == 200, rejected.text
        assert stream.next()[1:] == ("status", {"id": first["id"], "status": "removed", "reason": "rejected"})

        # Held by a reader's report: gone from the thread, and in the moderator's queue.
        reported = httpx.post(f"{base}/api/v1/comments/{second['id']}/report", json={"reason": "spam"},
                              headers=ORIGIN, timeout=WAIT)
        assert reported.status_code == 200 and reported.json()["status"] == "pending", reported.text
        assert stream.next()[1:] == ("status", {"id": second["id"], "status": "removed", "reason": "pending"})
        assert desk.next()[1:] == ("queue", {"pending": 1})

        # Held when posted: the queue hears of it, the thread's readers never do.
        held = post(base, "/mod", "Too fast to be a person", elapsed_ms=100)["comment"]
        assert held["status"] == "pending"
        assert desk.next()[1:] == ("queue", {"pending": 2})
        third = post(base, "/mod", "Third words")["comment"]
        assert stream.next()[1:] == ("comment", stream_shape(third))

        # Signed out: the queue stream ends at its next heartbeat.
        client = desk._client
        signed_out = client.post("/admin/logout", data={"csrf": csrf_of(client.get("/admin/queue/pending").text)})
        assert signed_out.status_code == 200 and "/admin/login" in str(signed_out.url)
        assert desk.ended.wait(WAIT)
        stream.close(), desk.close()
    finally:
        stop(server)
        kill_all(server, [])


def stream_shape(comment: dict) -> dict:
    return {**comment, "reply_count": 0}


def test_redis_wakes_the_streams_of_another_process(tmp_path, pg_url, redis_url):
    """Two processes on one PostgreSQL database with `redis_url`: a stream on one receives what is
    posted through the other at once, though neither polls nor sends heartbeats within the test
    (and neither LISTENs: Redis replaces it)."""
    engine = make_engine(pg_url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000, moderation_rules=RULES)
    engine.dispose()
    moderator_key(pg_url)
    servers = start_servers(tmp_path, pg_url, 2, TOWNSQUARE_REDIS_URL=redis_url, TOWNSQUARE_LIVE__POLL_INTERVAL="60",
                            TOWNSQUARE_LIVE__HEARTBEAT="60")
    (reading, _), (writing, _) = servers
    try:
        stream, desk = Stream(reading, "/redis"), QueueStream(reading, "mod@daily.example")
        assert stream.next()[1] == "ready" and desk.next()[1:] == ("queue", {"pending": 0})
        first = post(writing, "/redis", "Through the other process")["comment"]
        assert stream.next()[1:] == ("comment", stream_shape(first))
        vote = httpx.post(f"{writing}/api/v1/comments/{first['id']}/vote", json={"value": 1}, headers=ORIGIN,
                          timeout=WAIT)
        assert vote.status_code == 200, vote.text
        assert stream.next()[1:] == ("vote", {"id": first["id"], "likes": 1, "dislikes": 0, "votes": 1})
        held = post(writing, "/redis", "Too fast to be a person", elapsed_ms=100)["comment"]
        assert held["status"] == "pending"
        assert desk.next()[1:] == ("queue", {"pending": 1})
        stream.close(), desk.close()
    finally:
        for _, server in servers:
            stop(server)
            kill_all(server, [])


def test_concurrent_posts_to_one_thread_all_commit_on_postgresql(pg_url):
    """Each post locks its thread's row for its event while other posts' inserts hold a key-share
    lock on it (their foreign key): the lock taken must not conflict with that, or posts deadlock."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.browser_fixtures import serving
    from townsquare.app import create_app
    from townsquare.config import load_settings

    engine = make_engine(pg_url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000, moderation_rules=LENIENT)
    settings = load_settings(None, environ={}, db=pg_url, rate_limits="off", alerts={"worker_in_serve": False})
    with serving(create_app(settings, engine)) as base:
        post(base, "/busy", "The first comment makes the thread")
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda i: httpx.post(base + "/api/v1/comments", headers=ORIGIN, timeout=WAIT, json={
                "site": "daily", "uri": "/busy", "text": f"Comment {i}", "author": {"name": "Ann"}}).status_code,
                range(48)))
    engine.dispose()
    assert answers == [201] * 48


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_picks_pins_and_the_sites_close_after_days_reach_the_stream(tmp_path, request, db):
    """A moderator's feature and pin are events; the site's `close_after_days` closes the thread
    by the clock, which writes nothing: the stream sends `status {closed: true}` itself (no id)."""
    db_url = f"sqlite:///{tmp_path}/live.db" if db == "sqlite" else request.getfixturevalue("pg_url")
    engine = make_engine(db_url)
    migrate(engine)
    add_site(engine, posts_per_minute=10_000, moderation_rules=LENIENT, close_after_days=1)
    key = {"Authorization": f"Bearer {moderator_key(db_url)}"}
    [(base, server)] = start_servers(tmp_path, db_url, 1)
    try:
        first = post(base, "/clock", "Words before the close")["comment"]
        # The thread began almost a day ago: the site's rule closes it a few seconds from now.
        with engine.begin() as conn:
            conn.execute(update(threads).values(created=time.time() - 86400 + 4))
        stream = Stream(base, "/clock")
        assert stream.next()[1] == "ready"
        for action in ("feature", "pin"):
            done = httpx.post(f"{base}/api/v1/moderation/comments/{first['id']}/{action}", json={}, headers=key,
                              timeout=WAIT)
            assert done.status_code == 200, done.text
        got = {}
        while len(got) < 3:
            event_id, kind, data = stream.next()
            got[kind] = (event_id, data)
        assert got["feature"][1] == {"id": first["id"], "featured": True}
        assert got["pin"][1] == {"id": first["id"], "pinned": True}
        assert got["status"] == (None, {"closed": True})
        late = httpx.post(base + "/api/v1/comments", headers=ORIGIN, timeout=WAIT, json={
            "site": "daily", "uri": "/clock", "text": "Too late", "author": {"name": "Ann"}, "elapsed_ms": 60_000})
        assert late.status_code == 403 and late.json()["closed"] is True
        stream.close()
    finally:
        stop(server)
        kill_all(server, [])
        engine.dispose()
