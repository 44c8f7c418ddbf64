"""Subscribe, confirm, unsubscribe. Email and WhatsApp subscriptions need double opt-in:
nothing is delivered until the reader follows the confirmation link sent to that address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
import phonenumbers
from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.alerts import outbox
from townsquare.store.alerts import alert_outbox, alert_subscriptions
from townsquare.store.tables import comments, threads

KINDS = ("reply", "thread", "news", "moderator")
CHANNELS = ("email", "webhook", "whatsapp")
DELIVERIES = ("immediate", "hourly", "daily")
CONFIRMED_BY_LINK = ("email", "whatsapp")

s = alert_subscriptions
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+$")


class SubscriptionError(ValueError):
    """Bad subscription input; the message is meant for the reader."""


@dataclass(frozen=True)
class Subscribed:
    id: int
    # active: alerts flow; confirming: a confirmation message is queued;
    # unconfirmed: waiting for a link sent earlier (no new message, to avoid flooding an address).
    state: str


def normalize_target(channel: str, target: str, *, region: str = "US") -> str:
    target = target.strip()
    if channel == "email":
        if len(target) > 320 or not _EMAIL.match(target):
            raise SubscriptionError("Enter a valid email address.")
        local, domain = target.rsplit("@", 1)
        return f"{local}@{domain.lower()}"
    if channel == "whatsapp":
        try:
            number = phonenumbers.parse(target, region)
        except phonenumbers.NumberParseException as exc:
            raise SubscriptionError("Enter a valid phone number with its country code.") from exc
        if not phonenumbers.is_valid_number(number):
            raise SubscriptionError("Enter a valid phone number with its country code.")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if channel == "webhook":
        return target
    raise SubscriptionError(f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}.")


def _check(kind: str, channel: str, delivery: str) -> None:
    if kind not in KINDS:
        raise SubscriptionError(f"Unknown alert kind {kind!r}; use one of {', '.join(KINDS)}.")
    if channel not in CHANNELS:
        raise SubscriptionError(f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}.")
    if delivery not in DELIVERIES:
        raise SubscriptionError(f"Unknown delivery {delivery!r}; use one of {', '.join(DELIVERIES)}.")
    if channel == "webhook" and delivery != "immediate":
        raise SubscriptionError("Webhooks are delivered immediately.")


def subscribe(
    conn: Connection,
    *,
    site_id: int,
    kind: str,
    channel: str,
    target: str,
    now: float,
    scope: str = "",
    delivery: str = "immediate",
    consent: dict[str, Any] | None = None,
    confirmations_per_day: int = 3,
) -> Subscribed:
    """Create or renew a subscription (idempotent per site, kind, channel, address and scope)."""
    _check(kind, channel, delivery)
    target = target if channel == "webhook" else normalize_target(channel, target)
    consent_json = orjson.dumps({**(consent or {}), "at": now}).decode()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(s)
        .values(site_id=site_id, kind=kind, channel=channel, target=target, scope=scope,
                delivery=delivery, consent=consent_json, created=now,
                confirmed=None if channel in CONFIRMED_BY_LINK else now)
        .on_conflict_do_nothing()
    )
    row = conn.execute(
        select(s).where(s.c.site_id == site_id, s.c.kind == kind, s.c.channel == channel,
                        s.c.target == target, s.c.scope == scope)
    ).one()
    if row.unsubscribed is not None:  # coming back after leaving: opt in again
        conn.execute(update(s).where(s.c.id == row.id).values(
            unsubscribed=None, confirmed=None if channel in CONFIRMED_BY_LINK else now))
        row = conn.execute(select(s).where(s.c.id == row.id)).one()
    if row.confirmed is not None:
        # Settings of a confirmed subscription change only through the reader's own signed
        # management link, not through an anonymous sign-up form.
        return Subscribed(row.id, "active")
    conn.execute(update(s).where(s.c.id == row.id).values(delivery=delivery, consent=consent_json))
    if kind == "reply" and _has_confirmed_reply_alerts(conn, site_id, channel, target):
        # The address already proved it wants reply alerts from this site.
        confirm(conn, row.id, now=now)
        return Subscribed(row.id, "active")
    sent = outbox.recent_confirmations(conn, channel=channel, target=target, since=now - 86400)
    if sent >= confirmations_per_day:
        return Subscribed(row.id, "unconfirmed")
    outbox.enqueue(
        conn, key=f"confirm-{row.id}-{sent + 1}-{int(now)}", site_id=site_id, kind="confirm",
        channel=channel, target=target, subscription_id=row.id, now=now,
        payload={"subscription_id": row.id, "kind": kind, "scope": scope},
    )
    return Subscribed(row.id, "confirming")


def _has_confirmed_reply_alerts(conn: Connection, site_id: int, channel: str, target: str) -> bool:
    return conn.execute(
        select(s.c.id).where(
            s.c.site_id == site_id, s.c.kind == "reply", s.c.channel == channel,
            s.c.target == target, s.c.confirmed.is_not(None), s.c.unsubscribed.is_(None),
        ).limit(1)
    ).first() is not None


def subscribe_replies(conn: Connection, *, site_id: int, comment_id: int, email: str, now: float) -> Subscribed:
    """Reply alerts for a comment being posted (`notify_replies` in POST /api/v1/comments).

    Called by the core inside the transaction that creates the comment.
    """
    return subscribe(
        conn, site_id=site_id, kind="reply", channel="email", target=email, now=now,
        scope=f"comment:{comment_id}", consent={"source": "comment form", "comment_id": comment_id},
    )


def confirm(conn: Connection, subscription_id: int, *, now: float) -> Any | None:
    """Activate a subscription (the reader followed the confirmation link). None if it is gone."""
    conn.execute(
        update(s).where(s.c.id == subscription_id, s.c.confirmed.is_(None), s.c.unsubscribed.is_(None))
        .values(confirmed=now)
    )
    row = conn.execute(select(s).where(s.c.id == subscription_id)).first()
    return row if row is not None and row.unsubscribed is None else None


def unsubscribe(conn: Connection, subscription_id: int, *, now: float) -> Any | None:
    """Stop a subscription and cancel its alerts that have not gone out yet."""
    conn.execute(
        update(s).where(s.c.id == subscription_id, s.c.unsubscribed.is_(None)).values(unsubscribed=now)
    )
    conn.execute(
        update(alert_outbox)
        .where(alert_outbox.c.subscription_id == subscription_id, alert_outbox.c.status == "pending",
               alert_outbox.c.kind != "confirm")
        .values(status="cancelled", last_error="unsubscribed")
    )
    return conn.execute(select(s).where(s.c.id == subscription_id)).first()


def set_delivery(conn: Connection, subscription_id: int, delivery: str) -> None:
    if delivery not in DELIVERIES:
        raise SubscriptionError(f"Unknown delivery {delivery!r}; use one of {', '.join(DELIVERIES)}.")
    conn.execute(update(s).where(s.c.id == subscription_id, s.c.channel != "webhook").values(delivery=delivery))


def for_address(conn: Connection, *, site_id: int, channel: str, target: str) -> list[dict[str, Any]]:
    """The address's active subscriptions, each with a description for the management page."""
    rows = conn.execute(
        select(s).where(s.c.site_id == site_id, s.c.channel == channel, s.c.target == target,
                        s.c.unsubscribed.is_(None)).order_by(s.c.id)
    ).all()
    thread_ids = {int(r.scope.split(":")[1]) for r in rows if r.scope.startswith("thread:")}
    comment_ids = {int(r.scope.split(":")[1]) for r in rows if r.scope.startswith("comment:")}
    titles: dict[str, str] = {}
    if thread_ids:
        for t in conn.execute(select(threads.c.id, threads.c.title, threads.c.uri).where(threads.c.id.in_(thread_ids))):
            titles[f"thread:{t.id}"] = t.title or t.uri
    if comment_ids:
        joined = select(comments.c.id, threads.c.title, threads.c.uri).join(
            threads, threads.c.id == comments.c.thread_id).where(comments.c.id.in_(comment_ids))
        for c in conn.execute(joined):
            titles[f"comment:{c.id}"] = c.title or c.uri
    return [
        {
            "id": r.id, "kind": r.kind, "scope": r.scope, "delivery": r.delivery,
            "confirmed": r.confirmed is not None, "about": _describe(r.kind, r.scope, titles),
        }
        for r in rows
    ]


def _describe(kind: str, scope: str, titles: dict[str, str]) -> str:
    if kind == "reply":
        return f"Replies to your comment on “{titles.get(scope, 'a removed article')}”"
    if kind == "thread":
        return f"New comments on “{titles.get(scope, 'a removed article')}”" if scope else "Every new comment"
    if kind == "news":
        return f"New articles in {scope.removeprefix('section:')}" if scope else "Every new article"
    return "Comments waiting for moderation"


def belongs_to(conn: Connection, subscription_id: int, *, site_id: int, channel: str, target: str) -> bool:
    return conn.execute(
        select(s.c.id).where(and_(s.c.id == subscription_id, s.c.site_id == site_id,
                                  s.c.channel == channel, s.c.target == target))
    ).first() is not None
