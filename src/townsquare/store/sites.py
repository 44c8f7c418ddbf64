"""Sites and instance-wide values: one row per publication this installation serves."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update

from townsquare.store.db import now
from townsquare.store.dialect import upsert
from townsquare.store.tables import meta, sites


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    name: str
    title: str
    origins: tuple[str, ...]
    # The site's own settings over the instance defaults, as stored (see config.SiteSettings).
    settings: dict[str, Any]
    api_key_hash: str | None
    created: float


def instance_secret(conn: Connection) -> str:
    """The installation's signing secret, created once and shared by every process."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == "secret")).scalar()
    if value is None:
        conn.execute(upsert(conn, meta).values(key="secret", value=secrets.token_urlsafe(48)).on_conflict_do_nothing())
        value = conn.execute(select(meta.c.value).where(meta.c.key == "secret")).scalar_one()
    return value


_BY_NAME = select(sites).where(sites.c.name == bindparam("name"))


def by_name(conn: Connection, name: str) -> Site | None:
    row = conn.execute(_BY_NAME, {"name": name}).mappings().first()
    return _site(row) if row else None


def by_id(conn: Connection, site_id: int) -> Site | None:
    row = conn.execute(select(sites).where(sites.c.id == site_id)).mappings().first()
    return _site(row) if row else None


def every(conn: Connection) -> list[Site]:
    return [_site(r) for r in conn.execute(select(sites).order_by(sites.c.name)).mappings()]


def _site(row) -> Site:
    return Site(id=row["id"], name=row["name"], title=row["title"], origins=tuple(orjson.loads(row["origins"])),
                settings=orjson.loads(row["settings"]), api_key_hash=row["api_key_hash"], created=row["created"])


def create(conn: Connection, name: str, title: str, origins: list[str], settings: dict[str, Any],
           created: float | None = None) -> int:
    return conn.execute(
        insert(sites).values(
            name=name, title=title, origins=orjson.dumps(origins).decode(),
            settings=orjson.dumps(settings).decode(), created=now() if created is None else created,
        )
    ).inserted_primary_key[0]


def update_site(conn: Connection, site_id: int, *, title: str | None = None, origins: list[str] | None = None,
                settings: dict[str, Any] | None = None, api_key_hash: str | None = None) -> None:
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = title
    if origins is not None:
        values["origins"] = orjson.dumps(origins).decode()
    if settings is not None:
        values["settings"] = orjson.dumps(settings).decode()
    if api_key_hash is not None:
        values["api_key_hash"] = api_key_hash
    if values:
        conn.execute(update(sites).where(sites.c.id == site_id).values(**values))
