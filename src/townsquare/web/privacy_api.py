"""Personal data requests, `/api/v1/privacy/…`: export and erasure of one author's data.

Two ways in:
- staff, with a moderator API key (`Authorization: Bearer tsm_…`) for the site concerned;
- the author, who asks for a link (`POST /privacy/requests`), receives it by e-mail, and follows
  it. The link is signed and expires after two days; erasure asks for a confirmation first, so a
  mail scanner following the link erases nothing.

The work is done by townsquare.privacy; the handlers here read the request and shape the answer.
"""

from __future__ import annotations

import hashlib
import html
from typing import Annotated

import orjson
from fastapi import APIRouter, Form, Header, Query, Request
from itsdangerous import URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse, Response

from townsquare import privacy
from townsquare.domain.tokens import TokenError
from townsquare.errors import Unauthorized
from townsquare.privacy import Action
from townsquare.store.db import writing
from townsquare.web.api import bearer, client, core
from townsquare.web.inputs import Line

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])

_SALT = "townsquare.privacy"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StaffErasure(Body):
    site: Line = Field(max_length=64)
    email: Line = Field(max_length=320)
    mode: privacy.ErasureMode | None = None  # None: the site's `erasure` setting
    # Voter tokens the author handed over, proving which votes are theirs.
    voter_tokens: list[Annotated[Line, Field(max_length=2000)]] = Field(default_factory=list, max_length=100)


class AuthorRequest(Body):
    site: Line = Field(max_length=64)
    email: Line = Field(max_length=320)
    action: Action


# -- staff ------------------------------------------------------------------------------------------
@router.get("/authors/export")
def staff_export(request: Request, site: Annotated[str, Query(max_length=64)],
                 email: Annotated[str, Query(max_length=320)], authorization: Annotated[str | None, Header()] = None) -> Response:
    """Everything stored about the author with this e-mail on the site: comments, alert
    subscriptions, staff account. Needs an API key of a moderator of the site."""
    the_core = core(request)
    data = privacy.staff_export(the_core.engine, the_core.settings, the_core.signer, api_key=bearer(authorization),
                                site=site, email=email)
    return _download(data, email)


@router.post("/authors/erase")
def staff_erase(body: StaffErasure, request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Erase the author with this e-mail on the site: their comments deleted (`mode: delete`) or
    anonymised (`mode: anonymise`), their alert subscriptions and proven votes removed.
    Answers `{erased: {comments, votes, subscriptions}}`."""
    the_core = core(request)
    voters = tuple(_voter(the_core, t) for t in body.voter_tokens)
    done = privacy.staff_erase(the_core.engine, the_core.settings, the_core.signer, api_key=bearer(authorization),
                               site=body.site, email=body.email, mode=body.mode, voters=voters)
    return _json({"erased": done})


# -- the author, by signed link -----------------------------------------------------------------------
@router.post("/requests", status_code=202)
def author_request(body: AuthorRequest, request: Request) -> Response:
    """Ask for a link to export (`action: export`) or erase (`action: erase`) your data on a site.
    The link goes to the address given; the answer is the same whether or not it has comments."""
    the_core = core(request)
    privacy.request_link(the_core.engine, the_core.settings, _links(the_core), site=body.site, email=body.email,
                         action=body.action, base_url=_base(request, the_core))
    return _json({"sent": True}, status=202)


@router.get("/export")
def author_export(request: Request, token: Annotated[str, Query(max_length=2000)]) -> Response:
    """The data behind a signed export link, as a JSON download."""
    the_core = core(request)
    claim = privacy.read_link(_links(the_core), token, "export")
    data = privacy.export_by_link(the_core.engine, the_core.signer, claim)
    return _download(data, claim.email)


@router.get("/erase", response_class=HTMLResponse)
def author_erase_confirm(request: Request, token: Annotated[str, Query(max_length=2000)]) -> HTMLResponse:
    """The confirmation page of a signed erasure link (nothing is erased by opening it)."""
    the_core = core(request)
    claim = privacy.read_link(_links(the_core), token, "erase")
    privacy.check_link(the_core.engine, claim)
    return HTMLResponse(_page(
        "Erase your comments?",
        f"<p>All comments written with <strong>{_escape(claim.email)}</strong> on this site will be deleted "
        "and your e-mail alerts stopped. This cannot be undone.</p>"
        f'<form method="post" action="erase"><input type="hidden" name="token" value="{_escape(token)}">'
        '<button type="submit">Erase my data</button></form>',
    ))


@router.post("/erase", response_class=HTMLResponse)
def author_erase(request: Request, token: Annotated[Line, Form(max_length=2000)]) -> HTMLResponse:
    """Erase, after the confirmation. A voter token sent along (`X-Townsquare-Voter`) removes that
    reader's votes too."""
    the_core = core(request)
    voter_token = client(request).voter_token
    voters = (_voter(the_core, voter_token),) if voter_token else ()
    claim = privacy.read_link(_links(the_core), token, "erase")
    mode, done = privacy.erase_by_link(the_core.engine, the_core.settings, the_core.signer, claim, voters)
    verb = "deleted" if mode == "delete" else "anonymised"
    return HTMLResponse(_page("Your data is erased",
                              f"<p>{done['comments']} comment(s) {verb}, {done['subscriptions']} alert "
                              f"subscription(s) removed, {done['votes']} vote(s) removed.</p>"))


def _serializer(conn, the_core) -> URLSafeTimedSerializer:
    # The core's settings carry the instance secret, resolved when the app was built.
    return URLSafeTimedSerializer(the_core.settings.secret, salt=_SALT)


def _links(the_core) -> URLSafeTimedSerializer:
    """The signer of the authors' links. Resolving the instance secret may create it, so this is
    a short transaction of its own (until the secret is resolved once, at start-up)."""
    with writing(the_core.engine) as conn:
        return _serializer(conn, the_core)


def _voter(the_core, token: str) -> str:
    try:
        return the_core.signer.voter_id(token)
    except TokenError as e:
        raise Unauthorized(str(e)) from None


def _base(request: Request, the_core) -> str:
    return (the_core.settings.public_url or str(request.base_url)).rstrip("/")


def _download(data: dict, email: str) -> Response:
    name = "townsquare-data-" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:8] + ".json"
    return Response(orjson.dumps(data, option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _json(data, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>{title}</title><link rel=stylesheet href=/static/page.css><main>"
            f"<h1>{title}</h1>{body}</main></html>")
