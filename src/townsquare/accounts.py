"""Admin and moderator accounts: argon2 password hashes, roles, the sites a moderator covers."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from townsquare.domain.validate import EMAIL
from townsquare.store import accounts as stored
from townsquare.store.db import Engine, now, reading, writing

ROLES = ("admin", "moderator")
_hasher = PasswordHasher()


def create_user(engine: Engine, *, email: str, password: str, name: str = "", role: str = "admin",
                site_names: tuple[str, ...] = ()) -> int:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise ValueError(f"'{email}' is not an e-mail address.")
    if role not in ROLES:
        raise ValueError(f"The role must be one of {', '.join(ROLES)}.")
    if len(password) < 10:
        raise ValueError("The password must be at least 10 characters long.")
    with reading(engine) as conn:
        _check_new(conn, email, site_names)
    # Hashing takes a good part of a second on purpose: never inside the write transaction.
    password_hash = _hasher.hash(password)
    with writing(engine) as conn:
        ids = _check_new(conn, email, site_names)  # again: someone may have been quicker
        return stored.insert_user(conn, email=email, name=name or email, role=role, password_hash=password_hash,
                                  created=now(), site_ids=ids)


def set_password(engine: Engine, *, email: str, password: str) -> None:
    """Give an existing account a new password."""
    email = email.strip().lower()
    if len(password) < 10:
        raise ValueError("The password must be at least 10 characters long.")
    password_hash = _hasher.hash(password)  # slow on purpose: before the transaction
    with writing(engine) as conn:
        found = stored.user_id(conn, email)
        if found is None:
            raise ValueError(f"There is no account for {email}.")
        stored.set_password_hash(conn, found, password_hash)


def _check_new(conn, email: str, site_names: tuple[str, ...]) -> tuple[int, ...]:
    """The ids of the named sites, for a new account with this address."""
    if stored.user_id(conn, email) is not None:
        raise ValueError(f"An account for {email} exists already.")
    found = stored.site_ids(conn, tuple(site_names))
    for name in site_names:
        if name not in found:
            raise ValueError(f"There is no site named '{name}'.")
    return tuple(found[name] for name in site_names)


def verify_password(password_hash: str, password: str) -> bool:
    """Slow on purpose (argon2): call it with no transaction open."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
