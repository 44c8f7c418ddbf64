"""Alerts on the web: sign-up, confirmation, one-click unsubscribe, the subscription page,
article announcements, webhooks, Atom feeds and the delivery report (JSON; its page is /admin/alerts).

Publisher calls (articles, feeds, webhooks, delivery report) authenticate with the site's API
key: `Authorization: Bearer <key>` (the sites table keeps its sha256).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from townsquare.alerts import service, subscriptions
from townsquare.store.sites import Site
from townsquare.alerts.links import InvalidLink
from townsquare.alerts.runtime import AlertsConfig, config_from
from townsquare.alerts.subscriptions import SubscriptionError
from townsquare.alerts.templating import render
from townsquare.config import ConfigError, site_settings
from townsquare.domain import colours
from townsquare.domain.validate import http_url
from townsquare.errors import Invalid
from townsquare.services import Core
from townsquare.web.inputs import Line, PathId, Text
from townsquare.domain.validate import MAX_ID, URI_MAX
from townsquare.web.client import client_address

router = APIRouter()


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NewSubscription(Body):
    site: Line = Field(max_length=64)
    kind: Literal["thread", "news", "moderator"]
    channel: Literal["email", "whatsapp"] = "email"
    address: Line = Field(max_length=320)
    delivery: Literal["immediate", "hourly", "daily"] = "immediate"
    uri: Line | None = Field(None, max_length=URI_MAX, description="the article, for kind=thread")
    title: Line | None = Field(None, max_length=500)
    url: Line | None = Field(None, max_length=2000)
    section: Line | None = Field(None, max_length=200, description="only this section's articles (kind=news)")
    consent: bool = Field(False, description="the reader ticked the opt-in box (required for WhatsApp)")


class NewArticle(Body):
    site: Line = Field(max_length=64)
    url: Line = Field(max_length=2000)
    title: Line = Field(max_length=500)
    guid: Line | None = Field(None, max_length=1000)
    summary: Text = Field("", max_length=5000)
    section: Line = Field("", max_length=200)


class ArticleFeed(Body):
    site: Line = Field(max_length=64)
    url: Line = Field(max_length=2000)
    interval_minutes: int = Field(10, ge=1, le=1440)


class NewWebhook(Body):
    site: Line = Field(max_length=64)
    url: Line = Field(max_length=2000)
    events: list[Literal["thread", "news", "moderator"]] = Field(min_length=1)


class Rotation(Body):
    grace_seconds: int = Field(86400, ge=0, le=30 * 86400)


# -- plumbing ------------------------------------------------------------------------------------
def core(request: Request) -> Core:
    return request.app.state.core


def alerts_config(request: Request) -> AlertsConfig:
    config = getattr(request.app.state, "alerts_config", None)
    if config is None:
        config = request.app.state.alerts_config = config_from(request.app.state.settings, core(request).engine)
    return config


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def _page(name: str, code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(name, **context), status_code=code, headers={"Cache-Control": "no-store"})


def _site_page(request: Request, name: str, site: Site | None, code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the site's name and, when it has set `accent`, its colours."""
    theme = None
    if site is not None:
        try:
            chosen = site_settings(core(request).settings.site_defaults, site.settings)
        except ConfigError:  # settings stored before a rule tightened: the default colours
            chosen = None
        if chosen is not None and (chosen.accent or chosen.accent_dark):
            light, dark = colours.accents(chosen.accent, chosen.accent_dark)
            theme = f"/alerts/theme.css?light={light[1:]}&dark={dark[1:]}"
    return _page(name, code, site=site, theme=theme, **context)


def _api_key(authorization: str | None) -> str:
    """The key of `Authorization: Bearer <key>`, or "" without one."""
    return authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else ""


def _invalid(exc: SubscriptionError, field: str) -> Invalid:
    return Invalid(str(exc), field=field)


# -- readers -------------------------------------------------------------------------------------
@router.post("/api/v1/subscriptions", status_code=202, tags=["alerts"])
def subscribe(body: NewSubscription, request: Request,
              authorization: Annotated[str | None, Header()] = None) -> Response:
    """Sign up for alerts: new comments on an article (`thread`, with `uri`), new articles
    (`news`, optionally one `section`), or the moderation queue (`moderator`, site API key only).

    Nothing is sent until the reader follows the link in the confirmation message (double
    opt-in). The answer is the same whether or not the address was subscribed already.
    """
    try:
        service.sign_up(
            core(request), service.SignUp(**body.model_dump()), api_key=_api_key(authorization),
            origin=request.headers.get("origin"), ip=client_address(request, core(request).settings),
            confirmations_per_day=alerts_config(request).alerts.confirmations_per_day,
            channels=alerts_config(request).channels,
        )
    except SubscriptionError as exc:
        raise _invalid(exc, "address") from None
    where = "your inbox" if body.channel == "email" else "WhatsApp"
    return _json({"status": "confirmation_sent",
                  "message": f"Check {where}: follow the link we sent to confirm your alerts."}, 202)


@router.get("/api/v1/alerts/channels", tags=["alerts"])
def channels(request: Request) -> Response:
    """The channels readers can sign up with here: `email`, and `whatsapp` when a WhatsApp
    account is configured. The sign-up box offers only these."""
    return Response(orjson.dumps({"channels": list(alerts_config(request).channels)}), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


def _bad_link(exc: InvalidLink) -> HTMLResponse:
    return _page("message.html", 400, title="Link not valid", text=str(exc))


@router.get("/alerts/confirm", include_in_schema=False)
def confirm_page(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    try:
        subscription_id = alerts_config(request).links.read_confirm(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    return _site_page(request, "confirm.html", service.subscription_site(core(request).engine, subscription_id),
                      token=token)


@router.post("/alerts/confirm", include_in_schema=False)
def confirm(request: Request, token: Annotated[Line, Form(max_length=2000)]) -> HTMLResponse:
    links = alerts_config(request).links
    try:
        subscription_id = links.read_confirm(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    site = service.subscription_site(core(request).engine, subscription_id)
    sub = service.confirm(core(request).engine, subscription_id)
    if sub is None:
        return _site_page(request, "message.html", site, 404, title="Subscription not found",
                          text="This subscription was cancelled. Sign up again to receive alerts.")
    return _site_page(request, "message.html", site, title="Your alerts are on",
                      text="Thank you: you will receive the alerts you asked for.",
                      link=links.manage_url(sub.site_id, sub.channel, sub.target), link_text="Manage your alerts")


@router.get("/alerts/unsubscribe", include_in_schema=False)
def unsubscribe_page(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    try:
        subscription_id = alerts_config(request).links.read_unsubscribe(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    return _site_page(request, "unsubscribe.html", service.subscription_site(core(request).engine, subscription_id),
                      token=token)


@router.post("/alerts/unsubscribe", include_in_schema=False)
def unsubscribe(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058): mail clients POST `List-Unsubscribe=One-Click` here."""
    links = alerts_config(request).links
    try:
        subscription_id = links.read_unsubscribe(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    site = service.subscription_site(core(request).engine, subscription_id)
    sub = service.unsubscribe(core(request).engine, subscription_id)
    if sub is None:
        return _site_page(request, "message.html", site, title="Unsubscribed",
                          text="You will receive no more of these alerts.")
    return _site_page(request, "message.html", site, title="Unsubscribed",
                      text="You will receive no more of these alerts.",
                      link=links.manage_url(sub.site_id, sub.channel, sub.target), link_text="See your other alerts")


@router.get("/alerts/theme.css", include_in_schema=False)
def theme(light: str = Query(pattern="^[0-9a-fA-F]{6}$"), dark: str = Query(pattern="^[0-9a-fA-F]{6}$")) -> Response:
    """A site's accent colours for its alert pages (named in the address, so it may be kept for good); it
    outranks page.css's defaults (`html:root`), light and dark."""
    css = f"html:root {{ --accent: #{light}; }}\n@media (prefers-color-scheme: dark) {{ html:root {{ --accent: #{dark}; }} }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=31536000, immutable"})


def _manage_target(request: Request, token: str) -> tuple[int, str, str]:
    return alerts_config(request).links.read_manage(token)


@router.get("/alerts/manage", include_in_schema=False)
def manage_page(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    try:
        site_id, channel, target = _manage_target(request, token)
    except InvalidLink as exc:
        return _bad_link(exc)
    site, subs = service.address_page(core(request).engine, site_id=site_id, channel=channel, target=target)
    return _site_page(request, "manage.html", site, token=token, channel=channel, target=target, subs=subs,
                      deliveries=subscriptions.DELIVERIES)


@router.post("/alerts/manage", include_in_schema=False)
def manage(request: Request, token: str = Query(max_length=2000),
           subscription: Annotated[int, Form(ge=0, le=MAX_ID)] = 0,
           action: Annotated[Literal["delivery", "unsubscribe"], Form()] = "delivery",
           delivery: Annotated[Literal["immediate", "hourly", "daily"], Form()] = "immediate") -> Response:
    try:
        site_id, channel, target = _manage_target(request, token)
    except InvalidLink as exc:
        return _bad_link(exc)
    if not service.manage(core(request).engine, subscription, site_id=site_id, channel=channel, target=target,
                          action=action, delivery=delivery):
        return _page("message.html", 404, title="Subscription not found", text="There is no such subscription.")
    # Relative, so it stays on the page's own origin (the CSP's form-action) behind any proxy.
    return RedirectResponse(f"{request.url.path}?{request.url.query}", status_code=303)


# -- publishers ----------------------------------------------------------------------------------
@router.post("/api/v1/articles", tags=["alerts"])
def announce_article(body: NewArticle, request: Request,
                     authorization: Annotated[str | None, Header()] = None) -> Response:
    """Announce a new article (site API key). Its news alerts go out once, however often it is
    announced: `guid` (default: the URL) identifies it. 201 when new, 200 when known already."""
    try:
        article, announced = service.announce_article(
            core(request).engine, site_name=body.site, api_key=_api_key(authorization), url=body.url,
            title=body.title, guid=body.guid, summary=body.summary, section=body.section)
    except SubscriptionError as exc:
        raise _invalid(exc, "url") from None
    shown = {k: getattr(article, k) for k in ("id", "guid", "url", "title", "section", "announced_at")}
    return _json({"article": shown, "announced": announced}, 201 if announced else 200)


@router.put("/api/v1/article-feed", tags=["alerts"])
def set_article_feed(body: ArticleFeed, request: Request,
                     authorization: Annotated[str | None, Header()] = None) -> Response:
    """Poll the site's RSS/Atom feed for new articles every `interval_minutes` (site API key).
    Articles already in the feed when polling starts send no alerts."""
    if http_url(body.url) is None:
        raise Invalid("The feed URL must be an http(s) URL.", field="url")
    try:
        service.set_article_feed(core(request).engine, site_name=body.site, api_key=_api_key(authorization),
                                 url=body.url, interval=body.interval_minutes * 60,
                                 allow_private=alerts_config(request).alerts.allow_private_targets)
    except SubscriptionError as exc:
        raise _invalid(exc, "url") from None
    return _json({"site": body.site, "url": body.url, "interval_minutes": body.interval_minutes})


@router.post("/api/v1/webhooks", status_code=201, tags=["alerts"])
def create_webhook(body: NewWebhook, request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> Response:
    """Register a webhook (site API key) for every new comment (`thread`), article (`news`) or
    held comment (`moderator`). The answer holds the signing secret; it is shown only once."""
    try:
        hook = service.create_webhook(core(request).engine, site_name=body.site, api_key=_api_key(authorization),
                                      url=body.url, kinds=list(body.events),
                                      allow_private=alerts_config(request).alerts.allow_private_targets)
    except SubscriptionError as exc:
        raise _invalid(exc, "url") from None
    return _json(hook, 201)


@router.get("/api/v1/webhooks", tags=["alerts"])
def list_webhooks(request: Request, site: Annotated[str, Query(max_length=64)],
                  authorization: Annotated[str | None, Header()] = None) -> Response:
    hooks = service.list_webhooks(core(request).engine, site_name=site, api_key=_api_key(authorization))
    return _json({"webhooks": hooks})


@router.post("/api/v1/webhooks/{webhook_id}/rotate", tags=["alerts"])
def rotate_webhook_secret(webhook_id: PathId, body: Rotation, request: Request,
                          site: Annotated[str, Query(max_length=64)],
                          authorization: Annotated[str | None, Header()] = None) -> Response:
    """Issue a new signing secret. Deliveries carry a signature for the old secrets too until
    `grace_seconds` have passed, so receivers can switch without missing one."""
    secret = service.rotate_webhook_secret(core(request).engine, webhook_id, site_name=site,
                                           api_key=_api_key(authorization), grace=body.grace_seconds)
    return _json({"id": webhook_id, "secret": secret, "previous_secrets_valid_for": body.grace_seconds})


@router.delete("/api/v1/webhooks/{webhook_id}", status_code=204, tags=["alerts"])
def delete_webhook(webhook_id: PathId, request: Request, site: Annotated[str, Query(max_length=64)],
                   authorization: Annotated[str | None, Header()] = None) -> Response:
    service.delete_webhook(core(request).engine, webhook_id, site_name=site, api_key=_api_key(authorization))
    return Response(status_code=204)


# -- feeds ---------------------------------------------------------------------------------------
ATOM_TYPE = "application/atom+xml; charset=utf-8"


@router.get("/feeds/{site}/recent.atom", tags=["alerts"])
def recent_feed(site: str, request: Request) -> Response:
    """The site's 50 most recent published comments (Atom)."""
    public_url = alerts_config(request).links.public_url
    body = service.site_feed(core(request).engine, site_name=site, public_url=public_url, self_url=str(request.url))
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.get("/feeds/{site}/thread.atom", tags=["alerts"])
def thread_feed(site: str, request: Request, uri: str = Query(max_length=2000)) -> Response:
    """An article's 50 most recent published comments (Atom)."""
    public_url = alerts_config(request).links.public_url
    body = service.thread_feed(core(request).engine, site_name=site, uri=uri, public_url=public_url,
                               self_url=str(request.url))
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=60"})


# -- delivery report -----------------------------------------------------------------------------
def site_admin(request: Request, site: Annotated[str, Query(max_length=64)],
               authorization: Annotated[str | None, Header()] = None) -> Site:
    """Who may see a site's deliveries over the API: the site API key. (Signed-in admins see
    them at /admin/alerts.)"""
    return service.authenticated_site(core(request).engine, site_name=site, api_key=_api_key(authorization))


@router.get("/api/v1/alerts/deliveries", tags=["alerts"])
def deliveries(request: Request, site: Annotated[Site, Depends(site_admin)],
               status: Literal["pending", "sending", "sent", "failed", "cancelled"] | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    """Delivery status: counts per status and channel, and the latest messages (failures first
    when `status=failed`), each with its attempts and last error."""
    return _json(service.deliveries(core(request).engine, site.id, status=status, limit=limit))
