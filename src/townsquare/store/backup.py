"""An online copy of a SQLite database, made with SQLite's backup API while the server runs.

The copy is taken in one step, inside one read transaction: in WAL mode that is a consistent
snapshot (every transaction committed before it began, none after) and writers are not held up.
It is written beside the target and moved into place only when whole and checked, so a failed
backup never leaves a half-written file under the target's name. PostgreSQL has its own tool
(`pg_dump`); see `pg_dump_command`.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from townsquare.store.alerts import alert_subscriptions
from townsquare.store.moderation import audit_log
from townsquare.store.tables import comments, sites, threads, users


class BackupError(Exception):
    """The backup cannot be made; the message says why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int  # bytes
    sites: int
    threads: int
    comments: int
    subscriptions: int
    accounts: int
    audit_entries: int


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database."""
    parsed = make_url(url)
    if not parsed.get_backend_name() == "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("An in-memory database has nothing to back up.")
    return Path(parsed.database)


def pg_dump_command(url: str, target: Path) -> tuple[str, str]:
    """The pg_dump and pg_restore commands for a PostgreSQL URL, without its password (give that in
    PGPASSWORD or ~/.pgpass, not on a command line other users can see)."""
    u = make_url(url)
    shown = URL.create("postgresql", username=u.username, host=u.host, port=u.port, database=u.database,
                       query=u.query).render_as_string(hide_password=False)
    return (f"pg_dump --format=custom --dbname='{shown}' -f {target}",
            f"pg_restore --clean --if-exists --no-owner --dbname='{shown}' {target}")


def backup_sqlite(source: Path, target: Path, *, force: bool = False) -> BackupResult:
    if not source.is_file():
        raise BackupError(f"{source}: no such database file.")
    if target.exists() and not force:
        raise BackupError(f"{target} exists already; choose another name, or pass --force to replace it.")
    if target.resolve() == source.resolve():
        raise BackupError("The backup cannot replace the database itself.")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source)
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)  # all pages in one step: one snapshot
            # A self-contained file: no -wal beside it to copy along.
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [r[0] for r in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError("The copy failed its integrity check: " + "; ".join(problems[:5]))
            counts = {t.name: dst.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0]  # noqa: S608
                      for t in (sites, threads, comments, alert_subscriptions, users, audit_log)}
        finally:
            dst.close()
            src.close()
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        if force:
            os.replace(partial, target)
        else:
            try:
                os.link(partial, target)  # fails, rather than overwrites, if the target appeared meanwhile
            except FileExistsError:
                raise BackupError(f"{target} exists already; pass --force to replace it.") from None
            partial.unlink()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(
        path=target, size=target.stat().st_size, sites=counts[sites.name], threads=counts[threads.name],
        comments=counts[comments.name], subscriptions=counts[alert_subscriptions.name], accounts=counts[users.name],
        audit_entries=counts[audit_log.name],
    )
