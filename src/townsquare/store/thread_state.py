"""Per-thread moderation state: slow mode and the last heated branch."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from townsquare.store.moderation import thread_state


@dataclass(frozen=True)
class ThreadState:
    thread_id: int
    slow_mode: int = 0  # seconds between an author's comments (0: off)
    heated: float | None = None  # when a heated exchange was last detected
    heated_comments: tuple[int, ...] = ()  # the comments of that branch


def _upsert(conn: Connection):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(thread_state)


def _state(row) -> ThreadState:
    return ThreadState(row["thread_id"], row["slow_mode"] or 0, row["heated"],
                       tuple(orjson.loads(row["heated_comments"] or "[]")))


def get(conn: Connection, thread_id: int) -> ThreadState:
    row = conn.execute(select(thread_state).where(thread_state.c.thread_id == thread_id)).mappings().first()
    return _state(row) if row else ThreadState(thread_id)


def many(conn: Connection, thread_ids: list[int]) -> dict[int, ThreadState]:
    """The threads that have a state (one query)."""
    rows = conn.execute(select(thread_state).where(thread_state.c.thread_id.in_(thread_ids))).mappings()
    return {r["thread_id"]: _state(r) for r in rows}


def set_slow_mode(conn: Connection, thread_id: int, seconds: int) -> None:
    stmt = _upsert(conn).values(thread_id=thread_id, slow_mode=seconds)
    conn.execute(stmt.on_conflict_do_update(index_elements=["thread_id"], set_={"slow_mode": seconds}))


def save_heat(conn: Connection, thread_id: int, *, heated: float, comment_ids: list[int], slow_mode: int) -> None:
    values = {"heated": heated, "heated_comments": orjson.dumps(comment_ids).decode(), "slow_mode": slow_mode}
    stmt = _upsert(conn).values(thread_id=thread_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["thread_id"], set_=values))


def clear_heat(conn: Connection, thread_id: int) -> None:
    conn.execute(update(thread_state).where(thread_state.c.thread_id == thread_id)
                 .values(heated=None, heated_comments=None))
