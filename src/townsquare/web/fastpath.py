"""Cached thread pages without the framework.

Reading a thread is most of a comment server's traffic, and a cached page costs one indexed query.
This ASGI layer answers plain `GET /api/v1/threads?site=…&uri=…[&sort&limit&reply_limit]` requests
(from the thread cache, or by building the page on a miss) before they reach FastAPI's routing and
validation. Anything else — a cursor, a parent, a thread listing, a value out of range, an unknown
site — goes on to the app unchanged, so errors and the rest of the API are defined in one place.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool

from townsquare.domain.tree import SORTS
from townsquare.errors import NotFound
from townsquare.services import Core, ThreadPage

PATH = "/api/v1/threads"
INTS = {"limit": (1, 5000), "reply_limit": (0, 5000)}
HEADERS = [(b"content-type", b"application/json")]
ROUTE = SimpleNamespace(path=PATH)


def _page(query: bytes) -> ThreadPage | None:
    """The requested page, if every parameter is one the fast path understands and valid."""
    try:
        params = dict(parse_qsl(query.decode("utf-8"), strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        return None
    site, uri = params.pop("site", None), params.pop("uri", None)
    if not site or not uri or len(site) > 64 or len(uri) > 2000:
        return None
    page = ThreadPage(site, uri)
    sort = params.pop("sort", "oldest")
    if sort not in SORTS:
        return None
    page.sort = sort
    for name, (low, high) in INTS.items():
        if name in params:
            value = params.pop(name)
            if not value.isdigit() or not low <= int(value) <= high:
                return None
            setattr(page, name, int(value))
    return None if params else page  # cursor, parent or anything unknown: the app decides


class CachedThreadReads:
    def __init__(self, app, core: Core):
        self.app, self.core = app, core

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == PATH:
            page = _page(scope["query_string"])
            body = None
            if page is not None:
                try:
                    body = self.core.cached_thread_json(page)
                    if body is None:
                        body = await run_in_threadpool(self.core.build_thread_json, page)
                except NotFound:
                    body = None
            if body is not None:
                scope["route"] = ROUTE  # for the request metrics
                await send({"type": "http.response.start", "status": 200,
                            "headers": HEADERS + [(b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
