"""A site with the rules in force for it: its stored settings over the instance's defaults.

This is how the parts pass a site around (`site.id`, `site.name`, `site.rules.edit_window`).
"""

from __future__ import annotations

from dataclasses import dataclass

from townsquare.config import Settings, SiteSettings, site_settings
from townsquare.errors import NotFound
from townsquare.store import sites as site_store
from townsquare.store.db import Connection, Engine, reading
from townsquare.store.sites import Site


@dataclass(frozen=True)
class Publication:
    site: Site
    rules: SiteSettings

    @property
    def id(self) -> int:
        return self.site.id

    @property
    def name(self) -> str:
        return self.site.name

    @property
    def title(self) -> str:
        return self.site.title

    @property
    def origins(self) -> tuple[str, ...]:
        return self.site.origins


def with_rules(settings: Settings, site: Site) -> Publication:
    return Publication(site, site_settings(settings.site_defaults, site.settings))


def by_name(conn: Connection, settings: Settings, name: str) -> Publication:
    site = site_store.by_name(conn, name)
    if site is None:
        raise NotFound(f"There is no site named '{name}'.", field="site")
    return with_rules(settings, site)


def by_id(conn: Connection, settings: Settings, site_id: int) -> Publication:
    site = site_store.by_id(conn, site_id)
    if site is None:
        raise NotFound(f"There is no site {site_id}.")
    return with_rules(settings, site)


def named(engine: Engine, settings: Settings, name: str) -> Publication:
    """`by_name` in a read of its own."""
    with reading(engine) as conn:
        return by_name(conn, settings, name)
