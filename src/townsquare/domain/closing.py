"""When a thread stops taking comments: closed by a moderator, at its own close time, or by the
site's `close_after_days` counted from its first comment (the thread's creation)."""

from __future__ import annotations

from datetime import datetime, timezone

DAY = 86400


def closes_at(closes: float | None, created: float | None, after_days: int | None) -> float | None:
    """The thread's own close time if a moderator set one, else the site's rule, else None."""
    if closes is not None:
        return closes
    if after_days and created is not None:
        return created + after_days * DAY
    return None


def is_closed(closed: bool, closes: float | None, created: float | None, after_days: int | None, at: float) -> bool:
    when = closes_at(closes, created, after_days)
    return closed or (when is not None and when <= at)


def refusal(closed: bool, closes: float | None, created: float | None, after_days: int | None) -> str:
    """The problem's words for a comment on a closed thread."""
    when = None if closed else closes_at(closes, created, after_days)
    if when is None:
        return "This discussion is closed."
    day = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"This discussion closed on {day}; it takes no new comments."
