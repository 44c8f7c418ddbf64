"""Reads of an export: every site, thread, comment and vote, as stored, streamed thread by thread;
for `export --all` also accounts, subscriptions, bans, trusted authors, webhooks and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, select

from townsquare.store import sites as site_store
from townsquare.store import threads as thread_store
from townsquare.store.alerts import alert_subscriptions, alert_webhook_secrets, alert_webhooks
from townsquare.store.audit import Entry
from townsquare.store.bans import Ban
from townsquare.store.comments import COLUMNS, Comment
from townsquare.store.moderation import audit_log, bans, trusted_authors
from townsquare.store.sites import Site
from townsquare.store.subscriptions import Subscription
from townsquare.store.tables import comments, meta, sites, threads, user_sites, users, votes
from townsquare.store.threads import Thread


@dataclass(frozen=True)
class ExportVote:
    comment_id: int
    voter: str
    value: int
    created: float


def export_sites(conn: Connection, name: str | None = None) -> list[Site]:
    """Every site by name, or the one named (none if there is no such site)."""
    if name is None:
        return site_store.every(conn)
    found = site_store.by_name(conn, name)
    return [found] if found else []


def site_threads(conn: Connection, site_id: int, *, order_by_uri: bool = False) -> Iterator[Thread]:
    order = threads.c.uri if order_by_uri else threads.c.id
    for r in conn.execute(select(threads).where(threads.c.site_id == site_id).order_by(order)).mappings():
        yield thread_store.from_row(r)


def thread_comments(conn: Connection, thread_id: int) -> list[Comment]:
    return [Comment(*r) for r in conn.execute(select(*COLUMNS).where(comments.c.thread_id == thread_id))]


def thread_votes(conn: Connection, thread_id: int) -> Iterator[ExportVote]:
    """The votes on a thread's comments, by voter."""
    query = (select(votes).join(comments, comments.c.id == votes.c.comment_id)
             .where(comments.c.thread_id == thread_id).order_by(votes.c.voter))
    for v in conn.execute(query).mappings():
        yield ExportVote(comment_id=v["comment_id"], voter=v["voter"], value=v["value"], created=v["created"])


def site_comments(conn: Connection, site_id: int) -> Iterator[Comment]:
    """Every comment of the site in id order, streamed: a large site is never held in memory."""
    query = (select(*COLUMNS).join(threads, threads.c.id == comments.c.thread_id)
             .where(threads.c.site_id == site_id).order_by(comments.c.id))
    for r in conn.execution_options(stream_results=True, yield_per=1000).execute(query):
        yield Comment(*r)


# -- what `export --all` adds: the instance secret, accounts, and each site's alerts and moderation --
@dataclass(frozen=True)
class ExportAccount:
    id: int
    email: str
    name: str
    role: str
    password_hash: str  # argon2
    created: float
    sites: tuple[str, ...]  # the sites a moderator moderates, by name


@dataclass(frozen=True)
class ExportTrust:
    kind: str  # "ip" or "identity" ("email": from before, not honoured)
    author_key: str
    created: float
    created_by: int | None


@dataclass(frozen=True)
class ExportSecret:
    secret: str
    created: float
    expires: float | None


@dataclass(frozen=True)
class ExportWebhook:
    id: int
    url: str
    active: bool
    created: float
    secrets: tuple[ExportSecret, ...]


def stored_secret(conn: Connection) -> str | None:
    """The instance secret kept in the database, if one was created (never creates one)."""
    return conn.execute(select(meta.c.value).where(meta.c.key == "secret")).scalar()


def accounts(conn: Connection) -> list[ExportAccount]:
    names: dict[int, list[str]] = {}
    for user_id, name in conn.execute(select(user_sites.c.user_id, sites.c.name)
                                      .join(sites, sites.c.id == user_sites.c.site_id).order_by(sites.c.name)):
        names.setdefault(user_id, []).append(name)
    return [ExportAccount(id=r.id, email=r.email, name=r.name, role=r.role, password_hash=r.password_hash,
                          created=r.created, sites=tuple(names.get(r.id, ())))
            for r in conn.execute(select(users).order_by(users.c.email))]


def subscriptions(conn: Connection, site_id: int) -> list[Subscription]:
    """The site's alert subscriptions, in an order that does not depend on ids."""
    s = alert_subscriptions
    query = select(s).where(s.c.site_id == site_id).order_by(s.c.kind, s.c.channel, s.c.target, s.c.scope)
    return [Subscription(**r) for r in conn.execute(query).mappings()]


def site_bans(conn: Connection, site_id: int) -> list[Ban]:
    query = select(bans).where(bans.c.site_id == site_id).order_by(bans.c.created, bans.c.kind, bans.c.value, bans.c.id)
    return [Ban(**r) for r in conn.execute(query).mappings()]


def site_trusted(conn: Connection, site_id: int) -> list[ExportTrust]:
    t = trusted_authors
    query = select(t.c.kind, t.c.author_key, t.c.created, t.c.created_by).where(t.c.site_id == site_id).order_by(t.c.author_key)
    return [ExportTrust(*r) for r in conn.execute(query)]


def site_webhooks(conn: Connection, site_id: int) -> list[ExportWebhook]:
    w, k = alert_webhooks, alert_webhook_secrets
    found = list(conn.execute(select(w).where(w.c.site_id == site_id).order_by(w.c.created, w.c.url, w.c.id)))
    secrets: dict[int, list[ExportSecret]] = {}
    if found:
        query = (select(k).where(k.c.webhook_id.in_([r.id for r in found])).order_by(k.c.created, k.c.secret))
        for r in conn.execute(query):
            secrets.setdefault(r.webhook_id, []).append(ExportSecret(r.secret, r.created, r.expires))
    return [ExportWebhook(id=r.id, url=r.url, active=bool(r.active), created=r.created,
                          secrets=tuple(secrets.get(r.id, ()))) for r in found]


def site_audit(conn: Connection, site_id: int) -> Iterator[Entry]:
    """The site's audit log, oldest first, streamed."""
    query = select(audit_log).where(audit_log.c.site_id == site_id).order_by(audit_log.c.created, audit_log.c.id)
    for row in conn.execution_options(stream_results=True, yield_per=1000).execute(query).mappings():
        yield Entry(**{**row, "details": orjson.loads(row["details"])})


def referenced_comments(conn: Connection, site_id: int) -> set[int]:
    """Ids of the comments the site's audit log and reply subscriptions name ("comment:12")."""
    found = set()
    for (value,) in conn.execute(select(audit_log.c.target).where(audit_log.c.site_id == site_id,
                                                                   audit_log.c.target.like("comment:%"))):
        found.add(value)
    s = alert_subscriptions
    for (value,) in conn.execute(select(s.c.scope).where(s.c.site_id == site_id, s.c.scope.like("comment:%"))):
        found.add(value)
    return {int(v.split(":", 1)[1]) for v in found if v.split(":", 1)[1].isdigit()}


def thread_uris(conn: Connection, site_id: int) -> dict[int, str]:
    return dict(conn.execute(select(threads.c.id, threads.c.uri).where(threads.c.site_id == site_id)).all())
