"""Personal data requests, `/api/v1/privacy/…`: export and erasure of one author's data.

Two ways in:
- staff, with a moderator API key (`Authorization: Bearer tsm_…`) for the site concerned;
- the author, who asks for a link (`POST /privacy/requests`), receives it by e-mail, and follows
  it. The link is signed and expires after two days; erasure asks for a confirmation first, so a
  mail scanner following the link erases nothing.
"""

from __future__ import annotations

import hashlib
import html
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Form, Header, Query, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse, Response

from townsquare import privacy
from townsquare.alerts import outbox
from townsquare.domain.tokens import TokenError
from townsquare.errors import NotFound, Unauthorized
from townsquare.moderation import audit, auth
from townsquare.moderation.sites import by_id, by_name
from townsquare.store import queries
from townsquare.store.db import now
from townsquare.web.api import bearer, client, core

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])

LINK_SECONDS = 2 * 86400
_SALT = "townsquare.privacy"
Action = Literal["export", "erase"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StaffErasure(Body):
    site: str = Field(max_length=64)
    email: str = Field(max_length=320)
    mode: privacy.ErasureMode | None = None  # None: the site's `erasure` setting
    # Voter tokens the author handed over, proving which votes are theirs.
    voter_tokens: list[str] = Field(default_factory=list, max_length=100)


class AuthorRequest(Body):
    site: str = Field(max_length=64)
    email: str = Field(max_length=320)
    action: Action


# -- staff ------------------------------------------------------------------------------------------
@router.get("/authors/export")
def staff_export(request: Request, site: Annotated[str, Query(max_length=64)],
                 email: Annotated[str, Query(max_length=320)], authorization: Annotated[str | None, Header()] = None) -> Response:
    """Everything stored about the author with this e-mail on the site: comments, alert
    subscriptions, staff account. Needs an API key of a moderator of the site."""
    the_core = core(request)
    with the_core.engine.begin() as conn:
        found, actor = _staff_site(conn, the_core, site, authorization)
        data = privacy.export_author(conn, the_core.signer, email, site_id=found["id"])
        _audit(conn, the_core, found, actor, "privacy_export", email,
               {"comments": len(data["comments"]), "subscriptions": len(data["subscriptions"])})
    return _download(data, email)


@router.post("/authors/erase")
def staff_erase(body: StaffErasure, request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Erase the author with this e-mail on the site: their comments deleted (`mode: delete`) or
    anonymised (`mode: anonymise`), their alert subscriptions and proven votes removed.
    Answers `{erased: {comments, votes, subscriptions}}`."""
    the_core = core(request)
    voters = tuple(_voter(the_core, t) for t in body.voter_tokens)
    with the_core.engine.begin() as conn:
        found, actor = _staff_site(conn, the_core, body.site, authorization)
        mode = body.mode or found["settings_obj"].erasure
        done = privacy.erase_author(conn, the_core.signer, body.email, mode=mode, site_id=found["id"], voters=voters)
        _audit(conn, the_core, found, actor, "privacy_erase", body.email, {"mode": mode, **done})
    return _json({"erased": done})


def _audit(conn, the_core, site: dict, actor, action: str, email: str, details: dict) -> None:
    """Every staff export and erasure is logged; the target is the author's key, not the address."""
    audit.record(conn, site_id=site["id"], user_id=actor.user_id, actor=actor.email, action=action,
                 target="author:" + the_core.signer.hash("email", email.strip().lower()),
                 reason="moderator API", details=details)


def _staff_site(conn, the_core, site: str, authorization: str | None) -> dict:
    key = bearer(authorization)
    actor = auth.api_key_actor(conn, key) if key and key.startswith(auth.API_KEY_PREFIX) else None
    if actor is None:
        raise Unauthorized("Send a moderator API key as 'Authorization: Bearer tsm_…'.")
    found = by_name(conn, the_core.settings, site)
    actor.require(found["id"])
    return found, actor


# -- the author, by signed link -----------------------------------------------------------------------
@router.post("/requests", status_code=202)
def author_request(body: AuthorRequest, request: Request) -> Response:
    """Ask for a link to export (`action: export`) or erase (`action: erase`) your data on a site.
    The link goes to the address given; the answer is the same whether or not it has comments."""
    the_core = core(request)
    email = body.email.strip().lower()
    with the_core.engine.begin() as conn:
        found = by_name(conn, the_core.settings, body.site)
        token = _serializer(conn, the_core).dumps({"s": found["id"], "e": email, "a": body.action})
        path = "export" if body.action == "export" else "erase"
        url = f"{_base(request, the_core)}/api/v1/privacy/{path}?token={token}"
        hour = int(now() // 3600)
        digest = hashlib.sha256(email.encode()).hexdigest()[:20]
        outbox.enqueue(
            conn, key=f"privacy:{found['id']}:{body.action}:{digest}:{hour}", site_id=found["id"], kind="privacy",
            channel="email", target=email, now=now(),
            payload={"subject": _subject(body.action, found["title"] or found["name"]), "url": url,
                     "text": _mail_text(body.action, found["title"] or found["name"], url)},
        )
    return _json({"sent": True}, status=202)


@router.get("/export")
def author_export(request: Request, token: Annotated[str, Query(max_length=2000)]) -> Response:
    """The data behind a signed export link, as a JSON download."""
    the_core = core(request)
    with the_core.engine.begin() as conn:
        claim = _claim(conn, the_core, token, "export")
        data = privacy.export_author(conn, the_core.signer, claim["e"], site_id=claim["s"])
    return _download(data, claim["e"])


@router.get("/erase", response_class=HTMLResponse)
def author_erase_confirm(request: Request, token: Annotated[str, Query(max_length=2000)]) -> HTMLResponse:
    """The confirmation page of a signed erasure link (nothing is erased by opening it)."""
    the_core = core(request)
    with the_core.engine.begin() as conn:
        claim = _claim(conn, the_core, token, "erase")
    return HTMLResponse(_page(
        "Erase your comments?",
        f"<p>All comments written with <strong>{_escape(claim['e'])}</strong> on this site will be deleted "
        "and your e-mail alerts stopped. This cannot be undone.</p>"
        f'<form method="post" action="erase"><input type="hidden" name="token" value="{_escape(token)}">'
        '<button type="submit">Erase my data</button></form>',
    ))


@router.post("/erase", response_class=HTMLResponse)
def author_erase(request: Request, token: Annotated[str, Form(max_length=2000)]) -> HTMLResponse:
    """Erase, after the confirmation. A voter token sent along (`X-Townsquare-Voter`) removes that
    reader's votes too."""
    the_core = core(request)
    voter_token = client(request).voter_token
    voters = (_voter(the_core, voter_token),) if voter_token else ()
    with the_core.engine.begin() as conn:
        claim = _claim(conn, the_core, token, "erase")
        mode = by_id(conn, the_core.settings, claim["s"])["settings_obj"].erasure
        done = privacy.erase_author(conn, the_core.signer, claim["e"], mode=mode, site_id=claim["s"], voters=voters)
    verb = "deleted" if mode == "delete" else "anonymised"
    return HTMLResponse(_page("Your data is erased",
                              f"<p>{done['comments']} comment(s) {verb}, {done['subscriptions']} alert "
                              f"subscription(s) removed, {done['votes']} vote(s) removed.</p>"))


def _serializer(conn, the_core) -> URLSafeTimedSerializer:
    # The core's settings carry the instance secret, resolved when the app was built.
    return URLSafeTimedSerializer(the_core.settings.secret, salt=_SALT)


def _claim(conn, the_core, token: str, action: Action) -> dict:
    try:
        claim = _serializer(conn, the_core).loads(token, max_age=LINK_SECONDS)
    except SignatureExpired:
        raise Unauthorized("This link has expired; ask for a new one.") from None
    except BadSignature:
        raise Unauthorized("This link is not valid.") from None
    if claim.get("a") != action:
        raise Unauthorized("This link is for another request.")
    if queries.site_by_id(conn, claim["s"]) is None:
        raise NotFound("The site of this link no longer exists.")
    return claim


def _voter(the_core, token: str) -> str:
    try:
        return the_core.signer.voter_id(token)
    except TokenError as e:
        raise Unauthorized(str(e)) from None


def _base(request: Request, the_core) -> str:
    return (the_core.settings.public_url or str(request.base_url)).rstrip("/")


def _subject(action: Action, site_title: str) -> str:
    return f"Your data on {site_title}" if action == "export" else f"Erase your data on {site_title}"


def _mail_text(action: Action, site_title: str, url: str) -> str:
    what = "download everything stored about you" if action == "export" else "erase your comments and alerts"
    return (f"Someone (we hope you) asked to {what} on {site_title}.\n\nFollow this link within two days:\n{url}\n\n"
            "If you did not ask for this, ignore this message: nothing happens without the link.")


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
            f"<title>{title}</title><main style='max-width:36rem;margin:3rem auto;font:1rem/1.5 system-ui'>"
            f"<h1>{title}</h1>{body}</main></html>")
