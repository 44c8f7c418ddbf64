"""Alert subscriptions: one row per (site, kind, channel, address, scope)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.store.alerts import alert_subscriptions

s = alert_subscriptions


@dataclass(frozen=True)
class Subscription:
    id: int
    site_id: int
    kind: str  # reply | thread | news | moderator
    channel: str  # email | webhook | whatsapp
    target: str
    scope: str
    delivery: str  # immediate | hourly | daily
    confirmed: float | None
    consent: str  # JSON
    unsubscribed: float | None
    created: float


@dataclass(frozen=True)
class Recipient:
    """What a fan-out needs of a confirmed subscription."""

    id: int
    kind: str
    channel: str
    target: str
    delivery: str


def _subscription(r) -> Subscription:
    return Subscription(
        id=r.id, site_id=r.site_id, kind=r.kind, channel=r.channel, target=r.target, scope=r.scope,
        delivery=r.delivery, confirmed=r.confirmed, consent=r.consent, unsubscribed=r.unsubscribed,
        created=r.created,
    )


def ensure(conn: Connection, *, site_id: int, kind: str, channel: str, target: str, scope: str, delivery: str,
           consent: str, now: float, confirmed: float | None) -> Subscription:
    """The subscription with this (site, kind, channel, target, scope), created as given if there
    is none (an existing one is returned unchanged)."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(s)
        .values(site_id=site_id, kind=kind, channel=channel, target=target, scope=scope,
                delivery=delivery, consent=consent, created=now, confirmed=confirmed)
        .on_conflict_do_nothing()
    )
    return _subscription(conn.execute(
        select(s).where(s.c.site_id == site_id, s.c.kind == kind, s.c.channel == channel,
                        s.c.target == target, s.c.scope == scope)
    ).one())


def get(conn: Connection, subscription_id: int) -> Subscription | None:
    row = conn.execute(select(s).where(s.c.id == subscription_id)).first()
    return _subscription(row) if row is not None else None


def by_ids(conn: Connection, ids: set[int]) -> dict[int, Subscription]:
    if not ids:
        return {}
    return {r.id: _subscription(r) for r in conn.execute(select(s).where(s.c.id.in_(ids)))}


def reopen(conn: Connection, subscription_id: int, *, confirmed: float | None) -> Subscription:
    """Undo an unsubscribe (the reader signed up again); returns the subscription as it is now."""
    conn.execute(update(s).where(s.c.id == subscription_id).values(unsubscribed=None, confirmed=confirmed))
    return _subscription(conn.execute(select(s).where(s.c.id == subscription_id)).one())


def set_terms(conn: Connection, subscription_id: int, *, delivery: str, consent: str) -> None:
    conn.execute(update(s).where(s.c.id == subscription_id).values(delivery=delivery, consent=consent))


def set_delivery(conn: Connection, subscription_id: int, delivery: str) -> None:
    """Change how alerts are delivered (webhooks are always immediate)."""
    conn.execute(update(s).where(s.c.id == subscription_id, s.c.channel != "webhook").values(delivery=delivery))


def confirm(conn: Connection, subscription_id: int, *, now: float) -> None:
    """Mark confirmed, unless it is confirmed already or unsubscribed."""
    conn.execute(
        update(s).where(s.c.id == subscription_id, s.c.confirmed.is_(None), s.c.unsubscribed.is_(None))
        .values(confirmed=now)
    )


def end(conn: Connection, subscription_id: int, *, now: float) -> None:
    """Mark unsubscribed (the first time only)."""
    conn.execute(update(s).where(s.c.id == subscription_id, s.c.unsubscribed.is_(None)).values(unsubscribed=now))


def has_confirmed(conn: Connection, *, site_id: int, kind: str, channel: str, target: str) -> bool:
    """Whether the address has an active, confirmed subscription of this kind on the site."""
    return conn.execute(
        select(s.c.id).where(
            s.c.site_id == site_id, s.c.kind == kind, s.c.channel == channel,
            s.c.target == target, s.c.confirmed.is_not(None), s.c.unsubscribed.is_(None),
        ).limit(1)
    ).first() is not None


def active_for_address(conn: Connection, *, site_id: int, channel: str, target: str) -> list[Subscription]:
    """The address's subscriptions on a site that are not unsubscribed, oldest first."""
    rows = conn.execute(
        select(s).where(s.c.site_id == site_id, s.c.channel == channel, s.c.target == target,
                        s.c.unsubscribed.is_(None)).order_by(s.c.id)
    )
    return [_subscription(r) for r in rows]


def belongs_to(conn: Connection, subscription_id: int, *, site_id: int, channel: str, target: str) -> bool:
    return conn.execute(
        select(s.c.id).where(and_(s.c.id == subscription_id, s.c.site_id == site_id,
                                  s.c.channel == channel, s.c.target == target))
    ).first() is not None


# Built once, with bound parameters: every published comment asks it inside its write
# transaction, and building the statement cost more than running it. Up to three (kind, scope)
# pairs; fewer are padded by repeating the last.
_ANY_PAIRS = 3
_ANY_CONFIRMED = (
    select(s.c.id)
    .where(s.c.site_id == bindparam("site_id"),
           or_(*(and_(s.c.kind == bindparam(f"kind{i}"), s.c.scope == bindparam(f"scope{i}")) for i in range(_ANY_PAIRS))),
           s.c.confirmed.is_not(None), s.c.unsubscribed.is_(None))
    .limit(1)
)


def any_confirmed(conn: Connection, *, site_id: int, match: Sequence[tuple[str, str]]) -> bool:
    """Whether any active confirmed subscription matches one of the (kind, scope) pairs."""
    if not match:
        return False
    if len(match) > _ANY_PAIRS:
        return bool(confirmed_recipients(conn, site_id=site_id, match=match, after_id=0, limit=1))
    padded = list(match) + [match[-1]] * (_ANY_PAIRS - len(match))
    params = {"site_id": site_id}
    for i, (kind, scope) in enumerate(padded):
        params[f"kind{i}"], params[f"scope{i}"] = kind, scope
    return conn.execute(_ANY_CONFIRMED, params).first() is not None


def confirmed_recipients(conn: Connection, *, site_id: int, match: Sequence[tuple[str, str]], after_id: int,
                         limit: int) -> list[Recipient]:
    """One chunk of a fan-out: active confirmed subscriptions matching any (kind, scope), in id
    order after `after_id` (the index on site, kind, scope, id serves each pair)."""
    wanted = or_(*(and_(s.c.kind == kind, s.c.scope == scope) for kind, scope in match))
    rows = conn.execute(
        select(s.c.id, s.c.kind, s.c.channel, s.c.target, s.c.delivery)
        .where(s.c.site_id == site_id, wanted, s.c.confirmed.is_not(None), s.c.unsubscribed.is_(None),
               s.c.id > after_id)
        .order_by(s.c.id)
        .limit(limit)
    )
    return [Recipient(id=r.id, kind=r.kind, channel=r.channel, target=r.target, delivery=r.delivery) for r in rows]
