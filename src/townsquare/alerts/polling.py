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
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.alerts import articles
from townsquare.alerts.subscriptions import SubscriptionError
from townsquare.store.alerts import alert_feeds
from townsquare.store.db import now as clock
from townsquare.store.queries import site_by_id

log = logging.getLogger("townsquare.alerts")

MAX_FEED_BYTES = 5 * 1024 * 1024


def set_feed(conn: Connection, *, site_id: int, url: str, interval: int, now: float) -> None:
    """Start (or change) polling of a site's feed; the first poll happens at once."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {"url": url, "interval": interval, "next_poll_at": now}
    conn.execute(
        insert(alert_feeds).values(site_id=site_id, **values)
        .on_conflict_do_update(index_elements=[alert_feeds.c.site_id], set_={**values, "etag": None, "modified": None})
    )


class FeedPoller:
    def __init__(self, engine: Engine, *, timeout: float = 20.0):
        self.engine = engine
        self.timeout = timeout

    async def poll_due(self) -> int:
        """Poll every feed whose time has come; returns how many were polled."""
        polled = 0
        while (feed := await asyncio.to_thread(self._claim)) is not None:
            await self._poll(feed)
            polled += 1
        return polled

    def _claim(self) -> Any | None:
        """Take one due feed by moving its next poll time (so other workers skip it)."""
        f = alert_feeds
        with self.engine.begin() as conn:
            now = clock()
            for feed in conn.execute(select(f).where(f.c.next_poll_at <= now).order_by(f.c.next_poll_at).limit(5)):
                taken = conn.execute(
                    update(f).where(f.c.site_id == feed.site_id, f.c.next_poll_at == feed.next_poll_at)
                    .values(next_poll_at=now + feed.interval)
                ).rowcount
                if taken:
                    return feed
        return None

    async def _poll(self, feed: Any) -> None:
        headers = {"User-Agent": "Townsquare-FeedPoller/1"}
        if feed.etag:
            headers["If-None-Match"] = feed.etag
        if feed.modified:
            headers["If-Modified-Since"] = feed.modified
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=True) as client:
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

    def _record(self, feed: Any, entries: list | None, headers: Any, error: str | None) -> None:
        values: dict[str, Any] = {"last_polled": clock(), "last_error": error}
        with self.engine.begin() as conn:
            if entries is not None:
                site = site_by_id(conn, feed.site_id)
                first_poll = feed.last_polled is None
                # Oldest first, so alerts go out in publication order.
                for entry in reversed(entries):
                    link = entry.get("link")
                    if not link:
                        continue
                    try:
                        articles.announce(
                            conn, site=site, url=link, title=entry.get("title", ""), now=clock(),
                            source="feed", guid=entry.get("id") or link, summary=_summary(entry),
                            section=_section(entry), alert=not first_poll,
                        )
                    except SubscriptionError as exc:
                        log.warning("feed %s: skipped entry %r: %s", feed.url, link, exc)
                values["etag"] = headers.get("etag")
                values["modified"] = headers.get("last-modified")
            conn.execute(update(alert_feeds).where(alert_feeds.c.site_id == feed.site_id).values(**values))


def _summary(entry: Any) -> str:
    """Feed summaries are HTML; alerts carry plain text."""
    text = html.unescape(nh3.clean(entry.get("summary", ""), tags=set()))
    return " ".join(text.split())


def _section(entry: Any) -> str:
    tags = entry.get("tags") or []
    return (tags[0].get("term") or "") if tags else ""
