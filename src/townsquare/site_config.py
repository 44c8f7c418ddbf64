"""Changing a site's stored settings from the command line (`site set`) and from the admin's
settings form: merged over what the site has, checked by the same model as `site add`, stored
with an audit-log entry saying who changed what.

A key set to null drops the site's own value, so the instance default applies again.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from townsquare import sites
from townsquare.config import ConfigError, Settings, SiteSettings, site_settings
from townsquare.domain.validate import LINE_PATTERN, TEXT_PATTERN
from townsquare.errors import Invalid, NotFound
from townsquare.moderation import audit
from townsquare.moderation.settings import LABELS, SKIPPABLE, ModerationRules
from townsquare.store import site_settings as stored
from townsquare.store import sites as site_store
from townsquare.store.db import Engine, reading, writing

ACTION = "site_settings"
# Settings that are secrets: never printed, audit-logged or exported in clear (except by
# `export --all`, which carries the instance's secrets for a restore).
SECRETS = frozenset({"sso_secret"})
HIDDEN = "(secret)"
_LINE = re.compile(LINE_PATTERN)
_TEXT = re.compile(TEXT_PATTERN)


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
        elif isinstance(value, dict):  # key by key, so a null inside removes that key only
            out[key] = merged(out[key] if isinstance(out.get(key), dict) else {}, value)
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
# Every per-site setting, as the admin form shows it: the site's own and its moderation checks'
# (`moderation_rules.*`, named by dotted paths). The word lists have their own page.
OWN_PAGE = frozenset({"moderation_rules.banned_words", "moderation_rules.suspect_words"})
MAX_FIELD = 20_000  # characters in one field (a PEM key or a long domain list fits)


@dataclass(frozen=True)
class FormField:
    name: str  # the setting's dotted path, and the form field's name
    kind: str  # choice, flag, number, optional_number, decimal, text, long_text, secret, lines, options, thresholds
    choices: tuple[str, ...]  # a choice's values, the options' names, the thresholds' labels
    help: str
    group: str


def _kind(name: str, annotation: Any) -> tuple[str, tuple[str, ...]]:
    args = tuple(a for a in get_args(annotation) if a is not type(None))
    optional = len(args) < len(get_args(annotation))
    if get_origin(annotation) is Literal:
        return "choice", get_args(annotation)
    if name in SECRETS:
        return "secret", ()
    if annotation is bool:
        return "flag", ()
    if annotation is int or optional and args == (int,):
        return ("optional_number" if optional else "number"), ()
    if annotation is float:
        return "decimal", ()
    if annotation is str:
        return "text", ()
    if optional and args == (str,):
        return "long_text", ()
    if get_origin(annotation) is list:
        return "lines", ()
    if get_origin(annotation) is set:
        return "options", tuple(sorted(SKIPPABLE))
    if get_origin(annotation) is dict:
        return "thresholds", LABELS
    raise TypeError(f"no form field for {name}: {annotation}")


def _fields() -> tuple[FormField, ...]:
    out = []
    for model, prefix, group in ((SiteSettings, "", "The site"), (ModerationRules, "moderation_rules.", "Moderation checks")):
        for key, info in model.model_fields.items():
            name = prefix + key
            if name == "moderation_rules" or name in OWN_PAGE:
                continue
            kind, choices = _kind(name, info.annotation)
            out.append(FormField(name, kind, choices, info.description or "", group))
    return tuple(out)


FIELDS = _fields()
FORM_FIELDS = tuple(f.name for f in FIELDS)
FLAGS = frozenset(f.name for f in FIELDS if f.kind == "flag")
FLAGS_SHOWN = "flags_shown"  # the form's hidden list of its boxes: one left unticked is off, not left out


def form_fields() -> list[FormField]:
    """Each form field's name, kind, choices, help and group, from the settings models."""
    return list(FIELDS)


def _get(settings: Any, name: str) -> Any:
    for part in name.split("."):
        settings = getattr(settings, part)
    return settings


def _put(into: dict[str, Any], name: str, value: Any) -> None:
    *parents, last = name.split(".")
    for part in parents:
        into = into.setdefault(part, {})
    into[last] = value


def _shown(field: FormField, value: Any) -> Any:
    """A value in force as its form field shows it."""
    if field.kind == "secret":
        return value is not None  # only whether one is set; never the secret
    if field.kind == "lines":
        return "\n".join(value)
    if field.kind == "options":
        return set(value)
    if field.kind == "thresholds":  # str, not a rounding format: an untouched form sends back the same number
        return {label: str(v) for label, v in value.items()}
    if field.kind == "decimal":
        return str(value)
    return "" if value is None else value


def field_errors(defaults: SiteSettings, settings: dict[str, Any]) -> dict[str, str]:
    """What the settings model says is wrong with a site storing `settings`, by form field (the
    longest field name the error's location starts with; "" for none)."""
    try:
        SiteSettings.model_validate(merged(defaults.model_dump(), settings))
    except ValidationError as e:
        errors: dict[str, str] = {}
        for err in e.errors():
            loc = [str(p) for p in err["loc"]]
            names = [".".join(loc[:i]) for i in range(len(loc), 0, -1)]
            key = next((n for n in names if n in FORM_FIELDS), names[-1] if names else "")
            errors.setdefault(key, err["msg"].removeprefix("Value error, "))
        return errors
    return {}


def _parse(field: FormField, form: dict[str, list[str]]) -> tuple[bool, Any]:
    """(sent, value) of one field from the submitted form; ValueError with the words to show."""
    raw = form.get(field.name)
    if field.kind == "flag":  # an unticked box is not sent; the form lists the boxes it showed
        shown = field.name in form.get(FLAGS_SHOWN, ())
        return (True, True) if raw is not None else (shown, False)
    if field.kind == "thresholds":
        typed = {label: form[f"{field.name}.{label}"][0].strip() for label in field.choices
                 if f"{field.name}.{label}" in form}
        if not typed:
            return False, None
        return True, {label: _decimal(v) if v else None for label, v in typed.items()}
    if raw is None:  # not sent: left as it is
        return False, None
    if field.kind == "options":  # a hidden empty value comes with the boxes, so none ticked is sent too
        return True, sorted({v for v in raw if v})
    text = raw[0]
    if field.kind == "number":
        return True, _whole(text)
    if field.kind == "optional_number":
        return True, _whole(text) if text.strip() else None
    if field.kind == "decimal":
        return True, _decimal(text.strip())
    if field.kind == "lines":
        return True, [line.strip() for line in text.splitlines() if line.strip()]
    if field.kind == "long_text":
        return True, text.strip() or None
    if field.kind == "secret":
        if form.get(field.name + ".remove"):
            return True, None
        return (True, text) if text else (False, None)  # left empty: the secret stays
    return True, text.strip()


def _whole(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError("Type a whole number.") from None


def _decimal(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("Type a number, e.g. 0.5.") from None
    if not math.isfinite(value):
        raise ValueError("Type a number, e.g. 0.5.")
    return value


def from_form(defaults: SiteSettings, stored_settings: dict[str, Any], form: dict[str, list[str]]) -> tuple[
        dict[str, Any], dict[str, str]]:
    """The changes a submitted form makes (only the fields whose value differs from the one in force,
    so a site keeps following the instance default for the others; an emptied optional field drops
    the site's own value) and the errors by field."""
    in_force = check(defaults, stored_settings)
    form = {k: v for k, v in form.items() if v}  # a key sent with no text value (a file) is not sent
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        typed = [v for k, vs in form.items() if k == field.name or k.startswith(field.name + ".") for v in vs]
        pattern = _TEXT if field.kind in ("lines", "long_text") else _LINE
        if any(len(v) > MAX_FIELD or not pattern.match(v) for v in typed):
            errors[field.name] = f"Use at most {MAX_FIELD:,} characters, and no control characters."
            continue
        try:
            sent, value = _parse(field, form)
        except ValueError as e:
            errors[field.name] = str(e)
            continue
        if not sent:
            continue
        now = _get(in_force, field.name)
        if field.kind == "thresholds":
            for label, limit in value.items():
                if limit != now.get(label):
                    _put(changes, f"{field.name}.{label}", limit)
        elif field.kind == "options":
            if set(value) != set(now):
                _put(changes, field.name, value)
        elif value != now:
            _put(changes, field.name, value)
    # The model's word on the values that parsed, so every wrong field is named at once.
    return changes, field_errors(defaults, merged(stored_settings, changes)) | errors


def typed_back(form: dict[str, list[str]]) -> dict[str, Any]:
    """The form's values as typed, to show again beside the errors (never a secret)."""
    form = {k: v for k, v in form.items() if v}
    values: dict[str, Any] = {}
    for field in FIELDS:
        raw = form.get(field.name)
        if field.kind == "flag":
            values[field.name] = raw is not None
        elif field.kind == "options":
            values[field.name] = set(raw or ())
        elif field.kind == "thresholds":
            values[field.name] = {label: form[f"{field.name}.{label}"][0] for label in field.choices
                                  if f"{field.name}.{label}" in form}
        elif field.kind == "secret":
            values[field.name] = None  # typed again, or left as stored
        else:
            values[field.name] = raw[0] if raw else ""
    return values


def in_force(engine: Engine, settings: Settings, name: str) -> dict[str, Any]:
    """The form's fields as in force on the site (its own values over the instance defaults)."""
    with reading(engine) as conn:
        site = sites.by_name(conn, settings, name)
    return {f.name: _shown(f, _get(site.rules, f.name)) for f in FIELDS}


def save_form(engine: Engine, defaults: SiteSettings, name: str, form: dict[str, list[str]], *,
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
