"""What the alerts part looks up about sites, articles and comments, by id, for many at once."""

from __future__ import annotations

from sqlalchemy import Connection, select

from townsquare.store.tables import comments, sites, threads


def comment_statuses(conn: Connection, comment_ids: set[int]) -> dict[int, str]:
    if not comment_ids:
        return {}
    return dict(conn.execute(select(comments.c.id, comments.c.status).where(comments.c.id.in_(comment_ids))).all())


def site_titles(conn: Connection, site_ids: set[int]) -> dict[int, str]:
    """Each site's title, or its name if it has none."""
    if not site_ids:
        return {}
    rows = conn.execute(select(sites.c.id, sites.c.name, sites.c.title).where(sites.c.id.in_(site_ids)))
    return {r.id: r.title or r.name for r in rows}


def thread_titles(conn: Connection, thread_ids: set[int]) -> dict[int, str]:
    """Each article's title, or its uri if it has none."""
    if not thread_ids:
        return {}
    rows = conn.execute(select(threads.c.id, threads.c.title, threads.c.uri).where(threads.c.id.in_(thread_ids)))
    return {r.id: r.title or r.uri for r in rows}


def comment_thread_titles(conn: Connection, comment_ids: set[int]) -> dict[int, str]:
    """The title (or uri) of the article each comment is on."""
    if not comment_ids:
        return {}
    rows = conn.execute(
        select(comments.c.id, threads.c.title, threads.c.uri)
        .join(threads, threads.c.id == comments.c.thread_id).where(comments.c.id.in_(comment_ids))
    )
    return {r.id: r.title or r.uri for r in rows}
