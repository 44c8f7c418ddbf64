"""Per-thread moderation state: slow mode and heated branches."""

from __future__ import annotations

from townsquare.store import thread_state as stored
from townsquare.store.db import Connection


def mark_heated(conn: Connection, thread_id: int, comment_ids: list[int], when: float, slow_mode: int) -> None:
    """Flag a heated branch; with `slow_mode` > 0, also slow the thread down (never speed it up)."""
    current = stored.get(conn, thread_id)
    branch = sorted(set(current.heated_comments) | set(comment_ids))
    stored.save_heat(conn, thread_id, heated=when, comment_ids=branch, slow_mode=max(current.slow_mode, slow_mode))
