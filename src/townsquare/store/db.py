"""Database engines and schema migrations, the same calls for SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from contextlib import contextmanager
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, create_engine, event

# Modules outside `store/` name these types through here and never import SQLAlchemy themselves.
__all__ = ["Connection", "Engine", "make_engine", "migrate", "now", "ping", "reading", "writing"]

try:
    import fcntl
except ImportError:  # Windows: writers of different processes meet in SQLite's busy handler
    fcntl = None

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
        # As many pooled connections as the web server has worker threads, so none is opened
        # (and tuned) per request.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=40, max_overflow=20)
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

    # Writers queue on locks of our own: a thread lock within this process and, for a database
    # file, an advisory lock on "<file>-writer" across the processes of `serve --workers N`,
    # `worker` and `import`. Waiting in SQLite's busy handler would work too, but it sleeps in
    # steps of up to 100 ms however soon the database is free; these wake the next writer at once.
    # (The kernel drops a dead process's lock.)
    write_lock = threading.Lock()
    lock_path = engine.url.database if engine.url.database not in (None, "", ":memory:") else None
    lock_file = None

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        if conn.get_execution_options().get("townsquare_readonly", False):
            conn.exec_driver_sql("BEGIN")
            return
        nonlocal lock_file
        if not write_lock.acquire(timeout=30):
            raise TimeoutError("waited 30 s for the database write lock")
        conn.info["townsquare_write_lock"] = True
        try:
            if lock_path and fcntl:
                if lock_file is None:
                    lock_file = open(lock_path + "-writer", "a+b")  # noqa: SIM115 (open for the engine's life)
                fcntl.flock(lock_file, fcntl.LOCK_EX)  # no timeout: every holder releases at its commit
            # Take SQLite's write lock up front: a deferred transaction that reads, then writes,
            # can fail with SQLITE_BUSY when another writer committed in between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn):
        if conn.info.pop("townsquare_write_lock", False):
            if lock_file is not None:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
            write_lock.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def reader(engine: Engine):
    """A connection for read-only work (no write lock on SQLite)."""
    return engine.connect().execution_options(townsquare_readonly=True)


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached (liveness checks)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: one consistent snapshot, and never the writer lock."""
    with reader(engine) as conn, conn.begin():
        yield conn


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One short write transaction (on SQLite it holds the writer lock: do slow work before it)."""
    with engine.begin() as conn:
        yield conn


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
