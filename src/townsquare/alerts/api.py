"""Alerts on the web: sign-up, confirmation, one-click unsubscribe, the subscription page,
article announcements, webhooks, Atom feeds and the delivery report.

Publisher calls (articles, feeds, webhooks, delivery report) authenticate with the site's API
key: `Authorization: Bearer <key>` (the sites table keeps its sha256).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from starlette.responses import Response

from townsquare.alerts import articles, feeds, polling, subscriptions, webhooks
from townsquare.alerts.links import InvalidLink
from townsquare.alerts.report import delivery_report
from townsquare.alerts.runtime import AlertsConfig, config_from
from townsquare.alerts.subscriptions import SubscriptionError
from townsquare.alerts.templating import render
from townsquare.errors import Forbidden, Invalid, NotFound, TooMany, Unauthorized
from townsquare.services import Core
from townsquare.store import queries
from townsquare.store.db import now, reader

router = APIRouter()

SUBSCRIBE_PER_MINUTE = 10
WHATSAPP_CONSENT = "I agree to receive news alerts on WhatsApp."


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewSubscription(Body):
    site: str = Field(max_length=64)
    kind: Literal["thread", "news", "moderator"]
    channel: Literal["email", "whatsapp"] = "email"
    address: str = Field(max_length=320)
    delivery: Literal["immediate", "hourly", "daily"] = "immediate"
    uri: str | None = Field(None, max_length=2000, description="the article, for kind=thread")
    title: str | None = Field(None, max_length=500)
    url: str | None = Field(None, max_length=2000)
    section: str | None = Field(None, max_length=200, description="only this section's articles (kind=news)")
    consent: bool = Field(False, description="the reader ticked the opt-in box (required for WhatsApp)")


class NewArticle(Body):
    site: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    title: str = Field(max_length=500)
    guid: str | None = Field(None, max_length=1000)
    summary: str = Field("", max_length=5000)
    section: str = Field("", max_length=200)


class ArticleFeed(Body):
    site: str = Field(max_length=64)
    url: str = Field(max_length=2000)
    interval_minutes: int = Field(10, ge=1, le=1440)


class NewWebhook(Body):
    site: str = Field(max_length=64)
    url: str = Field(max_length=2000)
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


def _site(conn: Connection, name: str) -> dict[str, Any]:
    site = queries.site_by_name(conn, name)
    if site is None:
        raise NotFound(f"There is no site named '{name}'.", field="site")
    return site


def _publisher_site(conn: Connection, name: str, authorization: str | None) -> dict[str, Any]:
    """The site, if the request carries its API key."""
    site = _site(conn, name)
    key = authorization[7:].strip() if authorization and authorization.lower().startswith("bearer ") else ""
    expected = site.get("api_key_hash") or ""
    if not key or not expected or not hmac.compare_digest(hashlib.sha256(key.encode()).hexdigest(), expected):
        raise Unauthorized(f"Send site '{name}''s API key as 'Authorization: Bearer <key>'.")
    return site


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
    c = core(request)
    config = alerts_config(request)
    with c.engine.begin() as conn:
        if body.kind == "moderator":
            site = _publisher_site(conn, body.site, authorization)
        else:
            site = _site(conn, body.site)
            origin = request.headers.get("origin")
            if origin and "*" not in site["origins"] and origin.rstrip("/") not in site["origins"]:
                raise Forbidden(f"The origin {origin} may not sign up for alerts of site '{site['name']}'.")
        if body.channel == "whatsapp" and not body.consent:
            raise Invalid("WhatsApp alerts need the reader's consent (tick the box).", field="consent")
        ip = request.client.host if request.client else ""
        if c.settings.rate_limits == "on" and not c.limiter.allow(
                f"{site['id']}:subscribe:{c.signer.hash('ip', ip)}", SUBSCRIBE_PER_MINUTE, 60, conn):
            raise TooMany("Too many sign-ups from this address; try again in a minute.", retry_after=60)
        scope = ""
        if body.kind == "thread":
            if not body.uri:
                raise Invalid("Following a discussion needs the article's uri.", field="uri")
            thread = queries.get_or_create_thread(conn, site["id"], body.uri, (body.title or "")[:500],
                                                  (body.url or "")[:2000])
            scope = f"thread:{thread['id']}"
        elif body.kind == "news" and body.section:
            scope = f"section:{body.section.strip()}"
        consent = {"source": "web", "text": WHATSAPP_CONSENT if body.channel == "whatsapp" else "sign-up form"}
        try:
            subscriptions.subscribe(
                conn, site_id=site["id"], kind=body.kind, channel=body.channel, target=body.address, now=now(),
                scope=scope, delivery=body.delivery, consent=consent,
                confirmations_per_day=config.alerts.confirmations_per_day,
            )
        except SubscriptionError as exc:
            raise _invalid(exc, "address") from None
    where = "your inbox" if body.channel == "email" else "WhatsApp"
    return _json({"status": "confirmation_sent",
                  "message": f"Check {where}: follow the link we sent to confirm your alerts."}, 202)


def _bad_link(exc: InvalidLink) -> HTMLResponse:
    return _page("message.html", 400, title="Link not valid", text=str(exc))


@router.get("/alerts/confirm", include_in_schema=False)
def confirm_page(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    try:
        alerts_config(request).links.read_confirm(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    return _page("confirm.html", token=token)


@router.post("/alerts/confirm", include_in_schema=False)
def confirm(request: Request, token: Annotated[str, Form(max_length=2000)]) -> HTMLResponse:
    links = alerts_config(request).links
    try:
        subscription_id = links.read_confirm(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    with core(request).engine.begin() as conn:
        sub = subscriptions.confirm(conn, subscription_id, now=now())
    if sub is None:
        return _page("message.html", 404, title="Subscription not found",
                     text="This subscription was cancelled. Sign up again to receive alerts.")
    return _page("message.html", title="Your alerts are on",
                 text="Thank you: you will receive the alerts you asked for.",
                 link=links.manage_url(sub.site_id, sub.channel, sub.target), link_text="Manage your alerts")


@router.get("/alerts/unsubscribe", include_in_schema=False)
def unsubscribe_page(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    try:
        alerts_config(request).links.read_unsubscribe(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    return _page("unsubscribe.html", token=token)


@router.post("/alerts/unsubscribe", include_in_schema=False)
def unsubscribe(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058): mail clients POST `List-Unsubscribe=One-Click` here."""
    links = alerts_config(request).links
    try:
        subscription_id = links.read_unsubscribe(token)
    except InvalidLink as exc:
        return _bad_link(exc)
    with core(request).engine.begin() as conn:
        sub = subscriptions.unsubscribe(conn, subscription_id, now=now())
    if sub is None:
        return _page("message.html", title="Unsubscribed", text="You will receive no more of these alerts.")
    return _page("message.html", title="Unsubscribed", text="You will receive no more of these alerts.",
                 link=links.manage_url(sub.site_id, sub.channel, sub.target), link_text="See your other alerts")


def _manage_target(request: Request, token: str) -> tuple[int, str, str]:
    return alerts_config(request).links.read_manage(token)


@router.get("/alerts/manage", include_in_schema=False)
def manage_page(request: Request, token: str = Query(max_length=2000)) -> HTMLResponse:
    try:
        site_id, channel, target = _manage_target(request, token)
    except InvalidLink as exc:
        return _bad_link(exc)
    with reader(core(request).engine) as conn:
        site = queries.site_by_id(conn, site_id)
        subs = subscriptions.for_address(conn, site_id=site_id, channel=channel, target=target)
    return _page("manage.html", token=token, site=site, channel=channel, target=target, subs=subs,
                 deliveries=subscriptions.DELIVERIES)


@router.post("/alerts/manage", include_in_schema=False)
def manage(request: Request, token: str = Query(max_length=2000),
           subscription: Annotated[int, Form()] = 0,
           action: Annotated[Literal["delivery", "unsubscribe"], Form()] = "delivery",
           delivery: Annotated[Literal["immediate", "hourly", "daily"], Form()] = "immediate") -> Response:
    try:
        site_id, channel, target = _manage_target(request, token)
    except InvalidLink as exc:
        return _bad_link(exc)
    with core(request).engine.begin() as conn:
        if not subscriptions.belongs_to(conn, subscription, site_id=site_id, channel=channel, target=target):
            return _page("message.html", 404, title="Subscription not found", text="There is no such subscription.")
        if action == "unsubscribe":
            subscriptions.unsubscribe(conn, subscription, now=now())
        else:
            subscriptions.set_delivery(conn, subscription, delivery)
    return RedirectResponse(str(request.url), status_code=303)


# -- publishers ----------------------------------------------------------------------------------
@router.post("/api/v1/articles", tags=["alerts"])
def announce_article(body: NewArticle, request: Request,
                     authorization: Annotated[str | None, Header()] = None) -> Response:
    """Announce a new article (site API key). Its news alerts go out once, however often it is
    announced: `guid` (default: the URL) identifies it. 201 when new, 200 when known already."""
    with core(request).engine.begin() as conn:
        site = _publisher_site(conn, body.site, authorization)
        try:
            article, announced = articles.announce(
                conn, site=site, url=body.url, title=body.title, guid=body.guid, summary=body.summary,
                section=body.section, now=now(), source="api")
        except SubscriptionError as exc:
            raise _invalid(exc, "url") from None
    shown = {k: article[k] for k in ("id", "guid", "url", "title", "section", "announced_at")}
    return _json({"article": shown, "announced": announced}, 201 if announced else 200)


@router.put("/api/v1/article-feed", tags=["alerts"])
def set_article_feed(body: ArticleFeed, request: Request,
                     authorization: Annotated[str | None, Header()] = None) -> Response:
    """Poll the site's RSS/Atom feed for new articles every `interval_minutes` (site API key).
    Articles already in the feed when polling starts send no alerts."""
    if not body.url.startswith(("http://", "https://")):
        raise Invalid("The feed URL must be an http(s) URL.", field="url")
    with core(request).engine.begin() as conn:
        site = _publisher_site(conn, body.site, authorization)
        polling.set_feed(conn, site_id=site["id"], url=body.url, interval=body.interval_minutes * 60, now=now())
    return _json({"site": body.site, "url": body.url, "interval_minutes": body.interval_minutes})


@router.post("/api/v1/webhooks", status_code=201, tags=["alerts"])
def create_webhook(body: NewWebhook, request: Request,
                   authorization: Annotated[str | None, Header()] = None) -> Response:
    """Register a webhook (site API key) for every new comment (`thread`), article (`news`) or
    held comment (`moderator`). The answer holds the signing secret; it is shown only once."""
    with core(request).engine.begin() as conn:
        site = _publisher_site(conn, body.site, authorization)
        try:
            hook = webhooks.create(conn, site_id=site["id"], url=body.url, kinds=list(body.events), now=now())
        except SubscriptionError as exc:
            raise _invalid(exc, "url") from None
    return _json(hook, 201)


@router.get("/api/v1/webhooks", tags=["alerts"])
def list_webhooks(request: Request, site: Annotated[str, Query(max_length=64)],
                  authorization: Annotated[str | None, Header()] = None) -> Response:
    with reader(core(request).engine) as conn:
        s = _publisher_site(conn, site, authorization)
        return _json({"webhooks": webhooks.list_for_site(conn, s["id"])})


@router.post("/api/v1/webhooks/{webhook_id}/rotate", tags=["alerts"])
def rotate_webhook_secret(webhook_id: int, body: Rotation, request: Request,
                          site: Annotated[str, Query(max_length=64)],
                          authorization: Annotated[str | None, Header()] = None) -> Response:
    """Issue a new signing secret. Deliveries carry a signature for the old secrets too until
    `grace_seconds` have passed, so receivers can switch without missing one."""
    with core(request).engine.begin() as conn:
        s = _publisher_site(conn, site, authorization)
        if webhook_id not in {h["id"] for h in webhooks.list_for_site(conn, s["id"])}:
            raise NotFound(f"There is no webhook {webhook_id} for site '{site}'.")
        secret = webhooks.rotate(conn, webhook_id, now=now(), grace=body.grace_seconds)
    return _json({"id": webhook_id, "secret": secret, "previous_secrets_valid_for": body.grace_seconds})


@router.delete("/api/v1/webhooks/{webhook_id}", status_code=204, tags=["alerts"])
def delete_webhook(webhook_id: int, request: Request, site: Annotated[str, Query(max_length=64)],
                   authorization: Annotated[str | None, Header()] = None) -> Response:
    with core(request).engine.begin() as conn:
        s = _publisher_site(conn, site, authorization)
        if not webhooks.remove(conn, site_id=s["id"], webhook_id=webhook_id):
            raise NotFound(f"There is no webhook {webhook_id} for site '{site}'.")
    return Response(status_code=204)


# -- feeds ---------------------------------------------------------------------------------------
ATOM_TYPE = "application/atom+xml; charset=utf-8"


@router.get("/feeds/{site}/recent.atom", tags=["alerts"])
def recent_feed(site: str, request: Request) -> Response:
    """The site's 50 most recent published comments (Atom)."""
    public_url = alerts_config(request).links.public_url
    with reader(core(request).engine) as conn:
        body = feeds.site_feed(conn, site=_site(conn, site), public_url=public_url, self_url=str(request.url))
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.get("/feeds/{site}/thread.atom", tags=["alerts"])
def thread_feed(site: str, request: Request, uri: str = Query(max_length=2000)) -> Response:
    """An article's 50 most recent published comments (Atom)."""
    public_url = alerts_config(request).links.public_url
    with reader(core(request).engine) as conn:
        s = _site(conn, site)
        thread = queries.thread_by_uri(conn, s["id"], uri)
        if thread is None:
            raise NotFound(f"Site '{site}' has no discussion at {uri}.", field="uri")
        body = feeds.thread_feed(conn, site=s, thread=thread, public_url=public_url, self_url=str(request.url))
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=60"})


# -- delivery report -----------------------------------------------------------------------------
def site_admin(request: Request, site: Annotated[str, Query(max_length=64)],
               authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    """Who may see a site's deliveries: the site API key. The admin UI may override this
    dependency with its session check (`app.dependency_overrides[site_admin]`)."""
    with reader(core(request).engine) as conn:
        return _publisher_site(conn, site, authorization)


@router.get("/api/v1/alerts/deliveries", tags=["alerts"])
def deliveries(request: Request, site: Annotated[dict, Depends(site_admin)],
               status: Literal["pending", "sending", "sent", "failed", "cancelled"] | None = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    """Delivery status: counts per status and channel, and the latest messages (failures first
    when `status=failed`), each with its attempts and last error."""
    with reader(core(request).engine) as conn:
        return _json(delivery_report(conn, site["id"], status=status, limit=limit))


@router.get("/admin/alerts", include_in_schema=False)
def deliveries_page(request: Request, site: Annotated[dict, Depends(site_admin)],
                    status: Literal["pending", "sending", "sent", "failed", "cancelled"] | None = None) -> HTMLResponse:
    with reader(core(request).engine) as conn:
        report = delivery_report(conn, site["id"], status=status, limit=100)
    return _page("deliveries.html", site=site, report=report, shown=status)
