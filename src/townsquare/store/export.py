"""Reads of an export: every site, thread, comment and vote, as stored, streamed thread by thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from townsquare.store.tables import comments, sites, threads, votes


@dataclass(frozen=True)
class ExportSite:
    id: int
    name: str
    title: str
    origins: list[str]
    settings: dict[str, Any]
    created: float


@dataclass(frozen=True)
class ExportThread:
    id: int
    uri: str
    title: str
    url: str
    closed: bool
    created: float


@dataclass(frozen=True)
class ExportComment:
    id: int
    thread_id: int
    parent_id: int | None
    author_name: str
    author_email: str | None
    author_website: str | None
    author_key: str | None
    ip_hash: str | None
    text: str
    quote: str | None
    html: str
    status: str
    created: float
    edited: float | None
    likes: int
    dislikes: int
    moderation: dict[str, Any] | None


@dataclass(frozen=True)
class ExportVote:
    comment_id: int
    voter: str
    value: int
    created: float


def export_sites(conn: Connection, name: str | None = None) -> list[ExportSite]:
    """Every site by name, or the one named (none if there is no such site)."""
    query = select(sites).order_by(sites.c.name)
    if name is not None:
        query = query.where(sites.c.name == name)
    return [
        ExportSite(id=r["id"], name=r["name"], title=r["title"], origins=orjson.loads(r["origins"]),
                   settings=orjson.loads(r["settings"]), created=r["created"])
        for r in conn.execute(query).mappings()
    ]


def site_threads(conn: Connection, site_id: int, *, order_by_uri: bool = False) -> Iterator[ExportThread]:
    order = threads.c.uri if order_by_uri else threads.c.id
    for r in conn.execute(select(threads).where(threads.c.site_id == site_id).order_by(order)).mappings():
        yield ExportThread(id=r["id"], uri=r["uri"], title=r["title"], url=r["url"], closed=bool(r["closed"]),
                           created=r["created"])


def thread_comments(conn: Connection, thread_id: int) -> list[ExportComment]:
    return [_comment(r) for r in conn.execute(select(comments).where(comments.c.thread_id == thread_id)).mappings()]


def thread_votes(conn: Connection, thread_id: int) -> Iterator[ExportVote]:
    """The votes on a thread's comments, by voter."""
    query = (select(votes).join(comments, comments.c.id == votes.c.comment_id)
             .where(comments.c.thread_id == thread_id).order_by(votes.c.voter))
    for v in conn.execute(query).mappings():
        yield ExportVote(comment_id=v["comment_id"], voter=v["voter"], value=v["value"], created=v["created"])


def site_comments(conn: Connection, site_id: int) -> Iterator[ExportComment]:
    """Every comment of the site in id order, streamed: a large site is never held in memory."""
    query = (select(comments).join(threads, threads.c.id == comments.c.thread_id)
             .where(threads.c.site_id == site_id).order_by(comments.c.id))
    for r in conn.execution_options(stream_results=True, yield_per=1000).execute(query).mappings():
        yield _comment(r)


def _comment(r) -> ExportComment:
    return ExportComment(
        id=r["id"], thread_id=r["thread_id"], parent_id=r["parent_id"], author_name=r["author_name"],
        author_email=r["author_email"], author_website=r["author_website"], author_key=r["author_key"],
        ip_hash=r["ip_hash"], text=r["text"], quote=r["quote"], html=r["html"], status=r["status"],
        created=r["created"], edited=r["edited"], likes=r["likes"], dislikes=r["dislikes"],
        moderation=orjson.loads(r["moderation"]) if r["moderation"] else None,
    )
