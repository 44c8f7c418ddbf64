"""The dashboard's figures for one site and a period: comments per UTC day by status, reports and
votes per day, distinct commenters, the queue, held comments' stored decisions, toxicity scores and
the busiest threads.

Every query is bounded by the site's threads and a `created` range, so it reads index ranges
(comments: `ix_comments_thread_created`; reports and votes: their `created` indexes), never a
whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Integer, cast, distinct, func, select

from townsquare.store.moderation import reports
from townsquare.store.tables import comments, threads, votes

DAY = 86400


@dataclass(frozen=True)
class DayComments:
    """Comments created on one UTC day (`day`: days since the epoch), by their status now."""

    day: int
    published: int
    pending: int
    rejected: int
    deleted: int
    commenters: int


@dataclass(frozen=True)
class DayCount:
    day: int
    count: int


@dataclass(frozen=True)
class Queue:
    pending: int
    oldest_created: float | None


@dataclass(frozen=True)
class ThreadComments:
    uri: str
    title: str
    comments: int


def _day(conn: Connection, column):
    """The UTC day number of an epoch-seconds column (a cast to integer rounds on PostgreSQL and
    truncates on SQLite; times are positive, so floor first where it rounds)."""
    if conn.dialect.name == "postgresql":
        return cast(func.floor(column / DAY), Integer)
    return cast(column / DAY, Integer)


def _site_comments(site_id: int, since: float):
    return (comments.join(threads, threads.c.id == comments.c.thread_id),
            (threads.c.site_id == site_id, comments.c.created >= since))


def comments_per_day(conn: Connection, site_id: int, since: float) -> list[DayComments]:
    day = _day(conn, comments.c.created).label("day")
    joined, where = _site_comments(site_id, since)

    def of(status: str):
        return func.coalesce(func.sum(cast(comments.c.status == status, Integer)), 0)

    q = (select(day, of("published"), of("pending"), of("rejected"), of("deleted"),
                func.count(distinct(func.coalesce(comments.c.author_key, comments.c.ip_hash))))
         .select_from(joined).where(*where).group_by(day).order_by(day))
    return [DayComments(*row) for row in conn.execute(q)]


def _on_site(site_id: int, comment_id):
    """The comment is on the site. Asked per row (a correlated EXISTS) so the query starts from the
    period's rows by their `created` index: joined, SQLite would start from the site's threads and
    read every vote or report of all their comments."""
    return (select(comments.c.id).select_from(comments.join(threads, threads.c.id == comments.c.thread_id))
            .where(comments.c.id == comment_id, threads.c.site_id == site_id).exists())


def reports_per_day(conn: Connection, site_id: int, since: float) -> list[DayCount]:
    day = _day(conn, reports.c.created).label("day")
    q = (select(day, func.count()).select_from(reports)
         .where(reports.c.created >= since, _on_site(site_id, reports.c.comment_id)).group_by(day).order_by(day))
    return [DayCount(*row) for row in conn.execute(q)]


def votes_per_day(conn: Connection, site_id: int, since: float) -> list[DayCount]:
    day = _day(conn, votes.c.created).label("day")
    q = (select(day, func.count()).select_from(votes)
         .where(votes.c.created >= since, _on_site(site_id, votes.c.comment_id)).group_by(day).order_by(day))
    return [DayCount(*row) for row in conn.execute(q)]


def queue(conn: Connection, site_id: int) -> Queue:
    """Every comment waiting for review on the site, whenever it was posted."""
    q = (select(func.count(), func.min(comments.c.created)).select_from(comments.join(threads))
         .where(threads.c.site_id == site_id, comments.c.status == "pending"))
    return Queue(*conn.execute(q).one())


def decisions(conn: Connection, site_id: int, since: float, *, status: str | None, limit: int) -> list[str | None]:
    """The stored moderation decisions (JSON text) of the newest `limit` comments of the period,
    of one status, or of every status but deleted."""
    joined, where = _site_comments(site_id, since)
    kept = comments.c.status == status if status else comments.c.status != "deleted"
    q = (select(comments.c.moderation).select_from(joined).where(*where, kept)
         .order_by(comments.c.created.desc()).limit(limit))
    return list(conn.execute(q).scalars())


def top_threads(conn: Connection, site_id: int, since: float, limit: int) -> list[ThreadComments]:
    """The threads with the most comments (deleted ones aside) posted in the period."""
    n = func.count().label("n")
    busiest = (select(comments.c.thread_id, n).select_from(comments.join(threads))
               .where(threads.c.site_id == site_id, comments.c.created >= since, comments.c.status != "deleted")
               .group_by(comments.c.thread_id).order_by(n.desc(), comments.c.thread_id).limit(limit).subquery())
    q = (select(threads.c.uri, threads.c.title, busiest.c.n).select_from(busiest.join(threads, threads.c.id == busiest.c.thread_id))
         .order_by(busiest.c.n.desc(), threads.c.id))
    return [ThreadComments(*row) for row in conn.execute(q)]
