"""The published comments Atom feeds show: newest first, with their article."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from townsquare.store.tables import comments, threads


@dataclass(frozen=True)
class FeedComment:
    id: int
    author_name: str
    html: str
    created: float
    edited: float | None
    thread_title: str | None
    thread_uri: str
    thread_url: str | None


_COLUMNS = (comments.c.id, comments.c.author_name, comments.c.html, comments.c.created, comments.c.edited,
            threads.c.title, threads.c.uri, threads.c.url)


def _newest(conn: Connection, where, limit: int) -> list[FeedComment]:
    query = (
        select(*_COLUMNS).join(threads, threads.c.id == comments.c.thread_id)
        .where(where, comments.c.status == "published")
        .order_by(comments.c.created.desc(), comments.c.id.desc()).limit(limit)
    )
    return [
        FeedComment(id=r.id, author_name=r.author_name, html=r.html, created=r.created, edited=r.edited,
                    thread_title=r.title, thread_uri=r.uri, thread_url=r.url)
        for r in conn.execute(query)
    ]


def newest_in_thread(conn: Connection, thread_id: int, *, limit: int) -> list[FeedComment]:
    return _newest(conn, comments.c.thread_id == thread_id, limit)


def newest_on_site(conn: Connection, site_id: int, *, limit: int) -> list[FeedComment]:
    return _newest(conn, threads.c.site_id == site_id, limit)
