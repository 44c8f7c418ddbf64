"""Readers' reports on comments: one per reader and per address per comment, open until a moderator acts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from townsquare.store.moderation import reports


@dataclass(frozen=True)
class OpenReport:
    comment_id: int
    reason: str
    note: str
    created: float


def add(conn: Connection, *, comment_id: int, reporter: str, address: str, reason: str, note: str,
        created: float) -> bool:
    """Store the report; a second report by the same reader, or from the same address (keyed per
    comment, `Signer.reader_key`), on the same comment changes nothing. True if it was stored."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    added = conn.execute(
        insert(reports)
        .values(comment_id=comment_id, reporter=reporter, address=address, reason=reason, note=note, created=created)
        .on_conflict_do_nothing().returning(reports.c.id)
    ).first()
    return added is not None


def open_count(conn: Connection, comment_id: int) -> int:
    """How many distinct readers hold the comment's open reports: distinct addresses (reports
    from before addresses were kept count by reporter, as they did)."""
    return conn.execute(
        select(func.count(func.distinct(func.coalesce(reports.c.address, reports.c.reporter))))
        .where(reports.c.comment_id == comment_id, reports.c.resolved.is_(None))
    ).scalar_one()


def resolve(conn: Connection, comment_id: int, at: float) -> None:
    """Close the comment's open reports (a moderator acted on it)."""
    conn.execute(update(reports).where(reports.c.comment_id == comment_id, reports.c.resolved.is_(None))
                 .values(resolved=at))


def open_reports(conn: Connection, comment_ids: list[int]) -> dict[int, list[OpenReport]]:
    """The open reports of these comments, oldest first (one query)."""
    out: dict[int, list[OpenReport]] = {i: [] for i in comment_ids}
    rows = conn.execute(
        select(reports.c.comment_id, reports.c.reason, reports.c.note, reports.c.created)
        .where(reports.c.comment_id.in_(comment_ids), reports.c.resolved.is_(None))
        .order_by(reports.c.created)
    ).mappings()
    for row in rows:
        out[row["comment_id"]].append(OpenReport(**row))
    return out
