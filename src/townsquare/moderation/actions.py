"""Moderator actions, shared by the queue UI and the moderator JSON API.

Each opens one short write transaction, checks that the actor moderates the site, and writes one
audit-log entry. A status change follows the comment state machine (`domain.status`), keeps
`threads.comment_count` right and bumps the thread's version; a comment that becomes published
raises the alerts event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from townsquare.alerts import events as alert_events
from townsquare.live import events as live_events
from townsquare.config import Settings
from townsquare.domain import closing, status
from townsquare.domain.render import render_markdown
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.moderation import audit
from townsquare.moderation.auth import Actor
from townsquare.store import bans as stored_bans
from townsquare.store import comments, reports, sites, thread_state, threads, trusted
from townsquare.store.bans import Ban
from townsquare.store.comments import Comment
from townsquare.store.db import Connection, Engine, now, reading, writing
from townsquare.store.sites import Site
from townsquare.store.threads import Thread
from townsquare.services import public_comment
from townsquare.sites import rules_of

# What a ban is stored by: a hashed address, a verified identity, or a hashed e-mail address.
BAN_KINDS = ("ip", "identity", "email")
MAX_SLOW_MODE = 24 * 3600
MAX_BAN_SECONDS = 100 * 365 * 86400  # longer is "for good"; also keeps the number JSON and SQL can hold
REVIEWS = ("approve", "reject")
# The queue offers "Undo" for 10 s after a decision; the server allows a little longer, for a slow
# click or network, and only for the moderator who decided.
UNDO_SECONDS = 60


def _comment(conn: Connection, actor: Actor, comment_id: int) -> tuple[Comment, Thread, Site]:
    comment = comments.by_id(conn, comment_id)
    if comment is None or comment.status == "deleted":
        raise NotFound(f"There is no comment {comment_id}.")
    thread = threads.by_id(conn, comment.thread_id)
    actor.require(thread.site_id)
    return comment, thread, sites.by_id(conn, thread.site_id)


def _review(comment: Comment, actor: Actor, action: str, reason: str) -> str:
    """The stored decision, with the moderator's review added to it (and the status it moved the
    comment from, which an undo returns it to)."""
    decision = comment.decision()
    decision["review"] = {"by": actor.email, "action": action, "reason": reason, "at": now(), "from": comment.status}
    return orjson.dumps(decision).decode()


def _set_status(conn: Connection, actor: Actor, comment_id: int, new: status.Status, action: str,
                reason: str) -> Comment:
    comment = comments.by_id(conn, comment_id)
    if comment is None:
        raise NotFound(f"There is no comment {comment_id}.")
    thread = threads.by_id(conn, comment.thread_id)
    actor.require(thread.site_id)
    was = comment.status
    try:
        status.require("moderator", was, new)
    except status.TransitionError as e:
        raise Conflict(str(e)) from None
    site = sites.by_id(conn, thread.site_id)
    comments.update_comment(conn, comment_id, status=new, moderation=_review(comment, actor, action, reason))
    threads.touch(conn, thread.id, (new == "published") - (was == "published"))
    reports.resolve(conn, comment_id, now())
    comment = comments.by_id(conn, comment_id)
    if new == "published" and was != "published":
        alert_events.comment_published(conn, site=site, thread=thread, comment=comment)
        live_events.comment_published(conn, thread.id, public_comment(comment))
    elif was == "published" and new != "published":
        live_events.comment_removed(conn, thread.id, comment_id, new)
    audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action=action,
                 target=f"comment:{comment_id}", reason=reason, details={"from": was, "to": new})
    return comment


def _reject_reason(reason: str) -> str:
    if not reason.strip():
        raise Invalid("Say why the comment is rejected.", field="reason")
    return reason.strip()


def approve(engine: Engine, actor: Actor, comment_id: int, reason: str = "") -> Comment:
    with writing(engine) as conn:
        return _set_status(conn, actor, comment_id, "published", "approve", reason)


def reject(engine: Engine, actor: Actor, comment_id: int, reason: str) -> Comment:
    reason = _reject_reason(reason)
    with writing(engine) as conn:
        return _set_status(conn, actor, comment_id, "rejected", "reject", reason)


def review_many(engine: Engine, actor: Actor, action: str, comment_ids: list[int], reason: str = "") -> None:
    """Approve or reject several comments: all of them, or (on the first refusal) none."""
    if action not in REVIEWS:
        raise Invalid("Bulk actions are approve and reject.")
    if not comment_ids:
        raise Invalid("Select some comments first.")
    if action == "reject":
        reason = _reject_reason(reason)
    new: status.Status = "published" if action == "approve" else "rejected"
    with writing(engine) as conn:
        for comment_id in comment_ids:
            _set_status(conn, actor, comment_id, new, action, reason)


def undo(engine: Engine, actor: Actor, comment_ids: list[int]) -> None:
    """Take back the moderator's own approve or reject of each comment, made in the last
    UNDO_SECONDS: the comment returns to the status it had. The audit log keeps both entries.
    All of them or (on the first that cannot be undone) none."""
    if not comment_ids:
        raise Invalid("Nothing to undo.")
    with writing(engine) as conn:
        for comment_id in comment_ids:
            comment, _, _ = _comment(conn, actor, comment_id)
            review = comment.decision().get("review") or {}
            recent = now() - float(review.get("at") or 0) <= UNDO_SECONDS
            if review.get("by") != actor.email or review.get("action") not in REVIEWS or "from" not in review \
                    or not recent:
                raise Conflict(f"Comment {comment_id} has no decision of yours from the last minute to undo.")
            _set_status(conn, actor, comment_id, review["from"], "undo", f"undo {review['action']}")


def edit(engine: Engine, actor: Actor, comment_id: int, text: str, reason: str = "") -> Comment:
    if not text.strip():
        raise Invalid("The text may not be empty; reject the comment instead.", field="text")
    with writing(engine) as conn:
        comment, thread, site = _comment(conn, actor, comment_id)
        parent = comments.by_id(conn, comment.parent_id) if comment.parent_id else None
        html = render_markdown(text, comment.quote, parent.author_name if parent else None)
        comments.update_comment(conn, comment_id, text=text, html=html, edited=now(),
                                moderation=_review(comment, actor, "edit", reason))
        threads.touch(conn, thread.id)
        if comment.status == "published":
            live_events.comment_edited(conn, thread.id, public_comment(comments.by_id(conn, comment_id)))
        audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action="edit",
                     target=f"comment:{comment_id}", reason=reason, details={"before": comment.text, "after": text})
        return comments.by_id(conn, comment_id)


# -- editors' picks and the pinned comment ---------------------------------------------------------
def feature(engine: Engine, actor: Actor, comment_id: int, featured: bool, reason: str = "") -> Comment:
    """Make a published comment an editor's pick (or stop: `featured` false)."""
    with writing(engine) as conn:
        comment, thread, site = _comment(conn, actor, comment_id)
        if featured and comment.status != "published":
            raise Conflict(f"Only a published comment can be an editor's pick; comment {comment_id} is {comment.status}.")
        if comment.featured != featured:
            comments.set_featured(conn, comment_id, featured)
            threads.touch(conn, thread.id)
            if comment.status == "published":
                live_events.comment_featured(conn, thread.id, comment_id, featured)
            audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email,
                         action="feature" if featured else "unfeature", target=f"comment:{comment_id}", reason=reason,
                         details={"uri": thread.uri})
        return comments.by_id(conn, comment_id)


def pin(engine: Engine, actor: Actor, comment_id: int, pinned: bool, reason: str = "") -> Comment:
    """Pin a published top-level comment to the top of its thread, in place of any pinned before
    (or unpin it: `pinned` false)."""
    with writing(engine) as conn:
        comment, thread, site = _comment(conn, actor, comment_id)
        if pinned and comment.status != "published":
            raise Conflict(f"Only a published comment can be pinned; comment {comment_id} is {comment.status}.")
        if pinned and comment.parent_id is not None:
            raise Invalid("Only a top-level comment can be pinned, not a reply.", field="comment_id")
        if pinned and thread.pinned_id != comment_id:
            threads.set_pinned(conn, thread.id, comment_id)
            live_events.comment_pinned(conn, thread.id, comment_id, True)
            audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action="pin",
                         target=f"comment:{comment_id}", reason=reason,
                         details={"uri": thread.uri, "replaces": thread.pinned_id})
        elif not pinned and thread.pinned_id == comment_id:
            threads.set_pinned(conn, thread.id, None)
            live_events.comment_pinned(conn, thread.id, comment_id, False)
            audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email, action="unpin",
                         target=f"comment:{comment_id}", reason=reason, details={"uri": thread.uri})
        return comments.by_id(conn, comment_id)


# -- authors ------------------------------------------------------------------------------------
def _ban(conn: Connection, actor: Actor, site_id: int, kind: str, value: str | None, *, seconds: int | None,
         reason: str, label: str = "") -> int:
    """Ban a hashed address, a verified identity or a hashed e-mail, for `seconds` or for good (None).
    `label` says in the audit log what was banned without storing the address itself."""
    actor.require(site_id)
    if kind not in BAN_KINDS:
        raise Invalid(f"A ban is by {', '.join(BAN_KINDS)}.", field="kind")
    if not value:
        raise Invalid(f"This comment has no {kind} to ban.", field="kind")
    if seconds is not None and not 0 < seconds <= MAX_BAN_SECONDS:
        raise Invalid(f"A ban lasts 1 to {MAX_BAN_SECONDS} seconds, or for good.", field="seconds")
    at = now()
    ban_id = stored_bans.add(conn, site_id=site_id, kind=kind, value=value, reason=reason, created=at,
                             expires=at + seconds if seconds else None, created_by=actor.user_id)
    audit.record(conn, site_id=site_id, user_id=actor.user_id, actor=actor.email, action="ban", target=f"ban:{ban_id}",
                 reason=reason, details={"kind": kind, "who": label, "seconds": seconds})
    return ban_id


def ban_comment_author(engine: Engine, actor: Actor, comment_id: int, kind: str, *, seconds: int | None,
                       reason: str) -> int:
    """Ban the author of a comment: by "author" (the author as far as the comment proves it: their
    verified identity if they were signed in, else the address it was posted from), "identity",
    "ip" (the address), or "email" (the address the author typed, which anyone could have typed)."""
    with writing(engine) as conn:
        comment, thread, _site = _comment(conn, actor, comment_id)
        stored_kind = kind
        if kind == "author":
            stored_kind = "identity" if comment.identity_id is not None else "ip"
        # A signed-in reader's comment carries their identity as its author key (`readers.identity_key`),
        # and no key of a typed e-mail address.
        identity = comment.author_key if comment.identity_id is not None else None
        email_key = comment.author_key if identity is None else None
        value = {"email": email_key, "ip": comment.ip_hash, "identity": identity}.get(stored_kind)
        return _ban(conn, actor, thread.site_id, stored_kind, value, seconds=seconds, reason=reason,
                    label=f"{comment.author_name} (comment {comment_id})")


def ban_email(engine: Engine, actor: Actor, site_name: str, email: str, hash_email: Callable[[str], str], *,
              seconds: int | None, reason: str) -> int:
    with writing(engine) as conn:
        site = sites.by_name(conn, site_name)
        if site is None:
            raise NotFound(f"There is no site named '{site_name}'.", field="site")
        email = email.strip().lower()
        if "@" not in email:
            raise Invalid("That is not an e-mail address.", field="email")
        return _ban(conn, actor, site.id, "email", hash_email(email), seconds=seconds, reason=reason, label=email)


def lift_ban(engine: Engine, actor: Actor, ban_id: int, reason: str = "") -> None:
    with writing(engine) as conn:
        found = stored_bans.get(conn, ban_id)
        if found is None:
            raise NotFound(f"There is no ban {ban_id}.")
        actor.require(found.site_id)
        stored_bans.lift(conn, ban_id, now())
        audit.record(conn, site_id=found.site_id, user_id=actor.user_id, actor=actor.email, action="unban",
                     target=f"ban:{ban_id}", reason=reason)


def active_bans(engine: Engine, site_ids: frozenset[int]) -> list[Ban]:
    with reading(engine) as conn:
        return stored_bans.active(conn, site_ids, now())


def set_trusted(engine: Engine, actor: Actor, comment_id: int, is_trusted: bool, reason: str = "") -> None:
    """Trust (or stop trusting) the author of a comment: their verified identity if they were
    signed in, else the hashed address it was posted from. Never the e-mail address the author
    typed, which anyone may type."""
    with writing(engine) as conn:
        comment, _thread, site = _comment(conn, actor, comment_id)
        if comment.identity_id is not None:
            kind, value, target = "identity", comment.author_key, comment.author_key
        else:
            kind, value, target = "ip", comment.ip_hash, f"address:{comment.ip_hash}"
        if not value:
            raise Invalid("This comment was stored without its address (e.g. imported): there is no author to trust.")
        trusted.set_trusted(conn, site_id=site.id, kind=kind, value=value, trusted=is_trusted, at=now(),
                            by=actor.user_id)
        audit.record(conn, site_id=site.id, user_id=actor.user_id, actor=actor.email,
                     action="trust" if is_trusted else "untrust", target=target, reason=reason,
                     details={"who": comment.author_name, "comment": comment_id, "kind": kind})


# -- threads --------------------------------------------------------------------------------------------
def _thread(conn: Connection, actor: Actor, thread_id: int) -> Thread:
    thread = threads.by_id(conn, thread_id)
    if thread is None:
        raise NotFound(f"There is no thread {thread_id}.")
    actor.require(thread.site_id)
    return thread


def close_thread(engine: Engine, actor: Actor, thread_id: int, closed: bool, reason: str = "",
                 settings: Settings | None = None) -> None:
    """Close a thread now, or reopen it: reopening also drops a close time already past. A thread
    the site's `close_after_days` has closed reopens only with a later close time of its own
    (`close_at`)."""
    with writing(engine) as conn:
        thread = _thread(conn, actor, thread_id)
        if not closed:
            site = sites.by_id(conn, thread.site_id)
            close_after_days = rules_of(settings, site.settings).close_after_days if settings else None
            at = now()
            closes = thread.closes if thread.closes is not None and thread.closes > at else None
            if closing.is_closed(False, closes, thread.created, close_after_days, at):
                raise Conflict(f"This site closes threads {close_after_days} days after their first comment; give "
                               "this thread a later close time of its own to reopen it.")
            if closes != thread.closes:
                threads.set_closes(conn, thread_id, closes)
        threads.set_closed(conn, thread_id, closed)
        live_events.thread_closed(conn, thread_id, closed)
        audit.record(conn, site_id=thread.site_id, user_id=actor.user_id, actor=actor.email,
                     action="close" if closed else "reopen", target=f"thread:{thread_id}", reason=reason,
                     details={"uri": thread.uri})


def close_at(engine: Engine, actor: Actor, thread_id: int, at: float | None, reason: str = "",
             settings: Settings | None = None) -> None:
    """Set when the thread stops taking comments (None: no time of its own, the site's rule
    applies). A time already past closes it at once. Open streams are told whether it is closed
    now, and watch the clock for the new time."""
    if at is not None and not 0 < at < 2.0**40:
        raise Invalid("A close time is in epoch seconds.", field="at")
    with writing(engine) as conn:
        thread = _thread(conn, actor, thread_id)
        threads.set_closes(conn, thread_id, at)
        after_days = rules_of(settings, sites.by_id(conn, thread.site_id).settings).close_after_days \
            if settings else None
        closed_now = closing.is_closed(thread.closed, at, thread.created, after_days, now())
        live_events.thread_closed(conn, thread_id, closed_now)
        audit.record(conn, site_id=thread.site_id, user_id=actor.user_id, actor=actor.email, action="close_at",
                     target=f"thread:{thread_id}", reason=reason, details={"at": at, "uri": thread.uri})


def thread_at(engine: Engine, actor: Actor, site_name: str, uri: str) -> int:
    """The id of the site's thread at `uri` (for the command line)."""
    with reading(engine) as conn:
        site = sites.by_name(conn, site_name)
        if site is None:
            raise NotFound(f"There is no site named '{site_name}'.")
        actor.require(site.id)
        thread = threads.by_uri(conn, site.id, uri)
        if thread is None:
            raise NotFound(f"Site '{site_name}' has no thread at {uri}.")
        return thread.id


def slow_mode(engine: Engine, actor: Actor, thread_id: int, seconds: int, reason: str = "") -> None:
    with writing(engine) as conn:
        thread = _thread(conn, actor, thread_id)
        if not 0 <= seconds <= MAX_SLOW_MODE:
            raise Invalid(f"Slow mode is between 0 (off) and {MAX_SLOW_MODE} seconds.", field="seconds")
        thread_state.set_slow_mode(conn, thread_id, seconds)
        if seconds == 0:
            thread_state.clear_heat(conn, thread_id)
        audit.record(conn, site_id=thread.site_id, user_id=actor.user_id, actor=actor.email, action="slow_mode",
                     target=f"thread:{thread_id}", reason=reason, details={"seconds": seconds, "uri": thread.uri})
