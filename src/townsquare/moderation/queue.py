"""The moderation queue: one page of a tab, with everything a moderator needs beside each comment
(its parent, the author's recent history, reports, heat), in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from townsquare.config import Settings
from townsquare import sites
from townsquare.moderation.auth import Actor
from townsquare.store import accounts
from townsquare.store import queue as stored
from townsquare.store import reports as stored_reports
from townsquare.store import thread_state, trusted
from townsquare.store.db import Connection, Engine, reading

TABS = stored.TABS
HISTORY = 5


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_before: int | None


def counts(conn: Connection, site_ids: frozenset[int]) -> dict[str, int]:
    """How many comments wait in the Pending and Reported tabs."""
    return {tab: stored.count(conn, site_ids, tab) for tab in ("pending", "reported")}


def page(conn: Connection, site_ids: frozenset[int], tab: str, *, before: int | None = None, limit: int = 25,
         comment_ids: list[int] | None = None) -> Page:
    """The tab's comments, newest first: each the comment's row with its thread and site, plus
    `decision`, `parent`, `history`, `reports`, `heated`, `slow_mode` and `trusted`."""
    rows = stored.rows(conn, site_ids, tab, before=before, limit=limit + 1, comment_ids=comment_ids)
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page([], None)
    parents = stored.parents(conn, [r.parent_id for r in rows if r.parent_id])
    history = stored.history(conn, [r.author_key for r in rows if r.author_key], site_ids, HISTORY + 1)
    open_reports = stored_reports.open_reports(conn, [r.id for r in rows])
    states = thread_state.many(conn, list({r.thread_id for r in rows}))
    trusted_pairs = trusted.trusted_pairs(conn, {(r.site_id, r.author_key) for r in rows if r.author_key})
    items = []
    for r in rows:
        decision = orjson.loads(r.moderation) if r.moderation else {}
        state = states.get(r.thread_id) or thread_state.ThreadState(r.thread_id)
        heated = r.id in state.heated_comments or any(
            reason.get("phase") == "heat" for reason in decision.get("reasons", [])
        )
        items.append({
            **vars(r),
            "decision": decision,
            "parent": parents.get(r.parent_id),
            "history": [h for h in history.get(r.author_key, []) if h.id != r.id][:HISTORY],
            "reports": open_reports[r.id],
            "heated": heated,
            "slow_mode": state.slow_mode,
            "trusted": (r.site_id, r.author_key) in trusted_pairs,
        })
    return Page(items, rows[-1].id if more else None)


@dataclass(frozen=True)
class Desk:
    """The queue page of the admin UI: one page of a tab, the waiting counts, the site names."""

    page: Page
    waiting: dict[str, int]
    site_names: dict[int, str]


def desk(engine: Engine, actor: Actor, tab: str, *, site_name: str = "", before: int | None = None) -> Desk:
    """A tab for the admin UI, for every site of the actor or only the named one."""
    with reading(engine) as conn:
        names = accounts.site_names(conn, actor.site_ids)
        site_ids = frozenset(i for i, n in names.items() if n == site_name) if site_name else actor.site_ids
        return Desk(page(conn, site_ids, tab, before=before), counts(conn, actor.site_ids), names)


def for_actor(engine: Engine, settings: Settings, actor: Actor, tab: str, *, site_name: str | None = None,
              before: int | None = None, limit: int = 25) -> Page:
    """A tab for the moderator API, for every site of the actor or only the named one."""
    with reading(engine) as conn:
        site_ids = actor.site_ids
        if site_name:
            found = sites.by_name(conn, settings, site_name)
            actor.require(found.id)
            site_ids = frozenset({found.id})
        return page(conn, site_ids, tab, before=before, limit=limit)
