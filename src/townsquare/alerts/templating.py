"""Alert messages and pages (templates in web/templates/alerts/; pages extend the site's base.html),
rendered by the app's one Jinja environment."""

from __future__ import annotations

from townsquare.web.templating import templates


def render(name: str, **context) -> str:
    """Render `web/templates/alerts/<name>`."""
    return templates.get_template(f"alerts/{name}").render(**context)
