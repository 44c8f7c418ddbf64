"""The audit log: who did what to which comment, thread or author, when and why."""

from __future__ import annotations

from typing import Any

from townsquare.store import audit as stored
from townsquare.store.audit import Entry, Filters
from townsquare.store.db import Connection, Engine, now, reading

__all__ = ["ACTIONS", "Entry", "Filters", "entries", "record"]

ACTIONS = (
    "approve", "reject", "undo", "edit", "ban", "unban", "trust", "untrust",
    "close", "reopen", "slow_mode", "report_hold", "rescore_hold", "privacy_export", "privacy_erase",
    "word_lists", "author_edit", "author_delete", "sign_in_lockout", "site_settings",
    "feature", "unfeature", "pin", "unpin", "close_at",
)


def record(conn: Connection, *, site_id: int, user_id: int | None, actor: str, action: str, target: str,
           reason: str = "", details: dict[str, Any] | None = None) -> int:
    """One entry, in the caller's transaction (the one that makes the change it records)."""
    return stored.insert_entry(conn, site_id=site_id, user_id=user_id, actor=actor, action=action, target=target,
                               reason=reason or "", details=details or {}, created=now())


def entries(engine: Engine, filters: Filters) -> list[Entry]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    with reading(engine) as conn:
        return stored.entries(conn, filters)
