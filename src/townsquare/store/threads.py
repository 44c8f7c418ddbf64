"""Threads: one per article page, with the published count and the version that keys caches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, and_, bindparam, select, update

from townsquare.store.db import now
from townsquare.store.dialect import upsert
from townsquare.store.tables import sites, threads


@dataclass(frozen=True, slots=True)
class Thread:
    id: int
    site_id: int
    uri: str
    title: str
    url: str
    closed: bool
    created: float
    comment_count: int
    version: int
    pinned_id: int | None = None  # the comment pinned to the top
    closes: float | None = None  # when it stops taking comments (see `domain.closing`)


@dataclass(frozen=True, slots=True)
class ThreadHead:
    """What a thread read needs first: the site exists, and the thread's id and version (the
    thread fields are None/empty when the site has no thread at that URI yet)."""

    site_id: int
    id: int | None
    uri: str
    title: str
    url: str
    closed: bool
    version: int
    comment_count: int
    pinned_id: int | None = None
    created: float | None = None
    closes: float | None = None
    site_settings: str = "{}"  # the site's stored settings (JSON): its closing rule


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    id: int
    uri: str
    title: str
    url: str
    comment_count: int
    closed: bool
    created: float
    closes: float | None = None


def from_row(row) -> Thread:
    return Thread(id=row["id"], site_id=row["site_id"], uri=row["uri"], title=row["title"], url=row["url"],
                  closed=bool(row["closed"]), created=row["created"], comment_count=row["comment_count"],
                  version=row["version"], pinned_id=row["pinned_id"], closes=row["closes"])


# Built once: constructing a statement costs far more than running it on an indexed table.
_HEAD = (
    select(
        sites.c.id.label("site_id"), threads.c.id, threads.c.uri, threads.c.title, threads.c.url,
        threads.c.closed, threads.c.version, threads.c.comment_count, threads.c.pinned_id, threads.c.created,
        threads.c.closes, sites.c.settings,
    )
    .select_from(sites.outerjoin(threads, and_(threads.c.site_id == sites.c.id, threads.c.uri == bindparam("uri"))))
    .where(sites.c.name == bindparam("site"))
)


def head(conn: Connection, site_name: str, uri: str) -> ThreadHead | None:
    """Site and thread in one indexed lookup: the hot path of every thread read. None: no such site."""
    row = conn.execute(_HEAD, {"site": site_name, "uri": uri}).first()
    if row is None:
        return None
    site_id, tid, turi, title, url, closed, version, count, pinned_id, created, closes, settings = row
    return ThreadHead(site_id, tid, turi or uri, title or "", url or "", bool(closed), version or 0, count or 0,
                      pinned_id, created, closes, settings or "{}")


_BY_URI = select(threads).where(threads.c.site_id == bindparam("site_id"), threads.c.uri == bindparam("uri"))
_BY_ID = select(threads).where(threads.c.id == bindparam("id"))
_TOUCH = (update(threads).where(threads.c.id == bindparam("tid"))
          .values(version=threads.c.version + 1, comment_count=threads.c.comment_count + bindparam("delta")))


def by_uri(conn: Connection, site_id: int, uri: str) -> Thread | None:
    row = conn.execute(_BY_URI, {"site_id": site_id, "uri": uri}).mappings().first()
    return from_row(row) if row else None


def by_id(conn: Connection, thread_id: int) -> Thread | None:
    row = conn.execute(_BY_ID, {"id": thread_id}).mappings().first()
    return from_row(row) if row else None


def get_or_create(conn: Connection, site_id: int, uri: str, title: str, url: str) -> Thread:
    """The thread at `uri`, created by its first comment; a missing title or URL is filled in."""
    thread = by_uri(conn, site_id, uri)
    if thread is None:
        conn.execute(
            upsert(conn, threads)
            .values(site_id=site_id, uri=uri, title=title, url=url, closed=False, created=now(),
                    comment_count=0, version=0)
            .on_conflict_do_nothing(index_elements=["site_id", "uri"])
        )
        return by_uri(conn, site_id, uri)
    values = {k: v for k, v in (("title", title), ("url", url)) if v and not getattr(thread, k)}
    if values:
        conn.execute(update(threads).where(threads.c.id == thread.id).values(**values))
        return by_id(conn, thread.id)
    return thread


def touch(conn: Connection, thread_id: int, count_delta: int = 0) -> None:
    """Record a change: bump the version (invalidates caches) and adjust the published count."""
    conn.execute(_TOUCH, {"tid": thread_id, "delta": count_delta})


def set_closed(conn: Connection, thread_id: int, closed: bool) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id).values(closed=closed, version=threads.c.version + 1))


def set_pinned(conn: Connection, thread_id: int, comment_id: int | None) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id)
                 .values(pinned_id=comment_id, version=threads.c.version + 1))


def set_closes(conn: Connection, thread_id: int, closes: float | None) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id).values(closes=closes, version=threads.c.version + 1))


def newest(conn: Connection, site_id: int, limit: int, after: tuple[float, int] | None) -> list[ThreadSummary]:
    q = select(threads.c.id, threads.c.uri, threads.c.title, threads.c.url, threads.c.comment_count,
               threads.c.closed, threads.c.created, threads.c.closes).where(threads.c.site_id == site_id)
    if after:
        created, tid = after
        q = q.where((threads.c.created < created) | ((threads.c.created == created) & (threads.c.id < tid)))
    q = q.order_by(threads.c.created.desc(), threads.c.id.desc()).limit(limit)
    return [ThreadSummary(r.id, r.uri, r.title, r.url, r.comment_count, bool(r.closed), r.created, r.closes)
            for r in conn.execute(q)]


# The URI list goes to the database as one parameter (JSON on SQLite, an array on PostgreSQL): the
# statement then stays the same for any number of URIs, where an expanding IN would be re-rendered
# on every request, and it runs on the driver's cursor because it is the one read hot enough for
# SQLAlchemy's per-statement work to cost more than the query itself.
_COUNTS_SQL = {
    "sqlite": "SELECT s.id, t.uri, t.comment_count FROM sites s LEFT JOIN threads t ON t.site_id = s.id"
              " AND t.uri IN (SELECT value FROM json_each(?)) WHERE s.name = ?",
    "postgresql": "SELECT s.id, t.uri, t.comment_count FROM sites s LEFT JOIN threads t ON t.site_id = s.id"
                  " AND t.uri = ANY(%s) WHERE s.name = %s",
}


def counts(conn: Connection, site_name: str, uris: Sequence[str]) -> dict[str, int] | None:
    """Published-comment count of each URI (0 for unknown ones); None if there is no such site.
    A single statement: no transaction needed."""
    dialect = conn.dialect.name
    cursor = conn.connection.cursor()
    try:
        cursor.execute(_COUNTS_SQL[dialect],
                       (orjson.dumps(list(uris)).decode() if dialect == "sqlite" else list(uris), site_name))
        rows = cursor.fetchall()
    finally:
        cursor.close()
    if not rows:
        return None
    found = {uri: n for _, uri, n in rows if uri is not None}
    return {u: found.get(u, 0) for u in uris}
