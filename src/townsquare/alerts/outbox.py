"""The durable outbox: write alert rows, claim them across processes, record each outcome.

Claiming is one statement on both databases: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING …`. PostgreSQL skips rows another worker is claiming; SQLite has one writer at a
time, so the conditional UPDATE is atomic as it stands. A claimed row gets a lease: its
`next_attempt_at` moves to the end of the lease, so if the worker dies the row simply becomes
due again and another worker delivers it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any, Iterable

import orjson
from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.store.alerts import alert_outbox, alert_subscriptions

o = alert_outbox


@dataclass(frozen=True)
class Row:
    """A claimed outbox row."""

    id: int
    key: str
    site_id: int
    kind: str
    channel: str
    target: str
    subscription_id: int | None
    parent_id: int | None
    payload: dict[str, Any] | None
    digest: str | None
    attempts: int
    cursor: int


_ROW_COLUMNS = (
    o.c.id, o.c.key, o.c.site_id, o.c.kind, o.c.channel, o.c.target, o.c.subscription_id,
    o.c.parent_id, o.c.payload, o.c.digest, o.c.attempts, o.c.cursor,
)


def _row(r) -> Row:
    return Row(
        id=r.id, key=r.key, site_id=r.site_id, kind=r.kind, channel=r.channel, target=r.target,
        subscription_id=r.subscription_id, parent_id=r.parent_id,
        payload=orjson.loads(r.payload) if r.payload else None, digest=r.digest,
        attempts=r.attempts, cursor=r.cursor,
    )


def _insert_ignoring_duplicates(conn: Connection):
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert(o).on_conflict_do_nothing(index_elements=[o.c.key])


def enqueue(
    conn: Connection,
    *,
    key: str,
    site_id: int,
    kind: str,
    channel: str,
    now: float,
    target: str = "",
    payload: dict[str, Any] | None = None,
    subscription_id: int | None = None,
) -> None:
    """Write one row (in the caller's transaction); nothing if a row with this key exists."""
    row = {
        "key": key, "site_id": site_id, "kind": kind, "channel": channel, "target": target,
        "subscription_id": subscription_id, "parent_id": None,
        "payload": orjson.dumps(payload).decode() if payload is not None else None,
        "digest": None, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "cursor": 0, "created": now,
    }
    conn.execute(_insert_ignoring_duplicates(conn).values(**row))


def message_key(parent_key: str, channel: str, target: str) -> str:
    """One message per event and address, even if the address matches several subscriptions."""
    digest = hashlib.sha256(f"{channel}\n{target}".encode()).hexdigest()[:20]
    return f"{parent_key}.{digest}"


def digest_due(now: float, delivery: str, daily_hour: int) -> float:
    """When a digest that collects an item arriving at `now` goes out."""
    if delivery == "hourly":
        return (now // 3600 + 1) * 3600
    day_start = now // 86400 * 86400
    due = day_start + daily_hour * 3600
    return due if due > now else due + 86400


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling, capped, jittered."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)


def claim(conn: Connection, *, worker: str, now: float, lease: float, limit: int) -> list[Row]:
    due = (
        select(o.c.id)
        .where(o.c.status.in_(("pending", "sending")), o.c.next_attempt_at <= now)
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return sorted(_lease(conn, due, worker=worker, now=now, lease=lease), key=lambda r: r.id)


def claim_digest(conn: Connection, row: Row, *, worker: str, now: float, lease: float) -> list[Row]:
    """Claim the recipient's other due rows of the same digest, to send them as one message."""
    siblings = (
        select(o.c.id)
        .where(
            o.c.channel == row.channel, o.c.target == row.target, o.c.digest == row.digest,
            o.c.site_id == row.site_id, o.c.status.in_(("pending", "sending")),
            o.c.next_attempt_at <= now, o.c.id != row.id,
        )
        .with_for_update(skip_locked=True)
    )
    return _lease(conn, siblings, worker=worker, now=now, lease=lease)


def _lease(conn: Connection, ids, *, worker: str, now: float, lease: float) -> list[Row]:
    """Mark the rows selected by `ids` as being sent by this worker until the lease runs out."""
    stmt = (
        update(o)
        .where(o.c.id.in_(ids.scalar_subquery()))
        .values(
            status="sending", locked_by=worker, locked_until=now + lease,
            next_attempt_at=now + lease, attempts=o.c.attempts + 1,
        )
        .returning(*_ROW_COLUMNS)
    )
    return [_row(r) for r in conn.execute(stmt)]


def _held(ids: Iterable[int], worker: str):
    return and_(o.c.id.in_(list(ids)), o.c.locked_by == worker, o.c.status == "sending")


def extend_lease(conn: Connection, ids: list[int], *, worker: str, until: float) -> None:
    conn.execute(update(o).where(_held(ids, worker)).values(locked_until=until, next_attempt_at=until))


def mark_sent(conn: Connection, ids: list[int], *, worker: str, now: float) -> int:
    """Record delivery. Only the lease holder may; returns how many rows it still held."""
    stmt = update(o).where(_held(ids, worker)).values(
        status="sent", sent_at=now, locked_by=None, locked_until=None, last_error=None
    )
    return conn.execute(stmt).rowcount or 0


def mark_cancelled(conn: Connection, ids: list[int], *, worker: str, reason: str) -> None:
    conn.execute(
        update(o).where(_held(ids, worker)).values(
            status="cancelled", locked_by=None, locked_until=None, last_error=reason
        )
    )


def mark_failed(
    conn: Connection,
    rows: list[Row],
    *,
    worker: str,
    now: float,
    error: str,
    permanent: bool,
    max_attempts: int,
    backoff_base: float,
    backoff_max: float,
) -> None:
    """Schedule another try with exponential backoff, or give up after `max_attempts`."""
    for row in rows:
        gave_up = permanent or row.attempts >= max_attempts
        values: dict[str, Any] = {"locked_by": None, "locked_until": None, "last_error": error[:2000]}
        if gave_up:
            values["status"] = "failed"
        else:
            values["status"] = "pending"
            values["next_attempt_at"] = now + backoff_delay(row.attempts, backoff_base, backoff_max)
        conn.execute(update(o).where(_held([row.id], worker)).values(**values))


def expand_fanout(
    conn: Connection, row: Row, *, worker: str, now: float, chunk: int, daily_hour: int
) -> bool:
    """Add one chunk of per-recipient rows for a fan-out row; True once every recipient has one.

    The chunk and the cursor that records it commit together (the caller's transaction), and
    message keys are unique, so a worker killed mid-way resumes without gaps or repeats. An
    unfinished fan-out is handed back as due, so any worker continues it; a batch expands at most
    one chunk, so delivery starts while the rest is still being expanded.
    """
    payload = row.payload or {}
    s = alert_subscriptions
    wanted = or_(*(and_(s.c.kind == kind, s.c.scope == scope) for kind, scope in payload["match"]))
    subs = conn.execute(
        select(s.c.id, s.c.kind, s.c.channel, s.c.target, s.c.delivery)
        .where(
            s.c.site_id == row.site_id, wanted, s.c.confirmed.is_not(None),
            s.c.unsubscribed.is_(None), s.c.id > row.cursor,
        )
        .order_by(s.c.id)
        .limit(chunk)
    ).all()
    exclude = set(payload.get("exclude", ()))
    messages = []
    for sub in subs:
        if sub.target.lower() in exclude:
            continue
        digest = sub.delivery if sub.delivery in ("hourly", "daily") else None
        messages.append({
            "key": message_key(row.key, sub.channel, sub.target), "site_id": row.site_id,
            "kind": sub.kind, "channel": sub.channel, "target": sub.target,
            "subscription_id": sub.id, "parent_id": row.id, "payload": None, "digest": digest,
            "status": "pending", "attempts": 0, "cursor": 0, "created": now,
            "next_attempt_at": digest_due(now, digest, daily_hour) if digest else now,
        })
    if messages:  # a message key that exists already (a resumed chunk) is skipped
        conn.execute(_insert_ignoring_duplicates(conn), messages)
    done = len(subs) < chunk
    if done:
        mark_sent(conn, [row.id], worker=worker, now=now)
    else:
        conn.execute(update(o).where(_held([row.id], worker)).values(
            cursor=subs[-1].id, status="pending", attempts=0, locked_by=None, locked_until=None,
            next_attempt_at=now,
        ))
    return done


def load_payloads(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(select(o.c.id, o.c.payload).where(o.c.id.in_(ids)))
    return {r.id: orjson.loads(r.payload) for r in rows}


def recent_confirmations(conn: Connection, *, channel: str, target: str, since: float) -> int:
    return conn.execute(
        select(func.count()).select_from(o).where(
            o.c.channel == channel, o.c.target == target, o.c.kind == "confirm", o.c.created >= since
        )
    ).scalar_one()
