"""Database engines and schema migrations, the same calls for SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

MIGRATIONS = Path(__file__).parent / "migrations"


def now() -> float:
    """Current time as UTC epoch seconds, the unit every table stores."""
    return time.time()


def make_engine(url: str, *, pool_size: int = 8) -> Engine:
    """Create an engine; SQLite gets WAL and writers that queue instead of failing."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn, _record):
        # Let SQLAlchemy decide where transactions begin (see on_begin); pysqlite's own
        # implicit BEGIN would start a read transaction that later fails to upgrade.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # Take the write lock up front: a deferred transaction that reads, then writes, can
        # fail with SQLITE_BUSY when another writer committed in between.
        readonly = conn.get_execution_options().get("townsquare_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def reader(engine: Engine):
    """A connection for read-only work (no write lock on SQLite)."""
    return engine.connect().execution_options(townsquare_readonly=True)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create the schema or bring it up to date."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
