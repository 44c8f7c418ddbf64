"""The one Jinja environment for every template in web/templates/: pages, admin, alert mail.

HTML is escaped; `.txt` templates (plain-text mail) are not, so a reader's name in a mail body
stays as written. The filters here are every template's; templates name each other by their
path under web/templates/ (e.g. `admin/base.html`).

Every link built from data goes through `safe_url`: `href="{{ url|safe_url }}"` gives "#" for
anything but http(s) or a relative reference, and `url|safe_url(None)` gives None, to leave the
link out. Escaping alone would let a stored `javascript:` URL through.
"""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, FileSystemLoader, select_autoescape

from townsquare.domain.validate import link_target
from townsquare.moderation.highlight import highlight
from townsquare.web.paths import TEMPLATES


def safe_url(value: str | None, fallback: str | None = "#") -> str | None:
    """`value` if it is safe to link to (see `validate.link_target`), else `fallback`."""
    return link_target(value) or fallback


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
    env.filters.update(safe_url=safe_url, iso=_iso, human=_human, highlight=highlight, when=_when)
    return env


templates = _environment()
