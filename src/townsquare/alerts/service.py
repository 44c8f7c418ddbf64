"""What the alert endpoints do, each in one transaction of its own: a short write transaction
for changes, a read-only snapshot for pages, feeds and listings."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from townsquare.alerts import articles, feeds, subscriptions, targets, webhooks
from townsquare.alerts.report import delivery_report
from townsquare.alerts.subscriptions import Listed, SubscriptionError
from townsquare.errors import Forbidden, Invalid, NotFound, TooMany, Unauthorized
from townsquare.services import Core
from townsquare.domain import validate
from townsquare.store import article_feeds, threads
from townsquare.store import sites as site_store
from townsquare.store.sites import Site
from townsquare.store import subscriptions as subscription_rows
from townsquare.store import webhooks as webhook_rows
from townsquare.store.articles import Article
from townsquare.store.db import Connection, Engine, now, reading, writing
from townsquare.store.subscriptions import Subscription

SUBSCRIBE_PER_MINUTE = 10
WHATSAPP_CONSENT = "I agree to receive news alerts on WhatsApp."
CHANNEL_NAMES = {"email": "e-mail", "whatsapp": "WhatsApp"}


@dataclass(frozen=True)
class SignUp:
    """A reader's (or, for `moderator`, a publisher's) request for alerts."""

    site: str
    kind: str  # thread | news | moderator
    channel: str  # email | whatsapp
    address: str
    delivery: str = "immediate"
    uri: str | None = None  # the article, for kind=thread
    title: str | None = None
    url: str | None = None
    section: str | None = None  # only this section's articles (kind=news)
    consent: bool = False  # the reader ticked the opt-in box (required for WhatsApp)


def site(conn: Connection, name: str) -> Site:
    found = site_store.by_name(conn, name)
    if found is None:
        raise NotFound(f"There is no site named '{name}'.", field="site")
    return found


def publisher_site(conn: Connection, name: str, api_key: str) -> Site:
    """The site, if `api_key` is its API key (the sites table keeps its sha256)."""
    found = site(conn, name)
    expected = found.api_key_hash or ""
    if not api_key or not expected or not hmac.compare_digest(hashlib.sha256(api_key.encode()).hexdigest(), expected):
        raise Unauthorized(f"Send site '{name}''s API key as 'Authorization: Bearer <key>'.")
    return found


# -- readers -------------------------------------------------------------------------------------
def sign_up(core: Core, request: SignUp, *, api_key: str, origin: str | None, ip: str,
            confirmations_per_day: int, channels: tuple[str, ...] = ("email", "whatsapp")) -> None:
    """Subscribe, queueing the confirmation message; raises SubscriptionError for a bad address.
    `channels` are those this server can send on (no WhatsApp without an account)."""
    if request.channel not in channels:
        raise Invalid(f"{CHANNEL_NAMES[request.channel]} alerts are not set up on this server; sign up by "
                      f"{' or '.join(CHANNEL_NAMES[c] for c in channels)}.", field="channel")
    if core.settings.rate_limits == "on" and not core.limiter.allow(
            f"{request.site}:subscribe:{core.signer.hash('ip', ip)}", SUBSCRIBE_PER_MINUTE, 60):
        raise TooMany("Too many sign-ups from this address; try again in a minute.", retry_after=60)
    with writing(core.engine) as conn:
        if request.kind == "moderator":
            the_site = publisher_site(conn, request.site, api_key)
        else:
            the_site = site(conn, request.site)
            if origin and "*" not in the_site.origins and origin.rstrip("/") not in the_site.origins:
                raise Forbidden(f"The origin {origin} may not sign up for alerts of site '{the_site.name}'.")
        if request.channel == "whatsapp" and not request.consent:
            raise Invalid("WhatsApp alerts need the reader's consent (tick the box).", field="consent")
        scope = ""
        if request.kind == "thread":
            if not request.uri:
                raise Invalid("Following a discussion needs the article's uri.", field="uri")
            thread = threads.get_or_create(conn, the_site.id, request.uri, (request.title or "")[:500],
                                           validate.clean_page_url(request.url))
            scope = f"thread:{thread.id}"
        elif request.kind == "news" and request.section:
            scope = f"section:{request.section.strip()}"
        consent = {"source": "web", "text": WHATSAPP_CONSENT if request.channel == "whatsapp" else "sign-up form"}
        subscriptions.subscribe(
            conn, site_id=the_site.id, kind=request.kind, channel=request.channel, target=request.address,
            now=now(), scope=scope, delivery=request.delivery, consent=consent,
            confirmations_per_day=confirmations_per_day,
        )


def confirm(engine: Engine, subscription_id: int) -> Subscription | None:
    with writing(engine) as conn:
        return subscriptions.confirm(conn, subscription_id, now=now())


def unsubscribe(engine: Engine, subscription_id: int) -> Subscription | None:
    with writing(engine) as conn:
        return subscriptions.unsubscribe(conn, subscription_id, now=now())


def subscription_site(engine: Engine, subscription_id: int) -> Site | None:
    """The site a subscription is with, to name it on the confirm and unsubscribe pages."""
    with reading(engine) as conn:
        found = subscription_rows.get(conn, subscription_id)
        return site_store.by_id(conn, found.site_id) if found else None


def address_page(engine: Engine, *, site_id: int, channel: str, target: str) -> tuple[Site | None,
                                                                                         list[Listed]]:
    """The site and the address's subscriptions there, for the management page."""
    with reading(engine) as conn:
        return (site_store.by_id(conn, site_id),
                subscriptions.for_address(conn, site_id=site_id, channel=channel, target=target))


def manage(engine: Engine, subscription_id: int, *, site_id: int, channel: str, target: str, action: str,
           delivery: str) -> bool:
    """Unsubscribe or change delivery; False if the subscription is not the address's."""
    with writing(engine) as conn:
        if not subscription_rows.belongs_to(conn, subscription_id, site_id=site_id, channel=channel, target=target):
            return False
        if action == "unsubscribe":
            subscriptions.unsubscribe(conn, subscription_id, now=now())
        else:
            subscriptions.set_delivery(conn, subscription_id, delivery)
    return True


# -- publishers ----------------------------------------------------------------------------------
def announce_article(engine: Engine, *, site_name: str, api_key: str, url: str, title: str, guid: str | None,
                     summary: str, section: str) -> tuple[Article, bool]:
    with writing(engine) as conn:
        the_site = publisher_site(conn, site_name, api_key)
        return articles.announce(conn, site=the_site, url=url, title=title, guid=guid, summary=summary,
                                 section=section, now=now(), source="api")


def _check_target(engine: Engine, site_name: str, api_key: str, url: str, allow_private: bool) -> None:
    """Refuse a URL that points at a non-public address: after the key is checked (no DNS
    look-ups for strangers), before the write transaction (a look-up may take seconds)."""
    with reading(engine) as conn:
        publisher_site(conn, site_name, api_key)
    reason = targets.check_url(url, allow_private=allow_private)
    if reason:
        raise SubscriptionError(f"The URL is refused: {reason}.")


def set_article_feed(engine: Engine, *, site_name: str, api_key: str, url: str, interval: int,
                     allow_private: bool) -> None:
    _check_target(engine, site_name, api_key, url, allow_private)
    with writing(engine) as conn:
        the_site = publisher_site(conn, site_name, api_key)
        article_feeds.set_feed(conn, site_id=the_site.id, url=url, interval=interval, now=now())


def create_webhook(engine: Engine, *, site_name: str, api_key: str, url: str, kinds: list[str],
                   allow_private: bool) -> dict[str, Any]:
    _check_target(engine, site_name, api_key, url, allow_private)
    with writing(engine) as conn:
        the_site = publisher_site(conn, site_name, api_key)
        return webhooks.create(conn, site_id=the_site.id, url=url, kinds=kinds, now=now())


def list_webhooks(engine: Engine, *, site_name: str, api_key: str) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        the_site = publisher_site(conn, site_name, api_key)
        return webhooks.list_for_site(conn, the_site.id)


def rotate_webhook_secret(engine: Engine, webhook_id: int, *, site_name: str, api_key: str, grace: float) -> str:
    with writing(engine) as conn:
        the_site = publisher_site(conn, site_name, api_key)
        if webhook_id not in {h.id for h in webhook_rows.for_site(conn, the_site.id)}:
            raise NotFound(f"There is no webhook {webhook_id} for site '{site_name}'.")
        return webhooks.rotate(conn, webhook_id, now=now(), grace=grace)


def delete_webhook(engine: Engine, webhook_id: int, *, site_name: str, api_key: str) -> None:
    with writing(engine) as conn:
        the_site = publisher_site(conn, site_name, api_key)
        if not webhook_rows.remove(conn, site_id=the_site.id, webhook_id=webhook_id):
            raise NotFound(f"There is no webhook {webhook_id} for site '{site_name}'.")


# -- feeds ---------------------------------------------------------------------------------------
def site_feed(engine: Engine, *, site_name: str, public_url: str, self_url: str) -> bytes:
    with reading(engine) as conn:
        return feeds.site_feed(conn, site=site(conn, site_name), public_url=public_url, self_url=self_url)


def thread_feed(engine: Engine, *, site_name: str, uri: str, public_url: str, self_url: str) -> bytes:
    with reading(engine) as conn:
        the_site = site(conn, site_name)
        thread = threads.by_uri(conn, the_site.id, uri)
        if thread is None:
            raise NotFound(f"Site '{site_name}' has no discussion at {uri}.", field="uri")
        return feeds.thread_feed(conn, site=the_site, thread=thread, public_url=public_url, self_url=self_url)


# -- delivery report -----------------------------------------------------------------------------
def authenticated_site(engine: Engine, *, site_name: str, api_key: str) -> Site:
    with reading(engine) as conn:
        return publisher_site(conn, site_name, api_key)


def deliveries(engine: Engine, site_id: int, *, status: str | None, limit: int) -> dict[str, Any]:
    with reading(engine) as conn:
        return delivery_report(conn, site_id, status=status, limit=limit)
