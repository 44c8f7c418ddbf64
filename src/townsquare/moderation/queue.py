"""The moderation queue: one page of a tab, with everything a moderator needs beside each comment
(its parent, the author's recent history, reports, heat), in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, and_, exists, func, select

from townsquare.moderation import reports as community_reports
from townsquare.moderation import threads as thread_states
from townsquare.store.moderation import reports, trusted_authors
from townsquare.store.tables import comments, sites, threads

TABS = ("pending", "reported", "rejected", "published", "all")
HISTORY = 5


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_before: int | None


def _open_report():
    return exists().where(reports.c.comment_id == comments.c.id, reports.c.resolved.is_(None))


def _tab_filter(tab: str):
    if tab == "reported":
        return and_(comments.c.status.in_(("published", "pending")), _open_report())
    if tab == "all":
        return comments.c.status != "deleted"
    return comments.c.status == tab


def counts(conn: Connection, site_ids: frozenset[int]) -> dict[str, int]:
    """How many comments wait in the Pending and Reported tabs."""
    base = select(func.count()).select_from(comments.join(threads)).where(threads.c.site_id.in_(site_ids))
    return {tab: conn.execute(base.where(_tab_filter(tab))).scalar_one() for tab in ("pending", "reported")}


def page(conn: Connection, site_ids: frozenset[int], tab: str, *, before: int | None = None, limit: int = 25,
         comment_ids: list[int] | None = None) -> Page:
    if tab not in TABS:
        raise ValueError(tab)
    q = (
        select(comments, threads.c.uri, threads.c.title.label("thread_title"), threads.c.url.label("thread_url"),
               threads.c.closed.label("thread_closed"), threads.c.site_id, sites.c.name.label("site_name"))
        .select_from(comments.join(threads, threads.c.id == comments.c.thread_id).join(sites, sites.c.id == threads.c.site_id))
        .where(threads.c.site_id.in_(site_ids), _tab_filter(tab))
        .order_by(comments.c.id.desc())
        .limit(limit + 1)
    )
    if before:
        q = q.where(comments.c.id < before)
    if comment_ids is not None:
        q = q.where(comments.c.id.in_(comment_ids))
    rows = [dict(r) for r in conn.execute(q).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return Page([], None)
    ids = [r["id"] for r in rows]
    parents = _parents(conn, [r["parent_id"] for r in rows if r["parent_id"]])
    history = _history(conn, [r["author_key"] for r in rows if r["author_key"]], site_ids)
    open_reports = community_reports.open_reports(conn, ids)
    states = thread_states.states(conn, list({r["thread_id"] for r in rows}))
    trusted = _trusted(conn, {(r["site_id"], r["author_key"]) for r in rows if r["author_key"]})
    items = []
    for r in rows:
        decision = orjson.loads(r["moderation"]) if r["moderation"] else {}
        state = states.get(r["thread_id"], {})
        heated = r["id"] in state.get("heated_comments", []) or any(
            reason.get("phase") == "heat" for reason in decision.get("reasons", [])
        )
        items.append({
            **r,
            "decision": decision,
            "parent": parents.get(r["parent_id"]),
            "history": [h for h in history.get(r["author_key"], []) if h["id"] != r["id"]][:HISTORY],
            "reports": open_reports[r["id"]],
            "heated": heated,
            "slow_mode": state.get("slow_mode") or 0,
            "trusted": (r["site_id"], r["author_key"]) in trusted,
        })
    return Page(items, rows[-1]["id"] if more else None)


def _parents(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = conn.execute(
        select(comments.c.id, comments.c.author_name, comments.c.text, comments.c.status).where(comments.c.id.in_(ids))
    ).mappings()
    return {r["id"]: dict(r) for r in rows}


def _history(conn: Connection, keys: list[str], site_ids: frozenset[int]) -> dict[str, list[dict[str, Any]]]:
    """Each author's newest comments (one windowed query for the whole page)."""
    if not keys:
        return {}
    rank = func.row_number().over(partition_by=comments.c.author_key, order_by=comments.c.id.desc()).label("rank")
    inner = (
        select(comments.c.id, comments.c.author_key, comments.c.text, comments.c.status, comments.c.created, rank)
        .select_from(comments.join(threads))
        .where(comments.c.author_key.in_(set(keys)), threads.c.site_id.in_(site_ids), comments.c.status != "deleted")
        .subquery()
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(select(inner).where(inner.c.rank <= HISTORY + 1).order_by(inner.c.id.desc())).mappings():
        out.setdefault(row["author_key"], []).append(dict(row))
    return out


def _trusted(conn: Connection, pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    if not pairs:
        return set()
    keys = {k for _, k in pairs}
    rows = conn.execute(select(trusted_authors.c.site_id, trusted_authors.c.author_key).where(trusted_authors.c.author_key.in_(keys)))
    return {(r.site_id, r.author_key) for r in rows} & pairs
