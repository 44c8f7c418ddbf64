"""An Isso SQLite database (`comments.db`), opened read-only and read row by row.

Isso keeps Markdown text, epoch-second times, likes/dislikes and a mode per comment:
1 accepted, 2 waiting for moderation, 4 deleted (kept because it has replies).
"""

from __future__ import annotations

import sqlite3
from os import PathLike
from pathlib import Path

from .fields import author_name, text_or_none
from .records import CommentRecord, ImportFormatError, RecordStream, ThreadRecord

_MODES = {1: "published", 2: "pending", 4: "deleted"}
_COLUMNS = "tid, id, parent, created, modified, mode, remote_addr, text, author, email, website, likes, dislikes"


def isso_records(path: str | PathLike[str]) -> RecordStream:
    db = _open(Path(path))
    try:
        for tid, uri, title in db.execute("SELECT id, uri, title FROM threads ORDER BY id"):
            yield ThreadRecord(old_id=str(tid), uri=uri, title=title or "")
        rows = db.execute(f"SELECT {_COLUMNS} FROM comments ORDER BY id")
        for tid, cid, parent, created, modified, mode, ip, text, author, email, website, likes, dislikes in rows:
            where = f"comments row id={cid}"
            if mode not in _MODES:
                raise ImportFormatError(f"unknown mode {mode!r}", where)
            yield CommentRecord(
                old_id=str(cid),
                thread_old_id=str(tid),
                parent_old_id=str(parent) if parent is not None else None,
                author_name=author_name(author),
                author_email=text_or_none(email),
                author_website=text_or_none(website),
                text=text or "",
                format="markdown",
                status=_MODES[mode],  # type: ignore[arg-type]
                created=float(created),
                edited=float(modified) if modified else None,
                likes=int(likes or 0),
                dislikes=int(dislikes or 0),
                ip=text_or_none(ip),
            )
    except sqlite3.DatabaseError as e:
        raise ImportFormatError(f"not a readable Isso database: {e}", str(path)) from None
    finally:
        db.close()


def _open(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise ImportFormatError("no such file", str(path))
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        db.close()
        raise ImportFormatError(f"not an SQLite database: {e}", str(path)) from None
    if not {"threads", "comments"} <= tables:
        db.close()
        raise ImportFormatError("not an Isso database (no threads and comments tables)", str(path))
    return db
