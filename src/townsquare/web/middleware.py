"""Small ASGI middlewares: body size limit, control characters in the address, CORS for the embed,
request metrics."""

from __future__ import annotations

import time
from urllib.parse import unquote

from prometheus_client import Histogram

from townsquare.domain.validate import has_control_characters

from townsquare.web.problems import problem_response

REQUEST_SECONDS = Histogram(
    "townsquare_request_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413, whether or not Content-Length was sent."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send):
        # The app's own problem builder; a Starlette response is itself an ASGI app.
        answer = problem_response(413, "Request too large", f"The request body is larger than {self.limit} bytes.")
        await answer(scope, receive, send)


class _TooLarge(Exception):
    pass


class ControlCharacters:
    """Refuse a path or query string holding a control character (a NUL above all, which
    PostgreSQL cannot store or compare) with 422, before any route or the fast path sees it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            query = unquote(scope["query_string"].decode("latin-1").replace("+", " "), errors="replace")
            if has_control_characters(scope["path"]) or has_control_characters(query):
                answer = problem_response(422, "Invalid input", "The address contains a control character (such as NUL).")
                return await answer(scope, receive, send)
        await self.app(scope, receive, send)


class Cors:
    """CORS for the API, which embeds call from publishers' pages.

    No cookies or credentials cross origins (edit and voter tokens travel in headers), so any
    origin may read; writes are checked against the site's own origin list by the services.
    """

    ALLOW_HEADERS = b"authorization, content-type, x-townsquare-voter, x-townsquare-session"

    def __init__(self, app, prefix: str = "/api/"):
        self.app, self.prefix = app, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        origin = dict(scope["headers"]).get(b"origin")
        if origin is None:
            return await self.app(scope, receive, send)
        cors = [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                (b"access-control-expose-headers", b"x-townsquare-voter, retry-after")]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": cors + [
                (b"access-control-allow-methods", b"GET, POST, PATCH, DELETE, OPTIONS"),
                (b"access-control-allow-headers", self.ALLOW_HEADERS),
                (b"access-control-max-age", b"86400")]})
            return await send({"type": "http.response.body", "body": b""})

        async def with_cors(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        await self.app(scope, receive, with_cors)


class Metrics:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def record(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            REQUEST_SECONDS.labels(scope["method"], path, str(status)).observe(time.perf_counter() - start)
