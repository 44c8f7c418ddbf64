"""A reader's own comments: `GET /profile?site=…&code=…`, the page the widget's "My comments"
opens (the code comes from `POST /api/v1/auth/profile`, see townsquare.readers), and
`POST /profile/privacy`, which mails the reader the existing export or erasure link
(townsquare.privacy). Server-rendered, escaped by the templates, with the security headers every
page gets (web/headers.py); any refusal is a page saying what to do, never a 5xx."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse

from townsquare import privacy, readers
from townsquare.errors import Invalid, Problem, Unauthorized
from townsquare.web.api import core
from townsquare.web.inputs import Line
from townsquare.web.privacy_api import _base, _links
from townsquare.web.templating import templates

router = APIRouter(include_in_schema=False)

STATUS_WORDS = {"published": "Published", "pending": "Awaiting moderation", "rejected": "Not published"}
EXCERPT = 240
# Nothing here may be kept by a shared cache, nor its address (with the code) sent on as a referrer.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def profile_url(site: str, code: str, cursor: str | None = None) -> str:
    return "/profile?" + urlencode({k: v for k, v in (("site", site), ("code", code), ("cursor", cursor)) if v})


def excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT].rsplit(" ", 1)[0] + "…"


@router.get("/profile", response_class=HTMLResponse)
def profile_page(request: Request, site: Annotated[str, Query(max_length=64)] = "",
                 code: Annotated[str, Query(max_length=4000)] = "",
                 cursor: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    """One page of the reader's comments on the site, newest first."""
    page = templates.get_template("profile.html")
    if not site or not code:
        return _refused(page, Unauthorized(
            "Open “My comments” from the comments under an article of the site, signed in or in the browser "
            "you posted with."))
    try:
        found = readers.profile(core(request), site, code, cursor)
    except Problem as e:
        return _refused(page, e)
    return HTMLResponse(page.render(profile=found, status_words=STATUS_WORDS, excerpt=excerpt, code=code,
                                    first=profile_url(site, code) if cursor else None,
                                    next=profile_url(site, code, found.next_cursor) if found.next_cursor else None),
                        headers=PRIVATE)


@router.post("/profile/privacy", response_class=HTMLResponse)
def ask_for_privacy_link(request: Request, site: Annotated[Line, Form(max_length=64)],
                         code: Annotated[Line, Form(max_length=4000)], email: Annotated[Line, Form(max_length=320)],
                         action: Annotated[Line, Form(max_length=10)]) -> HTMLResponse:
    """Mail the reader the link to download or erase their data (the privacy flow's own link,
    which for a signed-in reader also covers what they posted signed in)."""
    page = templates.get_template("profile.html")
    the_core = core(request)
    try:
        if action not in ("export", "erase"):
            raise Invalid("Choose to download or to erase your data.", field="action")
        if "@" not in email:
            raise Invalid("Give the e-mail address to send the link to.", field="email")
        identity_id = readers.profile_identity(the_core, site, code)
        privacy.request_link(the_core.engine, the_core.settings, _links(the_core), site=site, email=email,
                             action=action, base_url=_base(request, the_core), identity_id=identity_id)
    except Problem as e:
        return _refused(page, e)
    return HTMLResponse(page.render(sent=email, back=profile_url(site, code)), status_code=202, headers=PRIVATE)


def _refused(page, e: Problem) -> HTMLResponse:
    return HTMLResponse(page.render(error=e.title, detail=e.detail), status_code=e.status, headers=PRIVATE)
