"""What admins see of deliveries: counts per status and channel, and the latest messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from townsquare.store.alerts import alert_outbox

o = alert_outbox


def delivery_report(conn: Connection, site_id: int, *, status: str | None, limit: int) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    grouped = (
        select(o.c.channel, o.c.status, func.count())
        .where(o.c.site_id == site_id, o.c.channel != "fanout")
        .group_by(o.c.channel, o.c.status)
    )
    for channel, st, n in conn.execute(grouped):
        counts.setdefault(channel, {})[st] = n
    columns = ("key", "kind", "channel", "target", "status", "attempts", "last_error", "created", "sent_at",
               "next_attempt_at")
    latest = select(*(o.c[name] for name in columns)).where(o.c.site_id == site_id, o.c.channel != "fanout")
    if status:
        latest = latest.where(o.c.status == status)
    items = []
    for row in conn.execute(latest.order_by(o.c.id.desc()).limit(limit)):
        item = dict(zip(columns, row))
        if item["status"] != "pending":  # only a pending row's next try is meaningful
            item["next_attempt_at"] = None
        items.append(item)
    return {"counts": counts, "items": items}
