"""Personal data of one author, as stored: what there is about them, and its removal.

An author is matched by e-mail address: comments whose address matches (any case) or whose author
key is `author_key` (the keyed hash of the address), e-mail alert subscriptions to the address,
and a staff account with it. `site_id` None means every site.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from townsquare.store.alerts import alert_outbox, alert_subscriptions
from townsquare.store import comments as comment_store
from townsquare.store.comments import COLUMNS, Comment
from townsquare.store.tables import comments, sites, thread_events, threads, users, votes


@dataclass(frozen=True)
class AuthorComment:
    """One of an author's comments, with the site and thread it is on."""

    comment: Comment
    site: str
    thread_uri: str
    thread_title: str


@dataclass(frozen=True)
class AuthorSubscription:
    site: str
    kind: str
    scope: str
    delivery: str
    confirmed: float | None
    consent: str
    created: float
    unsubscribed: float | None


@dataclass(frozen=True)
class StaffAccount:
    email: str
    name: str
    role: str
    created: float


@dataclass(frozen=True)
class Authored:
    """A comment of the author, as erasure needs it."""

    id: int
    thread_id: int
    status: str


def _authored_by(author_key: str, address: str, identity_ids: tuple[int, ...] = ()):
    # With the comments of the reader signed in by a link to this address (their identities).
    return or_(comments.c.author_key == author_key, func.lower(comments.c.author_email) == address,
               comments.c.identity_id.in_(identity_ids))


def _in_site(site_id: int | None):
    return threads.c.site_id == site_id if site_id is not None else True


def _email_subscriptions(address: str, site_id: int | None):
    return and_(alert_subscriptions.c.channel == "email", func.lower(alert_subscriptions.c.target) == address,
                alert_subscriptions.c.site_id == site_id if site_id is not None else True)


# -- what there is ------------------------------------------------------------------------------------
def author_comments(conn: Connection, author_key: str, address: str, site_id: int | None,
                    identity_ids: tuple[int, ...] = ()) -> list[AuthorComment]:
    """The author's comments with their site and thread, oldest first."""
    rows = conn.execute(
        select(*COLUMNS, sites.c.name, threads.c.uri, threads.c.title)
        .join(threads, threads.c.id == comments.c.thread_id).join(sites, sites.c.id == threads.c.site_id)
        .where(_authored_by(author_key, address, identity_ids), _in_site(site_id))
        .order_by(comments.c.created, comments.c.id)
    )
    n = len(COLUMNS)
    return [AuthorComment(Comment(*r[:n]), *r[n:]) for r in rows]


def author_subscriptions(conn: Connection, address: str, site_id: int | None) -> list[AuthorSubscription]:
    rows = conn.execute(
        select(alert_subscriptions, sites.c.name.label("site"))
        .join(sites, sites.c.id == alert_subscriptions.c.site_id)
        .where(_email_subscriptions(address, site_id))
        .order_by(alert_subscriptions.c.id)
    ).mappings()
    return [
        AuthorSubscription(site=s["site"], kind=s["kind"], scope=s["scope"], delivery=s["delivery"],
                           confirmed=s["confirmed"], consent=s["consent"], created=s["created"],
                           unsubscribed=s["unsubscribed"])
        for s in rows
    ]


def staff_account(conn: Connection, address: str) -> StaffAccount | None:
    row = conn.execute(
        select(users.c.email, users.c.name, users.c.role, users.c.created).where(func.lower(users.c.email) == address)
    ).first()
    return StaffAccount(email=row.email, name=row.name, role=row.role, created=row.created) if row else None


# -- removal ------------------------------------------------------------------------------------------
def authored(conn: Connection, author_key: str, address: str, site_id: int | None,
             identity_ids: tuple[int, ...] = ()) -> list[Authored]:
    rows = conn.execute(
        select(comments.c.id, comments.c.thread_id, comments.c.status)
        .join(threads, threads.c.id == comments.c.thread_id)
        .where(_authored_by(author_key, address, identity_ids), _in_site(site_id))
    )
    return [Authored(id=r.id, thread_id=r.thread_id, status=r.status) for r in rows]


def delete_comments(conn: Connection, ids: list[int], *, placeholder_name: str, at: float) -> None:
    """Leave the comments as placeholders without words or identity (replies keep their place)."""
    _scrub(conn, ids, at, status="deleted", text="", html="", quote=None, author_name=placeholder_name)


def anonymise_comments(conn: Connection, ids: list[int], *, name: str, at: float) -> None:
    """Keep the words; drop everything that identifies the author."""
    _scrub(conn, ids, at, author_name=name)


def _scrub(conn: Connection, ids: list[int], at: float, **values: object) -> None:
    for i in range(0, len(ids), 500):
        before = []
        if "status" in values:
            before = conn.execute(select(comments.c.parent_id, comments.c.status)
                                  .where(comments.c.id.in_(ids[i:i + 500]))).all()
        conn.execute(update(comments).where(comments.c.id.in_(ids[i:i + 500])).values(
            **values, author_email=None, author_website=None, author_key=None, ip_hash=None, identity_id=None,
            edited=at))
        # Live events keep a comment's public shape (name, words) until pruned: they go now.
        conn.execute(delete(thread_events).where(thread_events.c.comment_id.in_(ids[i:i + 500])))
        comment_store.published_changed(conn, [(parent, old, values["status"]) for parent, old in before])


def remove_votes(conn: Connection, voters: Iterable[str], site_id: int | None) -> int:
    """Withdraw every vote cast by these voter ids (on one site or all); answers how many."""
    voters = tuple(voters)
    if not voters:
        return 0
    cast = conn.execute(
        select(votes.c.comment_id, votes.c.voter, votes.c.value)
        .join(comments, comments.c.id == votes.c.comment_id).join(threads, threads.c.id == comments.c.thread_id)
        .where(votes.c.voter.in_(voters), _in_site(site_id))
    ).all()
    touched_threads: set[int] = set()
    for v in cast:
        conn.execute(delete(votes).where(votes.c.comment_id == v.comment_id, votes.c.voter == v.voter))
        column = comments.c.likes if v.value > 0 else comments.c.dislikes
        conn.execute(update(comments).where(comments.c.id == v.comment_id).values({column: column - 1}))
        thread_id = conn.execute(select(comments.c.thread_id).where(comments.c.id == v.comment_id)).scalar_one()
        touched_threads.add(thread_id)
    for thread_id in touched_threads:
        conn.execute(update(threads).where(threads.c.id == thread_id).values(version=threads.c.version + 1))
    return len(cast)


def remove_email_alerts(conn: Connection, address: str, site_id: int | None) -> int:
    """Drop the address's e-mail subscriptions and the mail waiting for it; answers how many
    subscriptions there were."""
    subscription_filter = _email_subscriptions(address, site_id)
    subscription_ids = list(conn.execute(select(alert_subscriptions.c.id).where(subscription_filter)).scalars())
    if subscription_ids:
        conn.execute(delete(alert_outbox).where(alert_outbox.c.subscription_id.in_(subscription_ids)))
    conn.execute(delete(alert_outbox).where(
        alert_outbox.c.channel == "email", func.lower(alert_outbox.c.target) == address,
        alert_outbox.c.status == "pending",
        alert_outbox.c.site_id == site_id if site_id is not None else True,
    ))
    conn.execute(delete(alert_subscriptions).where(subscription_filter))
    return len(subscription_ids)
