"""The moderation queue's reads: a page of a tab with its thread and site, the parents of those
comments and their authors' recent history, each in one query."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, exists, func, select

from townsquare.store.comments import COLUMNS, Comment
from townsquare.store.moderation import reports
from townsquare.store.tables import comments, sites, threads

TABS = ("pending", "reported", "rejected", "published", "all")


@dataclass(frozen=True)
class QueueRow:
    """A comment with the thread and site it is on."""

    comment: Comment
    uri: str
    thread_title: str
    thread_url: str
    thread_closed: bool
    site_id: int
    site_name: str
    thread_pinned: int | None = None  # the thread's pinned comment


@dataclass(frozen=True)
class Parent:
    id: int
    author_name: str
    text: str
    status: str


@dataclass(frozen=True)
class HistoryComment:
    id: int
    author_key: str
    text: str
    status: str
    created: float


def _open_report():
    return exists().where(reports.c.comment_id == comments.c.id, reports.c.resolved.is_(None))


def _tab_filter(tab: str):
    if tab == "reported":
        return and_(comments.c.status.in_(("published", "pending")), _open_report())
    if tab == "all":
        return comments.c.status != "deleted"
    return comments.c.status == tab


def count(conn: Connection, site_ids: frozenset[int], tab: str) -> int:
    q = select(func.count()).select_from(comments.join(threads)).where(threads.c.site_id.in_(site_ids), _tab_filter(tab))
    return conn.execute(q).scalar_one()


def rows(conn: Connection, site_ids: frozenset[int], tab: str, *, before: int | None, limit: int,
         comment_ids: list[int] | None = None, thread_id: int | None = None) -> list[QueueRow]:
    """Up to `limit` comments of the tab, newest first, older than `before` if given, of one
    thread if given."""
    if tab not in TABS:
        raise ValueError(tab)
    q = (
        select(*COLUMNS, threads.c.uri, threads.c.title, threads.c.url, threads.c.closed, threads.c.site_id,
               sites.c.name, threads.c.pinned_id)
        .select_from(comments.join(threads, threads.c.id == comments.c.thread_id).join(sites, sites.c.id == threads.c.site_id))
        .where(threads.c.site_id.in_(site_ids), _tab_filter(tab))
        .order_by(comments.c.id.desc())
        .limit(limit)
    )
    if before:
        q = q.where(comments.c.id < before)
    if comment_ids is not None:
        q = q.where(comments.c.id.in_(comment_ids))
    if thread_id is not None:
        q = q.where(comments.c.thread_id == thread_id)
    n = len(COLUMNS)
    return [QueueRow(Comment(*r[:n]), *r[n:]) for r in conn.execute(q)]


def parents(conn: Connection, ids: list[int]) -> dict[int, Parent]:
    if not ids:
        return {}
    rows_ = conn.execute(
        select(comments.c.id, comments.c.author_name, comments.c.text, comments.c.status).where(comments.c.id.in_(ids))
    ).mappings()
    return {r["id"]: Parent(**r) for r in rows_}


def history(conn: Connection, keys: list[str], site_ids: frozenset[int], per_author: int) -> dict[str, list[HistoryComment]]:
    """Each author's `per_author` newest comments on these sites (one windowed query for them all)."""
    if not keys:
        return {}
    rank = func.row_number().over(partition_by=comments.c.author_key, order_by=comments.c.id.desc()).label("rank")
    inner = (
        select(comments.c.id, comments.c.author_key, comments.c.text, comments.c.status, comments.c.created, rank)
        .select_from(comments.join(threads))
        .where(comments.c.author_key.in_(set(keys)), threads.c.site_id.in_(site_ids), comments.c.status != "deleted")
        .subquery()
    )
    out: dict[str, list[HistoryComment]] = {}
    q = (select(inner.c.id, inner.c.author_key, inner.c.text, inner.c.status, inner.c.created)
         .where(inner.c.rank <= per_author).order_by(inner.c.id.desc()))
    for row in conn.execute(q).mappings():
        out.setdefault(row["author_key"], []).append(HistoryComment(**row))
    return out
