"""Comments and votes: the rows a thread is made of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, func, insert, select, update

from townsquare.store.db import now
from townsquare.store.dialect import upsert
from townsquare.store.tables import comments, identities, votes


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
    featured: bool = False


_VIEW = (comments.c.id, comments.c.parent_id, comments.c.author_name, comments.c.author_website, comments.c.html,
         comments.c.created, comments.c.edited, comments.c.likes, comments.c.dislikes, comments.c.status)


# Statements are built once: on the write path, building one costs more than running it.
# A comment as a thread shows it, with its verified author's badges.
_SHOWN = (select(*_VIEW, comments.c.identity_id, identities.c.badges, comments.c.featured)
          .outerjoin(identities, identities.c.id == comments.c.identity_id))
_THREAD_VIEWS = _SHOWN.where(comments.c.thread_id == bindparam("thread_id"))
_THREAD_KEYS = select(comments.c.id, comments.c.parent_id, comments.c.status, comments.c.created, comments.c.likes,
                      comments.c.dislikes, comments.c.featured).where(comments.c.thread_id == bindparam("thread_id"))
_VIEWS_BY_ID = _SHOWN.where(comments.c.id.in_(bindparam("ids", expanding=True)))
# The columns of a `Comment`, in its fields' order: `Comment(*row)` for a row selected with them.
COLUMNS = tuple(comments.c[name] for name in Comment.__slots__)
_BY_ID = select(*COLUMNS).where(comments.c.id == bindparam("id"))
_INSERT = insert(comments)


def thread_views(conn: Connection, thread_id: int) -> list[CommentView]:
    """Every comment of a thread in one query (the tree is shaped in townsquare.domain.tree)."""
    return [CommentView(*r) for r in conn.execute(_THREAD_VIEWS, {"thread_id": thread_id})]


def thread_keys(conn: Connection, thread_id: int) -> list[CommentKey]:
    """The shape of a whole thread without its words: enough to sort, page and count it."""
    return [CommentKey(*r) for r in conn.execute(_THREAD_KEYS, {"thread_id": thread_id})]


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
    return Comment(id=comment_id, **values)


def update_comment(conn: Connection, comment_id: int, *, text: str | None = None, html: str | None = None,
                   status: str | None = None, moderation: str | None = None, edited: float | None = None) -> None:
    values = {k: v for k, v in (("text", text), ("html", html), ("status", status), ("moderation", moderation),
                                ("edited", edited)) if v is not None}
    if values:
        conn.execute(update(comments).where(comments.c.id == comment_id).values(**values))


def scrub(conn: Connection, comment_id: int, *, name: str) -> None:
    """Delete a comment's words and identity; the row stays as a placeholder for its replies."""
    conn.execute(update(comments).where(comments.c.id == comment_id).values(
        status="deleted", text="", html="", quote=None, author_name=name, author_email=None, author_website=None,
        identity_id=None, edited=now()))


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
