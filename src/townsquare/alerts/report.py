"""What admins see of deliveries: counts per status and channel, and the latest messages."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from townsquare.store import delivery_report as rows
from townsquare.store.db import Connection


def delivery_report(conn: Connection, site_id: int, *, status: str | None, limit: int) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {}
    for c in rows.status_counts(conn, site_id):
        counts.setdefault(c.channel, {})[c.status] = c.count
    items = []
    for line in rows.latest(conn, site_id, status=status, limit=limit):
        item = asdict(line)
        if item["status"] != "pending":  # only a pending row's next try is meaningful
            item["next_attempt_at"] = None
        items.append(item)
    return {"counts": counts, "items": items}
