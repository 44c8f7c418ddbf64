"""Sliding-window rate counters, shared by every process through the database.

One row per key and second holds the events counted in that second; a limit looks at the seconds
of the last period, so no span of that length ever holds more than the limit (a fixed window lets
twice the limit through across its boundary)."""

from __future__ import annotations

import random

from sqlalchemy import Connection, func, select

from townsquare.store.dialect import upsert
from townsquare.store.tables import rate_counters

# Rows older than the longest period any limit uses are swept.
LONGEST_PERIOD = 86400


def hit_if_under(conn: Connection, key: str, second: int, period: int, limit: int) -> bool:
    """Count one event at `second` unless `limit` were already counted in the `period` seconds
    before it (the second `period` ago included, so any real span of `period` seconds is
    covered); say whether it was counted."""
    if conn.dialect.name == "postgresql":
        # Two processes must not both read "one left" for one key; SQLite writers are already serial.
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
    seen = conn.execute(
        select(func.coalesce(func.sum(rate_counters.c.count), 0))
        .where(rate_counters.c.key == key, rate_counters.c.window >= second - period)
    ).scalar_one()
    if seen >= limit:
        return False
    conn.execute(
        upsert(conn, rate_counters).values(key=key, window=second, count=1)
        .on_conflict_do_update(index_elements=["key", "window"], set_={"count": rate_counters.c.count + 1})
    )
    # This key's seconds past the period go now; an occasional sweep takes those of keys gone quiet.
    conn.execute(rate_counters.delete().where(rate_counters.c.key == key, rate_counters.c.window < second - period))
    if random.random() < 0.02:
        conn.execute(rate_counters.delete().where(rate_counters.c.window < second - LONGEST_PERIOD))
    return True
