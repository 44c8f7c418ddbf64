"""The events a change raises, called inside the change's own transaction (like alerts.events).

Only what a reader may see becomes an event: a held comment raises nothing until a moderator
approves it, and then it arrives as a `comment`.
"""

from __future__ import annotations

from typing import Any

from townsquare.store.db import Connection

from townsquare.store import thread_events


def comment_published(conn: Connection, thread_id: int, shown: dict[str, Any]) -> None:
    """A comment became visible (posted, or approved); `shown` is its public shape."""
    thread_events.append(conn, thread_id, "comment", {**shown, "reply_count": 0})


def comment_held(conn: Connection, thread_id: int, comment_id: int) -> None:
    """A comment entered the moderation queue: wakes the moderators' queue streams only (thread
    streams never read this kind)."""
    thread_events.append(conn, thread_id, thread_events.HELD, {"id": comment_id})


def comment_edited(conn: Connection, thread_id: int, shown: dict[str, Any]) -> None:
    thread_events.append(conn, thread_id, "edit", shown)


def comment_deleted(conn: Connection, thread_id: int, comment_id: int) -> None:
    thread_events.append(conn, thread_id, "delete", {"id": comment_id})


def comment_removed(conn: Connection, thread_id: int, comment_id: int, status: str) -> None:
    """A published comment left the thread without its author: rejected, or held again."""
    thread_events.append(conn, thread_id, "status", {"id": comment_id, "status": "removed", "reason": status})


def votes(conn: Connection, thread_id: int, comment_id: int, likes: int, dislikes: int) -> None:
    thread_events.append(conn, thread_id, "vote", {"id": comment_id, "likes": likes, "dislikes": dislikes,
                                                   "votes": likes - dislikes})


def thread_closed(conn: Connection, thread_id: int, closed: bool) -> None:
    """Closed or reopened by a moderator, or given a close time of its own (`closed` as of now;
    a stream then watches the clock for that time: web/stream.py)."""
    thread_events.append(conn, thread_id, "status", {"closed": closed})


def comment_featured(conn: Connection, thread_id: int, comment_id: int, featured: bool) -> None:
    """A published comment became an editor's pick, or stopped being one."""
    thread_events.append(conn, thread_id, "feature", {"id": comment_id, "featured": featured})


def comment_pinned(conn: Connection, thread_id: int, comment_id: int, pinned: bool) -> None:
    """A comment pinned to the top of its thread (in place of any other), or unpinned."""
    thread_events.append(conn, thread_id, "pin", {"id": comment_id, "pinned": pinned})
