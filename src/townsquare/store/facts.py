"""What the moderation pipeline reads around a draft: the author's recent comments and counts,
posts from one address, thread state, trust, staff, bans and the branch above the draft. Each
is one query, whatever the thread size."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from townsquare.store.moderation import bans, thread_state, trusted_authors
from townsquare.store.tables import comments, threads, user_sites, users


@dataclass(frozen=True)
class RecentComment:
    text: str
    created: float
    status: str
    thread_id: int


@dataclass(frozen=True)
class AuthorCounts:
    total: int = 0
    published: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class ActiveBan:
    kind: str  # author | email | ip
    reason: str
    expires: float | None


@dataclass(frozen=True)
class BranchComment:
    id: int
    author_key: str | None
    author_name: str
    text: str
    moderation: str | None  # the stored decision (JSON)


def _site_comments(site_id: int):
    return comments.join(threads, threads.c.id == comments.c.thread_id), threads.c.site_id == site_id


def recent(conn: Connection, site_id: int, *, author_key: str | None, ip_hash: str | None, limit: int,
           excluding: int | None = None) -> list[RecentComment]:
    """The author's newest comments on the site (by hashed IP for an author without a key)."""
    if author_key:
        who = comments.c.author_key == author_key
    elif ip_hash:
        who = comments.c.ip_hash == ip_hash
    else:
        return []
    joined, on_site = _site_comments(site_id)
    q = (
        select(comments.c.text, comments.c.created, comments.c.status, comments.c.thread_id)
        .select_from(joined)
        .where(on_site, who, comments.c.status != "deleted")
        .order_by(comments.c.created.desc())
        .limit(limit)
    )
    if excluding is not None:
        q = q.where(comments.c.id != excluding)
    return [RecentComment(**row) for row in conn.execute(q).mappings()]


def author_counts(conn: Connection, site_id: int, author_key: str) -> AuthorCounts:
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
    return AuthorCounts(int(row[0]), int(row[1]), int(row[2]))


def ip_posts(conn: Connection, site_id: int, ip_hash: str, since: float, limit: int) -> int:
    """How many comments the address posted since `since`, counted by the database and only up to
    `limit`: a site behind a shared address may set a high limit, and this runs inside the write
    transaction."""
    joined, on_site = _site_comments(site_id)
    window = (
        select(comments.c.id).select_from(joined)
        .where(on_site, comments.c.ip_hash == ip_hash, comments.c.created > since)
        .limit(limit)
        .subquery()
    )
    return conn.execute(select(func.count()).select_from(window)).scalar_one()


def slow_mode(conn: Connection, thread_id: int) -> int:
    """The thread's slow mode in seconds (0: none)."""
    return conn.execute(select(thread_state.c.slow_mode).where(thread_state.c.thread_id == thread_id)).scalar() or 0


def trusted(conn: Connection, site_id: int, author_key: str) -> bool:
    q = select(trusted_authors.c.author_key).where(
        trusted_authors.c.site_id == site_id, trusted_authors.c.author_key == author_key
    )
    return conn.execute(q).first() is not None


def staff(conn: Connection, site_id: int, user_id: int) -> bool:
    """A signed-in admin, or a moderator of this site."""
    q = (
        select(users.c.id)
        .outerjoin(user_sites, and_(user_sites.c.user_id == users.c.id, user_sites.c.site_id == site_id))
        .where(users.c.id == user_id, or_(users.c.role == "admin", user_sites.c.site_id.is_not(None)))
    )
    return conn.execute(q).first() is not None


def active_bans(conn: Connection, site_id: int, *, author_key: str | None, ip_hash: str | None,
                at: float) -> tuple[ActiveBan, ...]:
    """The bans in force at `at` on this author key (as author or e-mail ban) or address."""
    matches = []
    if author_key:
        # An e-mail ban stores the same keyed hash of the address that author keys are made of.
        matches.append(and_(bans.c.kind.in_(("author", "email")), bans.c.value == author_key))
    if ip_hash:
        matches.append(and_(bans.c.kind == "ip", bans.c.value == ip_hash))
    if not matches:
        return ()
    rows = conn.execute(
        select(bans.c.kind, bans.c.reason, bans.c.expires).where(
            bans.c.site_id == site_id,
            bans.c.lifted.is_(None),
            or_(bans.c.expires.is_(None), bans.c.expires > at),
            or_(*matches),
        )
    ).mappings()
    return tuple(ActiveBan(**row) for row in rows)


def branch(conn: Connection, parent_id: int, max_depth: int) -> tuple[BranchComment, ...]:
    """The comments above a reply, its parent first, in one recursive query."""
    cols = (comments.c.id, comments.c.parent_id, comments.c.author_key, comments.c.author_name,
            comments.c.text, comments.c.moderation)
    up = select(*cols, literal(1).label("depth")).where(comments.c.id == parent_id).cte("branch", recursive=True)
    up = up.union_all(
        select(*cols, (up.c.depth + 1).label("depth"))
        .join(up, comments.c.id == up.c.parent_id)
        .where(up.c.depth < max_depth)
    )
    rows = conn.execute(select(up).order_by(up.c.depth)).mappings()
    return tuple(BranchComment(r["id"], r["author_key"], r["author_name"], r["text"], r["moderation"]) for r in rows)
