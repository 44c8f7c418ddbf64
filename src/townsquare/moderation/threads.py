"""Per-thread moderation state: slow mode and heated branches."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from townsquare.store.moderation import thread_state


def _upsert(conn: Connection):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(thread_state)


def state(conn: Connection, thread_id: int) -> dict[str, Any]:
    row = conn.execute(select(thread_state).where(thread_state.c.thread_id == thread_id)).mappings().first()
    if row is None:
        return {"thread_id": thread_id, "slow_mode": 0, "heated": None, "heated_comments": []}
    out = dict(row)
    out["heated_comments"] = orjson.loads(out["heated_comments"] or "[]")
    return out


def states(conn: Connection, thread_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = conn.execute(select(thread_state).where(thread_state.c.thread_id.in_(thread_ids))).mappings()
    return {r["thread_id"]: {**r, "heated_comments": orjson.loads(r["heated_comments"] or "[]")} for r in rows}


def set_slow_mode(conn: Connection, thread_id: int, seconds: int) -> None:
    stmt = _upsert(conn).values(thread_id=thread_id, slow_mode=seconds)
    conn.execute(stmt.on_conflict_do_update(index_elements=["thread_id"], set_={"slow_mode": seconds}))


def mark_heated(conn: Connection, thread_id: int, comment_ids: list[int], when: float, slow_mode: int) -> None:
    """Flag a heated branch; with `slow_mode` > 0, also slow the thread down (never speed it up)."""
    current = state(conn, thread_id)
    branch = sorted(set(current["heated_comments"]) | set(comment_ids))
    values = {"heated": when, "heated_comments": orjson.dumps(branch).decode(),
              "slow_mode": max(current["slow_mode"] or 0, slow_mode)}
    stmt = _upsert(conn).values(thread_id=thread_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["thread_id"], set_=values))


def clear_heat(conn: Connection, thread_id: int) -> None:
    conn.execute(update(thread_state).where(thread_state.c.thread_id == thread_id).values(heated=None, heated_comments=None))
