"""What a live stream reads: the thread it follows and the events it has not sent yet."""

from __future__ import annotations

import orjson

from townsquare import sites
from townsquare.config import Settings
from townsquare.domain import closing as closing_rule
from townsquare.errors import NotFound
from townsquare.store import queue, thread_events
from townsquare.store import threads as thread_store
from townsquare.store.db import Engine, now, reader
from townsquare.store.thread_events import ThreadEvent

BATCH = 500


def thread_id(engine: Engine, site: str, uri: str) -> int | None:
    """The thread's id, None while it has no comment yet; NotFound for an unknown site."""
    with reader(engine) as conn:
        head = thread_store.head(conn, site, uri)
    if head is None:
        raise NotFound(f"There is no site named '{site}'.", field="site")
    return head.id


def opening(engine: Engine, settings: Settings, site: str, uri: str) -> tuple[int | None, float | None]:
    """A new stream's thread id (None while it has no comment yet; NotFound for an unknown site)
    and when the clock closes it (see `closing`), from one read of the thread's head."""
    with reader(engine) as conn:
        head = thread_store.head(conn, site, uri)
    if head is None:
        raise NotFound(f"There is no site named '{site}'.", field="site")
    return head.id, _closing(settings, head)[1]


def closing(engine: Engine, settings: Settings, site: str, uri: str) -> tuple[bool, float | None]:
    """Whether the thread takes no comments now, and when the clock closes it (its own close time
    or the site's `close_after_days`; None: never, or closed already). Closing by the clock writes
    nothing, so a stream watches for that time itself."""
    with reader(engine) as conn:
        head = thread_store.head(conn, site, uri)
    return _closing(settings, head)


def _closing(settings: Settings, head) -> tuple[bool, float | None]:
    if head is None or head.id is None:
        return False, None
    after = sites.rules_of(settings, orjson.loads(head.site_settings)).close_after_days
    if closing_rule.is_closed(head.closed, head.closes, head.created, after, now()):
        return True, None
    return False, closing_rule.closes_at(head.closes, head.created, after)


def start(engine: Engine, thread: int | None) -> int:
    """Where a new stream starts: after the thread's newest event (0 for a new thread)."""
    if thread is None:
        return 0
    with reader(engine) as conn:
        return thread_events.latest(conn, thread)


def after(engine: Engine, thread: int, last_id: int) -> list[ThreadEvent]:
    with reader(engine) as conn:
        return thread_events.since(conn, thread, last_id, BATCH)


def coalesce(events: list[ThreadEvent]) -> list[ThreadEvent]:
    """Several vote events on one comment in one batch: only the last (the newest totals) is sent."""
    last_vote: dict[int, int] = {}
    for i, e in enumerate(events):
        if e.kind == "vote":
            last_vote[orjson.loads(e.payload)["id"]] = i
    keep = set(last_vote.values())
    return [e for i, e in enumerate(events) if e.kind != "vote" or i in keep]


def waiting(engine: Engine, site_ids: frozenset[int]) -> int:
    """Comments waiting in the moderation queue of these sites (a moderator's queue stream)."""
    with reader(engine) as conn:
        return queue.count(conn, site_ids, "pending")
