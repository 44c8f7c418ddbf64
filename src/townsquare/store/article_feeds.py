"""Sites' RSS/Atom feeds and when each is polled next."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from townsquare.store.alerts import alert_feeds

f = alert_feeds


@dataclass(frozen=True)
class Feed:
    site_id: int
    url: str
    interval: int  # seconds
    etag: str | None
    modified: str | None
    next_poll_at: float
    last_polled: float | None
    last_error: str | None


def set_feed(conn: Connection, *, site_id: int, url: str, interval: int, now: float) -> None:
    """Start (or change) polling of a site's feed, first at `now`; a changed feed is fetched whole."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    values = {"url": url, "interval": interval, "next_poll_at": now}
    conn.execute(
        insert(f).values(site_id=site_id, **values)
        .on_conflict_do_update(index_elements=[f.c.site_id], set_={**values, "etag": None, "modified": None})
    )


def claim_due(conn: Connection, *, now: float) -> Feed | None:
    """Take one due feed by moving its next poll time on by its interval (so other workers skip it)."""
    for r in conn.execute(select(f).where(f.c.next_poll_at <= now).order_by(f.c.next_poll_at).limit(5)).all():
        taken = conn.execute(
            update(f).where(f.c.site_id == r.site_id, f.c.next_poll_at == r.next_poll_at)
            .values(next_poll_at=now + r.interval)
        ).rowcount
        if taken:
            return Feed(site_id=r.site_id, url=r.url, interval=r.interval, etag=r.etag, modified=r.modified,
                        next_poll_at=r.next_poll_at, last_polled=r.last_polled, last_error=r.last_error)
    return None


def record_poll(conn: Connection, site_id: int, *, polled: float, error: str | None,
                validators: tuple[str | None, str | None] | None = None) -> None:
    """Record a poll's outcome; `validators` (ETag, Last-Modified) when the feed was fetched."""
    values: dict[str, object] = {"last_polled": polled, "last_error": error}
    if validators is not None:
        values["etag"], values["modified"] = validators
    conn.execute(update(f).where(f.c.site_id == site_id).values(**values))
