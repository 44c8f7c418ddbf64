"""Writes of `import` for the records `export --all` adds (accounts, subscriptions, bans, trusted
authors, webhooks, the audit log, the instance secret). Each adds its row only when an equal one is
not there yet and says whether it did, so importing a file twice changes nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import Connection, exists, insert, select, update

from townsquare.store.alerts import alert_subscriptions, alert_webhook_secrets, alert_webhooks
from townsquare.store.dialect import upsert
from townsquare.store.moderation import audit_log, bans, trusted_authors
from townsquare.store.tables import comments, meta, sites, user_sites, users


def secret(conn: Connection) -> str | None:
    return conn.execute(select(meta.c.value).where(meta.c.key == "secret")).scalar()


def set_secret(conn: Connection, value: str) -> None:
    if secret(conn) is None:
        conn.execute(insert(meta).values(key="secret", value=value))
    else:
        conn.execute(update(meta).where(meta.c.key == "secret").values(value=value))


def has_discussions(conn: Connection) -> bool:
    """Whether any comment was signed with this database's secret yet."""
    return conn.execute(select(exists().where(comments.c.id.isnot(None)))).scalar()


def site_ids(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(sites.c.name, sites.c.id)).all())


def user_ids(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(users.c.email, users.c.id)).all())


def add_account(conn: Connection, *, email: str, name: str, role: str, password_hash: str, created: float,
                site_ids: list[int]) -> int | None:
    """The new account's id; None if an account with this e-mail exists (it is left as it is)."""
    if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
        return None
    user_id = conn.execute(insert(users).values(email=email, name=name, role=role, password_hash=password_hash,
                                                created=created)).inserted_primary_key[0]
    for site_id in site_ids:
        conn.execute(insert(user_sites).values(user_id=user_id, site_id=site_id))
    return user_id


@dataclass(frozen=True)
class SubscriptionRow:
    site_id: int
    kind: str
    channel: str
    target: str
    scope: str
    delivery: str
    confirmed: float | None
    consent: str  # JSON
    unsubscribed: float | None
    created: float


def add_subscriptions(conn: Connection, rows: list[SubscriptionRow]) -> int:
    """Add the subscriptions this database does not have (by site, kind, channel, target and
    scope; one it has is left as it is); returns how many were added."""
    if not rows:
        return 0
    found = conn.execute(upsert(conn, alert_subscriptions).on_conflict_do_nothing().returning(alert_subscriptions.c.id),
                         [asdict(r) for r in rows])
    return len(found.all())  # (rowcount is not reliable for this on PostgreSQL)


def ban_id(conn: Connection, site_id: int, kind: str, value: str, created: float) -> int | None:
    return conn.execute(select(bans.c.id).where(bans.c.site_id == site_id, bans.c.kind == kind,
                                                bans.c.value == value, bans.c.created == created)).scalar()


def add_ban(conn: Connection, *, site_id: int, kind: str, value: str, reason: str, created: float,
            expires: float | None, created_by: int | None, lifted: float | None) -> bool:
    if ban_id(conn, site_id, kind, value, created) is not None:
        return False
    conn.execute(insert(bans).values(site_id=site_id, kind=kind, value=value, reason=reason, created=created,
                                     expires=expires, created_by=created_by, lifted=lifted))
    return True


def add_trusted(conn: Connection, *, site_id: int, kind: str, author_key: str, created: float, created_by: int | None) -> bool:
    result = conn.execute(upsert(conn, trusted_authors)
                          .values(site_id=site_id, kind=kind, author_key=author_key, created=created, created_by=created_by)
                          .on_conflict_do_nothing().returning(trusted_authors.c.site_id))
    return result.first() is not None


def add_webhook(conn: Connection, *, site_id: int, url: str, active: bool, created: float,
                secrets: list[tuple[str, float, float | None]]) -> tuple[int, bool]:
    """The webhook's id, and whether it was added now (with its secrets)."""
    w = alert_webhooks
    found = conn.execute(select(w.c.id).where(w.c.site_id == site_id, w.c.url == url, w.c.created == created)).scalar()
    if found is not None:
        return found, False
    webhook_id = conn.execute(insert(w).values(site_id=site_id, url=url, active=active, created=created)
                              ).inserted_primary_key[0]
    for value, made, expires in secrets:
        conn.execute(insert(alert_webhook_secrets).values(webhook_id=webhook_id, secret=value, created=made,
                                                          expires=expires))
    return webhook_id, True


@dataclass(frozen=True)
class AuditRow:
    site_id: int
    user_id: int | None
    actor: str
    action: str
    target: str
    reason: str
    details: str  # JSON
    created: float

    def key(self) -> tuple[int, float, str, str, str]:
        return (self.site_id, self.created, self.action, self.target, self.actor)


def add_audit_entries(conn: Connection, rows: list[AuditRow]) -> int:
    """Add the entries that are not there yet (same site, time, action, target and actor), in file
    order; returns how many were added."""
    if not rows:
        return 0
    a = audit_log
    there: set[tuple] = set()
    for site_id in {r.site_id for r in rows}:
        times = sorted({r.created for r in rows if r.site_id == site_id})
        for i in range(0, len(times), 500):
            query = select(a.c.site_id, a.c.created, a.c.action, a.c.target, a.c.actor).where(
                a.c.site_id == site_id, a.c.created.in_(times[i:i + 500]))
            there.update(tuple(r) for r in conn.execute(query))
    new = []
    for r in rows:
        if r.key() not in there:
            there.add(r.key())
            new.append({"site_id": r.site_id, "user_id": r.user_id, "actor": r.actor, "action": r.action,
                        "target": r.target, "reason": r.reason, "details": r.details, "created": r.created})
    if new:
        conn.execute(insert(a), new)
    return len(new)


def set_api_key_hash(conn: Connection, site_id: int, value: str) -> bool:
    """Give the site the CMS key of the export, unless it has one of its own."""
    result = conn.execute(update(sites).where(sites.c.id == site_id, sites.c.api_key_hash.is_(None))
                          .values(api_key_hash=value))
    return result.rowcount == 1

