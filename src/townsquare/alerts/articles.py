"""New articles: announced by the publisher's CMS or found in its feed. The unique
(site, guid) makes the news alert go out once, however often an article is announced."""

from __future__ import annotations

from townsquare.alerts import events
from townsquare.alerts.subscriptions import SubscriptionError
from townsquare.domain.validate import http_url
from townsquare.store import articles
from townsquare.store.articles import Article
from townsquare.store.db import Connection
from townsquare.store.sites import Site


def announce(
    conn: Connection,
    *,
    site: Site,
    url: str,
    title: str,
    now: float,
    source: str,
    guid: str | None = None,
    summary: str = "",
    section: str = "",
    alert: bool = True,
) -> tuple[Article, bool]:
    """Record an article; if it is new (and `alert`), queue its news alerts in this transaction.

    Returns the article and whether this call announced it.
    """
    url = http_url(url) or ""
    if not url:
        raise SubscriptionError("The article URL must be an absolute http(s) URL.")
    guid = (guid or url).strip()[:1000]
    inserted = articles.add_if_new(
        conn, site_id=site.id, guid=guid, url=url[:2000], title=title.strip()[:500], summary=summary.strip(),
        section=section.strip()[:200], source=source, now=now, announced_at=now if alert else None,
    )
    article = articles.by_guid(conn, site_id=site.id, guid=guid)
    if inserted and alert:
        events.article_published(conn, site=site, article=article)
    return article, inserted and alert
