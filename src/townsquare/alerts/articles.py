"""New articles: announced by the publisher's CMS or found in its feed. The unique
(site, guid) makes the news alert go out once, however often an article is announced."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.alerts import events
from townsquare.alerts.subscriptions import SubscriptionError
from townsquare.store.alerts import alert_articles


def announce(
    conn: Connection,
    *,
    site: dict[str, Any],
    url: str,
    title: str,
    now: float,
    source: str,
    guid: str | None = None,
    summary: str = "",
    section: str = "",
    alert: bool = True,
) -> tuple[dict[str, Any], bool]:
    """Record an article; if it is new (and `alert`), queue its news alerts in this transaction.

    Returns the article and whether this call announced it.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SubscriptionError("The article URL must be an absolute http(s) URL.")
    guid = (guid or url).strip()[:1000]
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    inserted = conn.execute(
        insert(alert_articles)
        .values(site_id=site["id"], guid=guid, url=url[:2000], title=title.strip()[:500],
                summary=summary.strip(), section=section.strip()[:200], source=source, created=now,
                announced_at=now if alert else None)
        .on_conflict_do_nothing()
        .returning(alert_articles.c.id)
    ).first() is not None
    article = dict(conn.execute(
        select(alert_articles).where(alert_articles.c.site_id == site["id"], alert_articles.c.guid == guid)
    ).mappings().one())
    if inserted and alert:
        events.article_published(conn, site=site, article=article)
    return article, inserted and alert
