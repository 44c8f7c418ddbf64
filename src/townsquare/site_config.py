"""Changing a site's stored settings from the command line: merged over what the site has,
checked by the same model as `site add`, stored with an audit-log entry saying who changed what.

A key set to null drops the site's own value, so the instance default applies again.
"""

from __future__ import annotations

from typing import Any

from townsquare.config import ConfigError, SiteSettings, site_settings
from townsquare.errors import Invalid, NotFound
from townsquare.moderation import audit
from townsquare.store import site_settings as stored
from townsquare.store import sites as site_store
from townsquare.store.db import Engine, writing

ACTION = "site_settings"
# Settings that are secrets: never printed, audit-logged or exported in clear (except by
# `export --all`, which carries the instance's secrets for a restore).
SECRETS = frozenset({"sso_secret"})
HIDDEN = "(secret)"


def redacted(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings with each secret's value replaced by a marker, for showing."""
    return {k: (HIDDEN if k in SECRETS and v is not None else v) for k, v in settings.items()}


def without_secrets(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k not in SECRETS}


def merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` over `current`, nested tables key by key; a null value removes the key."""
    out = dict(current)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return {k: v for k, v in out.items() if v != {}}


def differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """What changed, by dotted key: {"moderation_rules.max_links": {"from": 2, "to": 0}}; None is
    the instance default."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) or isinstance(b, dict):
            out.update(differences(a or {}, b or {}, f"{prefix}{key}."))
        elif a != b:
            out[f"{prefix}{key}"] = {"from": a, "to": b}
    return out


def shown_differences(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`differences` with secrets' values hidden (a changed secret shows as changed, nothing more)."""
    return differences(redacted(old), redacted(new)) | {
        key: {"from": HIDDEN if old.get(key) is not None else None, "to": HIDDEN if new.get(key) is not None else None}
        for key in SECRETS if old.get(key) != new.get(key) and old.get(key) is not None and new.get(key) is not None}


def check(defaults: SiteSettings, settings: dict[str, Any]) -> SiteSettings:
    """The effective settings of a site storing `settings`; Invalid naming the key if they are not valid."""
    try:
        return site_settings(defaults, settings)
    except ConfigError as e:
        raise Invalid(str(e)) from None


def change(engine: Engine, defaults: SiteSettings, name: str, changes: dict[str, Any], *,
           actor: str) -> dict[str, dict[str, Any]]:
    """Store `changes` over the site's settings; returns what changed (nothing is stored if invalid)."""
    if not isinstance(changes, dict):
        raise Invalid("The settings must be a JSON object.")
    with writing(engine) as conn:
        site_id = stored.lock(conn, name)
        if site_id is None:
            raise NotFound(f"There is no site named '{name}'.", field="site")
        site = site_store.by_id(conn, site_id)
        assert site is not None
        new = merged(site.settings, changes)
        check(defaults, new)
        changed = shown_differences(site.settings, new)
        if changed:
            site_store.update_site(conn, site_id, settings=new)
            audit.record(conn, site_id=site_id, user_id=None, actor=actor, action=ACTION,
                         target=f"site:{site_id}", details=changed)
        return changed
