"""The demo news site: site `demo`, its three articles, the seed page's 12 comments and an admin.

`load_demo` is idempotent: running it again (every `townsquare demo` start does) adds nothing
that is already there and never touches comments readers wrote since. The seed comments go
through moderation as they are imported (the importer's `--moderate`: the same gather, score and
judge as a reader's post), so what the rules hold waits in the queue with its reasons.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator

from townsquare import accounts
from townsquare.config import Settings
from townsquare.demo.articles import demo_articles, seed_thread
from townsquare.domain.tokens import Signer
from townsquare.importers.loader import Loader
from townsquare.importers.records import CommentRecord, Record
from townsquare.importers.run import fingerprint
from townsquare.importers.text import thread_records
from townsquare.instance_secret import instance_secret
from townsquare.store import importing
from townsquare.store import sites as site_store
from townsquare.store import threads
from townsquare.store.db import Connection, Engine, now, reading, writing

SITE = "demo"
SITE_TITLE = "The Riverside Courier (demo)"
COMMENT_SPACING = 1800.0  # seconds between the seed page's comments (the page gives no times)
SOURCE = "text"  # the plain-text importer's name, under which import_map remembers the seed
ADMIN_EMAIL = "admin@demo.local"


def demo_origins(settings: Settings) -> list[str]:
    return [f"http://127.0.0.1:{settings.port}", f"http://localhost:{settings.port}"]


def load_demo(engine: Engine, settings: Settings) -> int:
    """Load what is missing; returns how many seed comments an earlier version stored unmoderated."""
    base = settings.public_url.rstrip("/") or f"http://127.0.0.1:{settings.port}"
    with writing(engine) as conn:
        site_id = _ensure_site(conn, demo_origins(settings))
        for article in demo_articles():
            threads.get_or_create(conn, site_id, article.uri, article.title, base + article.uri)
    secret = instance_secret(settings, engine)
    for article in demo_articles():
        if article.source is not None:
            # The plain-text importer's own loader: import_map makes a second run add nothing.
            loader = Loader(engine, site=SITE, source=SOURCE, signer=Signer(secret),
                            site_defaults=settings.site_defaults, moderate=True)
            records = thread_records(seed_thread(article), article.uri)
            loader.run(_timed(records), fingerprint=fingerprint(article.source))
    with reading(engine) as conn:
        return importing.unmoderated(conn, site_id, SOURCE)


def demo_admin(engine: Engine) -> tuple[str, str]:
    """The demo's admin account, with a new password each start (only its hash is stored, so an
    earlier one cannot be shown again): (e-mail, password)."""
    password = secrets.token_urlsafe(12)
    try:
        accounts.create_user(engine, email=ADMIN_EMAIL, password=password, name="Demo admin")
    except ValueError:  # made by an earlier start
        accounts.set_password(engine, email=ADMIN_EMAIL, password=password)
    return ADMIN_EMAIL, password


def _ensure_site(conn: Connection, origins: list[str]) -> int:
    site = site_store.by_name(conn, SITE)
    if site is None:
        return site_store.create(conn, SITE, SITE_TITLE, origins, {})
    missing = [o for o in origins if o not in site.origins]
    if missing:  # started on another port than last time
        site_store.update_site(conn, site.id, origins=[*site.origins, *missing])
    return site.id


def _timed(records: Iterator[Record]) -> Iterator[Record]:
    """Spread the comments over the hours before now, in page order, so the thread reads naturally."""
    items = list(records)
    comments = sum(isinstance(r, CommentRecord) for r in items)
    start = now() - COMMENT_SPACING * (comments + 1)
    n = 0
    for record in items:
        if isinstance(record, CommentRecord):
            n += 1
            record = dataclasses.replace(record, created=start + COMMENT_SPACING * n)
        yield record
