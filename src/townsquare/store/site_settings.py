"""Changing a site's stored settings safely: the row is locked first (on PostgreSQL; SQLite's
write transaction already excludes other writers), so a concurrent change to another setting is
not overwritten by a read-modify-write."""

from __future__ import annotations

from sqlalchemy import Connection, select

from townsquare.store.tables import sites


def lock(conn: Connection, name: str) -> int | None:
    """Lock the named site's row for the rest of the transaction; its id, or None if there is none."""
    return conn.execute(select(sites.c.id).where(sites.c.name == name).with_for_update()).scalar()
