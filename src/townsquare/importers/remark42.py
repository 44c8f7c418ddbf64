"""A Remark42 backup: JSON lines, plain or gzipped (as `remark42 backup` writes them).

The first line is the site's metadata (`version`, `users`, `posts` with `read_only`); every
following line is one comment. A comment's `orig` holds the Markdown its author wrote and `text`
the rendered HTML; votes are a map of voter → up/down, `delete` marks a deleted comment.
"""

from __future__ import annotations

from typing import Any, Iterator

import orjson

from .fields import author_name, parse_time, text_or_none, uri_of, votes_from_score
from .records import CommentRecord, ImportFormatError, RecordStream, ThreadRecord
from .sources import Source, open_binary

_SUPPORTED_VERSIONS = (0, 1)


def remark42_records(source: Source) -> RecordStream:
    lines = _lines(source)
    meta = _meta(lines)
    read_only = {p.get("url"): bool(p.get("read_only")) for p in meta.get("posts") or [] if isinstance(p, dict)}
    seen_threads: set[str] = set()
    for number, line in lines:
        if not line.strip():
            continue
        where = f"line {number}"
        comment = _json(line, where)
        locator = comment.get("locator") or {}
        url = locator.get("url")
        if not comment.get("id") or not url:
            raise ImportFormatError("comment needs an id and locator.url", where)
        if url not in seen_threads:
            seen_threads.add(url)
            yield ThreadRecord(old_id=url, uri=uri_of(url), title=comment.get("title") or "", url=url,
                               closed=read_only.get(url, False))
        yield _comment(comment, url, where)


def _comment(c: dict[str, Any], url: str, where: str) -> CommentRecord:
    user = c.get("user") or {}
    votes = c.get("votes") or {}
    if votes:
        likes = sum(1 for up in votes.values() if up)
        dislikes = len(votes) - likes
    else:
        likes, dislikes = votes_from_score(int(c.get("score") or 0))
    markdown = c.get("orig")
    edit = c.get("edit") or {}
    return CommentRecord(
        old_id=str(c["id"]),
        thread_old_id=url,
        parent_old_id=text_or_none(c.get("pid")),
        author_name=author_name(user.get("name"), user.get("id")),
        author_email=text_or_none(user.get("email")),
        text=markdown if markdown else c.get("text") or "",
        format="markdown" if markdown else "html",
        status="deleted" if c.get("delete") else "published",
        created=parse_time(c.get("time"), where),
        edited=parse_time(edit.get("time"), where),
        likes=likes,
        dislikes=dislikes,
        # Remark42 keeps only a hash of the address; it cannot be turned back into one.
        ip=None,
    )


def _lines(source: Source) -> Iterator[tuple[int, bytes]]:
    with open_binary(source) as stream:
        yield from enumerate(stream, start=1)


def _meta(lines: Iterator[tuple[int, bytes]]) -> dict[str, Any]:
    number, line = next(lines, (1, b""))
    meta = _json(line, f"line {number}") if line.strip() else None
    if not isinstance(meta, dict) or "version" not in meta:
        raise ImportFormatError("a Remark42 backup starts with a metadata line with a version", f"line {number}")
    if meta["version"] not in _SUPPORTED_VERSIONS:
        raise ImportFormatError(f"unsupported backup version {meta['version']!r}", f"line {number}")
    return meta


def _json(line: bytes, where: str) -> Any:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise ImportFormatError(f"not valid JSON: {e}", where) from None
    if not isinstance(value, dict):
        raise ImportFormatError("expected a JSON object", where)
    return value
