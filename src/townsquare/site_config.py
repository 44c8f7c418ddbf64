"""Changing a site's stored settings from the command line: merged over what the site has,
checked by the same model as `site add`, stored with an audit-log entry saying who changed what.

A key set to null drops the site's own value, so the instance default applies again.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from townsquare import sites
from townsquare.config import ConfigError, Settings, SiteSettings, site_settings
from townsquare.errors import Invalid, NotFound
from townsquare.moderation import audit
from townsquare.store import site_settings as stored
from townsquare.store import sites as site_store
from townsquare.store.db import Engine, reading, writing

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


# -- the admin's settings form ------------------------------------------------------------------------
# The site's plain settings, as the admin form shows them; word lists have their own page, and
# secrets and the moderation checks' tables stay with `site set`.
FORM_FIELDS = ("moderation", "require_identity", "email_sign_in", "staff_skip_moderation", "require_email",
               "tell_authors_why", "erasure", "edit_window", "min_length", "max_length", "max_name_length",
               "posts_per_minute", "votes_per_minute", "reports_to_hold")


def form_fields() -> list[dict[str, Any]]:
    """Each form field's name, kind (choice, flag, number), choices and help, from the settings model."""
    out = []
    for name in FORM_FIELDS:
        info = SiteSettings.model_fields[name]
        choices = get_args(info.annotation) if get_origin(info.annotation) is Literal else ()
        kind = "choice" if choices else "flag" if info.annotation is bool else "number"
        out.append({"name": name, "kind": kind, "choices": choices, "help": info.description or ""})
    return out


def field_errors(defaults: SiteSettings, settings: dict[str, Any]) -> dict[str, str]:
    """What the settings model says is wrong with a site storing `settings`, by top-level key."""
    try:
        SiteSettings.model_validate({**defaults.model_dump(), **settings})
    except ValidationError as e:
        errors: dict[str, str] = {}
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            errors.setdefault(key, err["msg"])
        return errors
    return {}


def from_form(defaults: SiteSettings, stored_settings: dict[str, Any], form: dict[str, str | None]) -> tuple[
        dict[str, Any], dict[str, str]]:
    """The changes a submitted form makes (only the fields whose value differs from the one in force,
    so a site keeps following the instance default for the others) and the errors by field."""
    in_force = check(defaults, stored_settings)
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in form_fields():
        name, raw = field["name"], form.get(field["name"])
        if raw is None and field["kind"] != "flag":  # not sent: left as it is
            continue
        if field["kind"] == "flag":  # an unticked box is not sent
            value: Any = raw is not None
        elif field["kind"] == "number":
            try:
                value = int(raw.strip())
            except ValueError:
                errors[name] = "Type a whole number."
                continue
        else:
            value = raw
        if value != getattr(in_force, name):
            changes[name] = value
    # The model's word on the values that parsed, so every wrong field is named at once.
    return changes, field_errors(defaults, merged(stored_settings, changes)) | errors


FLAGS = frozenset(f for f in FORM_FIELDS if SiteSettings.model_fields[f].annotation is bool)


def in_force(engine: Engine, settings: Settings, name: str) -> dict[str, Any]:
    """The form's fields as in force on the site (its own values over the instance defaults)."""
    with reading(engine) as conn:
        site = sites.by_name(conn, settings, name)
    return {f: getattr(site.rules, f) for f in FORM_FIELDS}


def save_form(engine: Engine, defaults: SiteSettings, name: str, form: dict[str, str | None], *,
              actor: str) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Store what a submitted form changes (audit-logged, by `change`); returns what changed, or the
    errors by field with nothing stored."""
    with reading(engine) as conn:
        site = site_store.by_name(conn, name)
    if site is None:
        raise NotFound(f"There is no site named '{name}'.", field="site")
    changes, errors = from_form(defaults, site.settings, form)
    if errors:
        return {}, errors
    try:
        return change(engine, defaults, name, changes, actor=actor), {}
    except Invalid as e:  # the settings changed in between and no longer validate together
        return {}, {"": e.detail}
