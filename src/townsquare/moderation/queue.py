"""The moderation queue: one page of a tab, with everything a moderator needs beside each comment
(its parent, the author's recent history, reports, heat), in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from townsquare import sites
from townsquare.config import Settings
from townsquare.errors import NotFound
from townsquare.moderation.auth import Actor
from townsquare.store import accounts
from townsquare.store import queue as stored
from townsquare.store import reports as stored_reports
from townsquare.store import thread_state, threads, trusted
from townsquare.store.comments import Comment
from townsquare.store.threads import Thread
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
         comment_ids: list[int] | None = None, thread_id: int | None = None) -> Page:
    """The tab's comments, newest first: each the comment's row with its thread and site, plus
    `decision`, `parent`, `history`, `reports`, `heated`, `slow_mode` and `trusted`."""
    rows = stored.rows(conn, site_ids, tab, before=before, limit=limit + 1, comment_ids=comment_ids,
                       thread_id=thread_id)
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page([], None)
    comments = [r.comment for r in rows]
    parents = stored.parents(conn, [c.parent_id for c in comments if c.parent_id])
    history = stored.history(conn, [c.author_key for c in comments if c.author_key], site_ids, HISTORY + 1)
    open_reports = stored_reports.open_reports(conn, [c.id for c in comments])
    states = thread_state.many(conn, list({c.thread_id for c in comments}))
    # A signed-in author is trusted by identity; a guest by the address the comment came from.
    trusted_pairs = trusted.trusted_addresses(
        conn, {(r.site_id, r.comment.ip_hash) for r in rows if r.comment.ip_hash and r.comment.identity_id is None})
    # (A signed-in reader's comment carries their identity as its author key.)
    trusted_pairs |= trusted.trusted_addresses(conn, {(r.site_id, r.comment.author_key) for r in rows
                                                      if r.comment.identity_id is not None and r.comment.author_key},
                                               "identity")
    items = []
    for r in rows:
        c = r.comment
        decision = c.decision()
        state = states.get(c.thread_id) or thread_state.ThreadState(c.thread_id)
        heated = c.id in state.heated_comments or any(
            reason.get("phase") == "heat" for reason in decision.get("reasons", [])
        )
        items.append({
            **{name: getattr(c, name) for name in Comment.__slots__},
            "uri": r.uri, "thread_title": r.thread_title, "thread_url": r.thread_url,
            "thread_closed": r.thread_closed, "site_id": r.site_id, "site_name": r.site_name,
            "pinned": r.thread_pinned == c.id,
            "decision": decision,
            "parent": parents.get(c.parent_id),
            "history": [h for h in history.get(c.author_key, []) if h.id != c.id][:HISTORY],
            "reports": open_reports[c.id],
            "heated": heated,
            "slow_mode": state.slow_mode,
            "trusted": (r.site_id, c.author_key if c.identity_id is not None else c.ip_hash) in trusted_pairs,
        })
    return Page(items, rows[-1].comment.id if more else None)


@dataclass(frozen=True)
class Desk:
    """The queue page of the admin UI: one page of a tab, the waiting counts, the site names."""

    page: Page
    waiting: dict[str, int]
    site_names: dict[int, str]
    thread: Thread | None = None  # the one thread shown, if the tab is filtered to one


def desk(engine: Engine, actor: Actor, tab: str, *, site_name: str = "", before: int | None = None,
         thread_uri: str = "") -> Desk:
    """A tab for the admin UI, for every site of the actor or only the named one, or one thread of
    it (NotFound for a thread the named site does not have)."""
    with reading(engine) as conn:
        names = accounts.site_names(conn, actor.site_ids)
        site_ids = frozenset(i for i, n in names.items() if n == site_name) if site_name else actor.site_ids
        thread = None
        if thread_uri:
            thread = threads.by_uri(conn, next(iter(site_ids)), thread_uri) if len(site_ids) == 1 else None
            if thread is None:
                raise NotFound(f"There is no thread '{thread_uri}' on {site_name or 'these sites'}.", field="thread")
        return Desk(page(conn, site_ids, tab, before=before, thread_id=thread and thread.id),
                    counts(conn, actor.site_ids), names, thread)


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
