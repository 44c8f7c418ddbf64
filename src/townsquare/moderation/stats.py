"""The newsroom dashboard's figures for one site over the last N days (UTC days, today included):
comments per day by status, reports, votes and distinct commenters per day; the queue now; why the
period's held comments were held; the toxicity scores of its comments; its busiest threads. The same
figures for one thread of the site (no busiest threads then), from the thread's own rollups.

Figures are kept for a few seconds per process: a dashboard reloaded by several editors reads the
database once, and every process reads the same database, so none is ever more than that behind.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from townsquare import sites
from townsquare.config import Settings
from townsquare.errors import Invalid, NotFound
from townsquare.moderation.auth import Actor
from townsquare.store import stats as stored
from townsquare.store import threads as stored_threads
from townsquare.store.db import Engine, reading

MAX_DAYS = 365
BUCKETS = stored.BUCKETS
TOP_THREADS = 10
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Day:
    date: str  # YYYY-MM-DD, UTC
    published: int
    held: int
    rejected: int
    deleted: int
    reports: int
    votes: int
    commenters: int


@dataclass(frozen=True)
class QueueNow:
    pending: int
    oldest_age_s: int | None


@dataclass(frozen=True)
class HeldReason:
    phase: str  # the moderation phase that held it ("toxicity", "personal_data", "reports", …)
    comments: int


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    comments: int


@dataclass(frozen=True)
class TopThread:
    uri: str
    title: str
    comments: int


@dataclass(frozen=True)
class ThreadRef:
    uri: str
    title: str


@dataclass(frozen=True)
class Stats:
    site: str
    days: int
    since: str  # the first day of the period
    per_day: tuple[Day, ...]
    queue: QueueNow
    held_reasons: tuple[HeldReason, ...]
    held_read: int  # the held comments of the period, whose decisions give `held_reasons`
    toxicity: tuple[Bucket, ...]
    scored: int  # comments of the period (deleted ones aside) with a stored toxicity score
    top_threads: tuple[TopThread, ...]  # none for a thread's figures
    thread: ThreadRef | None = None  # the thread the figures are restricted to, if any


_cache: dict[tuple, tuple[float, Stats]] = {}
_cache_lock = threading.Lock()


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * stored.DAY, UTC).strftime("%Y-%m-%d")


def compute(engine: Engine, site_id: int, site_name: str, days: int, now: float,
            thread: stored_threads.Thread | None = None) -> Stats:
    """The figures, read in one snapshot from the per-day rollups (store/stats.py): the site's, or
    one thread's."""
    today = int(now // stored.DAY)
    first = today - days + 1
    thread_id = None if thread is None else thread.id
    with reading(engine) as conn:
        rows = stored.days(conn, site_id, first, thread_id)
        waiting = stored.queue(conn, site_id, thread_id)
        reasons = stored.held_reasons(conn, site_id, first, thread_id)
        scores = {b.key: b.count for b in stored.toxicity(conn, site_id, first, thread_id)}
        top = stored.top_threads(conn, site_id, first, TOP_THREADS) if thread is None else []
    by_day = {d.day: d for d in rows}
    per_day = []
    for day in range(first, today + 1):
        c = by_day.get(day) or stored.DayFigures(day, 0, 0, 0, 0, 0, 0, 0)
        per_day.append(Day(_date(day), c.published, c.pending, c.rejected, c.deleted, c.reports, c.votes,
                           c.commenters))
    oldest = None if waiting.oldest_created is None else max(0, int(now - waiting.oldest_created))
    buckets = [Bucket(i / BUCKETS, (i + 1) / BUCKETS, scores.get(i, 0)) for i in range(BUCKETS)]
    return Stats(site=site_name, days=days, since=_date(first), per_day=tuple(per_day),
                 queue=QueueNow(waiting.pending, oldest),
                 held_reasons=tuple(HeldReason(str(r.key), r.count) for r in reasons),
                 held_read=sum(d.pending for d in rows), toxicity=tuple(buckets), scored=sum(scores.values()),
                 top_threads=tuple(TopThread(t.uri, t.title, t.comments) for t in top),
                 thread=None if thread is None else ThreadRef(thread.uri, thread.title))


def for_site(engine: Engine, settings: Settings, actor: Actor, site_name: str, days: int, *,
             thread_uri: str | None = None, now: float | None = None) -> Stats:
    """The figures for a site the actor moderates, or for one thread of it (NotFound for an
    unknown site or thread, Forbidden for another's site), from the cache when they are a few
    seconds old at most."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days must be between 1 and {MAX_DAYS}.", field="days")
    with reading(engine) as conn:
        site = sites.by_name(conn, settings, site_name)
        actor.require(site.id)
        thread = None
        if thread_uri is not None:
            thread = stored_threads.by_uri(conn, site.id, thread_uri)
            if thread is None:
                raise NotFound(f"There is no thread '{thread_uri}' on {site.name}.", field="thread")
    clock = time.monotonic()
    key = (engine.url.render_as_string(hide_password=True), site.id, days, thread and thread.id)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now is None and clock - hit[0] < CACHE_SECONDS:
            return hit[1]
    result = compute(engine, site.id, site.name, days, time.time() if now is None else now, thread)
    if now is None:
        with _cache_lock:
            if len(_cache) > 256:  # a bound, not an eviction policy: entries are seconds old at most
                _cache.clear()
            _cache[key] = (clock, result)
    return result
