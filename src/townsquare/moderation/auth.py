"""Who is moderating: sign-in with throttling, server-side sessions, and API keys.

Accounts themselves (argon2 password hashes, roles) are `townsquare.accounts`. An `admin`
moderates every site; a `moderator` the sites listed for them in `user_sites`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import Connection, delete, func, insert, select, update

from townsquare.accounts import verify_password
from townsquare.errors import Forbidden, TooMany
from townsquare.store.db import now
from townsquare.store.moderation import admin_sessions, api_keys, login_failures
from townsquare.store.tables import sites, user_sites, users

SESSION_SECONDS = 12 * 3600
THROTTLE_WINDOW = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20
API_KEY_PREFIX = "tsm_"

# Verified against when the e-mail is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = PasswordHasher().hash(secrets.token_hex(16))


@dataclass(frozen=True)
class Actor:
    """A signed-in moderator (or the owner of an API key)."""

    user_id: int
    email: str
    role: str
    site_ids: frozenset[int]  # the sites they moderate (every site for an admin)

    def can(self, site_id: int) -> bool:
        return site_id in self.site_ids

    def require(self, site_id: int) -> None:
        if not self.can(site_id):
            raise Forbidden("You do not moderate this site.")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor(conn: Connection, user_id: int) -> Actor | None:
    user = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
    if user is None:
        return None
    if user["role"] == "admin":
        ids = conn.execute(select(sites.c.id)).scalars()
    else:
        ids = conn.execute(select(user_sites.c.site_id).where(user_sites.c.user_id == user_id)).scalars()
    return Actor(user["id"], user["email"], user["role"], frozenset(ids))


# -- sign-in ------------------------------------------------------------------------------------
def _recent_failures(conn: Connection, key: str, since: float) -> int:
    q = select(func.count()).select_from(login_failures).where(login_failures.c.key == key, login_failures.c.created > since)
    return conn.execute(q).scalar_one()


def sign_in(conn: Connection, email: str, password: str, address_hash: str) -> tuple[Actor, str] | None:
    """Check the password and open a session; returns the actor and the session token, or None
    for a wrong e-mail or password (the failure is recorded: let the transaction commit).

    Failures are throttled per e-mail and per (hashed) client address; a throttled attempt is
    refused before the password is even checked."""
    email = email.strip().lower()
    at = now()
    keys = (f"email:{email}", f"ip:{address_hash}")
    since = at - THROTTLE_WINDOW
    if (_recent_failures(conn, keys[0], since) >= MAX_FAILURES_PER_EMAIL
            or _recent_failures(conn, keys[1], since) >= MAX_FAILURES_PER_ADDRESS):
        raise TooMany("Too many failed sign-ins; try again in 15 minutes.", retry_after=THROTTLE_WINDOW)
    user = conn.execute(select(users.c.id, users.c.password_hash).where(users.c.email == email)).first()
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    if not ok:
        for key in keys:
            conn.execute(insert(login_failures).values(key=key, created=at))
        return None
    conn.execute(delete(login_failures).where(login_failures.c.key == keys[0]))
    conn.execute(delete(admin_sessions).where(admin_sessions.c.expires < at))
    token = secrets.token_urlsafe(32)
    conn.execute(insert(admin_sessions).values(id=_digest(token), user_id=user.id, created=at, expires=at + SESSION_SECONDS))
    return actor(conn, user.id), token


def session_actor(conn: Connection, token: str) -> Actor | None:
    row = conn.execute(
        select(admin_sessions.c.user_id).where(admin_sessions.c.id == _digest(token), admin_sessions.c.expires > now())
    ).first()
    return actor(conn, row.user_id) if row else None


def sign_out(conn: Connection, token: str) -> None:
    conn.execute(delete(admin_sessions).where(admin_sessions.c.id == _digest(token)))


# -- API keys ----------------------------------------------------------------------------------------
def create_api_key(conn: Connection, user_id: int, name: str = "") -> str:
    """A new key for the moderator JSON API; only its hash is stored, so it is shown once."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(insert(api_keys).values(user_id=user_id, key_hash=_digest(key), name=name, created=now()))
    return key


def api_key_actor(conn: Connection, key: str) -> Actor | None:
    row = conn.execute(select(api_keys.c.id, api_keys.c.user_id).where(api_keys.c.key_hash == _digest(key))).first()
    if row is None:
        return None
    conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used=now()))
    return actor(conn, row.user_id)
