"""Plain-HTML thread pages: the discussion for readers without JavaScript and for search engines.

`GET /t/{site}/{uri}` shows one page of a thread (the URI without its leading slash), with
sorting, paging and "continue this thread" links that work without a script. `noscript_html`
renders the first page for an article's `<noscript>` block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from townsquare.domain.tree import SORTS
from townsquare.errors import Invalid, NotFound
from townsquare.services import Core
from townsquare.web.inputs import QueryId
from townsquare.web.templating import templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
NOSCRIPT_SIZE = 20
MAX_DEPTH = 6  # the same display cap as the embed; deeper replies get their own page
SORT_LABELS = {"oldest": "Oldest", "newest": "Newest", "top": "Top rated", "replies": "Most replies",
               "picks": "Editors' picks"}
PICKS_FIRST = 10  # editors' picks listed before the discussion on its first page


def thread_link(site: str, uri: str) -> Callable[..., str]:
    """Builds links to pages of one thread; parameters left at their defaults are omitted."""
    path = f"/t/{quote(site, safe='')}/{quote(uri.lstrip('/'), safe='/')}"

    def link(sort: str = "oldest", cursor: str | None = None, parent: int | None = None) -> str:
        params = {k: v for k, v in (("sort", sort if sort != "oldest" else None), ("parent", parent),
                                    ("cursor", cursor)) if v is not None}
        return path + ("?" + urlencode(params) if params else "")

    return link


@router.get("/t/{site}/{uri:path}", response_class=HTMLResponse)
def thread_page(request: Request, site: str, uri: str, sort: str = "oldest", cursor: str | None = None,
                parent: QueryId | None = None) -> HTMLResponse:
    """One page of a thread as plain HTML."""
    core: Core = request.app.state.core
    uri = "/" + uri
    sort = sort if sort in SORTS else "oldest"
    link = thread_link(site, uri)
    page = templates.get_template("thread.html")
    try:
        data = core.read_thread(site, uri, sort=sort, limit=PAGE_SIZE, cursor=cursor, parent=parent)
    except (NotFound, Invalid) as e:
        retry = link() if isinstance(e, Invalid) or parent is not None else None
        return HTMLResponse(page.render(error=e.title, detail=e.detail, retry=retry), status_code=e.status)
    picks = _picks(core, site, uri) if not cursor and parent is None and sort != "picks" else []
    html = page.render(data=data, link=link, sort=sort, cursor=cursor, parent=parent, max_depth=MAX_DEPTH,
                       sorts=list(SORT_LABELS.items()), picks=picks)
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=60"})


def noscript_html(core: Core, site: str, uri: str) -> Markup:
    """The first comments of a thread and a link to its plain page, for an article's `<noscript>`."""
    try:
        data: dict[str, Any] = core.read_thread(site, uri, limit=NOSCRIPT_SIZE)
    except NotFound:
        return Markup("")
    macros = templates.get_template("comments.html").module
    return Markup(macros.noscript(data, thread_link(site, uri), MAX_DEPTH, _picks(core, site, uri)))


def _picks(core: Core, site: str, uri: str) -> list[dict[str, Any]]:
    """The thread's newest editors' picks, listed first (each without its replies)."""
    return core.read_thread(site, uri, sort="picks", limit=PICKS_FIRST)["comments"]
