"""The public JSON API, `/api/v1`. Each route's documentation sits beside it (see /api/docs)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from townsquare.moderation import check_tokens
from townsquare.services import Client, Core, ThreadPage
from townsquare.web.inputs import Id, Line, PathId, QueryId, Text
from townsquare.web.client import client_address

router = APIRouter(prefix="/api/v1", tags=["comments"])

JSON = "application/json"


class Body(BaseModel):
    # Strict: `true` is not the integer 1, nor "1" a number.
    model_config = ConfigDict(extra="forbid", strict=True)


class Author(Body):
    name: Line = Field("", max_length=1000)  # a signed-in reader's name comes from their identity
    email: Line | None = Field(None, max_length=1000)
    website: Line | None = Field(None, max_length=3000)


class NewComment(Body):
    site: Line = Field(max_length=64)
    uri: Line = Field(max_length=2000)
    title: Line | None = Field(None, max_length=2000)
    url: Line | None = Field(None, max_length=4000)
    parent_id: Id | None = None
    quote: Text | None = Field(None, max_length=100_000)
    text: Text = Field(max_length=1_000_000)
    author: Author
    notify_replies: bool = False
    # Spam traps filled in by the embed: a field people never see, and the seconds the form was open.
    honeypot: Text | None = Field(None, max_length=1000)
    elapsed_ms: int | None = Field(None, ge=-(2**53), le=2**53)  # a browser clock may step back
    # From POST /moderation/check of the same text: its toxicity result, so it is not scored again.
    check_token: Line | None = Field(None, max_length=check_tokens.MAX_LENGTH)


class CommentEdit(Body):
    text: Text = Field(max_length=1_000_000)
    check_token: Line | None = Field(None, max_length=check_tokens.MAX_LENGTH)


class Vote(Body):
    value: int = Field(ge=-1, le=1, description="1, -1, or 0 to withdraw")


class CountsQuery(Body):
    site: Line = Field(max_length=64)
    uris: list[Annotated[Line, Field(max_length=2000)]] = Field(max_length=500)


def core(request: Request) -> Core:
    return request.app.state.core


def client(request: Request) -> Client:
    return Client(ip=client_address(request, core(request).settings), origin=request.headers.get("origin"),
                  voter_token=request.headers.get("x-townsquare-voter"), session=session_token(request))


def session_token(request: Request) -> str | None:
    """A signed-in reader's session token (`X-Townsquare-Session`), bounded before any lookup."""
    token = (request.headers.get("x-townsquare-session") or "").strip()
    return token[:200] or None


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


@router.post("/comments", status_code=201)
def post_comment(body: NewComment, request: Request) -> Response:
    """Post a comment or a reply. The thread is created by its first comment.

    Answers `{comment, edit_token}`. Keep the edit token: it proves authorship for edits and
    deletion until the site's edit window closes. A held comment comes back with
    `status: "pending"` and the moderation reasons.
    """
    result = core(request).post_comment(body.model_dump(), client(request))
    return _json(result, 201)


@router.get("/threads")
async def get_threads(
    request: Request,
    site: Annotated[str, Query(max_length=64)],
    uri: Annotated[str | None, Query(max_length=2000)] = None,
    sort: Annotated[Literal["oldest", "newest", "top", "replies", "picks"], Query()] = "oldest",
    limit: Annotated[int, Query(ge=1, le=5000)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    parent: QueryId | None = None,
    reply_limit: Annotated[int, Query(ge=0, le=5000)] = 20,
) -> Response:
    """With `uri`: one page of a thread as a tree. Without: the site's threads, newest first.

    A thread page holds `limit` top-level comments in `sort` order; each carries up to
    `reply_limit` replies per comment (recursively). A comment with more replies has
    `more_replies` and `replies_cursor`: fetch the rest with `parent=ID&cursor=…`.
    `next_cursor` fetches the next top-level page. Every visible comment appears exactly once
    across all pages. One answer holds at most 500 comments counted at every depth, whatever
    `limit` and `reply_limit` ask: top-level comments first, then replies breadth-first; what
    does not fit comes with `more_replies` (or `next_cursor`) like any other page.

    Each comment has `featured` (an editor's pick) and `pinned`. A thread's pinned comment opens
    the first page of every sort and appears on no other. `sort=picks` lists only the editors'
    picks, at any depth, newest first, each without its replies (`parent=ID` fetches them).
    `thread.closed` is true once the thread takes no comments: closed by a moderator, past its
    own close time, or `close_after_days` after its first comment.
    """
    if uri is None:
        return _json(await run_in_threadpool(core(request).list_threads, site, min(limit, 200), cursor))
    page = ThreadPage(site, uri, sort, limit, cursor, parent, reply_limit)
    body = core(request).cached_thread_json(page) or await run_in_threadpool(core(request).build_thread_json, page)
    return Response(body, media_type=JSON)


@router.get("/comments/{comment_id}")
def own_comment(comment_id: PathId, request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """What became of your comment (`Authorization: Bearer <edit_token>`, for 30 days): its
    `status` is `published`, `pending` (awaiting moderation), `rejected` (not published; with the
    moderators' reason in `moderation` when the site tells authors why) or `deleted`."""
    return _json(core(request).own_comment(comment_id, bearer(authorization)))


@router.patch("/comments/{comment_id}")
def edit_comment(comment_id: PathId, body: CommentEdit, request: Request,
                 authorization: Annotated[str | None, Header()] = None) -> Response:
    """Edit your comment within the edit window (`Authorization: Bearer <edit_token>`)."""
    return _json(core(request).edit_comment(comment_id, body.model_dump(), bearer(authorization), client(request)))


@router.delete("/comments/{comment_id}", status_code=204)
def delete_comment(comment_id: PathId, request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> Response:
    """Delete your comment. If it has replies, a "[deleted]" placeholder keeps the tree whole."""
    core(request).delete_comment(comment_id, bearer(authorization), client(request))
    return Response(status_code=204)


@router.post("/comments/{comment_id}/vote")
def vote(comment_id: PathId, body: Vote, request: Request) -> Response:
    """Vote 1 or -1, or 0 to withdraw. One vote per reader, changeable.

    A vote counts once per comment per address and per voter token (`counted` says whether it
    did). The voter is the signed token in the `X-Townsquare-Voter` header; a first vote without
    one that counts brings a new token in the answer (`voter_token`) and header — keep it to
    change the vote later.
    """
    result = core(request).vote(comment_id, body.value, client(request))
    issued = result["voter_token"]
    return _json(result, headers={"X-Townsquare-Voter": issued} if issued else None)


@router.post("/counts")
async def counts(body: CountsQuery, request: Request) -> Response:
    """Published-comment counts of many pages in one request: `{counts: {uri: n}}`."""
    # One indexed query: run it on the event loop rather than pay for a hop to a worker thread.
    return _json(core(request).counts(body.site, body.uris))


def _json(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type=JSON, headers=headers)
