"""Webhook endpoints of a site and their signing secrets (rotation keeps old secrets valid for a
grace period, so receivers can switch without dropping deliveries)."""

from __future__ import annotations

import secrets as random_secrets
from typing import Any
from urllib.parse import urlsplit

from townsquare.alerts.subscriptions import SubscriptionError, subscribe
from townsquare.store import webhooks as webhook_rows
from townsquare.store.db import Connection

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
    webhook_id = webhook_rows.add(conn, site_id=site_id, url=url, now=now)
    secret = new_secret()
    webhook_rows.add_secret(conn, webhook_id, secret, now=now)
    for kind in kinds:
        subscribe(conn, site_id=site_id, kind=kind, channel="webhook", target=str(webhook_id), now=now,
                  consent={"source": "site API"})
    return {"id": webhook_id, "url": url, "kinds": sorted(set(kinds)), "secret": secret}


def rotate(conn: Connection, webhook_id: int, *, now: float, grace: float) -> str:
    """Add a new secret; the current ones stay valid for `grace` seconds."""
    webhook_rows.expire_secrets(conn, webhook_id, at=now + grace)
    secret = new_secret()
    webhook_rows.add_secret(conn, webhook_id, secret, now=now)
    return secret


def list_for_site(conn: Connection, site_id: int) -> list[dict[str, Any]]:
    """The site's webhooks as the API shows them (never with their secrets)."""
    events = webhook_rows.events_of_site(conn, site_id)
    return [{"id": h.id, "url": h.url, "active": h.active, "kinds": list(events.get(h.id, ()))}
            for h in webhook_rows.for_site(conn, site_id)]
