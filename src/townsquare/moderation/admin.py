"""The moderators' web UI under /admin: sign-in, the dashboard, the queue tabs, actions, bans, the
audit log, personal-data requests (one author's export and erasure), the sites' word lists and, for
admins, the sites' settings.

Server-rendered pages with a little JavaScript for keyboard shortcuts. Sessions are server-side
rows named by a random token in a signed, HttpOnly, SameSite=Strict cookie; every form carries a
CSRF token bound to the session (or, on the sign-in form, to a pre-session cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Form, Query, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from townsquare import privacy, site_config
from townsquare.alerts import service as alert_service
from townsquare.domain.tokens import TokenError
from townsquare.config import site_settings
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound, TooMany, Unavailable
from townsquare.moderation import actions, audit, auth, dashboard, personal_data, queue, site_words
from townsquare.moderation import stats as dashboard_stats
from townsquare.moderation.auth import Actor
from townsquare.web import stream
from townsquare.web.api import client, core
from townsquare.web.inputs import FormId, Line, PathId, QueryId, Text
from townsquare.web.templating import templates

router = APIRouter(prefix="/admin", include_in_schema=False)

SESSION_COOKIE = "ts_admin"
LOGIN_COOKIE = "ts_login"
BAN_DURATIONS = {"1d": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "forever": None}


class NotSignedIn(Exception):
    """Raised by any admin page or form when there is no valid session; answered with the login page."""


def _serializer(request: Request) -> URLSafeTimedSerializer:
    # A key derived from the installation secret, so no database read is needed (and none can
    # happen while a handler holds the write lock).
    key = core(request).signer.hash("admin", "session-and-csrf")
    return URLSafeTimedSerializer(key, salt="townsquare.admin")


def _csrf_for(request: Request, bound_to: str) -> str:
    return _serializer(request).dumps({"csrf": bound_to})


def _check_csrf(request: Request, token: str | None, bound_to: str | None) -> None:
    try:
        data = _serializer(request).loads(token or "", max_age=auth.SESSION_SECONDS)
    except BadSignature:
        data = None
    # Any value this key signed loads, the session cookie's plain string among them: only a
    # form token's dict is one.
    expected = data.get("csrf") if isinstance(data, dict) else None
    if not bound_to or not isinstance(expected, str) or not hmac.compare_digest(expected, bound_to):
        raise Forbidden("The form expired or did not come from this site; reload the page and try again.")


def _session_token(request: Request) -> str | None:
    try:
        token = _serializer(request).loads(request.cookies.get(SESSION_COOKIE, ""), max_age=auth.SESSION_SECONDS)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None  # a form token's dict is no session


def _signed_in(request: Request) -> tuple[Actor, str]:
    token = _session_token(request)
    found = auth.session_actor(core(request).engine, token) if token else None
    if found is None:
        raise NotSignedIn
    return found, token


def _page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template("admin/" + name).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _to_login(request: Request) -> RedirectResponse:
    return RedirectResponse("/admin/login?" + urlencode({"next": request.url.path}), status_code=303)


def install(app) -> None:
    app.add_exception_handler(NotSignedIn, lambda request, exc: _to_login(request))
    app.include_router(router)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


# -- sign-in ---------------------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/admin/queue/pending") -> Response:
    return _login_page(request, next)


def _login_page(request: Request, next: str, error: str = "", status: int = 200) -> Response:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    response = _page(request, "login.html", status, csrf=_csrf_for(request, nonce), next=_local(next), error=error)
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(request), path="/admin")
    return response


@router.post("/login")
def login(request: Request, email: Annotated[Line, Form(max_length=320)], password: Annotated[str, Form(max_length=1000)],
          csrf: Annotated[Line, Form(max_length=500)] = "", next: Annotated[Line, Form(max_length=500)] = "/admin/") -> Response:
    try:
        _check_csrf(request, csrf, request.cookies.get(LOGIN_COOKIE))
    except Forbidden as e:
        return _login_page(request, next, e.detail, 403)
    the_core = core(request)
    address = the_core.signer.hash("ip", client(request).ip)
    try:
        result = auth.sign_in(the_core.engine, email, password, address)
    except TooMany as e:
        refused = _login_page(request, next, e.detail, 429)
        refused.headers["Retry-After"] = str(e.extra.get("retry_after", 1))
        return refused
    if result is None:
        return _login_page(request, next, "Wrong e-mail or password.", 401)
    _actor, token = result
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, _serializer(request).dumps(token), max_age=auth.SESSION_SECONDS,
                        httponly=True, samesite="strict", secure=_secure(request), path="/admin")
    response.delete_cookie(LOGIN_COOKIE, path="/admin")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[Line, Form(max_length=500)] = "") -> Response:
    token = _session_token(request)
    _check_csrf(request, csrf, token)
    auth.sign_out(core(request).engine, token)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


def _local(path: str) -> str:
    """Only redirect within the admin UI (no open redirect)."""
    return path if path.startswith("/admin/") and not path.startswith("//") else "/admin/queue/pending"


# -- pages ---------------------------------------------------------------------------------------------
@router.get("/")
def home() -> Response:
    return RedirectResponse("/admin/dashboard", status_code=303)


DashboardDays = Annotated[int, Query(ge=1, le=dashboard_stats.MAX_DAYS)]


def _dashboard_site(request: Request, actor: Actor, site: str) -> tuple[dict[int, str], str]:
    """The actor's site names and the one shown (the first by name when none is asked for)."""
    names = auth.site_names(core(request).engine, actor)
    return names, site or min(names.values(), default="")


ThreadUri = Annotated[Line, Query(max_length=2000)]


@router.get("/dashboard")
def dashboard_page(request: Request, site: Annotated[str, Query(max_length=64)] = "", days: DashboardDays = 30,
                   thread: ThreadUri = "") -> Response:
    """The site's dashboard, or with `thread=<uri>` the same figures for that thread of the site."""
    actor, token = _signed_in(request)
    names, site = _dashboard_site(request, actor, site)
    if not site:
        return _page(request, "message.html", 404, actor=actor, csrf=_csrf_for(request, token), title="No sites",
                     detail="You moderate no site yet.")
    the_core = core(request)
    try:
        figures = dashboard_stats.for_site(the_core.engine, the_core.settings, actor, site, days,
                                           thread_uri=thread or None)
    except (NotFound, Forbidden) as e:
        return _page(request, "message.html", e.status, actor=actor, csrf=_csrf_for(request, token), title=e.title,
                     detail=e.detail, back=("/admin/dashboard?" + urlencode({"site": site, "days": days}), "the site's dashboard"))
    shown = dashboard.THREAD_CHARTS if thread else dashboard.CHARTS
    return _page(request, "dashboard.html", actor=actor, csrf=_csrf_for(request, token), sites=sorted(names.values()),
                 site=site, days=days, periods=sorted({*dashboard.PERIODS, days}), stats=figures, thread=thread,
                 charts={name: dashboard.chart(figures, name) for name in shown},
                 tables={name: dashboard.table(figures, name) for name in shown},
                 oldest=dashboard.age_words(figures.queue.oldest_age_s), dashboard=True)


@router.get("/dashboard.csv")
def dashboard_csv(request: Request, chart: Annotated[Literal[dashboard.CHARTS], Query()],  # type: ignore[valid-type]
                  site: Annotated[str, Query(max_length=64)] = "", days: DashboardDays = 30,
                  thread: ThreadUri = "") -> Response:
    actor, _ = _signed_in(request)
    _, site = _dashboard_site(request, actor, site)
    if not site:
        raise NotFound("You moderate no site yet.")
    the_core = core(request)
    figures = dashboard_stats.for_site(the_core.engine, the_core.settings, actor, site, days, thread_uri=thread or None)
    # A thread's file is named by a short hash of its address (an address may hold any character).
    scope = f"{figures.site}-thread-{hashlib.sha256(thread.encode()).hexdigest()[:8]}" if thread else figures.site
    name = f"townsquare-{scope}-{chart}-{figures.since}-{days}d.csv"
    return Response(dashboard.to_csv(dashboard.table(figures, chart)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.get("/queue/{tab}")
def queue_page(request: Request, tab: str, site: str = "", before: QueryId | None = None, done: str = "",
               undo: str = "", thread: ThreadUri = "") -> Response:
    if tab not in queue.TABS:
        raise NotFound(f"There is no tab '{tab}'.")
    actor, token = _signed_in(request)
    try:
        desk = queue.desk(core(request).engine, actor, tab, site_name=site, before=before, thread_uri=thread)
    except NotFound as e:
        return _page(request, "message.html", e.status, actor=actor, csrf=_csrf_for(request, token), title=e.title,
                     detail=e.detail)
    return _page(request, "queue.html", actor=actor, csrf=_csrf_for(request, token), tab=tab, tabs=queue.TABS,
                 items=desk.page.items, next_before=desk.page.next_before, sites=sorted(desk.site_names.values()),
                 site=site, thread=desk.thread, waiting=desk.waiting, done=done, undo=_undoable(undo),
                 durations=BAN_DURATIONS)


@router.get("/queue-events")
async def queue_events(request: Request) -> Response:
    """The queue page's live notice: the moderator's waiting count as server-sent events
    (`web.stream.queue_stream`); held comments are fine to count for a moderator of their site."""
    actor, token = await run_in_threadpool(_signed_in, request)
    engine, hub = core(request).engine, request.app.state.hub
    if not hub.admit():
        raise Unavailable("This server has as many live streams open as it may; try again shortly.",
                          retry_after=stream.BUSY_RETRY_AFTER)
    return StreamingResponse(stream.queue_stream(engine, hub, actor.site_ids,
                                                 lambda: auth.session_actor(engine, token) is not None),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/audit")
def audit_page(request: Request, actor: str = "", action: str = "", target: str = "", before: QueryId | None = None) -> Response:
    engine = core(request).engine
    who, token = _signed_in(request)
    rows = audit.entries(engine, audit.Filters(tuple(who.site_ids), actor or None, action or None, target or None,
                                               before, 50))
    names = auth.site_names(engine, who)
    return _page(request, "audit.html", actor=who, csrf=_csrf_for(request, token), entries=rows, site_names=names,
                 filters={"actor": actor, "action": action, "target": target}, actions=audit.ACTIONS,
                 next_before=rows[-1].id if len(rows) == 50 else None)


@router.get("/bans")
def bans_page(request: Request, done: str = "") -> Response:
    engine = core(request).engine
    actor, token = _signed_in(request)
    rows = actions.active_bans(engine, actor.site_ids)
    names = auth.site_names(engine, actor)
    return _page(request, "bans.html", actor=actor, csrf=_csrf_for(request, token), bans=rows, site_names=names,
                 sites=sorted(names.values()), durations=BAN_DURATIONS, done=done)


DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


@router.get("/alerts")
def alerts_page(request: Request, site: str = "", status: str = "") -> Response:
    """The alerts a site sent and failed to send (admins only: the rows name subscribers' addresses)."""
    engine = _engine(request)
    actor, token = _signed_in(request)
    if actor.role != "admin":
        return _page(request, "message.html", 403, actor=actor, csrf=_csrf_for(request, token), title="Admins only",
                     detail="Only admins see alert deliveries: they name the subscribers' addresses.")
    names = auth.site_names(engine, actor)
    site = site or min(names.values(), default="")
    site_id = next((i for i, n in names.items() if n == site), None)
    if site and site_id is None:
        return _page(request, "message.html", 404, actor=actor, csrf=_csrf_for(request, token), title="No such site",
                     detail=f"There is no site named '{site}'.")
    shown = status if status in DELIVERY_STATUSES else None
    report = alert_service.deliveries(engine, site_id, status=shown, limit=100) if site_id else None
    return _page(request, "alerts.html", actor=actor, csrf=_csrf_for(request, token), sites=sorted(names.values()),
                 site=site, report=report, shown=shown, statuses=DELIVERY_STATUSES)


# -- actions -------------------------------------------------------------------------------------------
def _form_session(request: Request, csrf: str) -> tuple[Actor, str] | Response:
    """The signed-in moderator and their session token for a form post, or a refusal to give
    instead when the CSRF token does not match (no session raises NotSignedIn: the login page)."""
    actor, token = _signed_in(request)
    try:
        _check_csrf(request, csrf, token)
    except Forbidden as e:
        return _page(request, "message.html", 403, title=e.title, detail=e.detail)
    return actor, token


def _act(request: Request, csrf: str, back: str, do, notice: str, undoable: list[int] | None = None) -> Response:
    """Run one moderator action (it opens its own transaction) and go back to the page it came
    from with a notice (and, for a decision, the comments an "Undo" takes back); a refused action
    comes back with the reason, and nothing is changed."""
    session = _form_session(request, csrf)
    if isinstance(session, Response):
        return session
    actor, _token = session
    query = {"done": notice}
    try:
        do(actor)
        if undoable:
            query["undo"] = ",".join(map(str, undoable))
    except (Invalid, NotFound, Forbidden, Conflict) as e:
        query["done"] = "Not done: " + e.detail
    back = _local(back)
    sep = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{sep}{urlencode(query)}", status_code=303)


def _undoable(undo: str) -> list[int]:
    """The comment ids of an `undo` query parameter ("12,13"); anything else offers no undo."""
    parts = undo.split(",") if undo else []
    if len(parts) > 500 or not all(p.isdigit() and len(p) < 10 for p in parts):
        return []
    return [int(p) for p in parts]


Csrf = Annotated[Line, Form(max_length=500)]
Back = Annotated[Line, Form(max_length=2600)]  # an admin path with a thread's address in its query
Why = Annotated[Text, Form(max_length=2000)]


def _engine(request: Request):
    return core(request).engine


@router.post("/comments/{comment_id}/approve")
def approve(request: Request, comment_id: PathId, csrf: Csrf = "", back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.approve(_engine(request), actor, comment_id, reason)

    return _act(request, csrf, back, do, f"Approved comment {comment_id}.", [comment_id])


@router.post("/comments/{comment_id}/reject")
def reject(request: Request, comment_id: PathId, csrf: Csrf = "", back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.reject(_engine(request), actor, comment_id, reason)

    return _act(request, csrf, back, do, f"Rejected comment {comment_id}.", [comment_id])


@router.post("/comments/{comment_id}/edit")
def edit(request: Request, comment_id: PathId, text: Annotated[Text, Form(max_length=100_000)], csrf: Csrf = "",
         back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.edit(_engine(request), actor, comment_id, text, reason)

    return _act(request, csrf, back, do, f"Edited comment {comment_id}.")


@router.post("/comments/{comment_id}/feature")
def feature(request: Request, comment_id: PathId, featured: Annotated[bool, Form()] = True, csrf: Csrf = "",
            back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.feature(_engine(request), actor, comment_id, featured, reason)

    verb = "is now an editor's pick" if featured else "is no longer an editor's pick"
    return _act(request, csrf, back, do, f"Comment {comment_id} {verb}.")


@router.post("/comments/{comment_id}/pin")
def pin(request: Request, comment_id: PathId, pinned: Annotated[bool, Form()] = True, csrf: Csrf = "",
        back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.pin(_engine(request), actor, comment_id, pinned, reason)

    verb = "is pinned to the top of its thread" if pinned else "is no longer pinned"
    return _act(request, csrf, back, do, f"Comment {comment_id} {verb}.")


@router.post("/comments/{comment_id}/trust")
def trust(request: Request, comment_id: PathId, trusted: Annotated[bool, Form()] = True, csrf: Csrf = "",
          back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.set_trusted(_engine(request), actor, comment_id, trusted, reason)

    word = "Trusted" if trusted else "No longer trusting"
    return _act(request, csrf, back, do, f"{word} the author of comment {comment_id}.")


@router.post("/comments/{comment_id}/ban")
def ban(request: Request, comment_id: PathId, kind: Annotated[Line, Form(max_length=16)] = "ip",
        duration: Annotated[Line, Form(max_length=16)] = "forever", csrf: Csrf = "", back: Back = "",
        reason: Why = "") -> Response:
    def do(actor):
        if duration not in BAN_DURATIONS:
            raise Invalid("Choose how long the ban lasts.")
        actions.ban_comment_author(_engine(request), actor, comment_id, kind, seconds=BAN_DURATIONS[duration],
                                   reason=reason)

    return _act(request, csrf, back, do, f"Banned the author of comment {comment_id} ({kind}, {duration}).")


@router.post("/bulk")
def bulk(request: Request, action: Annotated[Line, Form(max_length=16)], ids: Annotated[list[FormId] | None, Form()] = None,
         csrf: Csrf = "", back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.review_many(_engine(request), actor, action, ids or [], reason)

    verb = "Approved" if action == "approve" else "Rejected"
    return _act(request, csrf, back, do, f"{verb} {len(ids or [])} comments.", ids)


@router.post("/undo")
def undo(request: Request, ids: Annotated[list[FormId] | None, Form()] = None, csrf: Csrf = "",
         back: Back = "") -> Response:
    def do(actor):
        actions.undo(_engine(request), actor, ids or [])

    said = (f"Undone: comment {ids[0]} is back where it was." if ids and len(ids) == 1
            else f"Undone: {len(ids or [])} comments are back where they were.")
    return _act(request, csrf, back, do, said)


@router.post("/threads/{thread_id}/close")
def close(request: Request, thread_id: PathId, closed: Annotated[bool, Form()] = True, csrf: Csrf = "",
          back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.close_thread(_engine(request), actor, thread_id, closed, reason, core(request).settings)

    return _act(request, csrf, back, do, "Closed the thread." if closed else "Reopened the thread.")


@router.post("/threads/{thread_id}/slow-mode")
def slow_mode(request: Request, thread_id: PathId, seconds: Annotated[int, Form(ge=0, le=actions.MAX_SLOW_MODE)], csrf: Csrf = "",
              back: Back = "", reason: Why = "") -> Response:
    def do(actor):
        actions.slow_mode(_engine(request), actor, thread_id, seconds, reason)

    notice = f"Slow mode: one comment per {seconds} s per author." if seconds else "Slow mode off."
    return _act(request, csrf, back, do, notice)


@router.post("/bans")
def ban_email(request: Request, site: Annotated[Line, Form(max_length=64)], email: Annotated[Line, Form(max_length=320)],
              duration: Annotated[Line, Form(max_length=16)] = "forever", csrf: Csrf = "", reason: Why = "") -> Response:
    the_core = core(request)

    def do(actor):
        if duration not in BAN_DURATIONS:
            raise Invalid("Choose a site and a duration.")
        try:
            actions.ban_email(the_core.engine, actor, site, email, lambda e: the_core.signer.hash("email", e),
                              seconds=BAN_DURATIONS[duration], reason=reason)
        except NotFound:  # no such site
            raise Invalid("Choose a site and a duration.") from None

    return _act(request, csrf, "/admin/bans", do, f"Banned {email.strip().lower()} on {site}.")


@router.post("/bans/{ban_id}/lift")
def lift(request: Request, ban_id: PathId, csrf: Csrf = "", reason: Why = "") -> Response:
    def do(actor):
        actions.lift_ban(_engine(request), actor, ban_id, reason)

    return _act(request, csrf, "/admin/bans", do, f"Lifted ban {ban_id}.")


# -- personal data ---------------------------------------------------------------------------------
ERASURE_MODES = get_args(privacy.ErasureMode)
Email = Annotated[Line, Form(max_length=320)]
SiteName = Annotated[Line, Form(max_length=64)]


@router.get("/privacy")
def privacy_page(request: Request, done: str = "") -> Response:
    actor, token = _signed_in(request)
    names = auth.site_names(_engine(request), actor)
    return _privacy_page(request, actor, token, names, {}, done=done)


def _privacy_page(request: Request, actor: Actor, token: str, names: dict[int, str], form: dict[str, str],
                  status: int = 200, **context: Any) -> HTMLResponse:
    return _page(request, "privacy.html", status, actor=actor, csrf=_csrf_for(request, token),
                 sites=sorted(names.values()), form=form, **context)


def _privacy(request: Request, csrf: str, form: dict[str, str], do) -> Response:
    """Check the session, the CSRF token and the form, then run `do(actor, token, names, site,
    address)`. Bad input comes back on the form with the reason and the fields as typed, and
    nothing is changed."""
    session = _form_session(request, csrf)
    if isinstance(session, Response):
        return session
    actor, token = session
    engine = _engine(request)
    names = auth.site_names(engine, actor)
    try:
        site, address = personal_data.request_for(engine, actor, form["email"], form["site"], form["reason"])
        return do(actor, token, names, site, address)
    except (Invalid, NotFound, Forbidden) as e:
        return _privacy_page(request, actor, token, names, form, e.status, error=e.detail)


def _attachment(data: dict[str, Any], site: str, address: str) -> Response:
    name = f"townsquare-{site}-{hashlib.sha256(address.encode()).hexdigest()[:8]}.json"
    return Response(orjson.dumps(data, option=orjson.OPT_INDENT_2), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/privacy/export")
def privacy_export(request: Request, email: Email = "", site: SiteName = "", csrf: Csrf = "",
                   reason: Why = "") -> Response:
    """Everything stored about the author on the site, as a JSON download; the audit log records it."""
    signer = core(request).signer

    def do(actor, _token, _names, found, address):
        data = personal_data.export(_engine(request), signer, actor, found, address, reason)
        return _attachment(data, found.name, address)

    return _privacy(request, csrf, {"email": email, "site": site, "reason": reason}, do)


@router.post("/privacy/erase")
def privacy_erase(request: Request, email: Email = "", site: SiteName = "", csrf: Csrf = "", reason: Why = "",
                  mode: Annotated[Line, Form(max_length=16)] = "",
                  voter_tokens: Annotated[Text, Form(max_length=50_000)] = "",
                  confirmed: Annotated[bool, Form()] = False) -> Response:
    """Erase the author's data on the site. Without `confirmed` this only shows what would be
    erased and asks for the choice (delete or anonymise the comments) and a confirmation."""
    signer = core(request).signer
    form = {"email": email, "site": site, "reason": reason, "mode": mode, "voter_tokens": voter_tokens}

    def do(actor, token, names, found, address):
        # Unless the moderator chose, the site's own setting decides.
        chosen = form["mode"] = mode or site_settings(core(request).settings.site_defaults, found.settings).erasure
        if chosen not in ERASURE_MODES:
            raise Invalid("Choose whether the comments are deleted or anonymised.")
        voters = _voters(signer, voter_tokens)
        if not confirmed:
            found_now = personal_data.found(_engine(request), signer, found, address) | {"votes": len(voters)}
            return _privacy_page(request, actor, token, names, form, confirm=found_now)
        done, target = personal_data.erase(_engine(request), signer, actor, found, address, mode=chosen,
                                           voters=voters, reason=reason)
        verb = "deleted" if chosen == "delete" else "anonymised"
        notice = (f"Erased on {found.name}: {done['comments']} comment(s) {verb}, {done['votes']} vote(s) and "
                  f"{done['subscriptions']} alert subscription(s) removed. Audit log: {target}.")
        return RedirectResponse("/admin/privacy?" + urlencode({"done": notice}), status_code=303)

    return _privacy(request, csrf, form, do)


def _voters(signer, voter_tokens: str) -> tuple[str, ...]:
    """The voter ids inside the tokens the author handed over (separated by white space): votes
    are anonymous, so only the author can show which are theirs."""
    try:
        return tuple(signer.voter_id(t) for t in voter_tokens.split())
    except TokenError as e:
        raise Invalid(str(e)) from None


# -- word lists ------------------------------------------------------------------------------------
WordsText = Annotated[Text, Form(max_length=200_000)]


def _words_page(request: Request, actor: Actor, token: str, names: list[str], site: str, lists: dict[str, str],
                status: int = 200, **context: Any) -> HTMLResponse:
    return _page(request, "words.html", status, actor=actor, csrf=_csrf_for(request, token), sites=names, site=site,
                 lists=lists, kinds=site_words.KINDS, max_words=site_words.MAX_WORDS,
                 max_length=site_words.MAX_LENGTH, **context)


@router.get("/words")
def words_page(request: Request, site: str = "", done: str = "") -> Response:
    the_core = core(request)
    actor, token = _signed_in(request)
    names = sorted(auth.site_names(the_core.engine, actor).values())
    site = site or next(iter(names), "")
    lists = {}
    if site:
        try:
            in_force = site_words.in_force(the_core.engine, the_core.settings, actor, site)
        except (NotFound, Forbidden) as e:
            return _page(request, "message.html", e.status, title=e.title, detail=e.detail)
        lists = {k: "\n".join(v) for k, v in in_force.items()}
    return _words_page(request, actor, token, names, site, lists, done=done)


@router.post("/words")
def save_words(request: Request, site: SiteName = "", banned_words: WordsText = "", suspect_words: WordsText = "",
               csrf: Csrf = "") -> Response:
    """Replace the site's banned and suspect words (one per line). Bad input comes back on the
    page with the reason and the lists as typed, and nothing is stored."""
    the_core = core(request)
    form = {"banned_words": banned_words, "suspect_words": suspect_words}
    session = _form_session(request, csrf)
    if isinstance(session, Response):
        return session
    actor, token = session
    try:
        site_words.save(the_core.engine, actor, the_core.settings.site_defaults, site,
                        {k: v.splitlines() for k, v in form.items()})
    except (NotFound, Forbidden) as e:
        return _page(request, "message.html", e.status, title=e.title, detail=e.detail)
    except Invalid as e:
        names = sorted(auth.site_names(the_core.engine, actor).values())
        return _words_page(request, actor, token, names, site, form, e.status, error=e.detail)
    notice = f"Saved the word lists of {site}; they apply from the next comment."
    return RedirectResponse("/admin/words?" + urlencode({"site": site, "done": notice}), status_code=303)


# -- site settings (admins) ----------------------------------------------------------------------------
def _settings_page(request: Request, actor: Actor, token: str, site: str, values: dict[str, Any],
                   status: int = 200, **context: Any) -> HTMLResponse:
    names = sorted(auth.site_names(core(request).engine, actor).values())
    fields = site_config.form_fields()
    groups = {f.group: [g for g in fields if g.group == f.group] for f in fields}
    return _page(request, "settings.html", status, actor=actor, csrf=_csrf_for(request, token), sites=names,
                 site=site, groups=groups, values=values, flags_shown=site_config.FLAGS_SHOWN, settings_page=True,
                 **context)


def _admin_only(request: Request, actor: Actor, token: str) -> Response | None:
    if actor.role == "admin":
        return None
    return _page(request, "message.html", 403, actor=actor, csrf=_csrf_for(request, token), title="Admins only",
                 detail="Only admins change a site's settings.")


@router.get("/settings")
def settings_page(request: Request, site: Annotated[str, Query(max_length=64)] = "", done: str = "") -> Response:
    the_core = core(request)
    actor, token = _signed_in(request)
    if refused := _admin_only(request, actor, token):
        return refused
    names = auth.site_names(the_core.engine, actor)
    site = site or min(names.values(), default="")
    if site not in names.values():
        return _page(request, "message.html", 404, actor=actor, csrf=_csrf_for(request, token), title="No such site",
                     detail=f"There is no site named '{site}'.")
    in_force = site_config.in_force(the_core.engine, the_core.settings, site)
    return _settings_page(request, actor, token, site, in_force, done=done)


@router.post("/settings")
async def save_settings(request: Request) -> Response:
    """Change the site's settings: every field of the form at once (a field left out of the post
    stays as it is). Each wrong value comes back next to its field, as typed, and nothing is
    stored. Every change is in the audit log (`site_settings`)."""
    submitted = await request.form()  # bounded by max_body_bytes before it is read
    form = {key: [v for v in submitted.getlist(key) if isinstance(v, str)] for key in submitted.keys()}
    return await run_in_threadpool(_save_settings, request, form)


def _save_settings(request: Request, form: dict[str, list[str]]) -> Response:
    site = (form.pop("site", None) or [""])[0]
    session = _form_session(request, (form.pop("csrf", None) or [""])[0])
    if isinstance(session, Response):
        return session
    actor, token = session
    if refused := _admin_only(request, actor, token):
        return refused
    the_core = core(request)
    try:
        changed, errors = site_config.save_form(the_core.engine, the_core.settings.site_defaults, site[:64], form,
                                                actor=actor.email)
    except NotFound as e:
        return _page(request, "message.html", e.status, title=e.title, detail=e.detail)
    if errors:
        return _settings_page(request, actor, token, site, site_config.typed_back(form), 422, errors=errors,
                              error="Nothing was saved: correct the fields marked below.")
    notice = f"Saved {len(changed)} setting{'s' if len(changed) != 1 else ''} of {site}." if changed else "Nothing changed."
    return RedirectResponse("/admin/settings?" + urlencode({"site": site, "done": notice}), status_code=303)
