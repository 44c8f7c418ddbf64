"""Opening an import source: a path or an open binary stream, gzipped or not."""

from __future__ import annotations

import gzip
import io
from contextlib import contextmanager
from os import PathLike
from pathlib import Path
from typing import IO, Iterator

from .records import ImportFormatError

Source = str | PathLike[str] | IO[bytes]
_GZIP_MAGIC = b"\x1f\x8b"


@contextmanager
def open_binary(source: Source) -> Iterator[IO[bytes]]:
    """A readable binary stream, transparently un-gzipped (exports often come compressed)."""
    if isinstance(source, (str, PathLike)):
        try:
            raw: IO[bytes] = Path(source).open("rb")
        except OSError as e:
            raise ImportFormatError(f"cannot open: {e.strerror}", str(source)) from None
    else:
        raw = source
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)  # type: ignore[arg-type]
    try:
        if buffered.peek(2)[:2] == _GZIP_MAGIC:  # type: ignore[attr-defined]
            with gzip.GzipFile(fileobj=buffered) as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield buffered
    except (gzip.BadGzipFile, EOFError) as e:
        raise ImportFormatError(f"damaged gzip data: {e}") from None
    finally:
        if raw is not source:
            raw.close()
