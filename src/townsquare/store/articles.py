"""Articles known to the alerts part. The unique (site, guid) is what makes a news alert go out
once, however often a CMS announces the article or a feed poll sees it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.store.alerts import alert_articles

a = alert_articles


@dataclass(frozen=True)
class Article:
    id: int
    site_id: int
    guid: str
    url: str
    title: str
    summary: str
    section: str
    source: str  # api | feed
    created: float
    announced_at: float | None  # None: found in a feed before polling began, so never announced


def add_if_new(conn: Connection, *, site_id: int, guid: str, url: str, title: str, summary: str, section: str,
               source: str, now: float, announced_at: float | None) -> bool:
    """Record an article unless the site has one with this guid; True if it was new."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return conn.execute(
        insert(a)
        .values(site_id=site_id, guid=guid, url=url, title=title, summary=summary, section=section,
                source=source, created=now, announced_at=announced_at)
        .on_conflict_do_nothing()
        .returning(a.c.id)
    ).first() is not None


def by_guid(conn: Connection, *, site_id: int, guid: str) -> Article:
    r = conn.execute(select(a).where(a.c.site_id == site_id, a.c.guid == guid)).one()
    return Article(
        id=r.id, site_id=r.site_id, guid=r.guid, url=r.url, title=r.title, summary=r.summary, section=r.section,
        source=r.source, created=r.created, announced_at=r.announced_at,
    )
