"""Trusted authors: per site, author keys whose comments skip the content checks."""

from __future__ import annotations

from sqlalchemy import Connection, and_, insert, select

from townsquare.store.moderation import trusted_authors


def set_trusted(conn: Connection, *, site_id: int, author_key: str, trusted: bool, at: float,
                by: int | None) -> None:
    where = and_(trusted_authors.c.site_id == site_id, trusted_authors.c.author_key == author_key)
    conn.execute(trusted_authors.delete().where(where))
    if trusted:
        conn.execute(insert(trusted_authors).values(site_id=site_id, author_key=author_key, created=at, created_by=by))


def trusted_pairs(conn: Connection, pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (site id, author key) pairs are trusted (one query)."""
    if not pairs:
        return set()
    keys = {k for _, k in pairs}
    rows = conn.execute(select(trusted_authors.c.site_id, trusted_authors.c.author_key)
                        .where(trusted_authors.c.author_key.in_(keys)))
    return {(r.site_id, r.author_key) for r in rows} & pairs
