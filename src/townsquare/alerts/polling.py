"""Polling a site's RSS/Atom feed for new articles (feedparser), with conditional requests.

The first poll of a feed records what is already there without alerting anyone: subscribers
hear about articles published after polling began, not about the feed's back catalogue.
"""

from __future__ import annotations

import asyncio
import html
import logging
from typing import Any

import feedparser
import httpx
import nh3

from townsquare.alerts import articles
from townsquare.alerts.subscriptions import SubscriptionError
from townsquare.alerts.targets import PinnedTransport
from townsquare.store import article_feeds
from townsquare.store.article_feeds import Feed
from townsquare.store.db import Engine, writing
from townsquare.store.db import now as clock
from townsquare.store.sites import by_id as site_by_id

log = logging.getLogger("townsquare.alerts")

MAX_FEED_BYTES = 5 * 1024 * 1024


class FeedPoller:
    def __init__(self, engine: Engine, *, timeout: float = 20.0, allow_private: bool = False):
        self.engine = engine
        self.timeout = timeout
        self.allow_private = allow_private

    async def poll_due(self) -> int:
        """Poll every feed whose time has come; returns how many were polled."""
        polled = 0
        while (feed := await asyncio.to_thread(self._claim)) is not None:
            await self._poll(feed)
            polled += 1
        return polled

    def _claim(self) -> Feed | None:
        """Take one due feed (its next poll time moves on, so other workers skip it)."""
        with writing(self.engine) as conn:
            return article_feeds.claim_due(conn, now=clock())

    async def _poll(self, feed: Feed) -> None:
        headers = {"User-Agent": "Townsquare-FeedPoller/1"}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.modified:
            headers["If-Modified-Since"] = feed.modified
        try:
            # Every hop, redirects included, goes through the address check.
            transport = PinnedTransport(allow_private=self.allow_private)
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True, transport=transport) as client:
                response = await client.get(feed.url, headers=headers)
            if response.status_code == 304:
                await asyncio.to_thread(self._record, feed, None, None, None)
                return
            response.raise_for_status()
            if len(response.content) > MAX_FEED_BYTES:
                raise ValueError(f"feed larger than {MAX_FEED_BYTES} bytes")
            parsed = await asyncio.to_thread(feedparser.parse, response.content)
            if parsed.bozo and not parsed.entries:
                raise ValueError(f"not a feed: {parsed.get('bozo_exception')}")
            await asyncio.to_thread(self._record, feed, parsed.entries, response.headers, None)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("polling feed %s failed: %s", feed.url, exc)
            await asyncio.to_thread(self._record, feed, None, None, str(exc))

    def _record(self, feed: Feed, entries: list | None, headers: Any, error: str | None) -> None:
        """Store what a poll found (the feed was fetched, and its entries cleaned, before the
        write transaction)."""
        polled = clock()
        # Oldest first, so alerts go out in publication order.
        found = [
            {"url": entry["link"], "title": entry.get("title", ""), "guid": entry.get("id") or entry["link"],
             "summary": _summary(entry), "section": _section(entry)}
            for entry in reversed(entries or []) if entry.get("link")
        ]
        with writing(self.engine) as conn:
            validators = None
            if entries is not None:
                site = site_by_id(conn, feed.site_id)
                first_poll = feed.last_polled is None
                for article in found:
                    try:
                        articles.announce(conn, site=site, now=clock(), source="feed", alert=not first_poll,
                                          **article)
                    except SubscriptionError as exc:
                        log.warning("feed %s: skipped entry %r: %s", feed.url, article["url"], exc)
                validators = (headers.get("etag"), headers.get("last-modified"))
            article_feeds.record_poll(conn, feed.site_id, polled=polled, error=error, validators=validators)


def _summary(entry: Any) -> str:
    """Feed summaries are HTML; alerts carry plain text."""
    text = html.unescape(nh3.clean(entry.get("summary", ""), tags=set()))
    return " ".join(text.split())


def _section(entry: Any) -> str:
    tags = entry.get("tags") or []
    return (tags[0].get("term") or "") if tags else ""
