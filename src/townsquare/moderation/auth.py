"""Who is moderating: sign-in with lockouts, server-side sessions, and API keys.

Accounts themselves (argon2 password hashes, roles) are `townsquare.accounts`. An `admin`
moderates every site; a `moderator` the sites listed for them in `user_sites`.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher

from townsquare.accounts import verify_password
from townsquare.errors import Forbidden, NotFound, TooMany
from townsquare.moderation import audit
from townsquare.store import accounts as stored
from townsquare.store.db import Connection, Engine, now, reading, writing

SESSION_SECONDS = 12 * 3600
# Sign-in attempts are counted per (e-mail, client address). After FAILURES_BEFORE_LOCK failures
# the pair waits LOCK_SECONDS before another password is checked, twice as long after each
# further failure, up to LOCK_MAX_SECONDS. Other addresses (the owner at the office) are not
# locked out by someone guessing from elsewhere.
FAILURES_BEFORE_LOCK = 5
LOCK_SECONDS = 15.0
LOCK_MAX_SECONDS = 3600.0
# A pair with no attempt for this long starts counting again from zero.
FORGET_AFTER = 24 * 3600.0
API_KEY_PREFIX = "tsm_"
# How stale a key's `last_used` may get before a read request writes it: reads stay off the
# SQLite writer lock, and the time stays right to the minute.
LAST_USED_PRECISION = 60

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


def _actor(conn: Connection, user_id: int) -> Actor | None:
    found = stored.account(conn, user_id)
    return Actor(found.user_id, found.email, found.role, found.site_ids) if found else None


# -- sign-in ------------------------------------------------------------------------------------
def sign_in(engine: Engine, email: str, password: str, address_hash: str) -> tuple[Actor, str] | None:
    """Check the password and open a session; returns the actor and the session token, or None
    for a wrong e-mail or password.

    The attempt is counted before the password is checked, in one statement, so however many
    attempts arrive at once, a (e-mail, address) pair gets no more password checks than its
    allowance; a locked pair is refused (TooMany, with the seconds to wait) before the password
    is even checked. The password is checked between two short transactions: argon2 is slow on
    purpose, and no writer should wait for it."""
    email = email.strip().lower()
    at = now()
    with writing(engine) as conn:
        attempts = stored.count_attempt(conn, email, address_hash, at=at, forget_before=at - FORGET_AFTER)
        if attempts is None:
            wait = stored.locked_until(conn, email, address_hash) - at
        elif attempts >= FAILURES_BEFORE_LOCK:
            # Locked now, in case this password is wrong too; a right one lifts it below.
            stored.lock(conn, email, address_hash, at + lock_seconds(attempts))
        user = stored.credentials(conn, email) if attempts is not None else None
    if attempts is None:
        raise TooMany(f"Too many failed sign-ins; try again in {_spoken(wait)}.", retry_after=max(1, math.ceil(wait)))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    with writing(engine) as conn:
        if not ok:
            if user is not None and attempts >= FAILURES_BEFORE_LOCK:
                _record_lockout(conn, user.user_id, email, address_hash, attempts)
            return None
        stored.clear_attempts(conn, email, address_hash)
        token = secrets.token_urlsafe(32)
        at = now()
        stored.open_session(conn, _digest(token), user.user_id, at, at + SESSION_SECONDS)
        found = _actor(conn, user.user_id)
    return (found, token) if found else None


def lock_seconds(failures: int) -> float:
    """How long a pair waits after this many failures (FAILURES_BEFORE_LOCK or more)."""
    return min(LOCK_SECONDS * 2 ** min(failures - FAILURES_BEFORE_LOCK, 32), LOCK_MAX_SECONDS)


def _spoken(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def _record_lockout(conn: Connection, user_id: int, email: str, address_hash: str, failures: int) -> None:
    """In the audit log of every site the account moderates: its moderators (and admins) see
    that someone is guessing, from which (hashed) address."""
    account = stored.account(conn, user_id)
    details = {"address": address_hash, "failures": failures, "locked_seconds": lock_seconds(failures)}
    for site_id in sorted(account.site_ids if account else ()):
        audit.record(conn, site_id=site_id, user_id=user_id, actor=email, action="sign_in_lockout",
                     target=f"user:{user_id}", reason="wrong passwords", details=details)


def session_actor(engine: Engine, token: str) -> Actor | None:
    with reading(engine) as conn:
        user_id = stored.session_user(conn, _digest(token), now())
        return _actor(conn, user_id) if user_id is not None else None


def email_actor(engine: Engine, email: str) -> Actor | None:
    """The account of an e-mail address as an actor (for the command line's moderator actions)."""
    with reading(engine) as conn:
        user_id = stored.user_id(conn, email.strip().lower())
        return _actor(conn, user_id) if user_id is not None else None


def site_names(engine: Engine, actor: Actor) -> dict[int, str]:
    """Id to name of the sites the actor moderates."""
    with reading(engine) as conn:
        return stored.site_names(conn, actor.site_ids)


def sign_out(engine: Engine, token: str) -> None:
    with writing(engine) as conn:
        stored.close_session(conn, _digest(token))


# -- API keys ----------------------------------------------------------------------------------------
def create_api_key(conn: Connection, user_id: int, name: str = "") -> str:
    """A new key for the moderator JSON API; only its hash is stored, so it is shown once."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    stored.insert_api_key(conn, user_id, _digest(key), name, now())
    return key


def new_api_key(engine: Engine, email: str, name: str = "") -> str:
    """`create_api_key` for the account with this e-mail address, in a transaction of its own."""
    with writing(engine) as conn:
        user_id = stored.user_id(conn, email.strip().lower())
        if user_id is None:
            raise NotFound(f"There is no account {email}.")
        return create_api_key(conn, user_id, name)


def api_key_actor(conn: Connection, key: str) -> Actor | None:
    """The key's owner, within the caller's write transaction (which records the key's use)."""
    found = stored.api_key(conn, _digest(key))
    if found is None:
        return None
    stored.touch_api_key(conn, found.id, now())
    return _actor(conn, found.user_id)


def key_actor(engine: Engine, key: str) -> Actor | None:
    """The key's owner, in a short read; the key's use is written only when `last_used` is more
    than a minute old, so most requests take no write lock at all."""
    with reading(engine) as conn:
        found = stored.api_key(conn, _digest(key))
        owner = _actor(conn, found.user_id) if found else None
    at = now()
    if found is not None and (found.last_used is None or at - found.last_used > LAST_USED_PRECISION):
        with writing(engine) as conn:
            stored.touch_api_key(conn, found.id, at)
    return owner
