"""Admin and moderator accounts: argon2 password hashes, roles, the sites a moderator covers."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Engine, insert, select

from townsquare.domain.validate import EMAIL
from townsquare.store.db import now
from townsquare.store.tables import sites, user_sites, users

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
    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.email == email)).first():
            raise ValueError(f"An account for {email} exists already.")
        site_ids = []
        for s in site_names:
            sid = conn.execute(select(sites.c.id).where(sites.c.name == s)).scalar()
            if sid is None:
                raise ValueError(f"There is no site named '{s}'.")
            site_ids.append(sid)
        uid = conn.execute(insert(users).values(email=email, name=name or email, role=role,
                                                password_hash=_hasher.hash(password), created=now())).inserted_primary_key[0]
        for sid in site_ids:
            conn.execute(insert(user_sites).values(user_id=uid, site_id=sid))
    return uid


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False
