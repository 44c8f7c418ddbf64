"""Security headers on every kind of answer: pages (strict CSP), JSON, the fast path, static files,
404s, the middlewares' own problems and 500s; `Secure` cookies when the instance is on https."""

from __future__ import annotations

import re

import orjson
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store import sites as site_store
from townsquare.store.alerts import alert_outbox
from townsquare.store.db import make_engine, migrate
from townsquare.web.fastpath import _page as fast_path_page

from tests.moderation_support import ORIGIN, PASSWORD, add_moderator, csrf_of

MAX_BODY = 64 * 1024


def make_client(tmp_path, public_url: str = "", demo: bool = False) -> TestClient:
    engine = make_engine(f"sqlite:///{tmp_path}/headers.db")
    migrate(engine)
    with engine.begin() as conn:
        site_store.create(conn, "daily", "Daily", ["https://daily.example"], {
            "moderation_rules": {"author_rate": 1000, "ip_rate": 1000, "min_submit_seconds": 0, "repeat_window": 0}})
    settings = load_settings(None, environ={}, db=str(engine.url), rate_limits="off", public_url=public_url,
                             max_body_bytes=MAX_BODY, alerts={"worker_in_serve": False}, demo=demo)
    app = create_app(settings, engine)

    @app.get("/test-crash")
    def crash():
        raise RuntimeError("a bug")

    add_moderator(engine, role="admin", sites=())
    return TestClient(app, base_url=public_url or "http://testserver", raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path):
    with make_client(tmp_path) as c:
        c.post("/api/v1/comments", headers=ORIGIN, json={"site": "daily", "uri": "/a", "text": "Hello there",
                                                         "author": {"name": "Ann"}}).raise_for_status()
        yield c


def policy(resp) -> dict[str, str]:
    """The CSP's directives, by name."""
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in resp.headers["content-security-policy"].split(";")) if d}


def assert_always(resp):
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def assert_strict_page(resp):
    assert_always(resp)
    assert resp.headers["content-type"].startswith("text/html")
    csp = policy(resp)
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
    assert csp["form-action"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    assert "unsafe-eval" not in resp.headers["content-security-policy"]
    # The page obeys its own policy: no inline script, handler or style for the browser to block.
    html = resp.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "inline event handler"
    assert "<style" not in html and not re.search(r"<[^>]+\sstyle\s*=", html), "inline style"
    assert "javascript:" not in html.lower()


def assert_no_document(resp):
    assert_always(resp)
    assert policy(resp)["default-src"] == "'none'"


def test_plain_thread_page(client):
    assert_strict_page(client.get("/t/daily/a"))
    assert_strict_page(client.get("/t/daily/missing"))  # its 404 is a page too


def test_home_and_api_docs(client):
    assert_strict_page(client.get("/"))
    assert_strict_page(client.get("/api/docs"))


def test_admin_pages(client):
    assert_strict_page(client.get("/admin/login"))
    form = client.get("/admin/login")
    client.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD, "csrf": csrf_of(form.text)})
    for path in ("/admin/queue/pending", "/admin/bans", "/admin/audit", "/admin/privacy", "/admin/words"):
        page = client.get(path)
        assert page.status_code == 200 and "Sign out" in page.text, path
        assert_strict_page(page)


def test_alert_and_privacy_pages(client):
    assert_strict_page(client.get("/alerts/confirm", params={"token": "not-a-token"}))
    assert_strict_page(client.get("/alerts/manage", params={"token": "not-a-token"}))
    client.post("/api/v1/comments", headers=ORIGIN, json={"site": "daily", "uri": "/a", "text": "Mine",
                                                          "author": {"name": "Cy", "email": "cy@example.org"}})
    asked = client.post("/api/v1/privacy/requests", json={"site": "daily", "email": "cy@example.org", "action": "erase"})
    assert asked.status_code == 202
    with client.app.state.core.engine.connect() as conn:
        payload = conn.execute(select(alert_outbox.c.payload).where(alert_outbox.c.kind == "privacy")).scalar_one()
    token = orjson.loads(payload)["url"].split("token=", 1)[1]
    confirm = client.get("/api/v1/privacy/erase", params={"token": token})
    assert confirm.status_code == 200 and "<form" in confirm.text
    assert_strict_page(confirm)
    done = client.post("/api/v1/privacy/erase", data={"token": token})
    assert done.status_code == 200 and "erased" in done.text
    assert_strict_page(done)


def test_demo_pages(tmp_path):
    with make_client(tmp_path, demo=True) as client:
        front = client.get("/")
        assert front.status_code == 200
        assert_strict_page(front)
        article = re.search(r'href="(/articles/[^"#]+)"', front.text).group(1)
        assert_strict_page(client.get(article))
        assert_strict_page(client.get("/articles/no-such-story"))


def test_json_answers(client):
    assert_no_document(client.get("/healthz"))
    posted = client.post("/api/v1/comments", headers=ORIGIN, json={"site": "daily", "uri": "/a", "text": "Again",
                                                                   "author": {"name": "Bo"}})
    assert posted.status_code == 201
    assert_no_document(posted)
    assert_no_document(client.get("/api/openapi.json"))
    assert_no_document(client.get("/feeds/daily/recent.atom"))


def test_fast_path_reads(client):
    assert fast_path_page(b"site=daily&uri=%2Fa") is not None  # answered before the framework
    read = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"})
    assert read.status_code == 200 and read.json()["comments"]
    assert_no_document(read)
    counts = client.post("/api/v1/counts", json={"site": "daily", "uris": ["/a"]})
    assert counts.json() == {"counts": {"/a": 1}}
    assert_no_document(counts)
    assert 'route="/api/v1/threads",status="200"' in client.get("/metrics").text


@pytest.mark.parametrize("path", ["/embed.js", "/embed.css", "/count.js", "/static/admin.js", "/static/page.css"])
def test_static_files(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    assert_no_document(resp)


def test_errors(client):
    for resp in (client.get("/no-such-page"), client.get("/api/v1/threads", params={"site": "nope", "uri": "/a"}),
                 client.get("/static/no-such-file.js")):
        assert resp.status_code == 404
        assert_no_document(resp)
    too_large = client.post("/api/v1/comments", content=b"x" * (MAX_BODY + 1), headers={"content-type": "application/json"})
    assert too_large.status_code == 413  # from the body-limit middleware, before any route
    assert_no_document(too_large)
    invalid = client.post("/api/v1/comments", json={"site": "daily"})
    assert invalid.status_code == 422
    assert_no_document(invalid)
    crash = client.get("/test-crash")
    assert crash.status_code == 500  # from Starlette's outermost error layer
    assert_no_document(crash)


def test_cors_preflight(client):
    resp = client.options("/api/v1/comments", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 204
    assert_always(resp)


def test_cookies_are_secure_when_the_instance_is_on_https(tmp_path):
    with make_client(tmp_path, public_url="https://comments.daily.example") as client:
        form = client.get("/admin/login")
        assert "Secure" in form.headers["set-cookie"].split("; ")
        signed_in = client.post("/admin/login", data={"email": "mod@daily.example", "password": PASSWORD,
                                                     "csrf": csrf_of(form.text)}, follow_redirects=False)
        assert signed_in.status_code == 303
        cookies = signed_in.headers.get_list("set-cookie")
        assert cookies and all("Secure" in c.split("; ") for c in cookies)


def test_cookies_are_not_marked_secure_on_plain_http(tmp_path):
    with make_client(tmp_path) as client:
        assert "Secure" not in client.get("/admin/login").headers["set-cookie"].split("; ")


