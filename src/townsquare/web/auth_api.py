"""Reader sign-in, `/api/v1/auth`: the publisher's single sign-on, e-mail links, sessions.
See docs/identity.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import Field
from starlette.responses import Response

from townsquare import readers
from townsquare.domain import sso
from townsquare.web.api import Body, _json, core, session_token
from townsquare.web.client import client_address
from townsquare.web.inputs import Line
from townsquare.web.profile import profile_url

router = APIRouter(prefix="/api/v1/auth", tags=["reader sign-in"])


class SsoSignIn(Body):
    site: Line = Field(max_length=64)
    token: Line = Field(max_length=sso.MAX_TOKEN)


class EmailSignIn(Body):
    site: Line = Field(max_length=64)
    email: Line = Field(max_length=320)
    name: Line = Field(max_length=1000)
    url: Line = Field(max_length=4000, description="The page the reader is on: the link in the mail leads back to it")


class ProfileLink(Body):
    site: Line = Field(max_length=64)
    edit_tokens: list[Annotated[Line, Field(max_length=2000)]] = Field(default_factory=list, max_length=100)


class EmailRedeem(Body):
    site: Line = Field(max_length=64)
    code: Line = Field(max_length=2000)


@router.post("/sso")
def sign_in_sso(body: SsoSignIn, request: Request) -> Response:
    """Sign a reader in with a token the publisher signed (JWT: HS256 with the site's
    `sso_secret`, or RS256 only, verified with its `sso_public_key`, when the site has one;
    claims in docs/identity.md). Answers `{session_token, expires, user: {id, name,
    verified, badges}}`; send the token as `X-Townsquare-Session` with comments. A forged,
    expired, malformed or other site's token gets a 401 and stores nothing."""
    the_core = core(request)
    return _json(readers.sign_in_sso(the_core, body.site, body.token,
                                     client_address(request, the_core.settings)).as_json())


@router.post("/email", status_code=202)
def sign_in_email(body: EmailSignIn, request: Request) -> Response:
    """Mail the reader a sign-in link to `url` (a page of the site's) that works once, for 30
    minutes. Limited per client address and per e-mail address."""
    the_core = core(request)
    readers.request_email_link(the_core, site_name=body.site, email=body.email, name=body.name, page_url=body.url,
                               ip=client_address(request, the_core.settings))
    return _json({"sent": True}, 202)


@router.post("/email/redeem")
def redeem_email(body: EmailRedeem, request: Request) -> Response:
    """Trade the code of a sign-in link (the `#townsquare-sign-in=` fragment) for a session, once."""
    return _json(readers.redeem_email_link(core(request), body.site, body.code).as_json())


@router.post("/profile")
def profile_link(body: ProfileLink, request: Request) -> Response:
    """A link to the reader's own comments on the site (`{url}`, for an hour): the comments of
    the signed-in reader (`X-Townsquare-Session`) and those the `edit_tokens` this browser keeps
    prove. 401 when neither shows who the reader is."""
    the_core = core(request)
    code = readers.profile_link(the_core, body.site, session_token(request), body.edit_tokens)
    base = (the_core.settings.public_url or str(request.base_url)).rstrip("/")
    return _json({"url": base + profile_url(body.site, code)})


@router.get("/session")
def whoami(request: Request) -> Response:
    """Who the `X-Townsquare-Session` token signs in: `{user, site, expires}`, or 401."""
    return _json(readers.whoami(core(request), session_token(request)))


@router.post("/signout")
def sign_out(request: Request) -> Response:
    """End this session (`X-Townsquare-Session`)."""
    return _json({"signed_out": readers.sign_out(core(request), session_token(request))})


@router.post("/signout/everywhere")
def sign_out_everywhere(request: Request) -> Response:
    """End every session of the signed-in reader, on every device."""
    return _json({"signed_out": readers.sign_out(core(request), session_token(request), everywhere=True)})
