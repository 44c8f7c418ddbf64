"""One settings object: a TOML file, then TOWNSQUARE_* environment variables on top.

Unknown keys and bad values stop the program at start with a message naming the key, because a
setting that is silently ignored is worse than none (a mistake our peers made).

Environment variables: `TOWNSQUARE_DB=…` sets `db`; nested keys use a double underscore,
e.g. `TOWNSQUARE_SITE_DEFAULTS__EDIT_WINDOW=600`. The names in `RESERVED_ENV` share the prefix
but are not settings, so they are skipped.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from townsquare.alerts.settings import AlertSettings, EmailSettings, WhatsAppSettings
from townsquare.domain import colours
from townsquare.live.settings import LiveSettings
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

    moderation: Literal["pre", "post", "auto"] = Field(
        "post", description="pre: hold every comment for a moderator; post: publish unless a moderation check "
        "holds it; auto: like post, and also hold when any check's score reaches `moderation_rules.auto_hold_score`")
    edit_window: int = Field(900, ge=0, le=30 * 86400,
                             description="Seconds after posting during which an author may edit or delete a comment")
    min_length: int = Field(1, ge=1, description="Fewest characters a comment may have")
    max_length: int = Field(10_000, ge=1, le=100_000, description="Most characters a comment may have")
    max_name_length: int = Field(100, ge=1, le=200, description="Most characters an author's name may have")
    require_email: bool = Field(False, description="Refuse comments that give no e-mail address")
    posts_per_minute: int = Field(10, ge=1, description="Comments a client (IP address or author) may post per minute")
    votes_per_minute: int = Field(60, ge=1, description="Votes a client may cast per minute")
    reports_to_hold: int = Field(3, ge=1, description="Reader reports that send a published comment back to the queue")
    erasure: Literal["delete", "anonymise"] = Field(
        "delete", description="What erasing an author does to their comments: delete them, or keep the words unsigned")
    tell_authors_why: bool = Field(True, description="Show the author of a rejected comment the moderators' reason")
    moderation_rules: ModerationRules = Field(
        ModerationRules(), description="The site's moderation checks (word lists, links, toxicity limits, …)")
    close_after_days: int | None = Field(None, ge=1, le=3650, description="Close each thread to new comments this many "
                                         "days after its first comment (a thread's own close time, set by a "
                                         "moderator, comes first); unset: threads stay open")
    # Reader identity (docs/identity.md).
    sso_secret: str | None = Field(None, min_length=32, max_length=512, description="Shared secret (at least 32 "
                                   "characters) with which the publisher signs its readers' sign-on tokens (JWT, "
                                   "HS256); unset: no single sign-on")
    sso_public_key: str | None = Field(None, max_length=10_000, description="The publisher's RSA public key (PEM, "
                                       "at least 2048 bits): when set, sign-on tokens are RS256, verified with it, "
                                       "and no other algorithm is accepted (`sso_secret` is then not used)")
    require_identity: Literal["none", "email", "sso"] = Field(
        "none", description="Who may comment: none: anyone (guests too); email: readers signed in by an e-mail link "
        "or the publisher's sign-on; sso: only readers signed in by the publisher's sign-on")
    staff_skip_moderation: bool = Field(False, description="Readers whose sign-on token carries the `staff` badge "
                                        "skip the checks `moderation_rules.staff_skip` lists, like moderators")
    email_sign_in: bool = Field(True, description="Readers may sign in with a link sent to their e-mail address")
    # The site's colours on its own alert pages (the widget takes the publisher page's --ts-accent).
    accent: str | None = Field(None, description="The site's accent colour (`#rrggbb`: buttons, links, focus rings) on "
                               "its alert confirmation, unsubscribe and subscription pages; it must contrast 4.5:1 "
                               "with white. Unset: Townsquare's blue")
    accent_dark: str | None = Field(None, description="The accent colour on those pages in dark mode; it must contrast "
                                    "4.5:1 with #17181c. Unset: `accent` if it does, else Townsquare's light blue")

    @field_validator("accent")
    @classmethod
    def _light_accent(cls, value: str | None) -> str | None:
        return None if value is None else colours.check_accent(value, colours.LIGHT_BG, "light")

    @field_validator("accent_dark")
    @classmethod
    def _dark_accent(cls, value: str | None) -> str | None:
        return None if value is None else colours.check_accent(value, colours.DARK_BG, "dark")

    @field_validator("sso_public_key")
    @classmethod
    def _rsa_public_key(cls, value: str | None) -> str | None:
        if value is not None:
            from townsquare.domain.sso import public_key

            public_key(value)  # ValueError names what is wrong
        return value


class Settings(Strict):
    db: str = Field(DEFAULT_DB, description="Database URL: `sqlite:///path/to/file.db` or "
                    "`postgresql://user:password@host:5432/name`")
    host: str = Field("127.0.0.1", description="Address `serve` listens on (`0.0.0.0` for every IPv4 interface)")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on")
    workers: int | None = Field(None, ge=1, le=64, description="Server processes `serve` runs, sharing one socket; "
                                "unset: one per core")
    # Kept in the database when unset, so every process of one installation agrees without set-up.
    secret: str | None = Field(None, min_length=16, description="Key that signs edit tokens, voter ids and links "
                               "in mails; unset: a random key created once and kept in the database")
    public_url: str = Field("", description="The address readers reach this server at, e.g. "
                            "`https://comments.example.org`; links in confirmation mails, alerts and feeds start with "
                            "it. Unset, they point at `http://<host>:<port>/`, which readers elsewhere cannot open "
                            "(`serve` warns about this when it listens beyond loopback)")
    redis_url: str | None = Field(None, description="Redis URL shared by every process, e.g. "
                                  "`redis://127.0.0.1:6379/0`, for rate-limit counters and for the live streams' "
                                  "wake-ups (pub/sub: one subscriber connection per process, instead of each "
                                  "process's LISTEN on PostgreSQL or poll on SQLite); unset: the counters live in "
                                  "the database and the wake-ups come from it")
    rate_limits: Literal["on", "off"] = Field("on", description="Apply the per-client posting, voting and sign-up "
                                              "limits (off: for load tests)")
    # Fits a 10,000-character comment in any script and a site's largest word lists (2 × 1,000
    # entries of up to 100 ASCII characters), while refusing anything bigger before it is parsed.
    max_body_bytes: int = Field(256 * 1024, ge=1024, description="Largest request body accepted, in bytes; larger "
                                "requests are refused before they are read")
    trust_proxy_headers: bool = Field(False, description="One reverse proxy on this machine: the same as "
                                      "`trusted_proxies = [\"127.0.0.1\", \"::1\"]`")
    trusted_proxies: list[str] = Field([], description="Addresses or networks (CIDR) of the proxies in front, "
                                       "trusted to append the address they saw to `X-Forwarded-For`; the client "
                                       "is the rightmost hop not in this list (see docs/security.md)")
    metrics_dir: str | None = Field(None, description="Set by `serve --workers N` (a fresh directory per run), not "
                                    "in the settings file: where each worker writes its metrics, so that /metrics, "
                                    "answered by any one worker, adds up all of them")
    demo: bool = Field(False, description="Also serve the demo news site's pages (`townsquare demo` sets it)")
    site_defaults: SiteSettings = Field(SiteSettings(), description="Settings of every site that does not set its own")
    email: EmailSettings = Field(EmailSettings(), description="How alert and confirmation mails are sent")
    whatsapp: WhatsAppSettings = Field(WhatsAppSettings(), description="WhatsApp Cloud API alerts")
    alerts: AlertSettings = Field(AlertSettings(), description="The alert delivery worker")
    live: LiveSettings = Field(LiveSettings(), description="Readers' live thread streams")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_list(cls, value: Any) -> Any:
        # From the environment the list comes as one string: "10.0.0.0/8, 192.0.2.7".
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=True)
            except ValueError as e:
                raise ValueError(f"'{entry}' is not an IP address or a network like 10.0.0.0/8 ({e})") from None
        return value


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
