"""Subscribe, confirm, unsubscribe. Email and WhatsApp subscriptions need double opt-in:
nothing is delivered until the reader follows the confirmation link sent to that address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
import phonenumbers

from townsquare.alerts import outbox
from townsquare.store import alert_lookups
from townsquare.store import outbox as outbox_rows
from townsquare.store import subscriptions as subscription_rows
from townsquare.store.db import Connection
from townsquare.store.subscriptions import Subscription

KINDS = ("reply", "thread", "news", "moderator")
CHANNELS = ("email", "webhook", "whatsapp")
DELIVERIES = ("immediate", "hourly", "daily")
CONFIRMED_BY_LINK = ("email", "whatsapp")

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
    confirmed = None if channel in CONFIRMED_BY_LINK else now
    sub = subscription_rows.ensure(conn, site_id=site_id, kind=kind, channel=channel, target=target,
                                   scope=scope, delivery=delivery, consent=consent_json, now=now,
                                   confirmed=confirmed)
    if sub.unsubscribed is not None:  # coming back after leaving: opt in again
        sub = subscription_rows.reopen(conn, sub.id, confirmed=confirmed)
    if sub.confirmed is not None:
        # Settings of a confirmed subscription change only through the reader's own signed
        # management link, not through an anonymous sign-up form.
        return Subscribed(sub.id, "active")
    subscription_rows.set_terms(conn, sub.id, delivery=delivery, consent=consent_json)
    if kind == "reply" and subscription_rows.has_confirmed(conn, site_id=site_id, kind="reply",
                                                           channel=channel, target=target):
        # The address already proved it wants reply alerts from this site.
        confirm(conn, sub.id, now=now)
        return Subscribed(sub.id, "active")
    sent = outbox_rows.confirmations_since(conn, channel=channel, target=target, since=now - 86400)
    if sent >= confirmations_per_day:
        return Subscribed(sub.id, "unconfirmed")
    outbox.enqueue(
        conn, key=f"confirm-{sub.id}-{sent + 1}-{int(now)}", site_id=site_id, kind="confirm",
        channel=channel, target=target, subscription_id=sub.id, now=now,
        payload={"subscription_id": sub.id, "kind": kind, "scope": scope},
    )
    return Subscribed(sub.id, "confirming")


def subscribe_replies(conn: Connection, *, site_id: int, comment_id: int, email: str, now: float) -> Subscribed:
    """Reply alerts for a comment being posted (`notify_replies` in POST /api/v1/comments).

    Called by the core inside the transaction that creates the comment.
    """
    return subscribe(
        conn, site_id=site_id, kind="reply", channel="email", target=email, now=now,
        scope=f"comment:{comment_id}", consent={"source": "comment form", "comment_id": comment_id},
    )


def confirm(conn: Connection, subscription_id: int, *, now: float) -> Subscription | None:
    """Activate a subscription (the reader followed the confirmation link). None if it is gone."""
    subscription_rows.confirm(conn, subscription_id, now=now)
    sub = subscription_rows.get(conn, subscription_id)
    return sub if sub is not None and sub.unsubscribed is None else None


def unsubscribe(conn: Connection, subscription_id: int, *, now: float) -> Subscription | None:
    """Stop a subscription and cancel its alerts that have not gone out yet."""
    subscription_rows.end(conn, subscription_id, now=now)
    outbox_rows.cancel_pending_alerts(conn, subscription_id, reason="unsubscribed")
    return subscription_rows.get(conn, subscription_id)


def set_delivery(conn: Connection, subscription_id: int, delivery: str) -> None:
    if delivery not in DELIVERIES:
        raise SubscriptionError(f"Unknown delivery {delivery!r}; use one of {', '.join(DELIVERIES)}.")
    subscription_rows.set_delivery(conn, subscription_id, delivery)


@dataclass(frozen=True)
class Listed:
    """A subscription as the management page shows it."""

    id: int
    kind: str
    scope: str
    delivery: str
    confirmed: bool
    about: str


def for_address(conn: Connection, *, site_id: int, channel: str, target: str) -> list[Listed]:
    """The address's active subscriptions, each with a description for the management page."""
    subs = subscription_rows.active_for_address(conn, site_id=site_id, channel=channel, target=target)
    thread_ids = {int(s.scope.split(":")[1]) for s in subs if s.scope.startswith("thread:")}
    comment_ids = {int(s.scope.split(":")[1]) for s in subs if s.scope.startswith("comment:")}
    titles = {f"thread:{i}": t for i, t in alert_lookups.thread_titles(conn, thread_ids).items()}
    titles |= {f"comment:{i}": t for i, t in alert_lookups.comment_thread_titles(conn, comment_ids).items()}
    return [
        Listed(id=s.id, kind=s.kind, scope=s.scope, delivery=s.delivery, confirmed=s.confirmed is not None,
               about=_describe(s.kind, s.scope, titles))
        for s in subs
    ]


def _describe(kind: str, scope: str, titles: dict[str, str]) -> str:
    if kind == "reply":
        return f"Replies to your comment on “{titles.get(scope, 'a removed article')}”"
    if kind == "thread":
        return f"New comments on “{titles.get(scope, 'a removed article')}”" if scope else "Every new comment"
    if kind == "news":
        return f"New articles in {scope.removeprefix('section:')}" if scope else "Every new article"
    return "Comments waiting for moderation"
