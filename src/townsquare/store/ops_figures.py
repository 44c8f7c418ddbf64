"""The operations figures /metrics reports from the database, so that every process (and every
worker of `serve --workers N`) reports the same: the alert outbox and the moderation queue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from townsquare.store.alerts import alert_outbox as o
from townsquare.store.tables import comments, sites, threads

WAITING = ("pending", "sending")  # not yet delivered, given up or cancelled


@dataclass(frozen=True)
class Deliveries:
    channel: str
    status: str
    count: int


@dataclass(frozen=True)
class OpsFigures:
    outbox_waiting: int
    oldest_waiting_since: float | None  # epoch seconds of the oldest row still to deliver
    deliveries: list[Deliveries]
    queue_by_site: dict[str, int]  # comments awaiting a moderator, per site name


def figures(conn: Connection) -> OpsFigures:
    waiting = conn.execute(select(func.count(), func.min(o.c.created)).where(o.c.status.in_(WAITING))).one()
    # Fan-out rows are bookkeeping (one per event), not deliveries.
    deliveries = conn.execute(select(o.c.channel, o.c.status, func.count()).where(o.c.channel != "fanout")
                              .group_by(o.c.channel, o.c.status).order_by(o.c.channel, o.c.status)).all()
    # From the pending comments (indexed by status), not from every thread; sites with none show 0.
    pending = dict(conn.execute(select(threads.c.site_id, func.count()).select_from(comments.join(threads))
                                .where(comments.c.status == "pending").group_by(threads.c.site_id)).all())
    names = conn.execute(select(sites.c.id, sites.c.name).order_by(sites.c.name)).all()
    return OpsFigures(outbox_waiting=waiting[0], oldest_waiting_since=waiting[1],
                      deliveries=[Deliveries(*row) for row in deliveries],
                      queue_by_site={name: pending.get(id_, 0) for id_, name in names})
