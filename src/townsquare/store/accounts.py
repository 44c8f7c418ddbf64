"""Staff accounts: users and the sites they moderate, sign-in sessions, failed sign-ins (for
throttling) and moderator API keys. Session ids and API keys are stored as sha256 digests only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, insert, select, update

from townsquare.store.moderation import admin_sessions, api_keys, login_failures
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


# -- failed sign-ins ---------------------------------------------------------------------------------
def failures_since(conn: Connection, key: str, since: float) -> int:
    q = select(func.count()).select_from(login_failures).where(login_failures.c.key == key,
                                                               login_failures.c.created > since)
    return conn.execute(q).scalar_one()


def record_failures(conn: Connection, keys: tuple[str, ...], at: float) -> None:
    for key in keys:
        conn.execute(insert(login_failures).values(key=key, created=at))


def clear_failures(conn: Connection, key: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.key == key))


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
