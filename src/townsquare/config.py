"""One settings object: a TOML file, then TOWNSQUARE_* environment variables on top.

Unknown keys and bad values stop the program at start with a message naming the key, because a
setting that is silently ignored is worse than none (a mistake our peers made).

Environment variables: `TOWNSQUARE_DB=…` sets `db`; nested keys use a double underscore,
e.g. `TOWNSQUARE_SITE_DEFAULTS__EDIT_WINDOW=600`. The names in `RESERVED_ENV` share the prefix
but are not settings, so they are skipped.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from townsquare.alerts.settings import AlertSettings, EmailSettings, WhatsAppSettings
from townsquare.moderation.settings import ModerationRules

ENV_PREFIX = "TOWNSQUARE_"
DEFAULT_DB = "sqlite:///./townsquare.db"
# TOWNSQUARE_* variables that belong to the command line rather than to the settings:
# CONFIG names the settings file (every command's --config); ADMIN_PASSWORD is `admin create`'s
# --password.
RESERVED_ENV = frozenset({"TOWNSQUARE_CONFIG", "TOWNSQUARE_ADMIN_PASSWORD"})


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SiteSettings(Strict):
    """Per-site rules. Stored with each site; `site_defaults` gives the values for new sites."""

    moderation: Literal["pre", "post", "auto"] = "post"
    edit_window: int = Field(900, ge=0, le=30 * 86400, description="seconds an author may edit or delete")
    min_length: int = Field(1, ge=1)
    max_length: int = Field(10_000, ge=1, le=100_000)
    max_name_length: int = Field(100, ge=1, le=200)
    require_email: bool = False
    posts_per_minute: int = Field(10, ge=1, description="per client (IP or author)")
    votes_per_minute: int = Field(60, ge=1)
    reports_to_hold: int = Field(3, ge=1)
    # What erasing an author does to their comments: delete them, or keep the words unsigned.
    erasure: Literal["delete", "anonymise"] = "delete"
    # Whether the author of a rejected comment is told the moderators' reason.
    tell_authors_why: bool = True
    moderation_rules: ModerationRules = ModerationRules()


class Settings(Strict):
    db: str = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    # Signs edit tokens, voter ids and links. Unset: a random key kept in the database, so
    # every process of one installation agrees without extra set-up.
    secret: str | None = Field(None, min_length=16)
    public_url: str = ""
    redis_url: str | None = None
    rate_limits: Literal["on", "off"] = "on"
    # Fits a 10,000-character comment in any script and a site's largest word lists (2 × 1,000
    # entries of up to 100 ASCII characters), while refusing anything bigger before it is parsed.
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    trust_proxy_headers: bool = False
    # Set by `serve --workers N` (a fresh directory per run), not in the settings file: where each
    # worker writes its metrics, so that /metrics, answered by any one worker, adds up all of them.
    metrics_dir: str | None = None
    demo: bool = False  # also serve the demo news site's pages (`townsquare demo` sets it)
    site_defaults: SiteSettings = SiteSettings()
    email: EmailSettings = EmailSettings()
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    alerts: AlertSettings = AlertSettings()


def _describe(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown setting '{key}'")
        else:
            lines.append(f"{source}: '{key}': {e['msg']} (got {e.get('input')!r})")
    return "\n".join(lines)


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or not value or name in RESERVED_ENV:
            continue
        path = name.removeprefix(ENV_PREFIX).lower().split("__")
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for k, v in top.items():
        merged[k] = _merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (if any), apply environment variables, then explicit overrides."""
    data: dict[str, Any] = {}
    source = "settings"
    if path:
        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    env = _env_overrides(dict(os.environ if environ is None else environ))
    data = _merge(_merge(data, env), {k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_describe(e, source + (" (with TOWNSQUARE_* environment)" if env else ""))) from None


def site_settings(defaults: SiteSettings, stored: dict[str, Any]) -> SiteSettings:
    """A site's effective settings: its stored values over the instance defaults."""
    try:
        return SiteSettings.model_validate(_merge(defaults.model_dump(), stored))
    except ValidationError as e:
        raise ConfigError(_describe(e, "site settings")) from None
