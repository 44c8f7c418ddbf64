"""The newsroom dashboard's figures for one site over the last N days (UTC days, today included):
comments per day by status, reports, votes and distinct commenters per day; the queue now; why the
period's held comments were held; the toxicity scores of its comments; its busiest threads.

Figures are kept for a few seconds per process: a dashboard reloaded by several editors reads the
database once, and every process reads the same database, so none is ever more than that behind.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from townsquare import sites
from townsquare.config import Settings
from townsquare.errors import Invalid
from townsquare.moderation.auth import Actor
from townsquare.store import stats as stored
from townsquare.store.db import Engine, reading

MAX_DAYS = 365
BUCKETS = 10
TOP_THREADS = 10
# Stored decisions read per request, newest first: enough for any real queue, and a bound on the
# work a dashboard asks of a site with a backlog.
HELD_SAMPLE = 5_000
SCORED_SAMPLE = 20_000
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
class Stats:
    site: str
    days: int
    since: str  # the first day of the period
    per_day: tuple[Day, ...]
    queue: QueueNow
    held_reasons: tuple[HeldReason, ...]
    held_read: int  # how many held comments' decisions were read (at most HELD_SAMPLE)
    toxicity: tuple[Bucket, ...]
    scored: int  # comments of the period with a stored toxicity score (of at most SCORED_SAMPLE read)
    top_threads: tuple[TopThread, ...]


_cache: dict[tuple, tuple[float, Stats]] = {}
_cache_lock = threading.Lock()


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * stored.DAY, UTC).strftime("%Y-%m-%d")


def _decision(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def held_reasons(decisions: list[str | None]) -> list[HeldReason]:
    """Each phase named in the held comments' reasons, counting a comment once per phase; a comment
    held with no stored reason (held by a moderator's undo, or imported) counts as "none"."""
    counted: Counter[str] = Counter()
    for text in decisions:
        reasons = _decision(text).get("reasons")
        phases = {str(r.get("phase")) for r in reasons if isinstance(r, dict) and r.get("phase")} \
            if isinstance(reasons, list) else set()
        counted.update(phases or {"none"})
    return [HeldReason(phase, n) for phase, n in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))]


def toxicity_histogram(decisions: list[str | None]) -> tuple[list[Bucket], int]:
    """Ten equal buckets of the stored toxicity score (0-1; a score of 1 is in the last bucket)."""
    counts = [0] * BUCKETS
    scored = 0
    for text in decisions:
        scores = _decision(text).get("scores")
        score = scores.get("toxicity") if isinstance(scores, dict) else None
        if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 1:
            counts[min(int(score * BUCKETS), BUCKETS - 1)] += 1
            scored += 1
    return [Bucket(i / BUCKETS, (i + 1) / BUCKETS, n) for i, n in enumerate(counts)], scored


def compute(engine: Engine, site_id: int, site_name: str, days: int, now: float) -> Stats:
    """The figures, read in one snapshot."""
    today = int(now // stored.DAY)
    first = today - days + 1
    since = float(first * stored.DAY)
    with reading(engine) as conn:
        per_status = {d.day: d for d in stored.comments_per_day(conn, site_id, since)}
        reports = {d.day: d.count for d in stored.reports_per_day(conn, site_id, since)}
        votes = {d.day: d.count for d in stored.votes_per_day(conn, site_id, since)}
        waiting = stored.queue(conn, site_id)
        held = stored.decisions(conn, site_id, since, status="pending", limit=HELD_SAMPLE)
        scored_text = stored.decisions(conn, site_id, since, status=None, limit=SCORED_SAMPLE)
        top = stored.top_threads(conn, site_id, since, TOP_THREADS)
    per_day = []
    for day in range(first, today + 1):
        c = per_status.get(day) or stored.DayComments(day, 0, 0, 0, 0, 0)
        per_day.append(Day(_date(day), c.published, c.pending, c.rejected, c.deleted, reports.get(day, 0),
                           votes.get(day, 0), c.commenters))
    oldest = None if waiting.oldest_created is None else max(0, int(now - waiting.oldest_created))
    buckets, scored = toxicity_histogram(scored_text)
    return Stats(site=site_name, days=days, since=_date(first), per_day=tuple(per_day),
                 queue=QueueNow(waiting.pending, oldest), held_reasons=tuple(held_reasons(held)),
                 held_read=len(held), toxicity=tuple(buckets), scored=scored,
                 top_threads=tuple(TopThread(t.uri, t.title, t.comments) for t in top))


def for_site(engine: Engine, settings: Settings, actor: Actor, site_name: str, days: int, *,
             now: float | None = None) -> Stats:
    """The figures for a site the actor moderates (NotFound for an unknown site, Forbidden for
    another's), from the cache when they are a few seconds old at most."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days must be between 1 and {MAX_DAYS}.", field="days")
    with reading(engine) as conn:
        site = sites.by_name(conn, settings, site_name)
    actor.require(site.id)
    clock = time.monotonic()
    key = (engine.url.render_as_string(hide_password=True), site.id, days)
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now is None and clock - hit[0] < CACHE_SECONDS:
            return hit[1]
    result = compute(engine, site.id, site.name, days, time.time() if now is None else now)
    if now is None:
        with _cache_lock:
            if len(_cache) > 256:  # a bound, not an eviction policy: entries are seconds old at most
                _cache.clear()
            _cache[key] = (clock, result)
    return result
