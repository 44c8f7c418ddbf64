"""A Commento JSON export (`{"version": 1, "comments": […], "commenters": […]}`), read incrementally.

Commenters come after comments in the file, so the file is read twice: once for the commenters
(one small entry per person), once for the comments, which stream past without being held.
"""

from __future__ import annotations

from typing import Any, Iterator

import ijson

from .fields import ANONYMOUS, author_name, parse_time, text_or_none, votes_from_score
from .records import CommentRecord, ImportFormatError, RecordStream, ThreadRecord
from .sources import Source, open_binary

_STATES = {"approved": "published", "unapproved": "pending", "flagged": "pending"}
_ROOT = "root"


def commento_records(source: Source) -> RecordStream:
    version = next((v for _, v in _items(source, "version", objects=False)), None)
    if version != 1:
        raise ImportFormatError(f"not a Commento export of version 1 (version: {version!r})", "version")
    people = _commenters(source)
    seen_threads: set[str] = set()
    for index, c in _items(source, "comments"):
        where = f"comments[{index}]"
        path = c.get("url")
        if not c.get("commentHex") or not path:
            raise ImportFormatError("comment needs a commentHex and a url", where)
        if path not in seen_threads:
            seen_threads.add(path)
            yield ThreadRecord(old_id=path, uri=path)
        yield _comment(c, path, people.get(c.get("commenterHex") or ""), where)


def _comment(c: dict[str, Any], path: str, person: tuple[str, str | None, str | None] | None, where: str) -> CommentRecord:
    state = c.get("state") or "approved"
    if state not in _STATES:
        raise ImportFormatError(f"unknown state {state!r}", where)
    name, email, website = person or (ANONYMOUS, None, None)
    parent = c.get("parentHex")
    likes, dislikes = votes_from_score(int(c.get("score") or 0))
    markdown = c.get("markdown")
    return CommentRecord(
        old_id=c["commentHex"],
        thread_old_id=path,
        parent_old_id=parent if parent and parent != _ROOT else None,
        author_name=name,
        author_email=email,
        author_website=website,
        text=markdown if markdown is not None else c.get("html") or "",
        format="markdown" if markdown is not None else "html",
        status="deleted" if c.get("deleted") else _STATES[state],  # type: ignore[arg-type]
        created=parse_time(c.get("creationDate"), where),
        likes=likes,
        dislikes=dislikes,
    )


def _commenters(source: Source) -> dict[str, tuple[str, str | None, str | None]]:
    people = {}
    for _, p in _items(source, "commenters"):
        if p.get("commenterHex"):
            link = text_or_none(p.get("link"))
            # Commento writes "undefined" for a commenter without a link.
            people[p["commenterHex"]] = (author_name(p.get("name")), text_or_none(p.get("email")), None if link == "undefined" else link)
    return people


def _items(source: Source, key: str, objects: bool = True) -> Iterator[tuple[int, Any]]:
    """The items of the top-level list `key` (or the value of `key` itself), one at a time."""
    if hasattr(source, "seek"):
        source.seek(0)  # each pass reads an open stream from its start
    index = -1
    try:
        with open_binary(source) as stream:
            prefix = f"{key}.item" if objects else key
            for index, item in enumerate(ijson.items(stream, prefix, use_float=True)):
                if objects and not isinstance(item, dict):
                    raise ImportFormatError("expected a JSON object", f"{key}[{index}]")
                yield index, item
    except ijson.JSONError as e:
        raise ImportFormatError(f"not valid JSON: {e}", f"after {key}[{index}]" if index >= 0 else key) from None
