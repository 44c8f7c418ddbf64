"""Webhook endpoints of a site and their signing secrets. A webhook's events are subscriptions
with channel "webhook" whose target is the webhook's id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, or_, select, update

from townsquare.store.alerts import alert_subscriptions, alert_webhook_secrets, alert_webhooks

w = alert_webhooks
ws = alert_webhook_secrets


@dataclass(frozen=True)
class Webhook:
    id: int
    site_id: int
    url: str
    active: bool
    created: float


def _webhook(r) -> Webhook:
    return Webhook(id=r.id, site_id=r.site_id, url=r.url, active=r.active, created=r.created)


def add(conn: Connection, *, site_id: int, url: str, now: float) -> int:
    """A new active endpoint; returns its id."""
    return conn.execute(w.insert().values(site_id=site_id, url=url, active=True, created=now)).inserted_primary_key[0]


def add_secret(conn: Connection, webhook_id: int, secret: str, *, now: float) -> None:
    conn.execute(ws.insert().values(webhook_id=webhook_id, secret=secret, created=now))


def expire_secrets(conn: Connection, webhook_id: int, *, at: float) -> None:
    """Let the webhook's secrets that are valid beyond `at` end then."""
    conn.execute(update(ws).where(ws.c.webhook_id == webhook_id, or_(ws.c.expires.is_(None), ws.c.expires > at))
                 .values(expires=at))


def active_secrets(conn: Connection, webhook_ids: set[int], *, now: float) -> dict[int, tuple[str, ...]]:
    """The secrets still valid at `now`, newest first, by webhook id."""
    if not webhook_ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = conn.execute(
        select(ws.c.webhook_id, ws.c.secret).where(
            ws.c.webhook_id.in_(webhook_ids), or_(ws.c.expires.is_(None), ws.c.expires > now)
        ).order_by(ws.c.id.desc())
    )
    for r in rows:
        found.setdefault(r.webhook_id, []).append(r.secret)
    return {k: tuple(v) for k, v in found.items()}


def by_ids(conn: Connection, webhook_ids: set[int]) -> dict[int, Webhook]:
    if not webhook_ids:
        return {}
    return {r.id: _webhook(r) for r in conn.execute(select(w).where(w.c.id.in_(webhook_ids)))}


def for_site(conn: Connection, site_id: int) -> list[Webhook]:
    return [_webhook(r) for r in conn.execute(select(w).where(w.c.site_id == site_id).order_by(w.c.id))]


def events_of_site(conn: Connection, site_id: int) -> dict[int, tuple[str, ...]]:
    """The events (subscription kinds) each of a site's webhooks receives, sorted, by webhook id."""
    s = alert_subscriptions
    kinds: dict[int, list[str]] = {}
    rows = conn.execute(select(s.c.target, s.c.kind).where(s.c.site_id == site_id, s.c.channel == "webhook",
                                                           s.c.unsubscribed.is_(None)))
    for r in rows:
        kinds.setdefault(int(r.target), []).append(r.kind)
    return {k: tuple(sorted(v)) for k, v in kinds.items()}


def remove(conn: Connection, *, site_id: int, webhook_id: int) -> bool:
    """Delete a site's webhook and its subscriptions; False if the site has no such webhook."""
    s = alert_subscriptions
    conn.execute(delete(s).where(s.c.site_id == site_id, s.c.channel == "webhook", s.c.target == str(webhook_id)))
    result = conn.execute(delete(w).where(w.c.id == webhook_id, w.c.site_id == site_id))
    return bool(result.rowcount)
