"""Personal data of one author: everything stored about them, and its erasure.

An author is found by e-mail address: comments whose address matches (any case) or whose author
key is the keyed hash of it, and their e-mail alert subscriptions. Erasure either deletes their
comments (the rows stay as placeholders, scrubbed like a deletion by the author, so replies keep
their place) or anonymises them (the words stay, everything that identifies the author goes);
their votes (by the voter ids they prove) and subscriptions are removed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from townsquare.domain.tokens import Signer
from townsquare.store.alerts import alert_outbox, alert_subscriptions
from townsquare.store.db import now
from townsquare.store.tables import comments, sites, threads, users, votes

ErasureMode = Literal["delete", "anonymise"]
DELETED_NAME = "[deleted]"  # as townsquare.services shows a deleted comment
ANONYMOUS_NAME = "Anonymous"

_COMMENT_FIELDS = (
    comments.c.id, comments.c.parent_id, comments.c.author_name, comments.c.author_email,
    comments.c.author_website, comments.c.text, comments.c.quote, comments.c.html, comments.c.status,
    comments.c.created, comments.c.edited, comments.c.likes, comments.c.dislikes,
)


def _normalize(email: str) -> str:
    return email.strip().lower()


def _authored_by(signer: Signer, email: str):
    address = _normalize(email)
    return or_(comments.c.author_key == signer.hash("email", address), func.lower(comments.c.author_email) == address)


def _in_site(site_id: int | None):
    return threads.c.site_id == site_id if site_id is not None else True


def export_author(conn: Connection, signer: Signer, email: str, site_id: int | None = None) -> dict[str, Any]:
    """All data stored about the author with this address (on one site, or every site), as JSON."""
    address = _normalize(email)
    rows = conn.execute(
        select(*_COMMENT_FIELDS, sites.c.name.label("site"), threads.c.uri, threads.c.title.label("thread_title"))
        .join(threads, threads.c.id == comments.c.thread_id).join(sites, sites.c.id == threads.c.site_id)
        .where(_authored_by(signer, address), _in_site(site_id))
        .order_by(comments.c.created, comments.c.id)
    ).mappings()
    subscriptions = conn.execute(
        select(alert_subscriptions, sites.c.name.label("site"))
        .join(sites, sites.c.id == alert_subscriptions.c.site_id)
        .where(alert_subscriptions.c.channel == "email", func.lower(alert_subscriptions.c.target) == address,
               alert_subscriptions.c.site_id == site_id if site_id is not None else True)
        .order_by(alert_subscriptions.c.id)
    ).mappings()
    account = conn.execute(
        select(users.c.email, users.c.name, users.c.role, users.c.created).where(func.lower(users.c.email) == address)
    ).mappings().first()
    return {
        "email": address,
        "exported": now(),
        "comments": [
            {"site": r["site"], "thread": {"uri": r["uri"], "title": r["thread_title"]}, "id": r["id"],
             "parent_id": r["parent_id"], "author": {"name": r["author_name"], "email": r["author_email"],
                                                     "website": r["author_website"]},
             "text": r["text"], "quote": r["quote"], "html": r["html"], "status": r["status"],
             "created": r["created"], "edited": r["edited"], "likes": r["likes"], "dislikes": r["dislikes"]}
            for r in rows
        ],
        "subscriptions": [
            {"site": s["site"], "kind": s["kind"], "scope": s["scope"], "delivery": s["delivery"],
             "confirmed": s["confirmed"], "consent": s["consent"], "created": s["created"],
             "unsubscribed": s["unsubscribed"]}
            for s in subscriptions
        ],
        "account": dict(account) if account else None,
    }


def erase_author(
    conn: Connection,
    signer: Signer,
    email: str,
    *,
    mode: ErasureMode,
    site_id: int | None = None,
    voters: tuple[str, ...] = (),
) -> dict[str, int]:
    """Erase the author with this address (in the caller's transaction); returns what was done.

    `voters` are the author's voter ids (from voter tokens they hold): votes are anonymous, so
    only the author can show which are theirs.
    """
    address = _normalize(email)
    found = conn.execute(
        select(comments.c.id, comments.c.thread_id, comments.c.status)
        .join(threads, threads.c.id == comments.c.thread_id)
        .where(_authored_by(signer, address), _in_site(site_id))
    ).all()
    ids = [r.id for r in found]
    at = now()
    if ids:
        if mode == "delete":
            scrub = {"status": "deleted", "text": "", "html": "", "quote": None, "author_name": DELETED_NAME}
        else:
            scrub = {"author_name": ANONYMOUS_NAME}
        for chunk in _chunks(ids):
            conn.execute(update(comments).where(comments.c.id.in_(chunk)).values(
                **scrub, author_email=None, author_website=None, author_key=None, ip_hash=None, edited=at))
    lost = Counter(r.thread_id for r in found if mode == "delete" and r.status == "published")
    for thread_id in {r.thread_id for r in found}:
        conn.execute(update(threads).where(threads.c.id == thread_id).values(
            comment_count=threads.c.comment_count - lost.get(thread_id, 0), version=threads.c.version + 1))
    votes_removed = _remove_votes(conn, voters, site_id)
    subscription_filter = and_(
        alert_subscriptions.c.channel == "email", func.lower(alert_subscriptions.c.target) == address,
        alert_subscriptions.c.site_id == site_id if site_id is not None else True,
    )
    subscription_ids = list(conn.execute(select(alert_subscriptions.c.id).where(subscription_filter)).scalars())
    if subscription_ids:
        conn.execute(delete(alert_outbox).where(alert_outbox.c.subscription_id.in_(subscription_ids)))
    conn.execute(delete(alert_outbox).where(
        alert_outbox.c.channel == "email", func.lower(alert_outbox.c.target) == address, alert_outbox.c.status == "pending",
        alert_outbox.c.site_id == site_id if site_id is not None else True,
    ))
    conn.execute(delete(alert_subscriptions).where(subscription_filter))
    return {"comments": len(ids), "votes": votes_removed, "subscriptions": len(subscription_ids)}


def _remove_votes(conn: Connection, voters: tuple[str, ...], site_id: int | None) -> int:
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
        touched_threads.add(conn.execute(select(comments.c.thread_id).where(comments.c.id == v.comment_id)).scalar_one())
    for thread_id in touched_threads:
        conn.execute(update(threads).where(threads.c.id == thread_id).values(version=threads.c.version + 1))
    return len(cast)


def _chunks(items: list[int], size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]
