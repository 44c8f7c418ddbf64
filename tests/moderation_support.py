"""Helpers shared by the moderation tests: the app with the moderation routes, moderators, posting."""

from __future__ import annotations

import re
from html import unescape

from starlette.routing import NoMatchFound
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare import accounts
from townsquare.moderation import admin, auth
from townsquare.moderation import api as moderation_api
from townsquare.store import sites as site_store

ORIGIN = {"Origin": "https://daily.example"}
PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    """The CSRF token an admin page's forms carry."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _has_route(app, name: str) -> bool:
    try:
        app.url_path_for(name)
    except NoMatchFound:
        return False
    return True


def moderation_app(settings, engine):
    """The app, with the moderation routers included if the app does not include them yet."""
    app = create_app(settings, engine)
    if "/api/v1/moderation/check" not in app.openapi()["paths"]:
        app.include_router(moderation_api.router)
        app.openapi_schema = None
    if not _has_route(app, "login_form"):
        app.include_router(admin.router)
    return app


def add_site(engine, name="daily", **settings) -> int:
    with engine.begin() as conn:
        return site_store.create(conn, name, name.title(), ["https://daily.example"], settings)


def add_moderator(engine, email="mod@daily.example", role="moderator", sites=("daily",)) -> tuple[int, str]:
    user_id = accounts.create_user(engine, email=email, password=PASSWORD, role=role,
                                   site_names=tuple(sites) if role == "moderator" else ())
    with engine.begin() as conn:
        return user_id, auth.create_api_key(conn, user_id, "tests")


def post(client: TestClient, text: str, *, uri="/a", parent_id=None, name="Ann", email=None, **extra) -> dict:
    author = {"name": name, **({"email": email} if email else {})}
    body = {"site": "daily", "uri": uri, "text": text, "author": author, **extra}
    if parent_id is not None:
        body["parent_id"] = parent_id
    resp = client.post("/api/v1/comments", json=body, headers=ORIGIN)
    assert resp.status_code == 201, resp.text
    return resp.json()


def page_form(html: str) -> dict[str, list[str]]:
    """The form as a browser would send it untouched: every field's value, ticked boxes only."""
    form: dict[str, list[str]] = {}
    body = html[html.index('<form method="post" action="/admin/settings"'):]
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        name = unescape(name.group(1))
        if tag.startswith("<input") and 'type="checkbox"' in tag and " checked" not in tag:
            continue
        if tag.startswith("<select"):
            rest = body[body.index(tag):]
            value = re.search(r"<option selected>([^<]*)</option>", rest[:rest.index("</select>")]).group(1)
        elif tag.startswith("<textarea"):
            rest = body[body.index(tag) + len(tag):]
            value = rest[:rest.index("</textarea>")]
        else:
            found = re.search(r'value="([^"]*)"', tag)
            value = found.group(1) if found else ""
        form.setdefault(name, []).append(unescape(value))
    return form
