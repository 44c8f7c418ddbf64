"""Comments and votes: the rows a thread is made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (Connection, Integer, String, and_, any_, bindparam, case, cast, func, insert, literal_column,
                        or_, select, tuple_, update)
from sqlalchemy.dialects import postgresql

from townsquare.store.db import now
from townsquare.store.dialect import upsert
from townsquare.store.tables import comments, identities, votes

PUBLISHED = "published"


@dataclass(frozen=True, slots=True)
class CommentView:
    """What a thread read shows of a comment (see `domain.tree`)."""

    id: int
    parent_id: int | None
    author_name: str
    author_website: str | None
    html: str
    created: float
    edited: float | None
    likes: int
    dislikes: int
    status: str
    # The author's verified identity, if they were signed in: shown as a mark and badges.
    identity_id: int | None = None
    badges: str | None = None  # JSON list, from the identity
    featured: bool = False  # an editor's pick
    reply_count: int = 0  # published comments below it, at any depth (read with a thread's pages)


@dataclass(frozen=True, slots=True)
class Comment:
    """A whole stored comment, as the write paths and moderators see it."""

    id: int
    thread_id: int
    parent_id: int | None
    author_name: str
    author_email: str | None
    author_website: str | None
    author_key: str | None
    ip_hash: str | None
    text: str
    quote: str | None
    html: str
    status: str
    created: float
    edited: float | None
    likes: int
    dislikes: int
    # The moderation decision and its reasons, as JSON (see moderation.policy.Decision.as_json).
    moderation: str | None
    identity_id: int | None = None  # the verified reader who posted it (None: a guest)
    featured: bool = False  # an editor's pick

    def decision(self) -> dict[str, Any]:
        if not self.moderation:
            return {}
        try:
            value = orjson.loads(self.moderation)
        except orjson.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class NewComment:
    thread_id: int
    parent_id: int | None
    author_name: str
    author_email: str | None
    author_website: str | None
    author_key: str | None
    ip_hash: str | None
    text: str
    quote: str | None
    html: str
    status: str
    moderation: str | None
    created: float
    identity_id: int | None = None


@dataclass(frozen=True, slots=True)
class CommentKey:
    """What placing a comment in its thread's tree needs (see `domain.tree.Row`), and no text."""

    id: int
    parent_id: int | None
    status: str
    created: float
    likes: int
    dislikes: int
    reply_count: int = 0  # published comments below it, at any depth
    featured: bool = False


_VIEW = (comments.c.id, comments.c.parent_id, comments.c.author_name, comments.c.author_website, comments.c.html,
         comments.c.created, comments.c.edited, comments.c.likes, comments.c.dislikes, comments.c.status)


# Statements are built once: on the write path, building one costs more than running it.
# A comment as a thread shows it, with its verified author's badges.
_SHOWN = (select(*_VIEW, comments.c.identity_id, identities.c.badges, comments.c.featured)
          .outerjoin(identities, identities.c.id == comments.c.identity_id))
_PAGE = _SHOWN.add_columns(comments.c.reply_count)
_KEY = (comments.c.id, comments.c.parent_id, comments.c.status, comments.c.created, comments.c.likes,
        comments.c.dislikes, comments.c.reply_count, comments.c.featured)
_THREAD_KEYS = select(*_KEY).where(comments.c.thread_id == bindparam("thread_id"))
_VIEWS_BY_ID = _SHOWN.where(comments.c.id.in_(bindparam("ids", expanding=True)))
# The columns of a `Comment`, in its fields' order: `Comment(*row)` for a row selected with them.
COLUMNS = tuple(comments.c[name] for name in Comment.__slots__)
_BY_ID = select(*COLUMNS).where(comments.c.id == bindparam("id"))
_INSERT = insert(comments)


def thread_keys(conn: Connection, thread_id: int) -> list[CommentKey]:
    """The shape of a whole thread without its words: what `domain.tree.build` and `plan` take, the
    whole-thread statement of the paging rule that tests hold the keyset reads to."""
    return [CommentKey(*r) for r in conn.execute(_THREAD_KEYS, {"thread_id": thread_id})]


# -- one page of a thread ---------------------------------------------------------------------
# A thread read reads only what its answer shows (see `domain.tree` for the paging rule): a keyset
# page of top-level comments (or of one comment's replies), then their replies level by level.
# A hidden comment is part of the tree only while published replies hang below it.
_KEPT = or_(comments.c.status == PUBLISHED, comments.c.reply_count > 0)
# Each top-level order ascends on the key its cursors carry (`domain.tree.SORT_KEYS`), and each
# has an index on (thread_id, parent_id, key…) to seek in; "newest" reads the "oldest" one backwards.
# Ordering by parent_id first (all NULL here) lets PostgreSQL see that the index gives the order.
_TOP_KEYS = {
    "oldest": (comments.c.created, comments.c.id),
    "top": (comments.c.dislikes - comments.c.likes, comments.c.created, comments.c.id),
    "replies": (literal_column("0") - comments.c.reply_count, comments.c.created, comments.c.id),
}


def _top_statement(sort: str, paged: bool):
    q = _PAGE.where(comments.c.thread_id == bindparam("thread_id"), comments.c.parent_id.is_(None), _KEPT)
    after = [bindparam(f"a{i}") for i in range(3)]
    if sort == "picks":  # the published editors' picks at any depth, newest first
        q = _PAGE.where(comments.c.thread_id == bindparam("thread_id"), comments.c.featured.is_(True),
                        comments.c.status == PUBLISHED)
        if paged:  # the cursor holds (-created, -id)
            q = q.where(tuple_(comments.c.created, comments.c.id) < tuple_(*after[:2]))
        return q.order_by(comments.c.created.desc(), comments.c.id.desc())
    if sort == "newest":
        if paged:  # the cursor holds (-created, -id)
            q = q.where(tuple_(comments.c.created, comments.c.id) < tuple_(*after[:2]))
        return q.order_by(comments.c.parent_id.desc(), comments.c.created.desc(), comments.c.id.desc())
    key = _TOP_KEYS[sort]
    if paged:
        q = q.where(tuple_(*key) > tuple_(*after[:len(key)]))
        if sort != "oldest":
            # Repeats the row value's first part: SQLite seeks an expression index on a plain
            # range, not on a row value.
            q = q.where(key[0] >= after[0])
    return q.order_by(comments.c.parent_id, *key)


# Built once: building a statement costs more than running it on these indexes.
_TOP = {(sort, paged): _top_statement(sort, paged).limit(bindparam("limit"))
        for sort in ("oldest", "newest", "top", "replies", "picks") for paged in (False, True)}
_REPLIES = {paged: _PAGE.where(comments.c.parent_id == bindparam("parent_id"),
                               comments.c.thread_id == bindparam("thread_id"), _KEPT,
                               *([tuple_(comments.c.created, comments.c.id) > tuple_(bindparam("a0"), bindparam("a1"))]
                                 if paged else []))
            .order_by(comments.c.created, comments.c.id).limit(bindparam("limit"))
            for paged in (False, True)}


def top_level(conn: Connection, thread_id: int, sort: str, after: tuple | None, limit: int) -> list[CommentView]:
    """Up to `limit` top-level comments of the thread in `sort` order, after the key `after`."""
    params = {"thread_id": thread_id, "limit": limit}
    if after is not None:
        values = (-after[0], -after[1]) if sort in ("newest", "picks") else after
        params.update((f"a{i}", v) for i, v in enumerate(values))
    return [CommentView(*r) for r in conn.execute(_TOP[sort, after is not None], params)]


def replies(conn: Connection, thread_id: int, parent_id: int, after: tuple | None, limit: int) -> list[CommentView]:
    """Up to `limit` replies to one comment in conversation order (oldest first), after `after`."""
    params = {"thread_id": thread_id, "parent_id": parent_id, "limit": limit}
    if after is not None:
        params.update(a0=after[0], a1=after[1])
    return [CommentView(*r) for r in conn.execute(_REPLIES[after is not None], params)]


@dataclass(frozen=True, slots=True)
class Level:
    """One level of a page: the replies shown, and how many replies each parent has in the tree."""

    shown: list[CommentView]
    counts: dict[int, int]


def _level_statement(position_of, among):
    """Every parent's replies ranked in conversation order, with their count; a running count
    of those eligible (rank <= each) in the order the budget is spent (the parents' order, then
    rank) says which are shown (running count <= total). Each parent's first reply comes back
    even when it is not shown: it carries the count."""
    rank = func.row_number().over(partition_by=comments.c.parent_id, order_by=(comments.c.created, comments.c.id))
    # The parents' order, given as ",id,id,…,": the position of ",parent_id," in it.
    needle = literal_column("','", String) + cast(comments.c.parent_id, String) + literal_column("','", String)
    ranked = select(comments.c.id, rank.label("rank"), position_of(bindparam("order", type_=String), needle)
                    .label("position"), func.count().over(partition_by=comments.c.parent_id).label("replies")
                    ).where(among, _KEPT).subquery("ranked")
    eligible = case((ranked.c.rank <= bindparam("each"), 1), else_=0)
    taken = func.sum(eligible).over(order_by=(ranked.c.position, ranked.c.rank))
    first = select(ranked, taken.label("taken")).where(ranked.c.rank <= bindparam("first")).subquery("first")
    return (_PAGE.add_columns(first.c.rank, first.c.taken, first.c.replies)
            .join_from(comments, first, first.c.id == comments.c.id)
            .where(or_(first.c.rank == 1, and_(first.c.rank <= bindparam("each"), first.c.taken <= bindparam("total"))))
            .order_by(first.c.position, first.c.rank))


# On PostgreSQL the parents go as one array, so the statement's text is the same for any number
# of them and the driver prepares it once per connection.
_LEVEL = {"sqlite": _level_statement(func.instr, comments.c.parent_id.in_(bindparam("parents", expanding=True))),
          "postgresql": _level_statement(func.strpos, comments.c.parent_id == any_(
              bindparam("parents", type_=postgresql.ARRAY(Integer))))}


def next_level(conn: Connection, parents: list[int], each: int, total: int) -> Level:
    """The first `each` replies of every one of `parents` (in conversation order; the parents
    taken in the order given) until `total` replies are taken, and every parent's reply count:
    one query per level of a page."""
    if not parents:
        return Level([], {})
    params = {"parents": parents, "order": "," + ",".join(map(str, parents)) + ",", "each": each,
              "first": max(each, 1), "total": total}
    shown, counts = [], {}
    for r in conn.execute(_LEVEL[conn.dialect.name], params):
        *view, rank, taken, replies_ = r
        comment = CommentView(*view)
        counts[comment.parent_id] = replies_
        if rank <= each and taken <= total:
            shown.append(comment)
    return Level(shown, counts)


def pinned(conn: Connection, thread_id: int, comment_id: int) -> CommentView | None:
    """The thread's pinned comment, if it is a published top-level comment of this thread."""
    row = conn.execute(_PAGE.where(comments.c.id == comment_id, comments.c.thread_id == thread_id,
                                   comments.c.parent_id.is_(None), comments.c.status == PUBLISHED)).first()
    return CommentView(*row) if row else None


def in_tree(conn: Connection, thread_id: int, comment_id: int) -> bool:
    """Whether the comment is part of the thread's tree (published, or has published replies)."""
    q = select(comments.c.id).where(comments.c.id == comment_id, comments.c.thread_id == thread_id, _KEPT)
    return conn.execute(q).first() is not None


def views(conn: Connection, ids: list[int]) -> dict[int, CommentView]:
    """The shown fields of the given comments (one page: at most `domain.tree.MAX_COMMENTS`)."""
    if not ids:
        return {}
    return {r[0]: CommentView(*r) for r in conn.execute(_VIEWS_BY_ID, {"ids": ids})}


def by_id(conn: Connection, comment_id: int) -> Comment | None:
    row = conn.execute(_BY_ID, {"id": comment_id}).first()
    return Comment(*row) if row else None


def insert_comment(conn: Connection, new: NewComment) -> Comment:
    values = {name: getattr(new, name) for name in NewComment.__slots__}
    values.update(edited=None, likes=0, dislikes=0)
    comment_id = conn.execute(_INSERT, values).inserted_primary_key[0]
    if new.status == PUBLISHED and new.parent_id is not None:
        add_to_chains(conn, {new.parent_id: 1})
    return Comment(id=comment_id, **values)


def update_comment(conn: Connection, comment_id: int, *, text: str | None = None, html: str | None = None,
                   status: str | None = None, moderation: str | None = None, edited: float | None = None) -> None:
    values = {k: v for k, v in (("text", text), ("html", html), ("status", status), ("moderation", moderation),
                                ("edited", edited)) if v is not None}
    if not values:
        return
    before = _lock_chain(conn, comment_id) if status is not None else None
    conn.execute(update(comments).where(comments.c.id == comment_id).values(**values))
    if before is not None:
        published_changed(conn, [(before.parent_id, before.status, status)])


def scrub(conn: Connection, comment_id: int, *, name: str) -> None:
    """Delete a comment's words and identity; the row stays as a placeholder for its replies."""
    before = _lock_chain(conn, comment_id)
    conn.execute(update(comments).where(comments.c.id == comment_id).values(
        status="deleted", text="", html="", quote=None, author_name=name, author_email=None, author_website=None,
        identity_id=None, edited=now()))
    if before is not None:
        published_changed(conn, [(before.parent_id, before.status, "deleted")])


# -- reply counts ------------------------------------------------------------------------------
# `comments.reply_count` is the number of published comments below a comment, at any depth. Every
# write that publishes or unpublishes a comment calls `published_changed` in its transaction, so a
# thread read can count, sort and skip hidden branches from the rows it pages alone.
_SEED = select(comments.c.id, comments.c.parent_id).where(comments.c.id == bindparam("id")).cte("chain", recursive=True)
_UP = comments.alias("up")
_CHAIN = _SEED.union(select(_UP.c.id, _UP.c.parent_id).where(_UP.c.id == _SEED.c.parent_id))
_LOCK_CHAIN = (select(comments.c.id, comments.c.parent_id, comments.c.status)
               .where(comments.c.id.in_(select(_CHAIN.c.id))).order_by(comments.c.id).with_for_update())


def _lock_chain(conn: Connection, comment_id: int):
    """A comment's parent and status before its status changes. On PostgreSQL its row and its
    ancestors' rows are locked first, in id order as every reply count update takes them, so two
    writers in one branch wait for each other instead of deadlocking, and the old status is current."""
    return next((r for r in conn.execute(_LOCK_CHAIN, {"id": comment_id}) if r.id == comment_id), None)
_ADD_REPLIES = (update(comments).where(comments.c.id == bindparam("chain_id"))
                .values(reply_count=comments.c.reply_count + bindparam("delta")))


def published_changed(conn: Connection, changes: list[tuple[int | None, str, str]]) -> None:
    """(parent_id, old status, new status) of comments whose status changed: their ancestors'
    reply counts follow."""
    deltas: dict[int, int] = {}
    for parent_id, old, new in changes:
        delta = (new == PUBLISHED) - (old == PUBLISHED)
        if delta and parent_id is not None:
            deltas[parent_id] = deltas.get(parent_id, 0) + delta
    add_to_chains(conn, deltas)


def add_to_chains(conn: Connection, starts: dict[int, int]) -> None:
    """Add `delta` to the reply count of each start comment and of all its ancestors."""
    starts = {k: v for k, v in starts.items() if v}
    if not starts:
        return
    totals: dict[int, int] = {}
    items = list(starts.items())
    for i in range(0, len(items), 200):
        part = dict(items[i:i + 200])
        seed = select(comments.c.id.label("seed"), comments.c.id, comments.c.parent_id).where(
            comments.c.id.in_(list(part))).cte("chain", recursive=True)
        up = comments.alias("up")
        # UNION, not UNION ALL: a damaged chain that loops ends instead of running forever.
        chain = seed.union(select(seed.c.seed, up.c.id, up.c.parent_id).where(up.c.id == seed.c.parent_id))
        for start, node in conn.execute(select(chain.c.seed, chain.c.id)):
            totals[node] = totals.get(node, 0) + part[start]
    # Ancestors in id order, so concurrent writers lock shared rows in the same order.
    conn.execute(_ADD_REPLIES, [{"chain_id": k, "delta": v} for k, v in sorted(totals.items()) if v])


def recount_replies(conn: Connection, thread_ids: list[int]) -> None:
    """Set every reply count of these threads from their rows (for comments written straight
    into the table, e.g. by a benchmark's seed)."""
    for thread_id in thread_ids:
        rows = conn.execute(select(comments.c.id, comments.c.parent_id, comments.c.status, comments.c.reply_count)
                            .where(comments.c.thread_id == thread_id)).all()
        counts = published_below([(r.id, r.parent_id, r.status) for r in rows])
        changed = [{"chain_id": r.id, "delta": counts[r.id] - r.reply_count} for r in rows
                   if counts[r.id] != r.reply_count]
        if changed:
            conn.execute(_ADD_REPLIES, changed)


def set_featured(conn: Connection, comment_id: int, featured: bool) -> None:
    conn.execute(update(comments).where(comments.c.id == comment_id).values(featured=featured))


def save_scores(conn: Connection, scores: dict[int, dict[str, float]]) -> None:
    """Keep model scores computed for stored comments (e.g. imported ones), so they are paid once."""
    for comment_id, values in scores.items():
        current = conn.execute(select(comments.c.moderation).where(comments.c.id == comment_id)).scalar()
        try:
            decision = orjson.loads(current) if current else {}
        except orjson.JSONDecodeError:
            decision = {}
        if not isinstance(decision, dict) or decision.get("scores"):
            continue
        decision["scores"] = values
        conn.execute(update(comments).where(comments.c.id == comment_id)
                     .values(moderation=orjson.dumps(decision).decode()))


def max_id(conn: Connection) -> int:
    return conn.execute(select(func.max(comments.c.id))).scalar() or 0


def published_below(rows: list[tuple[int, int | None, str]]) -> dict[int, int]:
    """Published descendants of every (id, parent_id, status), counted bottom-up without
    recursion (reply chains can be thousands deep)."""
    parents = {i: p for i, p, _ in rows}
    children: dict[int, list[int]] = {}
    for i, p, _ in rows:
        if p in parents:
            children.setdefault(p, []).append(i)
    order, stack = [], [i for i, p, _ in rows if p not in parents]
    while stack:
        n = stack.pop()
        order.append(n)
        stack.extend(children.get(n, ()))
    published = {i for i, _, status in rows if status == PUBLISHED}
    counts = dict.fromkeys(parents, 0)
    for n in reversed(order):
        p = parents[n]
        if p in counts:
            counts[p] += counts[n] + (n in published)
    return counts


# -- votes --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tally:
    """A vote's outcome: whether it counted, and the comment's likes and dislikes after it."""

    counted: bool
    likes: int
    dislikes: int


def set_vote(conn: Connection, comment_id: int, *, voter: str, address: str, value: int) -> Tally:
    """Record one voter's vote (0 withdraws it). A voter's existing vote is changed whatever the
    address; a new vote counts only if neither this voter nor this address (`Signer.reader_key`)
    already has one on the comment."""
    old = conn.execute(
        select(votes.c.value).where(votes.c.comment_id == comment_id, votes.c.voter == voter)
    ).scalar()
    if old is None:
        if not value:
            return _tally(conn, comment_id, False)
        # Either unique key taken (this voter, or another token from this address) means no vote.
        # RETURNING says whether a row went in (rowcount is not reliable for this on every driver).
        added = conn.execute(
            upsert(conn, votes).values(comment_id=comment_id, voter=voter, address=address, value=value, created=now())
            .on_conflict_do_nothing().returning(votes.c.voter)
        ).first()
        if added is None:
            return _tally(conn, comment_id, False)
        old = 0
    elif value:
        conn.execute(update(votes).where(votes.c.comment_id == comment_id, votes.c.voter == voter).values(value=value))
    else:
        conn.execute(votes.delete().where(votes.c.comment_id == comment_id, votes.c.voter == voter))
    likes = (value == 1) - (old == 1)
    dislikes = (value == -1) - (old == -1)
    if likes or dislikes:
        conn.execute(
            update(comments).where(comments.c.id == comment_id)
            .values(likes=comments.c.likes + likes, dislikes=comments.c.dislikes + dislikes)
        )
    return _tally(conn, comment_id, True)


def _tally(conn: Connection, comment_id: int, counted: bool) -> Tally:
    row = conn.execute(select(comments.c.likes, comments.c.dislikes).where(comments.c.id == comment_id)).one()
    return Tally(counted, row.likes, row.dislikes)
