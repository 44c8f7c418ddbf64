"""The queries the discussion core runs. Each takes an open connection; callers own transactions.

Every statement here is served by an index in `tables.py`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from townsquare.store.db import now
from townsquare.store.tables import comments, meta, rate_counters, sites, threads, votes

THREAD_READ_COLUMNS = (
    comments.c.id,
    comments.c.parent_id,
    comments.c.author_name,
    comments.c.author_website,
    comments.c.html,
    comments.c.created,
    comments.c.edited,
    comments.c.likes,
    comments.c.dislikes,
    comments.c.status,
)


def _upsert(conn: Connection, table):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


# -- instance -------------------------------------------------------------------------------
def instance_secret(conn: Connection) -> str:
    """The installation's signing secret, created once and shared by every process."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == "secret")).scalar()
    if value is None:
        conn.execute(_upsert(conn, meta).values(key="secret", value=secrets.token_urlsafe(48)).on_conflict_do_nothing())
        value = conn.execute(select(meta.c.value).where(meta.c.key == "secret")).scalar_one()
    return value


# -- sites ------------------------------------------------------------------------------------
_SITE_BY_NAME = select(sites).where(sites.c.name == bindparam("name"))


def site_by_name(conn: Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(_SITE_BY_NAME, {"name": name}).mappings().first()
    return _site(row) if row else None


def site_by_id(conn: Connection, site_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(sites).where(sites.c.id == site_id)).mappings().first()
    return _site(row) if row else None


def all_sites(conn: Connection) -> list[dict[str, Any]]:
    return [_site(r) for r in conn.execute(select(sites).order_by(sites.c.name)).mappings()]


def _site(row) -> dict[str, Any]:
    site = dict(row)
    site["origins"] = orjson.loads(site["origins"])
    site["settings"] = orjson.loads(site["settings"])
    return site


def create_site(conn: Connection, name: str, title: str, origins: list[str], settings: dict[str, Any]) -> int:
    return conn.execute(
        insert(sites).values(
            name=name, title=title, origins=orjson.dumps(origins).decode(),
            settings=orjson.dumps(settings).decode(), created=now(),
        )
    ).inserted_primary_key[0]


def update_site(conn: Connection, site_id: int, **values: Any) -> None:
    if "origins" in values:
        values["origins"] = orjson.dumps(values["origins"]).decode()
    if "settings" in values:
        values["settings"] = orjson.dumps(values["settings"]).decode()
    conn.execute(update(sites).where(sites.c.id == site_id).values(**values))


# -- threads ----------------------------------------------------------------------------------
# Built once: constructing a statement costs far more than running it on an indexed table.
_THREAD_FOR_READ = (
    select(
        sites.c.id.label("site_id"), threads.c.id, threads.c.uri, threads.c.title, threads.c.url,
        threads.c.closed, threads.c.version, threads.c.comment_count,
    )
    .select_from(sites.outerjoin(threads, and_(threads.c.site_id == sites.c.id, threads.c.uri == bindparam("uri"))))
    .where(sites.c.name == bindparam("site"))
)


def thread_for_read(conn: Connection, site_name: str, uri: str) -> dict[str, Any] | None:
    """Site and thread in one indexed lookup: the hot path of every thread read."""
    row = conn.execute(_THREAD_FOR_READ, {"site": site_name, "uri": uri}).mappings().first()
    return dict(row) if row else None


def thread_by_uri(conn: Connection, site_id: int, uri: str) -> dict[str, Any] | None:
    row = conn.execute(select(threads).where(threads.c.site_id == site_id, threads.c.uri == uri)).mappings().first()
    return dict(row) if row else None


def thread_by_id(conn: Connection, thread_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(threads).where(threads.c.id == thread_id)).mappings().first()
    return dict(row) if row else None


def get_or_create_thread(conn: Connection, site_id: int, uri: str, title: str, url: str) -> dict[str, Any]:
    thread = thread_by_uri(conn, site_id, uri)
    if thread is None:
        conn.execute(
            _upsert(conn, threads)
            .values(site_id=site_id, uri=uri, title=title, url=url, closed=False, created=now(),
                    comment_count=0, version=0)
            .on_conflict_do_nothing(index_elements=["site_id", "uri"])
        )
        thread = thread_by_uri(conn, site_id, uri)
    elif (title and not thread["title"]) or (url and not thread["url"]):
        values = {k: v for k, v in (("title", title), ("url", url)) if v and not thread[k]}
        conn.execute(update(threads).where(threads.c.id == thread["id"]).values(**values))
        thread.update(values)
    return thread


def touch_thread(conn: Connection, thread_id: int, count_delta: int = 0) -> None:
    """Record a change: bump the version (invalidates caches) and adjust the published count."""
    conn.execute(
        update(threads)
        .where(threads.c.id == thread_id)
        .values(version=threads.c.version + 1, comment_count=threads.c.comment_count + count_delta)
    )


def set_thread_closed(conn: Connection, thread_id: int, closed: bool) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id).values(closed=closed, version=threads.c.version + 1))


def list_threads(conn: Connection, site_id: int, limit: int, after: tuple[float, int] | None) -> list[dict[str, Any]]:
    q = select(threads.c.id, threads.c.uri, threads.c.title, threads.c.url, threads.c.comment_count,
               threads.c.closed, threads.c.created).where(threads.c.site_id == site_id)
    if after:
        created, tid = after
        q = q.where((threads.c.created < created) | ((threads.c.created == created) & (threads.c.id < tid)))
    q = q.order_by(threads.c.created.desc(), threads.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(q).mappings()]


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


# -- comments ---------------------------------------------------------------------------------
def thread_comments(conn: Connection, thread_id: int) -> list[dict[str, Any]]:
    """Every comment of a thread in one query (the tree is shaped in townsquare.domain.tree)."""
    result = conn.execute(select(*THREAD_READ_COLUMNS).where(comments.c.thread_id == thread_id))
    keys = list(result.keys())
    return [dict(zip(keys, r)) for r in result]


def comment_by_id(conn: Connection, comment_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(comments).where(comments.c.id == comment_id)).mappings().first()
    return dict(row) if row else None


def insert_comment(conn: Connection, values: dict[str, Any]) -> int:
    return conn.execute(insert(comments).values(**values)).inserted_primary_key[0]


def update_comment(conn: Connection, comment_id: int, **values: Any) -> None:
    conn.execute(update(comments).where(comments.c.id == comment_id).values(**values))


def has_replies(conn: Connection, comment_id: int) -> bool:
    return conn.execute(select(comments.c.id).where(comments.c.parent_id == comment_id).limit(1)).first() is not None


# -- votes --------------------------------------------------------------------------------------
def set_vote(conn: Connection, comment_id: int, voter: str, value: int) -> tuple[int, int]:
    """Record one voter's vote (0 withdraws it) and return the comment's (likes, dislikes)."""
    old = conn.execute(
        select(votes.c.value).where(votes.c.comment_id == comment_id, votes.c.voter == voter)
    ).scalar() or 0
    if value:
        conn.execute(
            _upsert(conn, votes).values(comment_id=comment_id, voter=voter, value=value, created=now())
            .on_conflict_do_update(index_elements=["comment_id", "voter"], set_={"value": value})
        )
    elif old:
        conn.execute(votes.delete().where(votes.c.comment_id == comment_id, votes.c.voter == voter))
    likes = (value == 1) - (old == 1)
    dislikes = (value == -1) - (old == -1)
    if likes or dislikes:
        conn.execute(
            update(comments).where(comments.c.id == comment_id)
            .values(likes=comments.c.likes + likes, dislikes=comments.c.dislikes + dislikes)
        )
    row = conn.execute(select(comments.c.likes, comments.c.dislikes).where(comments.c.id == comment_id)).one()
    return row.likes, row.dislikes


# -- rate limits ----------------------------------------------------------------------------------
def count_hit(conn: Connection, key: str, window: int) -> int:
    """Count one event in a fixed window; the total is shared by every process using the database."""
    stmt = (
        _upsert(conn, rate_counters).values(key=key, window=window, count=1)
        .on_conflict_do_update(index_elements=["key", "window"], set_={"count": rate_counters.c.count + 1})
        .returning(rate_counters.c.count)
    )
    count = conn.execute(stmt).scalar_one()
    if random.random() < 0.02:  # occasional sweep keeps the table to the live windows
        conn.execute(rate_counters.delete().where(rate_counters.c.window < window - 1))
    return count


def max_comment_id(conn: Connection) -> int:
    return conn.execute(select(func.max(comments.c.id))).scalar() or 0
