"""What imports store: runs (so an interrupted run can resume), import_map, and batched rows.

`import_map` (in tables.py) remembers which old ids were imported; `import_runs` remembers how far
a run got through its file (every record before `safe_point` is stored) and what it reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from townsquare.store import comments as comment_store
from townsquare.store import stats
from townsquare.store.bulk import allocate_ids, insert_rows, select_in
from townsquare.store.bulk import bump_threads as bump_threads  # the loader's, with the rest here
from townsquare.store.tables import comments, import_map, metadata, threads, votes

SQLITE_CACHE_KB = 96 * 1024
SQLITE_CHECKPOINT_PAGES = 25_000

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(32), nullable=False),  # disqus | wxr | isso | remark42 | commento | text | jsonl
    # sha256 of the file's bytes: --resume continues only a run of the very same file.
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # running | done | failed
    # Records before this position in the file are stored (or were skipped); resume starts here.
    Column("safe_point", Integer, nullable=False, default=0),
    # Highest comment id before the run started: an old id mapped above it was stored by this
    # run, so meeting it again means the file repeats an id.
    Column("watermark", Integer, nullable=False, default=0),
    Column("report", Text, nullable=False, default="{}"),  # JSON counts, updated with every batch
    Column("started", Float, nullable=False),
    Column("finished", Float),
    Index("ix_import_runs_lookup", "site_id", "source", "fingerprint", "id"),
)


# -- runs ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportRun:
    id: int
    status: str
    safe_point: int
    watermark: int
    report: dict[str, Any]  # the counts saved with the last stored batch (see the loader)


def latest_run(conn: Connection, site_id: int, source: str, fingerprint: str) -> ImportRun | None:
    """The most recent run of this very file into this site, if any."""
    row = conn.execute(
        select(import_runs).where(
            import_runs.c.site_id == site_id, import_runs.c.source == source, import_runs.c.fingerprint == fingerprint,
        ).order_by(import_runs.c.id.desc()).limit(1)
    ).mappings().first()
    if row is None:
        return None
    return ImportRun(id=row["id"], status=row["status"], safe_point=row["safe_point"], watermark=row["watermark"],
                     report=orjson.loads(row["report"]))


def start_run(conn: Connection, *, site_id: int, source: str, fingerprint: str, safe_point: int, watermark: int,
              started: float) -> int:
    return conn.execute(
        insert(import_runs).values(
            site_id=site_id, source=source, fingerprint=fingerprint, status="running",
            safe_point=safe_point, watermark=watermark, report="{}", started=started,
        )
    ).inserted_primary_key[0]


def save_progress(conn: Connection, run_id: int, *, safe_point: int, report: dict[str, Any]) -> None:
    """Stored with every batch, in its transaction: a resumed run starts at `safe_point`."""
    conn.execute(update(import_runs).where(import_runs.c.id == run_id)
                 .values(safe_point=safe_point, report=orjson.dumps(report).decode()))


def finish_run(conn: Connection, run_id: int, *, status: str, finished: float, report: dict[str, Any]) -> None:
    conn.execute(update(import_runs).where(import_runs.c.id == run_id)
                 .values(status=status, finished=finished, report=orjson.dumps(report).decode()))


# -- transactions of a load --------------------------------------------------------------------------
@contextmanager
def rolled_back(engine: Engine) -> Iterator[Connection]:
    """A write transaction that is always rolled back: a dry run does everything and keeps nothing."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()


def tune_for_import(conn: Connection) -> None:
    """A bigger SQLite page cache for this connection: a million inserts land all over the indexes,
    and the default 2 MB cache turns that into page writes and re-reads. Checkpoints are spaced
    out too: each one copies the index pages a batch touched, and most of them the next batch
    touches again."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")


# -- import_map --------------------------------------------------------------------------------------
def mapped(conn: Connection, site_id: int, source: str, kind: str, keys: list[str]) -> dict[str, int]:
    """New ids of the old ids (import_map keys) stored by earlier batches or runs."""
    rows = select_in(conn, "SELECT old_id, new_id FROM import_map WHERE site_id = ? AND source = ? AND kind = ? "
                           "AND old_id IN", (site_id, source, kind), keys)
    return dict(rows)


def remember(conn: Connection, site_id: int, source: str, kind: str, pairs: list[tuple[str, int]]) -> None:
    """Record (import_map key, new id) pairs, so a second run of the file adds nothing."""
    insert_rows(conn, import_map, ("site_id", "source", "kind", "old_id", "new_id"),
                [(site_id, source, kind, key, new_id) for key, new_id in pairs])


def unmoderated(conn: Connection, site_id: int, source: str) -> int:
    """How many comments imported from `source` were stored without a moderation decision."""
    query = (select(func.count()).select_from(import_map.join(comments, comments.c.id == import_map.c.new_id))
             .where(import_map.c.site_id == site_id, import_map.c.source == source,
                    import_map.c.kind == "comment", comments.c.moderation.is_(None)))
    return conn.execute(query).scalar_one()


# -- threads -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThreadAtUri:
    id: int
    title: str
    url: str


def threads_at(conn: Connection, site_id: int, uris: set[str]) -> dict[str, ThreadAtUri]:
    """The site's threads at these URIs (an import merges into them)."""
    found: dict[str, ThreadAtUri] = {}
    chunk_size = 500
    wanted = list(uris)
    for i in range(0, len(wanted), chunk_size):
        rows = conn.execute(
            select(threads.c.id, threads.c.uri, threads.c.title, threads.c.url)
            .where(threads.c.site_id == site_id, threads.c.uri.in_(wanted[i:i + chunk_size]))
        )
        found.update((r.uri, ThreadAtUri(id=r.id, title=r.title, url=r.url)) for r in rows)
    return found


def fill_thread(conn: Connection, thread_id: int, *, title: str | None = None, url: str | None = None) -> None:
    """Set the title and/or URL of a thread that had none."""
    values = {k: v for k, v in (("title", title), ("url", url)) if v is not None}
    if values:
        conn.execute(update(threads).where(threads.c.id == thread_id).values(**values))


def add_thread(conn: Connection, *, site_id: int, uri: str, title: str, url: str, closed: bool, created: float,
               closes: float | None = None) -> int:
    return conn.execute(
        insert(threads).values(site_id=site_id, uri=uri, title=title, url=url, closed=closed, created=created,
                               comment_count=0, version=0, closes=closes)
    ).inserted_primary_key[0]


def pin(conn: Connection, thread_id: int, comment_id: int) -> None:
    """The thread's pinned comment, once the import has stored it (its version is bumped with the batch's)."""
    conn.execute(update(threads).where(threads.c.id == thread_id).values(pinned_id=comment_id))


# -- comments ----------------------------------------------------------------------------------------
class CommentRow(NamedTuple):
    """One imported comment row. A named tuple rather than a dataclass: a large import builds
    millions of them, and the driver takes them as they are."""

    thread_id: int
    parent_id: int | None
    author_name: str
    author_email: str | None
    author_website: str | None
    author_key: str | None
    ip_hash: str | None
    text: str
    quote: str | None
    html: str
    status: str
    created: float
    edited: float | None
    likes: int
    dislikes: int
    moderation: str | None  # JSON
    featured: bool = False


class VoteRow(NamedTuple):
    comment_id: int
    voter: str
    value: int
    created: float


@dataclass(frozen=True, slots=True)
class StoredComment:
    thread_id: int
    author_name: str


def add_comments(conn: Connection, rows: list[CommentRow], votes_of: list[list[VoteRow]]) -> list[int]:
    """Store the rows (in one executemany) with their votes (`votes_of[i]`: row i's, their
    `comment_id` unset) and answer their new ids, in order. A row may name an earlier row of the same call as its parent: ids are
    handed out before the insert. The dashboard's rollups take the batch in a few set-wise
    statements rather than row by row."""
    new_ids = allocate_ids(conn, comments, len(rows))
    # Reply counts: within the batch from its own rows; stored comments the batch answers (and
    # their ancestors) are added to afterwards.
    below = comment_store.published_below([(i, r.parent_id, r.status) for i, r in zip(new_ids, rows)])
    outside: dict[int, int] = {}
    for new_id, row in zip(new_ids, rows):
        if row.parent_id is not None and row.parent_id not in below:
            outside[row.parent_id] = outside.get(row.parent_id, 0) + below[new_id] + (row.status == "published")
    with stats.bulk(conn):
        insert_rows(conn, comments, ("id", *CommentRow._fields, "reply_count"),
                    [(new_id, *row, below[new_id]) for new_id, row in zip(new_ids, rows)])
        insert_rows(conn, votes, VoteRow._fields, [v._replace(comment_id=new_id)
                                                   for new_id, row_votes in zip(new_ids, votes_of) for v in row_votes])
        comment_store.add_to_chains(conn, outside)
        stats.add_comments(conn, new_ids)
    return new_ids


def stored_comments(conn: Connection, ids: Iterable[int]) -> dict[int, StoredComment]:
    """Thread and author name of stored comments that comments of a batch refer to."""
    rows = select_in(conn, "SELECT id, thread_id, author_name FROM comments WHERE id IN", (), list(set(ids)))
    return {cid: StoredComment(tid, name) for cid, tid, name in rows}
