"""Bans on an author key, a hashed e-mail address or a hashed IP, per site."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from townsquare.store.moderation import bans


@dataclass(frozen=True)
class Ban:
    id: int
    site_id: int
    kind: str  # author | email | ip
    value: str
    reason: str
    created: float
    expires: float | None  # None: for good
    created_by: int | None
    lifted: float | None


def add(conn: Connection, *, site_id: int, kind: str, value: str, reason: str, created: float,
        expires: float | None, created_by: int | None) -> int:
    return conn.execute(
        insert(bans).values(site_id=site_id, kind=kind, value=value, reason=reason, created=created,
                            expires=expires, created_by=created_by)
    ).inserted_primary_key[0]


def get(conn: Connection, ban_id: int) -> Ban | None:
    row = conn.execute(select(bans).where(bans.c.id == ban_id)).mappings().first()
    return Ban(**row) if row else None


def lift(conn: Connection, ban_id: int, at: float) -> None:
    conn.execute(update(bans).where(bans.c.id == ban_id).values(lifted=at))


def active(conn: Connection, site_ids: frozenset[int], at: float) -> list[Ban]:
    """The bans in force at `at` on these sites, newest first."""
    rows = conn.execute(
        select(bans).where(bans.c.site_id.in_(site_ids), bans.c.lifted.is_(None),
                           (bans.c.expires.is_(None)) | (bans.c.expires > at)).order_by(bans.c.id.desc())
    ).mappings()
    return [Ban(**r) for r in rows]
