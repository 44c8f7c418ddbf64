"""Verified readers: their identities per site, their sessions (kept as token hashes only), and
the e-mail sign-in links already used."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, and_, or_, select, tuple_, update

from townsquare.store.dialect import upsert
from townsquare.store.tables import comments, identities, reader_sessions, sign_in_links_used, threads


FORGET_AFTER = 30 * 86400  # seconds an expired session is kept (the reader's export lists it)


@dataclass(frozen=True)
class Identity:
    id: int
    site_id: int
    kind: str  # sso | email
    subject: str  # the publisher's user id, or the keyed hash of an e-mail address
    name: str
    badges: tuple[str, ...]
    created: float


@dataclass(frozen=True)
class Session:
    """A live session and whose it is."""

    id: str  # sha256 of the token
    identity: Identity
    created: float
    expires: float


def _identity(row) -> Identity:
    return Identity(row.id, row.site_id, row.kind, row.subject, row.name, tuple(orjson.loads(row.badges or "[]")),
                    row.created)


def save_identity(conn: Connection, *, site_id: int, kind: str, subject: str, name: str, badges: tuple[str, ...],
                  at: float) -> Identity:
    """The identity of (site, kind, subject), created or brought up to date with the name and
    badges the sign-in just vouched for."""
    values = {"name": name, "badges": orjson.dumps(list(badges)).decode()}
    conn.execute(upsert(conn, identities).values(site_id=site_id, kind=kind, subject=subject, created=at, **values)
                 .on_conflict_do_update(index_elements=["site_id", "kind", "subject"], set_=values))
    row = conn.execute(select(identities).where(identities.c.site_id == site_id, identities.c.kind == kind,
                                                identities.c.subject == subject)).one()
    return _identity(row)


def identity(conn: Connection, identity_id: int) -> Identity | None:
    row = conn.execute(select(identities).where(identities.c.id == identity_id)).first()
    return _identity(row) if row else None


def find_identity(conn: Connection, *, site_id: int, kind: str, subject: str) -> Identity | None:
    row = conn.execute(select(identities).where(identities.c.site_id == site_id, identities.c.kind == kind,
                                                identities.c.subject == subject)).first()
    return _identity(row) if row else None


def add_session(conn: Connection, *, token_hash: str, identity_id: int, created: float, expires: float) -> None:
    """Start a session; the identity's sessions ended long ago go (a reader's list stays short)."""
    conn.execute(reader_sessions.delete().where(reader_sessions.c.identity_id == identity_id,
                                                reader_sessions.c.expires < created - FORGET_AFTER))
    conn.execute(reader_sessions.insert().values(id=token_hash, identity_id=identity_id, created=created,
                                                 expires=expires))


def live_session(conn: Connection, token_hash: str, at: float) -> Session | None:
    """The session with this token hash, unless it has expired or was revoked."""
    row = conn.execute(
        select(reader_sessions.c.id.label("session_id"), reader_sessions.c.created.label("session_created"),
               reader_sessions.c.expires, *identities.c)
        .join(identities, identities.c.id == reader_sessions.c.identity_id)
        .where(reader_sessions.c.id == token_hash, reader_sessions.c.revoked.is_(None),
               reader_sessions.c.expires > at)
    ).first()
    if row is None:
        return None
    found = _identity(row)
    return Session(row.session_id, found, row.session_created, row.expires)


def revoke(conn: Connection, token_hash: str, at: float) -> None:
    conn.execute(update(reader_sessions).where(reader_sessions.c.id == token_hash, reader_sessions.c.revoked.is_(None))
                 .values(revoked=at))


def revoke_all(conn: Connection, identity_id: int, at: float) -> int:
    """Revoke every session of an identity (sign out everywhere); answers how many were live."""
    return conn.execute(update(reader_sessions).where(
        reader_sessions.c.identity_id == identity_id, reader_sessions.c.revoked.is_(None),
        reader_sessions.c.expires > at).values(revoked=at)).rowcount


@dataclass(frozen=True)
class SessionRecord:
    created: float
    expires: float
    revoked: float | None


def sessions_of(conn: Connection, identity_id: int) -> list[SessionRecord]:
    """An identity's sessions (without their token hashes), for the reader's own data export."""
    return [SessionRecord(*r) for r in conn.execute(
        select(reader_sessions.c.created, reader_sessions.c.expires, reader_sessions.c.revoked)
        .where(reader_sessions.c.identity_id == identity_id).order_by(reader_sessions.c.created))]


def delete_identity(conn: Connection, identity_id: int) -> None:
    """Forget an identity and its sessions (its comments keep their place, without it)."""
    conn.execute(identities.delete().where(identities.c.id == identity_id))


def use_link(conn: Connection, nonce_hash: str, *, at: float, expires: float) -> bool:
    """Mark a sign-in link used; False if it already was. Rows of links past their expiry are
    dropped on the way, as they can no longer be redeemed anyway."""
    conn.execute(sign_in_links_used.delete().where(sign_in_links_used.c.expires < at))
    added = conn.execute(upsert(conn, sign_in_links_used).values(id=nonce_hash, used=at, expires=expires)
                         .on_conflict_do_nothing().returning(sign_in_links_used.c.id)).first()
    return added is not None


def identity_ids_by_subject(conn: Connection, kind: str, subject: str, site_id: int | None) -> list[int]:
    """The identities of this kind and subject (on one site, or on all)."""
    where = and_(identities.c.kind == kind, identities.c.subject == subject)
    if site_id is not None:
        where = and_(where, identities.c.site_id == site_id)
    return [r[0] for r in conn.execute(select(identities.c.id).where(where))]


# -- a reader's own comments (their profile page) -----------------------------------------------------
@dataclass(frozen=True)
class OwnComment:
    id: int
    text: str
    status: str
    created: float
    thread_uri: str
    thread_title: str
    thread_url: str


def own_comments(conn: Connection, site_id: int, identity_id: int | None, comment_ids: tuple[int, ...],
                 limit: int, before: tuple[float, int] | None) -> list[OwnComment]:
    """The site's comments posted by this identity or among these ids (the ones a guest's edit
    tokens prove), deleted ones left out: newest first, a keyset page before `before`
    (created, id)."""
    mine = []
    if identity_id is not None:
        mine.append(comments.c.identity_id == identity_id)
    if comment_ids:
        mine.append(comments.c.id.in_(comment_ids))
    if not mine:
        return []
    query = (select(comments.c.id, comments.c.text, comments.c.status, comments.c.created, threads.c.uri,
                    threads.c.title, threads.c.url)
             .join(threads, threads.c.id == comments.c.thread_id)
             .where(or_(*mine), threads.c.site_id == site_id, comments.c.status != "deleted"))
    if before is not None:
        query = query.where(tuple_(comments.c.created, comments.c.id) < tuple_(*before))
    query = query.order_by(comments.c.created.desc(), comments.c.id.desc()).limit(limit)
    return [OwnComment(*r) for r in conn.execute(query)]
