"""Webhook endpoints of a site and their signing secrets (rotation keeps old secrets valid for a
grace period, so receivers can switch without dropping deliveries)."""

from __future__ import annotations

import secrets as random_secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, or_, select, update

from townsquare.alerts.subscriptions import SubscriptionError, subscribe
from townsquare.store.alerts import alert_subscriptions, alert_webhook_secrets, alert_webhooks

WEBHOOK_KINDS = ("thread", "news", "moderator")


def new_secret() -> str:
    return "whsec_" + random_secrets.token_urlsafe(32)


def create(conn: Connection, *, site_id: int, url: str, kinds: list[str], now: float) -> dict[str, Any]:
    """Register an endpoint for site-wide events: every new comment (thread), article (news),
    or queued comment (moderator). Returns the endpoint with its first secret."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SubscriptionError("The webhook URL must be an http(s) URL.")
    unknown = set(kinds) - set(WEBHOOK_KINDS)
    if not kinds or unknown:
        raise SubscriptionError(f"Choose webhook events among {', '.join(WEBHOOK_KINDS)}.")
    webhook_id = conn.execute(
        alert_webhooks.insert().values(site_id=site_id, url=url, active=True, created=now)
    ).inserted_primary_key[0]
    secret = new_secret()
    conn.execute(alert_webhook_secrets.insert().values(webhook_id=webhook_id, secret=secret, created=now))
    for kind in kinds:
        subscribe(conn, site_id=site_id, kind=kind, channel="webhook", target=str(webhook_id), now=now,
                  consent={"source": "site API"})
    return {"id": webhook_id, "url": url, "kinds": sorted(set(kinds)), "secret": secret}


def rotate(conn: Connection, webhook_id: int, *, now: float, grace: float) -> str:
    """Add a new secret; the current ones stay valid for `grace` seconds."""
    w = alert_webhook_secrets
    conn.execute(update(w).where(w.c.webhook_id == webhook_id, or_(w.c.expires.is_(None), w.c.expires > now + grace))
                 .values(expires=now + grace))
    secret = new_secret()
    conn.execute(w.insert().values(webhook_id=webhook_id, secret=secret, created=now))
    return secret


def active_secrets(conn: Connection, webhook_ids: set[int], *, now: float) -> dict[int, tuple[str, ...]]:
    w = alert_webhook_secrets
    found: dict[int, list[str]] = {}
    rows = conn.execute(
        select(w.c.webhook_id, w.c.secret).where(
            w.c.webhook_id.in_(webhook_ids), or_(w.c.expires.is_(None), w.c.expires > now)
        ).order_by(w.c.id.desc())
    )
    for r in rows:
        found.setdefault(r.webhook_id, []).append(r.secret)
    return {k: tuple(v) for k, v in found.items()}


def endpoints(conn: Connection, webhook_ids: set[int]) -> dict[int, Any]:
    if not webhook_ids:
        return {}
    rows = conn.execute(select(alert_webhooks).where(alert_webhooks.c.id.in_(webhook_ids)))
    return {r.id: r for r in rows}


def list_for_site(conn: Connection, site_id: int) -> list[dict[str, Any]]:
    s = alert_subscriptions
    hooks = conn.execute(select(alert_webhooks).where(alert_webhooks.c.site_id == site_id).order_by(alert_webhooks.c.id)).all()
    kinds: dict[str, list[str]] = {}
    for r in conn.execute(select(s.c.target, s.c.kind).where(s.c.site_id == site_id, s.c.channel == "webhook",
                                                             s.c.unsubscribed.is_(None))):
        kinds.setdefault(r.target, []).append(r.kind)
    return [{"id": h.id, "url": h.url, "active": h.active, "kinds": sorted(kinds.get(str(h.id), []))} for h in hooks]


def remove(conn: Connection, *, site_id: int, webhook_id: int) -> bool:
    s = alert_subscriptions
    conn.execute(delete(s).where(s.c.site_id == site_id, s.c.channel == "webhook", s.c.target == str(webhook_id)))
    result = conn.execute(delete(alert_webhooks).where(alert_webhooks.c.id == webhook_id,
                                                       alert_webhooks.c.site_id == site_id))
    return bool(result.rowcount)
