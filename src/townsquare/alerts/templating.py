"""Jinja2 environment for alert messages and pages (templates in web/templates/alerts/; pages
extend the site's base.html)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from townsquare.web.paths import TEMPLATES


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context) -> str:
    """Render `web/templates/alerts/<name>`."""
    return environment().get_template(f"alerts/{name}").render(**context)
