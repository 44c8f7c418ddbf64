"""Townsquare's own JSON-lines export, read back (see export.py for the layout)."""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from .export import FORMAT, VERSION
from .records import CommentRecord, ImportFormatError, RecordStream, ThreadRecord, Vote
from .sources import Source, open_binary

_STATUSES = {"published", "pending", "rejected", "deleted"}


def jsonl_sites(source: Source) -> list[dict[str, Any]]:
    """The sites a file holds (name, title, origins, settings, created), in file order."""
    return [line for _, line in _lines(source) if line["type"] == "site"]


def jsonl_records(source: Source, site: str) -> RecordStream:
    """The threads and comments of one site of the file."""
    for number, line in _lines(source):
        if line.get("site") != site:
            continue
        where = f"line {number}"
        try:
            if line["type"] == "thread":
                yield ThreadRecord(old_id=line["uri"], uri=line["uri"], title=line["title"], url=line["url"],
                                   closed=bool(line["closed"]), created=float(line["created"]),
                                   closes=_time(line.get("closes")), pinned_old_id=_ref(line.get("pinned")))
            elif line["type"] == "comment":
                yield _comment(line, where)
        except (KeyError, TypeError, ValueError) as e:
            raise ImportFormatError(f"{line['type']} line is missing or has a bad field: {e}", where) from None


def jsonl_lines(source: Source, types: set[str] | frozenset[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's lines of these types, with their line numbers."""
    for number, line in _lines(source):
        if line["type"] in types:
            yield number, line


def _comment(line: dict[str, Any], where: str) -> CommentRecord:
    if line["status"] not in _STATUSES:
        raise ImportFormatError(f"unknown status {line['status']!r}", where)
    author = line["author"]
    return CommentRecord(
        old_id=line["ref"], thread_old_id=line["thread"], parent_old_id=line["parent"],
        author_name=author["name"], author_email=author["email"], author_website=author["website"],
        author_key=author["key"], ip_hash=line["ip_hash"],
        text=line["text"], format="markdown", html=line["html"], quote=line["quote"], status=line["status"],
        created=float(line["created"]), edited=line["edited"], likes=int(line["likes"]), dislikes=int(line["dislikes"]),
        moderation=line["moderation"],
        votes=[Vote(v["voter"], int(v["value"]), float(v["created"])) for v in line["votes"]],
        featured=bool(line.get("featured", False)),  # exports from before editors' picks have none
    )


def _time(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 2.0**40:
        raise ValueError(f"close time {value!r} is not in epoch seconds")
    return float(value)


def _ref(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"pinned {value!r} is not a comment ref")
    return value


def _lines(source: Source) -> Iterator[tuple[int, dict[str, Any]]]:
    with open_binary(source) as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                line = orjson.loads(raw)
            except orjson.JSONDecodeError as e:
                raise ImportFormatError(f"not valid JSON: {e}", f"line {number}") from None
            if not isinstance(line, dict) or "type" not in line:
                raise ImportFormatError("expected a JSON object with a type", f"line {number}")
            if number == 1 and (line.get("format") != FORMAT or line.get("version") != VERSION):
                raise ImportFormatError(f"not a {FORMAT} export of version {VERSION}", "line 1")
            yield number, line
