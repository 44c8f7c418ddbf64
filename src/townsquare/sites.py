"""A site with the rules in force for it: its stored settings over the instance's defaults.

This is how the parts pass a site around (`site.id`, `site.name`, `site.rules.edit_window`).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

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


# Validating a site's rules costs more than reading its row, and every request needs them: keep
# the result for each (instance defaults, stored settings) pair. A changed site has other stored
# settings, so it is validated afresh on its next request, in every process.
_RULES: dict[tuple[int, bytes], tuple[SiteSettings, SiteSettings]] = {}


def with_rules(settings: Settings, site: Site) -> Publication:
    return Publication(site, rules_of(settings, site.settings))


def rules_of(settings: Settings, stored: dict) -> SiteSettings:
    """The rules in force for a site storing `stored` (validated once per distinct value)."""
    defaults = settings.site_defaults
    key = (id(defaults), orjson.dumps(stored, option=orjson.OPT_SORT_KEYS))
    found = _RULES.get(key)
    if found is None or found[0] is not defaults:
        if len(_RULES) > 10_000:
            _RULES.clear()
        found = _RULES[key] = (defaults, site_settings(defaults, stored))
    return found[1]


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
