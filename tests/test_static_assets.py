"""The static files: compressed as the browser accepts, revalidated by ETag, cached as their
addresses allow; the favicon; compressed API answers beside an unchanged fast path."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.conftest import add_site
from townsquare.app import create_app
from townsquare.config import load_settings
from townsquare.store.db import make_engine, migrate
from townsquare.web.paths import STATIC

REVALIDATE = "public, max-age=300"
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('assets')}/ts.db"
    engine = make_engine(url)
    migrate(engine)
    add_site(engine)
    settings = load_settings(None, environ={}, db=url, alerts={"worker_in_serve": False})
    with TestClient(create_app(settings, engine)) as c:
        yield c
    engine.dispose()


def get(client, path, coding="identity", **headers):
    return client.get(path, headers={"Accept-Encoding": coding, **headers})


@pytest.mark.parametrize("path", ["/embed.js", "/embed.css", "/count.js", "/static/admin.css", "/static/alerts.js"])
def test_every_coding_decodes_to_the_same_bytes(client, path):
    plain = get(client, path)
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    assert int(plain.headers["content-length"]) == len(plain.content)
    for coding, header in (("br", "br"), ("gzip", "gzip"), ("br;q=0, gzip", "gzip"), ("gzip;q=0, identity", None),
                           ("deflate, br", "br"), ("*", "br")):
        r = get(client, path, coding)
        assert r.headers.get("content-encoding") == header, coding
        assert r.content == plain.content, coding  # decoded by the client
        if header:
            assert int(r.headers["content-length"]) < len(plain.content)


def test_a_file_is_served_as_it_is_on_disk(client):
    assert get(client, "/count.js", "gzip").content == (STATIC / "count.js").read_bytes()
    assert get(client, "/static/admin.js", "br").content == (STATIC / "admin.js").read_bytes()


def test_matching_etag_answers_304_without_a_body(client):
    first = get(client, "/embed.js", "br")
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{16}-br"', etag)  # strong, and one per coding
    assert get(client, "/embed.js", "gzip").headers["etag"] == etag.replace("-br", "-gzip")
    for sent in (etag, etag.replace("-br", "-gzip"), etag.replace("-br", ""), f'"other", {etag}', f"W/{etag}", "*"):
        r = get(client, "/embed.js", "br", **{"If-None-Match": sent})
        assert r.status_code == 304, sent
        assert r.content == b"" and r.headers["etag"] == etag and r.headers["cache-control"] == REVALIDATE
    assert get(client, "/embed.js", "br", **{"If-None-Match": '"0000000000000000"'}).status_code == 200
    css = get(client, "/embed.css").headers["etag"]
    assert get(client, "/embed.js", **{"If-None-Match": css}).status_code == 200


def test_head_sends_the_headers_only(client):
    r = client.head("/embed.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-encoding"] == "gzip" and int(r.headers["content-length"]) > 1000


def test_pasted_addresses_revalidate_and_the_hashed_styles_are_immutable(client):
    script = get(client, "/embed.js")
    assert script.headers["cache-control"] == REVALIDATE
    assert get(client, "/embed.css").headers["cache-control"] == REVALIDATE
    assert get(client, "/count.js").headers["cache-control"] == REVALIDATE
    [css_url] = re.findall(r'const CSS = "(/static/embed\.[0-9a-f]{16}\.css)"', script.text)
    hashed = get(client, css_url)
    assert hashed.status_code == 200 and hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.content == (STATIC / "embed.css").read_bytes()
    assert hashed.headers["content-type"] == "text/css; charset=utf-8"
    # A page that still holds an older hash gets today's styles, but not for a year.
    stale = get(client, "/static/embed.0123456789abcdef.css")
    assert stale.status_code == 200 and stale.headers["cache-control"] == REVALIDATE
    assert stale.content == hashed.content


def test_unknown_static_paths_are_404(client):
    for path in ("/static/nothing.js", "/static/../app.py", "/static/", "/static/embed.js/x"):
        assert client.get(path).status_code == 404, path
    assert client.post("/embed.js").status_code in (404, 405)


def test_favicon(client):
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/x-icon"
    assert ico.content[:4] == b"\0\0\1\0"  # an ICO file
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    for page in ("/", "/api/docs"):
        assert '<link rel="icon" href="/favicon.ico"' in client.get(page).text, page


def test_api_answers_are_compressed_but_fast_path_reads_go_out_as_they_are(client):
    plain = client.get("/api/openapi.json", headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.json() == plain.json()
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    post = client.post("/api/v1/comments", headers={"Origin": "https://daily.example"},
                       json={"site": "daily", "uri": "/a", "text": "Hello there", "author": {"name": "Ann"}})
    assert post.status_code == 201, post.text
    thread = client.get("/api/v1/threads", params={"site": "daily", "uri": "/a"}, headers={"Accept-Encoding": "gzip"})
    assert thread.status_code == 200 and "content-encoding" not in thread.headers
    assert thread.json()["total"] == 1
