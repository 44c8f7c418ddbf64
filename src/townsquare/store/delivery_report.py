"""What admins see of a site's alert deliveries: counts per channel and status, latest messages.
Fan-out rows are bookkeeping, not deliveries, and are left out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from townsquare.store.alerts import alert_outbox

o = alert_outbox


@dataclass(frozen=True)
class StatusCount:
    channel: str
    status: str
    count: int


@dataclass(frozen=True)
class DeliveryLine:
    key: str
    kind: str
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    created: float
    sent_at: float | None
    next_attempt_at: float


def status_counts(conn: Connection, site_id: int) -> list[StatusCount]:
    grouped = (
        select(o.c.channel, o.c.status, func.count())
        .where(o.c.site_id == site_id, o.c.channel != "fanout")
        .group_by(o.c.channel, o.c.status)
    )
    return [StatusCount(channel, status, n) for channel, status, n in conn.execute(grouped)]


def latest(conn: Connection, site_id: int, *, status: str | None, limit: int) -> list[DeliveryLine]:
    """The site's newest messages, optionally only those with one status."""
    query = select(o.c.key, o.c.kind, o.c.channel, o.c.target, o.c.status, o.c.attempts, o.c.last_error,
                   o.c.created, o.c.sent_at, o.c.next_attempt_at).where(o.c.site_id == site_id, o.c.channel != "fanout")
    if status:
        query = query.where(o.c.status == status)
    return [
        DeliveryLine(key=r.key, kind=r.kind, channel=r.channel, target=r.target, status=r.status,
                     attempts=r.attempts, last_error=r.last_error, created=r.created, sent_at=r.sent_at,
                     next_attempt_at=r.next_attempt_at)
        for r in conn.execute(query.order_by(o.c.id.desc()).limit(limit))
    ]
