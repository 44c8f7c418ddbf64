"""The one Jinja environment for every template in web/templates/: pages, admin, alert mail.

HTML is escaped; `.txt` templates (plain-text mail) are not, so a reader's name in a mail body
stays as written. The filters here are every template's; templates name each other by their
path under web/templates/ (e.g. `admin/base.html`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from townsquare.moderation.highlight import highlight
from townsquare.web.paths import TEMPLATES


def http_url(value: str | None) -> str | None:
    """The URL if it is http(s), else None: links from user input never carry other schemes."""
    if value and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value.strip()
    return None


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _human(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%d %b %Y, %H:%M UTC")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts else ""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(disabled_extensions=("txt",), default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(http_url=http_url, iso=_iso, human=_human, highlight=highlight, when=_when)
    return env


templates = _environment()
