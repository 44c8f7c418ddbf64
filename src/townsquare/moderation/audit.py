"""The audit log: who did what to which comment, thread or author, when and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from townsquare.store.db import now
from townsquare.store.moderation import audit_log

ACTIONS = (
    "approve", "reject", "edit", "ban", "unban", "trust", "untrust",
    "close", "reopen", "slow_mode", "report_hold", "rescore_hold", "privacy_export", "privacy_erase",
    "word_lists",
)


@dataclass(frozen=True)
class Filters:
    site_ids: tuple[int, ...] | None = None  # None: every site
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    before_id: int | None = None
    limit: int = 50


def record(conn: Connection, *, site_id: int, user_id: int | None, actor: str, action: str, target: str,
           reason: str = "", details: dict[str, Any] | None = None) -> int:
    return conn.execute(
        insert(audit_log).values(
            site_id=site_id, user_id=user_id, actor=actor, action=action, target=target, reason=reason or "",
            details=orjson.dumps(details or {}).decode(), created=now(),
        )
    ).inserted_primary_key[0]


def entries(conn: Connection, filters: Filters) -> list[dict[str, Any]]:
    """Newest first; page with `before_id` (the last id of the previous page)."""
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(filters.limit)
    if filters.site_ids is not None:
        q = q.where(audit_log.c.site_id.in_(filters.site_ids))
    if filters.actor:
        q = q.where(audit_log.c.actor == filters.actor)
    if filters.action:
        q = q.where(audit_log.c.action == filters.action)
    if filters.target:
        q = q.where(audit_log.c.target == filters.target)
    if filters.before_id:
        q = q.where(audit_log.c.id < filters.before_id)
    return [dict(row) | {"details": orjson.loads(row["details"])} for row in conn.execute(q).mappings()]
