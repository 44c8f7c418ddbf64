"""Reads of an export: every site, thread, comment and vote, as stored, streamed thread by thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select

from townsquare.store import sites as site_store
from townsquare.store import threads as thread_store
from townsquare.store.comments import COLUMNS, Comment
from townsquare.store.sites import Site
from townsquare.store.tables import comments, threads, votes
from townsquare.store.threads import Thread


@dataclass(frozen=True)
class ExportVote:
    comment_id: int
    voter: str
    value: int
    created: float


def export_sites(conn: Connection, name: str | None = None) -> list[Site]:
    """Every site by name, or the one named (none if there is no such site)."""
    if name is None:
        return site_store.every(conn)
    found = site_store.by_name(conn, name)
    return [found] if found else []


def site_threads(conn: Connection, site_id: int, *, order_by_uri: bool = False) -> Iterator[Thread]:
    order = threads.c.uri if order_by_uri else threads.c.id
    for r in conn.execute(select(threads).where(threads.c.site_id == site_id).order_by(order)).mappings():
        yield thread_store.from_row(r)


def thread_comments(conn: Connection, thread_id: int) -> list[Comment]:
    return [Comment(*r) for r in conn.execute(select(*COLUMNS).where(comments.c.thread_id == thread_id))]


def thread_votes(conn: Connection, thread_id: int) -> Iterator[ExportVote]:
    """The votes on a thread's comments, by voter."""
    query = (select(votes).join(comments, comments.c.id == votes.c.comment_id)
             .where(comments.c.thread_id == thread_id).order_by(votes.c.voter))
    for v in conn.execute(query).mappings():
        yield ExportVote(comment_id=v["comment_id"], voter=v["voter"], value=v["value"], created=v["created"])


def site_comments(conn: Connection, site_id: int) -> Iterator[Comment]:
    """Every comment of the site in id order, streamed: a large site is never held in memory."""
    query = (select(*COLUMNS).join(threads, threads.c.id == comments.c.thread_id)
             .where(threads.c.site_id == site_id).order_by(comments.c.id))
    for r in conn.execution_options(stream_results=True, yield_per=1000).execute(query):
        yield Comment(*r)
