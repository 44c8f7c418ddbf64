"""The checked records of a file, kept on disk between the check and the load.

The check parses the whole source and writes each record to a temporary file, one JSON line
each; the load reads them back. The source is parsed once, and what is loaded is exactly what
was checked, even if the file changes in between. Memory stays flat: records stream through.
"""

from __future__ import annotations

import tempfile
from typing import IO, Callable, Iterator

import orjson

from .records import CommentRecord, Record, RecordStream, Skip, ThreadRecord, Vote

_TAGS: dict[type, bytes] = {ThreadRecord: b"T", CommentRecord: b"C", Skip: b"S"}
_PROGRESS_EVERY = 1000


class Spool:
    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="townsquare-import-")
        self.count = 0

    def fill(self, records: RecordStream, on_progress: Callable[[int], None] | None = None) -> int:
        """Parse every record into the spool (ImportFormatError stops at the first malformed one)."""
        write = self._file.write
        for record in records:
            write(_TAGS[type(record)] + orjson.dumps(record) + b"\n")
            self.count += 1
            if on_progress and self.count % _PROGRESS_EVERY == 0:
                on_progress(_PROGRESS_EVERY)
        if on_progress:
            on_progress(self.count % _PROGRESS_EVERY)
        self._file.flush()
        return self.count

    def records(self) -> Iterator[Record]:
        self._file.seek(0)
        for line in self._file:
            tag, data = line[:1], orjson.loads(line[1:])
            if tag == b"C":
                data["votes"] = [Vote(**v) for v in data["votes"]]
                yield CommentRecord(**data)
            elif tag == b"T":
                yield ThreadRecord(**data)
            else:
                yield Skip(**data)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
