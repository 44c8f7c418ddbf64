"""Staff accounts: users and the sites they moderate, sign-in sessions, sign-in attempts per
(account, address) (for lockouts) and moderator API keys. Session ids and API keys are stored as sha256 digests only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, delete, insert, select, update

from townsquare.store.dialect import upsert
from townsquare.store.moderation import admin_sessions, api_keys, sign_in_failures
from townsquare.store.tables import sites, user_sites, users


@dataclass(frozen=True)
class Credentials:
    user_id: int
    password_hash: str


@dataclass(frozen=True)
class Account:
    user_id: int
    email: str
    role: str
    site_ids: frozenset[int]  # the sites they moderate (every site for an admin)


@dataclass(frozen=True)
class ApiKey:
    id: int
    user_id: int
    last_used: float | None


# -- users ---------------------------------------------------------------------------------------
def user_id(conn: Connection, email: str) -> int | None:
    return conn.execute(select(users.c.id).where(users.c.email == email)).scalar()


def credentials(conn: Connection, email: str) -> Credentials | None:
    row = conn.execute(select(users.c.id, users.c.password_hash).where(users.c.email == email)).first()
    return Credentials(row.id, row.password_hash) if row else None


def site_ids(conn: Connection, names: tuple[str, ...]) -> dict[str, int]:
    """The ids of the sites with these names (names without a site are left out)."""
    if not names:
        return {}
    return dict(conn.execute(select(sites.c.name, sites.c.id).where(sites.c.name.in_(names))).all())


def insert_user(conn: Connection, *, email: str, name: str, role: str, password_hash: str, created: float,
                site_ids: tuple[int, ...] = ()) -> int:
    uid = conn.execute(insert(users).values(email=email, name=name, role=role, password_hash=password_hash,
                                            created=created)).inserted_primary_key[0]
    for sid in site_ids:
        conn.execute(insert(user_sites).values(user_id=uid, site_id=sid))
    return uid


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def account(conn: Connection, user_id: int) -> Account | None:
    user = conn.execute(select(users.c.id, users.c.email, users.c.role).where(users.c.id == user_id)).first()
    if user is None:
        return None
    if user.role == "admin":
        ids = conn.execute(select(sites.c.id)).scalars()
    else:
        ids = conn.execute(select(user_sites.c.site_id).where(user_sites.c.user_id == user_id)).scalars()
    return Account(user.id, user.email, user.role, frozenset(ids))


def site_names(conn: Connection, site_ids: frozenset[int]) -> dict[int, str]:
    """Id to name of these sites (the ones a moderator covers)."""
    return dict(conn.execute(select(sites.c.id, sites.c.name).where(sites.c.id.in_(site_ids))).all())


# -- sign-in attempts ---------------------------------------------------------------------------------
def count_attempt(conn: Connection, account: str, address: str, *, at: float, forget_before: float) -> int | None:
    """Count one more attempt for the pair and return its attempts so far (this one included),
    or None when the pair is locked out (then nothing is counted).

    One statement, so concurrent attempts each get their own number: the database serialises
    them on the pair's row. A pair quiet since before `forget_before` starts again at 1."""
    t = sign_in_failures
    stmt = upsert(conn, t).values(account=account, address=address, failures=1, last_attempt=at, locked_until=0.0)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.account, t.c.address],
        set_={"failures": case((t.c.last_attempt < forget_before, 1), else_=t.c.failures + 1), "last_attempt": at},
        where=t.c.locked_until <= at,
    ).returning(t.c.failures)
    return conn.execute(stmt).scalar()


def lock(conn: Connection, account: str, address: str, until: float) -> None:
    conn.execute(update(sign_in_failures).values(locked_until=until)
                 .where(sign_in_failures.c.account == account, sign_in_failures.c.address == address))


def locked_until(conn: Connection, account: str, address: str) -> float:
    return conn.execute(select(sign_in_failures.c.locked_until).where(
        sign_in_failures.c.account == account, sign_in_failures.c.address == address)).scalar() or 0.0


def clear_attempts(conn: Connection, account: str, address: str) -> None:
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.account == account,
                                                sign_in_failures.c.address == address))


# -- sessions ----------------------------------------------------------------------------------------
def open_session(conn: Connection, session_id: str, user_id: int, at: float, expires: float) -> None:
    """Store a new session, dropping every expired one on the way."""
    conn.execute(delete(admin_sessions).where(admin_sessions.c.expires < at))
    conn.execute(insert(admin_sessions).values(id=session_id, user_id=user_id, created=at, expires=expires))


def session_user(conn: Connection, session_id: str, at: float) -> int | None:
    return conn.execute(
        select(admin_sessions.c.user_id).where(admin_sessions.c.id == session_id, admin_sessions.c.expires > at)
    ).scalar()


def close_session(conn: Connection, session_id: str) -> None:
    conn.execute(delete(admin_sessions).where(admin_sessions.c.id == session_id))


# -- API keys ------------------------------------------------------------------------------------------
def insert_api_key(conn: Connection, user_id: int, key_hash: str, name: str, created: float) -> int:
    return conn.execute(insert(api_keys).values(user_id=user_id, key_hash=key_hash, name=name,
                                                created=created)).inserted_primary_key[0]


def api_key(conn: Connection, key_hash: str) -> ApiKey | None:
    row = conn.execute(
        select(api_keys.c.id, api_keys.c.user_id, api_keys.c.last_used).where(api_keys.c.key_hash == key_hash)
    ).first()
    return ApiKey(row.id, row.user_id, row.last_used) if row else None


def touch_api_key(conn: Connection, key_id: int, at: float) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used=at))
