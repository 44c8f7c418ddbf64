"""A site row with its effective settings (`settings_obj`), as the core passes sites around."""

from __future__ import annotations

from typing import Any

from townsquare.config import Settings, site_settings
from townsquare.errors import NotFound
from townsquare.store import queries as q
from townsquare.store.db import Connection, Engine, reading


def by_name(conn: Connection, settings: Settings, name: str) -> dict[str, Any]:
    site = q.site_by_name(conn, name)
    if site is None:
        raise NotFound(f"There is no site named '{name}'.", field="site")
    site["settings_obj"] = site_settings(settings.site_defaults, site["settings"])
    return site


def by_id(conn: Connection, settings: Settings, site_id: int) -> dict[str, Any]:
    site = q.site_by_id(conn, site_id)
    if site is None:
        raise NotFound(f"There is no site {site_id}.")
    site["settings_obj"] = site_settings(settings.site_defaults, site["settings"])
    return site


def named(engine: Engine, settings: Settings, name: str) -> dict[str, Any]:
    """`by_name` in a read of its own."""
    with reading(engine) as conn:
        return by_name(conn, settings, name)
