"""The moderation audit log: one row per thing a moderator (or the readers, or a rescore) did."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select

from townsquare.store.moderation import audit_log


@dataclass(frozen=True)
class Entry:
    id: int
    site_id: int
    user_id: int | None
    actor: str
    action: str
    target: str
    reason: str
    details: dict[str, Any]
    created: float


@dataclass(frozen=True)
class Filters:
    site_ids: tuple[int, ...] | None = None  # None: every site
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    before_id: int | None = None
    limit: int = 50


def insert_entry(conn: Connection, *, site_id: int, user_id: int | None, actor: str, action: str, target: str,
                 reason: str, details: dict[str, Any], created: float) -> int:
    return conn.execute(
        insert(audit_log).values(site_id=site_id, user_id=user_id, actor=actor, action=action, target=target,
                                 reason=reason, details=orjson.dumps(details).decode(), created=created)
    ).inserted_primary_key[0]


def entries(conn: Connection, filters: Filters) -> list[Entry]:
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
    return [Entry(**{**row, "details": orjson.loads(row["details"])}) for row in conn.execute(q).mappings()]
