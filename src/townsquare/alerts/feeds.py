"""Atom feeds (RFC 4287) of a thread's comments and of a site's recent comments; no
subscription needed. Only published comments appear."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from lxml import etree

from townsquare.domain.validate import http_url
from townsquare.store import comment_feeds
from townsquare.store.comment_feeds import FeedComment
from townsquare.store.db import Connection
from townsquare.store.sites import Site
from townsquare.store.threads import Thread

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    author: str
    html: str
    published: float
    updated: float


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def tag_uri(public_url: str, site: str, comment_id: int) -> str:
    """A permanent entry id (RFC 4151) that does not change if the article moves."""
    host = urlsplit(public_url).hostname or "localhost"
    return f"tag:{host},2024:{site}/comment/{comment_id}"


def build(*, feed_id: str, title: str, self_url: str, alternate: str | None, entries: list[Entry],
          updated: float) -> bytes:
    nsmap = {None: ATOM}
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap=nsmap)

    def sub(parent, tag: str, text: str | None = None, **attrs: str):
        el = etree.SubElement(parent, f"{{{ATOM}}}{tag}", **attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "id", feed_id)
    sub(feed, "title", title)
    sub(feed, "updated", _iso(updated))
    sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    if alternate:
        sub(feed, "link", rel="alternate", href=alternate, type="text/html")
    sub(feed, "generator", "Townsquare", uri="https://townsquare.invalid/")
    for e in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", e.id)
        sub(entry, "title", e.title)
        sub(entry, "updated", _iso(e.updated))
        sub(entry, "published", _iso(e.published))
        sub(sub(entry, "author"), "name", e.author)
        if e.link:
            sub(entry, "link", rel="alternate", href=e.link, type="text/html")
        sub(entry, "content", e.html, type="html")
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8")


def _entries(found: list[FeedComment], *, site: str, public_url: str) -> list[Entry]:
    out = []
    for c in found:
        # Links are checked here too: a URL stored before input was checked must not reach a reader.
        base = (http_url(c.thread_url) or "").split("#")[0]
        out.append(Entry(
            id=tag_uri(public_url, site, c.id),
            title=f"{c.author_name} on “{c.thread_title or c.thread_uri}”",
            link=f"{base}#comment-{c.id}" if base else "",
            author=c.author_name, html=c.html, published=c.created, updated=c.edited or c.created,
        ))
    return out


def thread_feed(conn: Connection, *, site: Site, thread: Thread, public_url: str,
                self_url: str) -> bytes:
    found = comment_feeds.newest_in_thread(conn, thread.id, limit=FEED_SIZE)
    entries = _entries(found, site=site.name, public_url=public_url)
    return build(
        feed_id=f"tag:{urlsplit(public_url).hostname or 'localhost'},2024:{site.name}/thread/{thread.id}",
        title=f"Comments on “{thread.title or thread.uri}”", self_url=self_url,
        alternate=http_url(thread.url), entries=entries,
        updated=max((e.updated for e in entries), default=thread.created),
    )


def site_feed(conn: Connection, *, site: Site, public_url: str, self_url: str) -> bytes:
    found = comment_feeds.newest_on_site(conn, site.id, limit=FEED_SIZE)
    entries = _entries(found, site=site.name, public_url=public_url)
    return build(
        feed_id=f"tag:{urlsplit(public_url).hostname or 'localhost'},2024:{site.name}/recent",
        title=f"Recent comments on {site.title or site.name}", self_url=self_url, alternate=None,
        entries=entries, updated=max((e.updated for e in entries), default=site.created),
    )
