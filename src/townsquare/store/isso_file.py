"""An Isso SQLite database (`comments.db`) given to an import: opened read-only, read row by row.

Not our database, so not through an engine: a plain read-only sqlite3 connection to the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_COLUMNS = "tid, id, parent, created, modified, mode, remote_addr, text, author, email, website, likes, dislikes"


class IssoFileError(Exception):
    """The file is not a readable Isso database; the message says why."""


@dataclass(frozen=True, slots=True)
class IssoThread:
    id: int
    uri: str
    title: str | None


@dataclass(frozen=True, slots=True)
class IssoComment:
    thread_id: int
    id: int
    parent: int | None
    created: float
    modified: float | None
    mode: int
    remote_addr: str | None
    text: str | None
    author: str | None
    email: str | None
    website: str | None
    likes: int | None
    dislikes: int | None


def isso_rows(path: Path) -> Iterator[IssoThread | IssoComment]:
    """Every thread by id, then every comment by id."""
    db = _open(path)
    try:
        for tid, uri, title in db.execute("SELECT id, uri, title FROM threads ORDER BY id"):
            yield IssoThread(tid, uri, title)
        for row in db.execute(f"SELECT {_COLUMNS} FROM comments ORDER BY id"):
            yield IssoComment(*row)
    except sqlite3.DatabaseError as e:
        raise IssoFileError(f"not a readable Isso database: {e}") from None
    finally:
        db.close()


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        db.close()
        raise IssoFileError(f"not an SQLite database: {e}") from None
    if not {"threads", "comments"} <= tables:
        db.close()
        raise IssoFileError("not an Isso database (no threads and comments tables)")
    return db
