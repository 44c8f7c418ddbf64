"""Helpers shared by the import and export tests (this module holds no tests)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from townsquare.config import load_settings
from townsquare.domain.tokens import Signer
from townsquare.importers.loader import ImportReport
from townsquare.importers.run import import_file, records_for
from townsquare.importers.spool import Spool
from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate
from townsquare.store.tables import comments, threads

FIXTURES = Path(__file__).parent / "fixtures" / "import"
SETTINGS = load_settings(None, environ={})
SECRET = "test-secret-test-secret-test-secret"
SIGNER = Signer(SECRET)


def new_database(url: str, site: str | None = "news", **site_settings: Any) -> Engine:
    engine = make_engine(url)
    migrate(engine)
    if site:
        with engine.begin() as conn:
            site_store.create(conn, site, "Daily News", ["https://news.example"], site_settings)
    return engine


def sqlite_database(tmp_path: Path, name: str = "townsquare.db", **kwargs: Any) -> Engine:
    return new_database(f"sqlite:///{tmp_path / name}", **kwargs)


def isso_database(tmp_path: Path) -> Path:
    """Isso's comments.db, built from the hand-written SQL fixture."""
    path = tmp_path / "comments.db"
    db = sqlite3.connect(path)
    db.executescript((FIXTURES / "isso.sql").read_text(encoding="utf-8"))
    db.commit()
    db.close()
    return path


def run_import(engine: Engine, fmt: str, path: Path, site: str = "news", **kwargs: Any) -> ImportReport:
    """What `townsquare import` does: check the whole file, then load it."""
    if kwargs.get("resume"):
        return import_file(engine, SETTINGS, SIGNER, fmt, path, site, checked=None, **kwargs)
    with Spool() as spool:
        spool.fill(records_for(fmt, path, site))
        return import_file(engine, SETTINGS, SIGNER, fmt, path, site, checked=spool, **kwargs)


def stored(engine: Engine) -> list[dict[str, Any]]:
    """Every comment with its thread's URI, oldest first."""
    query = (
        select(comments, threads.c.uri, threads.c.site_id, threads.c.closed.label("thread_closed"))
        .join(threads, threads.c.id == comments.c.thread_id)
        .order_by(comments.c.created, comments.c.id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def all_threads(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(threads).order_by(threads.c.id)).mappings()]


def by_author(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["author_name"]: r for r in rows}
