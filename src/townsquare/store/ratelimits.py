"""Fixed-window rate counters, shared by every process through the database."""

from __future__ import annotations

import random

from sqlalchemy import Connection

from townsquare.store.dialect import upsert
from townsquare.store.tables import rate_counters


def count_hit(conn: Connection, key: str, window: int) -> int:
    """Count one event in a fixed window and return the window's total."""
    stmt = (
        upsert(conn, rate_counters).values(key=key, window=window, count=1)
        .on_conflict_do_update(index_elements=["key", "window"], set_={"count": rate_counters.c.count + 1})
        .returning(rate_counters.c.count)
    )
    count = conn.execute(stmt).scalar_one()
    if random.random() < 0.02:  # occasional sweep keeps the table to the live windows
        conn.execute(rate_counters.delete().where(rate_counters.c.window < window - 1))
    return count
