"""The hottest requests without the framework: thread pages, comment counts and posting.

Reading a thread is most of a comment server's traffic, and a cached page costs one indexed query.
This ASGI layer answers plain `GET /api/v1/threads?site=…&uri=…[&sort&limit&reply_limit]` requests
(from the thread cache, or by building the page on a miss) before they reach FastAPI's routing and
validation, and likewise well-formed `POST /api/v1/counts` bodies. Anything else — a cursor, a
parent, a thread listing, a value out of range, malformed JSON, an unknown site — goes on to the app
unchanged, so errors and the rest of the API are defined in one place.

A `POST /api/v1/comments` with a JSON body that the API's own schema (`api.NewComment`) accepts is
handed to the same service here; a body it refuses goes on to the app, whose answer (400 or 422
with the fields) is the API's. The service's refusals (`Problem`) are answered as the app answers
them. Everything outside this layer (CORS, body limit, metrics, security headers) applies as to any
request.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from townsquare.domain.tree import SORTS
from townsquare.domain.validate import has_control_characters
from townsquare.errors import NotFound, Problem
from townsquare.services import Client, Core, ThreadPage
from townsquare.web.api import NewComment, session_token  # the API's own schema: one definition
from townsquare.web.client import client_address
from townsquare.web.problems import problem_response

PATH = "/api/v1/threads"
COUNTS_PATH = "/api/v1/counts"
COUNTS_MAX_BODY = 1_100_000  # 500 URIs of 2,000 characters; the app refuses larger bodies itself
INTS = {"limit": (1, 5000), "reply_limit": (0, 5000)}
HEADERS = [(b"content-type", b"application/json")]
ROUTE = SimpleNamespace(path=PATH)
COUNTS_ROUTE = SimpleNamespace(path=COUNTS_PATH)
POST_PATH = "/api/v1/comments"
POST_ROUTE = SimpleNamespace(path=POST_PATH)


def _page(query: bytes) -> ThreadPage | None:
    """The requested page, if every parameter is one the fast path understands and valid."""
    try:
        params = dict(parse_qsl(query.decode("utf-8"), strict_parsing=True))
    except (UnicodeDecodeError, ValueError):
        return None
    site, uri = params.pop("site", None), params.pop("uri", None)
    if not site or not uri or len(site) > 64 or len(uri) > 2000:
        return None
    if has_control_characters(site) or has_control_characters(uri):
        return None
    page = ThreadPage(site, uri)
    sort = params.pop("sort", "oldest")
    if sort not in SORTS:
        return None
    page.sort = sort
    for name, (low, high) in INTS.items():
        if name in params:
            value = params.pop(name)
            # ASCII digits only: str.isdigit() also takes '²', which int() refuses.
            if not (value.isascii() and value.isdigit() and len(value) <= 6) or not low <= int(value) <= high:
                return None
            setattr(page, name, int(value))
    return None if params else page  # cursor, parent or anything unknown: the app decides


def _counts_query(body: bytes) -> tuple[str, list[str]] | None:
    """`{site, uris}` exactly as the API's schema allows it, or None."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or set(data) != {"site", "uris"}:
        return None
    site, uris = data["site"], data["uris"]
    if not isinstance(site, str) or not 0 < len(site) <= 64 or not isinstance(uris, list) or len(uris) > 500:
        return None
    if has_control_characters(site) or not all(
            isinstance(u, str) and len(u) <= 2000 and not has_control_characters(u) for u in uris):
        return None
    return site, uris


async def _send(send, body: bytes, status: int = 200) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": HEADERS + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class CachedThreadReads:
    def __init__(self, app, core: Core):
        self.app, self.core = app, core

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == COUNTS_PATH:
            return await self._counts(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == POST_PATH:
            return await self._post(scope, receive, send)
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
                return await _send(send, body)
        await self.app(scope, receive, send)

    async def _counts(self, scope, receive, send):
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay(chunks, message, False, receive), send)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > COUNTS_MAX_BODY:
                break
        query = None if more else _counts_query(b"".join(chunks))
        if query is not None:
            try:
                body = orjson.dumps(self.core.counts(*query))
            except NotFound:
                body = None
            if body is not None:
                scope["route"] = COUNTS_ROUTE
                return await _send(send, body)
        await self.app(scope, _replay(chunks, None, more, receive), send)


    async def _post(self, scope, receive, send):
        headers = Headers(scope=scope)
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay(chunks, message, False, receive), send)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = None
        if content_type == "application/json":
            try:
                body = NewComment.model_validate(orjson.loads(b"".join(chunks))).model_dump()
            except (orjson.JSONDecodeError, ValidationError):
                body = None
        if body is None:  # not JSON, or not a comment the schema accepts: the app explains why
            return await self.app(scope, _replay(chunks, None, False, receive), send)
        scope["route"] = POST_ROUTE
        client = Client(ip=client_address(scope, self.core.settings), origin=headers.get("origin"),
                        voter_token=headers.get("x-townsquare-voter"),
                        session=session_token(SimpleNamespace(headers=headers)))
        try:
            result = await run_in_threadpool(self.core.post_comment, body, client)
        except Problem as exc:
            return await problem_response(exc.status, exc.title, exc.detail, **exc.extra)(scope, receive, send)
        await _send(send, orjson.dumps(result), 201)


def _replay(chunks: list[bytes], last: dict | None, more: bool, receive):
    """A `receive` that hands the app the body already read, then whatever is still to come."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": more}]
    if last is not None:
        pending.append(last)

    async def replay():
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
