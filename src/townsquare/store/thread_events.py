"""Thread events: the live changes of each thread, read by the readers' streams of every process."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, Engine, bindparam, delete, event, func, insert, select, text

from townsquare.store.db import now
from townsquare.store.tables import thread_events, threads


@dataclass(frozen=True, slots=True)
class ThreadEvent:
    id: int
    thread_id: int
    kind: str
    payload: str  # JSON


# A comment held for review: a wake-up for the moderators' queue streams, never read by a thread's
# stream (its readers must not learn of it); it carries the comment's id only.
HELD = "held"
QUEUE = -1  # the wake-up key of a held comment (thread ids are positive)
_SINCE = (select(thread_events.c.id, thread_events.c.thread_id, thread_events.c.kind, thread_events.c.payload)
          .where(thread_events.c.thread_id == bindparam("tid"), thread_events.c.id > bindparam("after"),
                 thread_events.c.kind != HELD)
          .order_by(thread_events.c.id).limit(bindparam("limit")))
_CHANGED = (select(thread_events.c.id, thread_events.c.thread_id, thread_events.c.kind)
            .where(thread_events.c.id > bindparam("after")).order_by(thread_events.c.id).limit(bindparam("limit")))


# Built once: every visible change appends one inside its write transaction.
_APPEND = insert(thread_events)

CHANNEL = "townsquare_thread_events"
_WOKEN = "townsquare_live_woken"  # in a connection's info: the wake-up keys of its uncommitted events
_ANNOUNCING: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines with an `on_commit` announcer
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def append(conn: Connection, thread_id: int, kind: str, payload: dict) -> int:
    """Record one change in the writer's transaction. On PostgreSQL the thread's row is locked
    (if the writer has not already), so one thread's events commit in the order of their ids (a
    stream that has seen id N can never later find a smaller one appear); SQLite's single writer
    gives that already."""
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        # FOR NO KEY UPDATE, the lock the writer's own `UPDATE threads` takes: FOR UPDATE would also
        # wait for the KEY SHARE lock another writer's comment INSERT holds on the row (its foreign
        # key), while that writer waits for this one's UPDATE: a deadlock under concurrent posts.
        conn.execute(select(threads.c.id).where(threads.c.id == thread_id).with_for_update(key_share=True))
    event_id = conn.execute(_APPEND, {
        "thread_id": thread_id, "kind": kind, "comment_id": payload.get("id"), "payload": orjson.dumps(payload).decode(),
        "created": now()}).inserted_primary_key[0]
    if postgres:  # delivered to every process's listener when this transaction commits
        conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": str(thread_id)})
    if conn.engine in _ANNOUNCING:
        conn.info.setdefault(_WOKEN, set()).add(QUEUE if kind == HELD else thread_id)
    return event_id


def since(conn: Connection, thread_id: int, after: int, limit: int = 500) -> list[ThreadEvent]:
    return [ThreadEvent(*r) for r in conn.execute(_SINCE, {"tid": thread_id, "after": after, "limit": limit})]


def latest(conn: Connection, thread_id: int | None = None) -> int:
    """The newest event id (of one thread, or of all): where a new stream starts."""
    q = select(func.max(thread_events.c.id))
    if thread_id is not None:
        q = q.where(thread_events.c.thread_id == thread_id)
    return conn.execute(q).scalar() or 0


def changed_threads(conn: Connection, after: int, limit: int = 1000) -> list[tuple[int, int]]:
    """(event id, wake-up key) of the events after `after`: the thread's id, or QUEUE for a held
    comment. One query wakes a whole process."""
    return [(r[0], QUEUE if r[2] == HELD else r[1]) for r in conn.execute(_CHANGED, {"after": after, "limit": limit})]


def on_commit(engine: Engine, announce: Callable[[set[int]], None]) -> Callable[[], None]:
    """Call `announce` with the wake-up keys of the events each transaction on `engine` appended,
    once it has committed (when its connection returns to the pool; a rollback forgets them).
    Returns what undoes this."""
    def forget(conn) -> None:
        conn.info.pop(_WOKEN, None)

    def returned(dbapi_connection, record) -> None:
        keys = record.info.pop(_WOKEN, None) if record is not None else None
        if keys:
            announce(keys)

    event.listen(engine, "rollback", forget)
    event.listen(engine.pool, "checkin", returned)
    _ANNOUNCING.add(engine)

    def undo() -> None:
        _ANNOUNCING.discard(engine)
        event.remove(engine, "rollback", forget)
        event.remove(engine.pool, "checkin", returned)
    return undo


def prune(conn: Connection, before: float) -> int:
    return conn.execute(delete(thread_events).where(thread_events.c.created < before)).rowcount or 0


def listen(engine: Engine, stop: threading.Event, notified: Callable[[], None], timeout: float = 5.0) -> None:
    """PostgreSQL: hold one connection LISTENing on the events channel (outside the pool), and
    call `notified` for every NOTIFY until `stop` is set. Raises when the connection is lost."""
    import psycopg

    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'LISTEN "{CHANNEL}"')
        while not stop.is_set():
            for _ in conn.notifies(timeout=timeout, stop_after=1):
                notified()
