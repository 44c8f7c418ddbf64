"""Moderator actions, shared by the queue UI and the moderator JSON API.

Each runs inside the caller's transaction, checks that the actor moderates the site, and writes
one audit-log entry. A status change keeps `threads.comment_count` right and bumps the thread's
version; a comment that becomes published raises the alerts event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, and_, insert, select, update

from townsquare.alerts import events as alert_events
from townsquare.domain.render import render_markdown
from townsquare.errors import Invalid, NotFound
from townsquare.moderation import audit, threads
from townsquare.moderation.auth import Actor
from townsquare.store import queries as q
from townsquare.store.db import now
from townsquare.store.moderation import bans, reports, trusted_authors

BAN_KINDS = ("author", "email", "ip")
MAX_SLOW_MODE = 24 * 3600


def _comment(conn: Connection, actor: Actor, comment_id: int) -> tuple[dict, dict, dict]:
    comment = q.comment_by_id(conn, comment_id)
    if comment is None or comment["status"] == "deleted":
        raise NotFound(f"There is no comment {comment_id}.")
    thread = q.thread_by_id(conn, comment["thread_id"])
    actor.require(thread["site_id"])
    return comment, thread, q.site_by_id(conn, thread["site_id"])


def _review(comment: dict, actor: Actor, action: str, reason: str) -> str:
    """The stored decision, with the moderator's review added to it."""
    decision = orjson.loads(comment["moderation"]) if comment["moderation"] else {}
    decision["review"] = {"by": actor.email, "action": action, "reason": reason, "at": now()}
    return orjson.dumps(decision).decode()


def _resolve_reports(conn: Connection, comment_id: int) -> None:
    conn.execute(update(reports).where(reports.c.comment_id == comment_id, reports.c.resolved.is_(None)).values(resolved=now()))


def _set_status(conn: Connection, actor: Actor, comment_id: int, status: str, action: str, reason: str) -> dict:
    comment, thread, site = _comment(conn, actor, comment_id)
    was = comment["status"]
    changes = {"status": status, "moderation": _review(comment, actor, action, reason)}
    q.update_comment(conn, comment_id, **changes)
    q.touch_thread(conn, thread["id"], (status == "published") - (was == "published"))
    _resolve_reports(conn, comment_id)
    comment.update(changes)
    if status == "published" and was != "published":
        alert_events.comment_published(conn, site=site, thread=thread, comment=comment)
    audit.record(conn, site_id=site["id"], user_id=actor.user_id, actor=actor.email, action=action,
                 target=f"comment:{comment_id}", reason=reason, details={"from": was, "to": status})
    return comment


def approve(conn: Connection, actor: Actor, comment_id: int, reason: str = "") -> dict:
    return _set_status(conn, actor, comment_id, "published", "approve", reason)


def reject(conn: Connection, actor: Actor, comment_id: int, reason: str) -> dict:
    if not reason.strip():
        raise Invalid("Say why the comment is rejected.", field="reason")
    return _set_status(conn, actor, comment_id, "rejected", "reject", reason.strip())


def edit(conn: Connection, actor: Actor, comment_id: int, text: str, reason: str = "") -> dict:
    comment, thread, site = _comment(conn, actor, comment_id)
    if not text.strip():
        raise Invalid("The text may not be empty; reject the comment instead.", field="text")
    parent = q.comment_by_id(conn, comment["parent_id"]) if comment["parent_id"] else None
    html = render_markdown(text, comment["quote"], parent["author_name"] if parent else None)
    changes = {"text": text, "html": html, "edited": now(), "moderation": _review(comment, actor, "edit", reason)}
    q.update_comment(conn, comment_id, **changes)
    q.touch_thread(conn, thread["id"])
    audit.record(conn, site_id=site["id"], user_id=actor.user_id, actor=actor.email, action="edit",
                 target=f"comment:{comment_id}", reason=reason, details={"before": comment["text"], "after": text})
    comment.update(changes)
    return comment


# -- authors ------------------------------------------------------------------------------------
def ban(conn: Connection, actor: Actor, site_id: int, kind: str, value: str, *, seconds: int | None,
        reason: str, label: str = "") -> int:
    """Ban an author key, a hashed e-mail or a hashed IP, for `seconds` or for good (None).
    `label` says in the audit log what was banned without storing the address itself."""
    actor.require(site_id)
    if kind not in BAN_KINDS:
        raise Invalid(f"A ban is by {', '.join(BAN_KINDS)}.", field="kind")
    if not value:
        raise Invalid(f"This comment has no {kind} to ban.", field="kind")
    if seconds is not None and seconds <= 0:
        raise Invalid("A ban lasts a positive number of seconds, or for good.", field="seconds")
    at = now()
    ban_id = conn.execute(
        insert(bans).values(site_id=site_id, kind=kind, value=value, reason=reason, created=at,
                            expires=at + seconds if seconds else None, created_by=actor.user_id)
    ).inserted_primary_key[0]
    audit.record(conn, site_id=site_id, user_id=actor.user_id, actor=actor.email, action="ban", target=f"ban:{ban_id}",
                 reason=reason, details={"kind": kind, "who": label, "seconds": seconds})
    return ban_id


def ban_comment_author(conn: Connection, actor: Actor, comment_id: int, kind: str, *, seconds: int | None,
                       reason: str) -> int:
    comment, thread, _site = _comment(conn, actor, comment_id)
    value = {"author": comment["author_key"], "email": comment["author_key"], "ip": comment["ip_hash"]}.get(kind)
    return ban(conn, actor, thread["site_id"], kind, value, seconds=seconds, reason=reason,
               label=f"{comment['author_name']} (comment {comment_id})")


def ban_email(conn: Connection, actor: Actor, site_id: int, email: str, hash_email: Callable[[str], str], *,
              seconds: int | None, reason: str) -> int:
    email = email.strip().lower()
    if "@" not in email:
        raise Invalid("That is not an e-mail address.", field="email")
    return ban(conn, actor, site_id, "email", hash_email(email), seconds=seconds, reason=reason, label=email)


def lift_ban(conn: Connection, actor: Actor, ban_id: int, reason: str = "") -> None:
    row = conn.execute(select(bans).where(bans.c.id == ban_id)).mappings().first()
    if row is None:
        raise NotFound(f"There is no ban {ban_id}.")
    actor.require(row["site_id"])
    conn.execute(update(bans).where(bans.c.id == ban_id).values(lifted=now()))
    audit.record(conn, site_id=row["site_id"], user_id=actor.user_id, actor=actor.email, action="unban",
                 target=f"ban:{ban_id}", reason=reason)


def active_bans(conn: Connection, site_ids: frozenset[int]) -> list[dict[str, Any]]:
    at = now()
    rows = conn.execute(
        select(bans).where(bans.c.site_id.in_(site_ids), bans.c.lifted.is_(None),
                           (bans.c.expires.is_(None)) | (bans.c.expires > at)).order_by(bans.c.id.desc())
    ).mappings()
    return [dict(r) for r in rows]


def set_trusted(conn: Connection, actor: Actor, comment_id: int, trusted: bool, reason: str = "") -> None:
    comment, thread, site = _comment(conn, actor, comment_id)
    key = comment["author_key"]
    if not key:
        raise Invalid("This author left no e-mail address, so there is no stable author to trust.")
    where = and_(trusted_authors.c.site_id == site["id"], trusted_authors.c.author_key == key)
    conn.execute(trusted_authors.delete().where(where))
    if trusted:
        conn.execute(insert(trusted_authors).values(site_id=site["id"], author_key=key, created=now(), created_by=actor.user_id))
    audit.record(conn, site_id=site["id"], user_id=actor.user_id, actor=actor.email,
                 action="trust" if trusted else "untrust", target=f"author:{key}", reason=reason,
                 details={"who": comment["author_name"], "comment": comment_id})


# -- threads --------------------------------------------------------------------------------------------
def _thread(conn: Connection, actor: Actor, thread_id: int) -> dict:
    thread = q.thread_by_id(conn, thread_id)
    if thread is None:
        raise NotFound(f"There is no thread {thread_id}.")
    actor.require(thread["site_id"])
    return thread


def close_thread(conn: Connection, actor: Actor, thread_id: int, closed: bool, reason: str = "") -> None:
    thread = _thread(conn, actor, thread_id)
    q.set_thread_closed(conn, thread_id, closed)
    audit.record(conn, site_id=thread["site_id"], user_id=actor.user_id, actor=actor.email,
                 action="close" if closed else "reopen", target=f"thread:{thread_id}", reason=reason,
                 details={"uri": thread["uri"]})


def slow_mode(conn: Connection, actor: Actor, thread_id: int, seconds: int, reason: str = "") -> None:
    thread = _thread(conn, actor, thread_id)
    if not 0 <= seconds <= MAX_SLOW_MODE:
        raise Invalid(f"Slow mode is between 0 (off) and {MAX_SLOW_MODE} seconds.", field="seconds")
    threads.set_slow_mode(conn, thread_id, seconds)
    if seconds == 0:
        threads.clear_heat(conn, thread_id)
    audit.record(conn, site_id=thread["site_id"], user_id=actor.user_id, actor=actor.email, action="slow_mode",
                 target=f"thread:{thread_id}", reason=reason, details={"seconds": seconds, "uri": thread["uri"]})
