"""What a bulk rescore reads: a site's comments in id order, a batch at a time, and their status
and stored decision again just before the new scores are written."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from townsquare.store.tables import comments, sites, threads


@dataclass(frozen=True)
class Scored:
    id: int
    thread_id: int
    text: str
    status: str
    moderation: str | None  # the stored decision (JSON)


def batch(conn: Connection, site_id: int, statuses: tuple[str, ...], *, after: int, size: int) -> list[Scored]:
    """Up to `size` comments of the site in these statuses with ids above `after`, in id order."""
    rows = conn.execute(
        select(comments.c.id, comments.c.thread_id, comments.c.text, comments.c.status, comments.c.moderation)
        .join(threads, threads.c.id == comments.c.thread_id)
        .where(threads.c.site_id == site_id, comments.c.status.in_(statuses), comments.c.id > after)
        .order_by(comments.c.id).limit(size)
    ).mappings()
    return [Scored(**r) for r in rows]


def current(conn: Connection, ids: list[int]) -> dict[int, Scored]:
    """These comments as stored now (one query)."""
    rows = conn.execute(
        select(comments.c.id, comments.c.thread_id, comments.c.text, comments.c.status, comments.c.moderation)
        .where(comments.c.id.in_(ids))
    ).mappings()
    return {r["id"]: Scored(**r) for r in rows}


def count(conn: Connection, site_name: str, statuses: tuple[str, ...]) -> int:
    return conn.execute(
        select(func.count()).select_from(comments.join(threads, threads.c.id == comments.c.thread_id))
        .join(sites, sites.c.id == threads.c.site_id)
        .where(sites.c.name == site_name, comments.c.status.in_(statuses))
    ).scalar_one()
