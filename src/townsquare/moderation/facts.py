"""Gather what the store knows around a draft, in a constant number of queries (at most eight, whatever the thread size)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, and_, case, func, literal, or_, select

from townsquare.moderation.inputs import Ancestor, Ban, Draft, Facts, PastComment
from townsquare.moderation.settings import ModerationSettings
from townsquare.store.moderation import bans, thread_state, trusted_authors
from townsquare.store.tables import comments, threads, user_sites, users

RECENT_LIMIT = 50
MAX_DEPTH = 64


def gather(conn: Connection, *, site_id: int, thread: dict[str, Any] | None, draft: Draft,
           settings: ModerationSettings) -> Facts:
    state = _thread_state(conn, thread.id) if thread else {}
    recent = _recent(conn, site_id, draft)
    total, published, rejected = _author_counts(conn, site_id, draft.author_key)
    since = draft.created - settings.rate_window
    last_here = next((c.created for c in recent if thread and c.thread_id == thread.id), None)
    return Facts(
        thread_closed=bool(thread and thread.closed),
        slow_mode=state.get("slow_mode") or 0,
        author_last_in_thread=last_here,
        recent=tuple(recent),
        author_post_times=tuple(c.created for c in recent if c.created > since) if draft.author_key else (),
        ip_posts=_ip_posts(conn, site_id, draft.ip_hash, since, settings.ip_rate),
        author_total=total,
        author_published=published,
        author_rejected=rejected,
        trusted=_trusted(conn, site_id, draft.author_key),
        staff=_staff(conn, site_id, draft.user_id),
        bans=_bans(conn, site_id, draft),
        ancestors=_ancestors(conn, draft.parent_id),
    )


def _site_comments(site_id: int):
    return comments.join(threads, threads.c.id == comments.c.thread_id), threads.c.site_id == site_id


def _recent(conn: Connection, site_id: int, draft: Draft) -> list[PastComment]:
    """The author's newest comments on the site (by hashed IP for an author without a key)."""
    if draft.author_key:
        who = comments.c.author_key == draft.author_key
    elif draft.ip_hash:
        who = comments.c.ip_hash == draft.ip_hash
    else:
        return []
    joined, on_site = _site_comments(site_id)
    q = (
        select(comments.c.text, comments.c.created, comments.c.status, comments.c.thread_id)
        .select_from(joined)
        .where(on_site, who, comments.c.status != "deleted")
        .order_by(comments.c.created.desc())
        .limit(RECENT_LIMIT)
    )
    if draft.comment_id is not None:
        q = q.where(comments.c.id != draft.comment_id)
    return [PastComment(**row) for row in conn.execute(q).mappings()]


def _author_counts(conn: Connection, site_id: int, author_key: str | None) -> tuple[int, int, int]:
    if not author_key:
        return 0, 0, 0
    joined, on_site = _site_comments(site_id)
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((comments.c.status == "published", 1), else_=0)), 0),
            func.coalesce(func.sum(case((comments.c.status == "rejected", 1), else_=0)), 0),
        )
        .select_from(joined)
        .where(on_site, comments.c.author_key == author_key, comments.c.status != "deleted")
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _ip_posts(conn: Connection, site_id: int, ip_hash: str | None, since: float, limit: int) -> int:
    """How many comments the address posted in the window, counted by the database and only up to
    the limit: a site behind a shared address may set a high limit, and this runs inside the write
    transaction."""
    if not ip_hash:
        return 0
    joined, on_site = _site_comments(site_id)
    window = (
        select(comments.c.id).select_from(joined)
        .where(on_site, comments.c.ip_hash == ip_hash, comments.c.created > since)
        .limit(limit)
        .subquery()
    )
    return conn.execute(select(func.count()).select_from(window)).scalar_one()


def _thread_state(conn: Connection, thread_id: int) -> dict[str, Any]:
    row = conn.execute(select(thread_state).where(thread_state.c.thread_id == thread_id)).mappings().first()
    return dict(row) if row else {}


def _trusted(conn: Connection, site_id: int, author_key: str | None) -> bool:
    if not author_key:
        return False
    q = select(trusted_authors.c.author_key).where(
        trusted_authors.c.site_id == site_id, trusted_authors.c.author_key == author_key
    )
    return conn.execute(q).first() is not None


def _staff(conn: Connection, site_id: int, user_id: int | None) -> bool:
    """A signed-in admin, or a moderator of this site."""
    if user_id is None:
        return False
    q = (
        select(users.c.id)
        .outerjoin(user_sites, and_(user_sites.c.user_id == users.c.id, user_sites.c.site_id == site_id))
        .where(users.c.id == user_id, or_(users.c.role == "admin", user_sites.c.site_id.is_not(None)))
    )
    return conn.execute(q).first() is not None


def _bans(conn: Connection, site_id: int, draft: Draft) -> tuple[Ban, ...]:
    matches = []
    if draft.author_key:
        # An e-mail ban stores the same keyed hash of the address that author keys are made of.
        matches.append(and_(bans.c.kind.in_(("author", "email")), bans.c.value == draft.author_key))
    if draft.ip_hash:
        matches.append(and_(bans.c.kind == "ip", bans.c.value == draft.ip_hash))
    if not matches:
        return ()
    rows = conn.execute(
        select(bans.c.kind, bans.c.reason, bans.c.expires).where(
            bans.c.site_id == site_id,
            bans.c.lifted.is_(None),
            or_(bans.c.expires.is_(None), bans.c.expires > draft.created),
            or_(*matches),
        )
    ).mappings()
    return tuple(Ban(**row) for row in rows)


def _ancestors(conn: Connection, parent_id: int | None) -> tuple[Ancestor, ...]:
    """The branch above the draft, nearest first, in one recursive query."""
    if parent_id is None:
        return ()
    cols = (comments.c.id, comments.c.parent_id, comments.c.author_key, comments.c.author_name,
            comments.c.text, comments.c.moderation)
    up = select(*cols, literal(1).label("depth")).where(comments.c.id == parent_id).cte("branch", recursive=True)
    up = up.union_all(
        select(*cols, (up.c.depth + 1).label("depth"))
        .join(up, comments.c.id == up.c.parent_id)
        .where(up.c.depth < MAX_DEPTH)
    )
    rows = conn.execute(select(up).order_by(up.c.depth)).mappings()
    return tuple(
        Ancestor(row["id"], row["author_key"], row["author_name"], row["text"], _scores(row["moderation"]))
        for row in rows
    )


def _scores(moderation: str | None) -> dict[str, float] | None:
    if not moderation:
        return None
    try:
        return orjson.loads(moderation).get("scores") or None
    except (orjson.JSONDecodeError, AttributeError):
        return None
