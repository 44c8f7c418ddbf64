"""An Isso SQLite database (`comments.db`), read row by row (see townsquare.store.isso_file).

Isso keeps Markdown text, epoch-second times, likes/dislikes and a mode per comment:
1 accepted, 2 waiting for moderation, 4 deleted (kept because it has replies).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from townsquare.store.isso_file import IssoFileError, IssoThread, isso_rows

from .fields import author_name, text_or_none
from .records import CommentRecord, ImportFormatError, RecordStream, ThreadRecord

_MODES = {1: "published", 2: "pending", 4: "deleted"}


def isso_records(path: str | PathLike[str]) -> RecordStream:
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError("no such file", str(path))
    try:
        for row in isso_rows(path):
            if isinstance(row, IssoThread):
                yield ThreadRecord(old_id=str(row.id), uri=row.uri, title=row.title or "")
                continue
            where = f"comments row id={row.id}"
            if row.mode not in _MODES:
                raise ImportFormatError(f"unknown mode {row.mode!r}", where)
            yield CommentRecord(
                old_id=str(row.id),
                thread_old_id=str(row.thread_id),
                parent_old_id=str(row.parent) if row.parent is not None else None,
                author_name=author_name(row.author),
                author_email=text_or_none(row.email),
                author_website=text_or_none(row.website),
                text=row.text or "",
                format="markdown",
                status=_MODES[row.mode],  # type: ignore[arg-type]
                created=float(row.created),
                edited=float(row.modified) if row.modified else None,
                likes=int(row.likes or 0),
                dislikes=int(row.dislikes or 0),
                ip=text_or_none(row.remote_addr),
            )
    except IssoFileError as e:
        raise ImportFormatError(str(e), str(path)) from None
