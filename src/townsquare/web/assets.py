"""The static files (the embed, the count script, the admin's and alerts' scripts, the favicon),
served from memory: compressed once per process, each with a strong ETag of its content.

Publishers paste `/embed.js` and `/count.js` into their pages, so those addresses never change:
they are cached for a few minutes and then revalidated (a 304 costs a few bytes). What the embed
loads itself, its styles, it loads from a content-hashed address (`/static/embed.<hash>.css`)
that browsers and proxies keep for a year, since new styles get a new address.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import brotli
from starlette.concurrency import run_in_threadpool

# The stable public addresses, served at the root as well as under /static/.
PUBLIC = frozenset({"embed.js", "embed.css", "count.js", "favicon.ico"})
REVALIDATE = "public, max-age=300"
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
         "svg": "image/svg+xml", "ico": "image/x-icon"}
# The line of embed.js that names its styles; the hashed address replaces it when served.
EMBED_CSS = 'const CSS = "/embed.css";'
ROUTE = SimpleNamespace(path="/static")  # one label for the request metrics


@dataclass(frozen=True)
class Asset:
    media_type: str
    digest: str
    bodies: dict[str, bytes]  # content coding ("br", "gzip", "identity") -> body

    def etag(self, coding: str) -> bytes:
        # A strong validator names one representation, so each coding gets its own.
        return f'"{self.digest}{"" if coding == "identity" else "-" + coding}"'.encode()


def versioned(name: str, digest: str) -> str:
    stem, ext = name.rsplit(".", 1)
    return f"/static/{stem}.{digest}.{ext}"


def _asset(name: str, data: bytes) -> Asset:
    bodies = {"identity": data}
    if not name.endswith(".ico") or len(data) > 1024:
        for coding, packed in (("gzip", gzip.compress(data, compresslevel=9, mtime=0)),
                               ("br", brotli.compress(data, quality=11))):
            if len(packed) < len(data):
                bodies[coding] = packed
    return Asset(MEDIA[name.rsplit(".", 1)[1]], hashlib.sha256(data).hexdigest()[:16], bodies)


def build(directory: Path) -> dict[str, Asset]:
    """Every file of the directory, with embed.js pointing at the hashed address of embed.css."""
    files = {p.name: p.read_bytes() for p in sorted(directory.iterdir())
             if p.is_file() and p.suffix[1:] in MEDIA}
    assets = {"embed.css": _asset("embed.css", files.pop("embed.css"))}
    script = files.pop("embed.js").decode()
    if EMBED_CSS not in script:
        raise RuntimeError(f"embed.js no longer contains {EMBED_CSS!r}; the styles' address cannot be versioned")
    css_url = versioned("embed.css", assets["embed.css"].digest)
    assets["embed.js"] = _asset("embed.js", script.replace(EMBED_CSS, f'const CSS = "{css_url}";').encode())
    assets.update((name, _asset(name, data)) for name, data in files.items())
    return assets


class Assets:
    """The built assets of one directory, built at the first request that needs them."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._built: dict[str, Asset] | None = None
        self._lock = threading.Lock()

    def get(self) -> dict[str, Asset]:
        with self._lock:
            if self._built is None:
                self._built = build(self.directory)
            return self._built

    def find(self, path: str) -> tuple[Asset, str] | None:
        """The asset a request path names, and the Cache-Control it is served with."""
        assets = self._built or self.get()
        if path.startswith("/static/"):
            name = path[len("/static/"):]
        elif path[1:] in PUBLIC:
            name = path[1:]
        else:
            return None
        if name in assets:
            return assets[name], REVALIDATE
        parts = name.split(".")
        if len(parts) == 3 and (current := assets.get(f"{parts[0]}.{parts[2]}")):
            # An old hash (a page cached across an upgrade) still gets today's file, but only
            # the exact current hash may be kept for a year.
            return current, IMMUTABLE if parts[1] == current.digest else REVALIDATE
        return None


def accepted(header: str, available) -> str:
    """The best coding we have that the client accepts: br, then gzip, else identity."""
    q: dict[str, float] = {}
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        q[coding.strip().lower()] = weight
    for coding in ("br", "gzip"):
        if coding in available and q.get(coding, q.get("*", 0.0)) > 0:
            return coding
    return "identity"


def _matches(if_none_match: str, digest: str) -> bool:
    """If-None-Match compares weakly (RFC 9110): any coding of this content matches."""
    for tag in if_none_match.split(","):
        tag = tag.strip().removeprefix("W/").strip('"')
        if tag == "*" or tag.split("-", 1)[0] == digest:
            return True
    return False


class StaticAssets:
    """Answers GET and HEAD for the static files before the framework; anything else goes on."""

    def __init__(self, app, directory: Path):
        self.app, self.assets = app, Assets(directory)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not (
                scope["path"].startswith("/static/") or scope["path"][1:] in PUBLIC):
            return await self.app(scope, receive, send)
        if self.assets._built is None:
            await run_in_threadpool(self.assets.get)  # compressing everything takes a moment
        found = self.assets.find(scope["path"])
        if found is None:
            return await self.app(scope, receive, send)
        asset, cache = found
        headers = {k.lower(): v for k, v in scope["headers"]}
        coding = accepted(headers.get(b"accept-encoding", b"").decode("latin-1"), asset.bodies)
        out = [(b"cache-control", cache.encode()), (b"etag", asset.etag(coding)), (b"vary", b"Accept-Encoding")]
        scope["route"] = ROUTE
        if _matches(headers.get(b"if-none-match", b"").decode("latin-1"), asset.digest):
            await send({"type": "http.response.start", "status": 304, "headers": out})
            return await send({"type": "http.response.body", "body": b""})
        body = asset.bodies[coding]
        out += [(b"content-type", asset.media_type.encode()), (b"content-length", str(len(body)).encode())]
        if coding != "identity":
            out.append((b"content-encoding", coding.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": out})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
