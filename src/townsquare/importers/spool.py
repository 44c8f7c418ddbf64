"""The checked records of a file, kept on disk between the check and the load.

The check parses the whole source and writes its records to a temporary file; the load reads
them back. The source is parsed once, and what is loaded is exactly what was checked, even if the
file changes in between. Memory stays flat: records stream through in chunks.

Records are stored as plain tuples, pickled a chunk at a time: at a million comments, encoding
each record as its own JSON object cost more than parsing the XML did.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import fields
from operator import attrgetter
from typing import IO, Callable, Iterator

from .records import CommentRecord, Record, RecordStream, Skip, ThreadRecord, Vote

_KINDS: tuple[type, ...] = (ThreadRecord, CommentRecord, Skip)
_VALUES = {kind: attrgetter(*(f.name for f in fields(kind))) for kind in _KINDS}
_VOTES = fields(CommentRecord).index(next(f for f in fields(CommentRecord) if f.name == "votes"))
_CHUNK = 1000  # records per pickle: large enough to be cheap, small enough to keep memory flat


class Spool:
    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="townsquare-import-")
        self.count = 0

    def fill(self, records: RecordStream, on_progress: Callable[[int], None] | None = None) -> int:
        """Parse every record into the spool (ImportFormatError stops at the first malformed one)."""
        chunk: list[tuple] = []
        for record in records:
            kind = type(record)
            values = _VALUES[kind](record)
            if kind is CommentRecord and values[_VOTES]:
                values = (*values[:_VOTES], [(v.voter, v.value, v.created) for v in values[_VOTES]], *values[_VOTES + 1:])
            chunk.append((_KINDS.index(kind), values))
            if len(chunk) == _CHUNK:
                self._write(chunk, on_progress)
                chunk = []
        self._write(chunk, on_progress)
        self._file.flush()
        return self.count

    def _write(self, chunk: list[tuple], on_progress: Callable[[int], None] | None) -> None:
        if chunk:
            pickle.dump(chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self.count += len(chunk)
        if on_progress:
            on_progress(len(chunk))

    def records(self) -> Iterator[Record]:
        self._file.seek(0)
        while True:
            try:
                chunk = pickle.load(self._file)  # one unpickler per chunk: each was pickled alone
            except EOFError:
                return
            for index, values in chunk:
                kind = _KINDS[index]
                record = kind(*values)
                if kind is CommentRecord and record.votes:
                    record.votes = [Vote(*v) for v in record.votes]
                yield record

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
