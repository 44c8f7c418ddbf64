"""The alert outbox's rows: write them, lease them to one worker, record each outcome.

Claiming is one statement on both databases: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING …`. PostgreSQL skips rows another worker is claiming; SQLite has one writer at a
time, so the conditional UPDATE is atomic as it stands. A claimed row gets a lease: its
`next_attempt_at` moves to the end of the lease, so if the worker dies the row simply becomes
due again and another worker delivers it. Only the lease holder may record an outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError as DatabaseError

from townsquare.store.alerts import alert_outbox

__all__ = [
    "DatabaseError", "NewOutboxItem", "OutboxItem", "add", "cancel_pending_alerts", "claim", "claim_digest",
    "confirmations_since", "extend_lease", "hand_back_fanout", "mark_cancelled", "mark_failed", "mark_sent",
    "payloads", "retry_later",
]

o = alert_outbox


@dataclass(frozen=True)
class NewOutboxItem:
    """A row to write; nothing is written if a row with its `key` exists."""

    key: str
    site_id: int
    kind: str
    channel: str
    next_attempt_at: float
    created: float
    target: str = ""
    subscription_id: int | None = None
    parent_id: int | None = None
    payload: dict[str, Any] | None = None
    digest: str | None = None


@dataclass(frozen=True)
class OutboxItem:
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


_COLUMNS = (
    o.c.id, o.c.key, o.c.site_id, o.c.kind, o.c.channel, o.c.target, o.c.subscription_id,
    o.c.parent_id, o.c.payload, o.c.digest, o.c.attempts, o.c.cursor,
)


def _item(r) -> OutboxItem:
    return OutboxItem(
        id=r.id, key=r.key, site_id=r.site_id, kind=r.kind, channel=r.channel, target=r.target,
        subscription_id=r.subscription_id, parent_id=r.parent_id,
        payload=orjson.loads(r.payload) if r.payload else None, digest=r.digest,
        attempts=r.attempts, cursor=r.cursor,
    )


def add(conn: Connection, items: Sequence[NewOutboxItem]) -> None:
    """Write rows in one statement (in the caller's transaction); a key that exists is skipped,
    which is what makes events, resumed fan-outs and repeated requests idempotent."""
    if not items:
        return
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(o).on_conflict_do_nothing(index_elements=[o.c.key])
    rows = [
        {
            "key": i.key, "site_id": i.site_id, "kind": i.kind, "channel": i.channel, "target": i.target,
            "subscription_id": i.subscription_id, "parent_id": i.parent_id,
            "payload": orjson.dumps(i.payload).decode() if i.payload is not None else None,
            "digest": i.digest, "status": "pending", "attempts": 0, "cursor": 0,
            "next_attempt_at": i.next_attempt_at, "created": i.created,
        }
        for i in items
    ]
    conn.execute(stmt, rows)


def claim(conn: Connection, *, worker: str, now: float, lease: float, limit: int) -> list[OutboxItem]:
    """Lease up to `limit` due rows to `worker` (oldest due first); returned in id order."""
    due = (
        select(o.c.id)
        .where(o.c.status.in_(("pending", "sending")), o.c.next_attempt_at <= now)
        .order_by(o.c.next_attempt_at, o.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return sorted(_lease(conn, due, worker=worker, now=now, lease=lease), key=lambda r: r.id)


def claim_digest(conn: Connection, item: OutboxItem, *, worker: str, now: float, lease: float) -> list[OutboxItem]:
    """Lease the recipient's other due rows of `item`'s digest, to send them as one message."""
    siblings = (
        select(o.c.id)
        .where(
            o.c.channel == item.channel, o.c.target == item.target, o.c.digest == item.digest,
            o.c.site_id == item.site_id, o.c.status.in_(("pending", "sending")),
            o.c.next_attempt_at <= now, o.c.id != item.id,
        )
        .with_for_update(skip_locked=True)
    )
    return _lease(conn, siblings, worker=worker, now=now, lease=lease)


def _lease(conn: Connection, ids, *, worker: str, now: float, lease: float) -> list[OutboxItem]:
    stmt = (
        update(o)
        .where(o.c.id.in_(ids.scalar_subquery()))
        .values(
            status="sending", locked_by=worker, locked_until=now + lease,
            next_attempt_at=now + lease, attempts=o.c.attempts + 1,
        )
        .returning(*_COLUMNS)
    )
    return [_item(r) for r in conn.execute(stmt)]


def _held(ids: Iterable[int], worker: str):
    return and_(o.c.id.in_(list(ids)), o.c.locked_by == worker, o.c.status == "sending")


def extend_lease(conn: Connection, ids: list[int], *, worker: str, until: float) -> None:
    conn.execute(update(o).where(_held(ids, worker)).values(locked_until=until, next_attempt_at=until))


def mark_sent(conn: Connection, ids: list[int], *, worker: str, now: float) -> int:
    """Record delivery; returns how many of the rows the worker still held."""
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


def mark_failed(conn: Connection, item_id: int, *, worker: str, error: str) -> None:
    """Give up on a row for good."""
    conn.execute(update(o).where(_held([item_id], worker)).values(
        status="failed", locked_by=None, locked_until=None, last_error=error))


def retry_later(conn: Connection, item_id: int, *, worker: str, error: str, at: float) -> None:
    """Hand a failed row back, due again at `at`."""
    conn.execute(update(o).where(_held([item_id], worker)).values(
        status="pending", next_attempt_at=at, locked_by=None, locked_until=None, last_error=error))


def hand_back_fanout(conn: Connection, item_id: int, *, worker: str, cursor: int, now: float) -> None:
    """Record a fan-out's progress and make it due again, for any worker to continue."""
    conn.execute(update(o).where(_held([item_id], worker)).values(
        cursor=cursor, status="pending", attempts=0, locked_by=None, locked_until=None, next_attempt_at=now,
    ))


def payloads(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    """The event payloads of fan-out rows, by row id."""
    if not ids:
        return {}
    rows = conn.execute(select(o.c.id, o.c.payload).where(o.c.id.in_(ids)))
    return {r.id: orjson.loads(r.payload) for r in rows}


def confirmations_since(conn: Connection, *, channel: str, target: str, since: float) -> int:
    """How many confirmation messages were queued for an address since `since`."""
    return conn.execute(
        select(func.count()).select_from(o).where(
            o.c.channel == channel, o.c.target == target, o.c.kind == "confirm", o.c.created >= since
        )
    ).scalar_one()


def cancel_pending_alerts(conn: Connection, subscription_id: int, *, reason: str) -> None:
    """Cancel a subscription's alerts that have not gone out (its confirmation messages stay)."""
    conn.execute(
        update(o)
        .where(o.c.subscription_id == subscription_id, o.c.status == "pending", o.c.kind != "confirm")
        .values(status="cancelled", last_error=reason)
    )
