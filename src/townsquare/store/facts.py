"""What the moderation pipeline reads around a draft: the author's recent comments and counts,
posts from one address, thread state, trust, staff, bans and the branch above the draft. Each
is one query, whatever the thread size."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, case, func, literal, or_, select

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
    # Published from the address the draft comes from: standing earned under an e-mail address
    # that anyone may type is only the author's where they posted from.
    published_here: int = 0


@dataclass(frozen=True)
class ActiveBan:
    kind: str  # ip | identity | email (and author: an e-mail ban made before)
    reason: str
    expires: float | None


@dataclass(frozen=True)
class BranchComment:
    id: int
    author_key: str | None
    author_name: str
    text: str
    moderation: str | None  # the stored decision (JSON)


# Built once, with bound parameters: on the write path, building a statement costs more than
# running it on an indexed table.
_ON_SITE = comments.join(threads, threads.c.id == comments.c.thread_id)
_RECENT_COLUMNS = (comments.c.text, comments.c.created, comments.c.status, comments.c.thread_id)


def _recent_by(who):
    return (
        select(*_RECENT_COLUMNS).select_from(_ON_SITE)
        .where(threads.c.site_id == bindparam("site_id"), who == bindparam("who"), comments.c.status != "deleted",
               comments.c.id != bindparam("excluding"))
        .order_by(comments.c.created.desc())
        .limit(bindparam("limit"))
    )


_RECENT_BY_AUTHOR = _recent_by(comments.c.author_key)
_RECENT_BY_IP = _recent_by(comments.c.ip_hash)
_AUTHOR_COUNTS = (
    select(
        func.count(),
        func.coalesce(func.sum(case((comments.c.status == "published", 1), else_=0)), 0),
        func.coalesce(func.sum(case((comments.c.status == "rejected", 1), else_=0)), 0),
        func.coalesce(func.sum(case(
            (and_(comments.c.status == "published", comments.c.ip_hash == bindparam("ip_hash")), 1), else_=0)), 0),
    )
    .select_from(_ON_SITE)
    .where(threads.c.site_id == bindparam("site_id"), comments.c.author_key == bindparam("author_key"),
           comments.c.status != "deleted")
)
# Counted on the (ip_hash, created) index alone, across the installation's sites: joining each
# row to its thread to keep one site's made the count grow with every comment in the window (an
# address flooding several sites of one installation is one flood anyway).
_IP_WINDOW = (
    select(comments.c.id)
    .where(comments.c.ip_hash == bindparam("ip_hash"), comments.c.created > bindparam("since"))
    .limit(bindparam("limit"))
    .subquery()
)
_IP_POSTS = select(func.count()).select_from(_IP_WINDOW)
_SLOW_MODE = select(thread_state.c.slow_mode).where(thread_state.c.thread_id == bindparam("thread_id"))
# Trust follows the address a comment comes from, or a verified identity; never a typed e-mail.
_TRUSTED = select(trusted_authors.c.author_key).where(
    trusted_authors.c.site_id == bindparam("site_id"),
    or_(and_(trusted_authors.c.kind == "ip", trusted_authors.c.author_key == bindparam("ip_hash")),
        and_(trusted_authors.c.kind == "identity", trusted_authors.c.author_key == bindparam("identity")))).limit(1)


def recent(conn: Connection, site_id: int, *, author_key: str | None, ip_hash: str | None, limit: int,
           excluding: int | None = None) -> list[RecentComment]:
    """The author's newest comments on the site (by hashed IP for an author without a key)."""
    if not author_key and not ip_hash:
        return []
    stmt = _RECENT_BY_AUTHOR if author_key else _RECENT_BY_IP
    params = {"site_id": site_id, "who": author_key or ip_hash, "limit": limit,
              "excluding": -1 if excluding is None else excluding}
    return [RecentComment(*row) for row in conn.execute(stmt, params)]


def author_counts(conn: Connection, site_id: int, author_key: str, ip_hash: str | None = None) -> AuthorCounts:
    row = conn.execute(_AUTHOR_COUNTS, {"site_id": site_id, "author_key": author_key, "ip_hash": ip_hash}).one()
    return AuthorCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def ip_posts(conn: Connection, site_id: int, ip_hash: str, since: float, limit: int) -> int:
    """How many comments the address posted since `since` (on any site of the installation),
    counted by the database and only up to `limit`: a site behind a shared address may set a
    high limit."""
    return conn.execute(_IP_POSTS, {"ip_hash": ip_hash, "since": since, "limit": limit}).scalar_one()


def slow_mode(conn: Connection, thread_id: int) -> int:
    """The thread's slow mode in seconds (0: none)."""
    return conn.execute(_SLOW_MODE, {"thread_id": thread_id}).scalar() or 0


def trusted(conn: Connection, site_id: int, *, ip_hash: str | None, identity: str | None) -> bool:
    """Whether the address the draft comes from, or the author's verified identity, is trusted."""
    if not ip_hash and not identity:
        return False
    return conn.execute(_TRUSTED, {"site_id": site_id, "ip_hash": ip_hash, "identity": identity}).first() is not None


def staff(conn: Connection, site_id: int, user_id: int) -> bool:
    """A signed-in admin, or a moderator of this site."""
    q = (
        select(users.c.id)
        .outerjoin(user_sites, and_(user_sites.c.user_id == users.c.id, user_sites.c.site_id == site_id))
        .where(users.c.id == user_id, or_(users.c.role == "admin", user_sites.c.site_id.is_not(None)))
    )
    return conn.execute(q).first() is not None


_ACTIVE_BANS = select(bans.c.kind, bans.c.reason, bans.c.expires).where(
    bans.c.site_id == bindparam("site_id"),
    bans.c.lifted.is_(None),
    or_(bans.c.expires.is_(None), bans.c.expires > bindparam("at")),
    # An e-mail ban stores the same keyed hash of the address that author keys are made of (so do
    # "author" bans made before bans followed addresses). A typed e-mail proves nothing, but a ban
    # on it only refuses: impersonating a banned address publishes nothing. A missing key,
    # address or identity is NULL, which matches nothing.
    or_(and_(bans.c.kind.in_(("author", "email")), bans.c.value == bindparam("author_key")),
        and_(bans.c.kind == "ip", bans.c.value == bindparam("ip_hash")),
        and_(bans.c.kind == "identity", bans.c.value == bindparam("identity"))),
)


def active_bans(conn: Connection, site_id: int, *, author_key: str | None, ip_hash: str | None,
                identity: str | None = None, at: float) -> tuple[ActiveBan, ...]:
    """The bans in force at `at` on this author key (an e-mail ban), address or verified identity."""
    if not author_key and not ip_hash and not identity:
        return ()
    rows = conn.execute(_ACTIVE_BANS, {"site_id": site_id, "at": at, "author_key": author_key, "ip_hash": ip_hash,
                                       "identity": identity})
    return tuple(ActiveBan(*row) for row in rows)


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
