"""The neutral records every importer yields and the loader writes.

A parser turns one source format into a stream of `ThreadRecord`, `CommentRecord` and `Skip`
values, in file order. It does no database work; the loader resolves ids and nesting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Literal, Union

Status = Literal["published", "pending", "rejected", "deleted"]
BodyFormat = Literal["markdown", "plain", "html"]


@dataclass(slots=True)
class ThreadRecord:
    old_id: str
    uri: str
    title: str = ""
    url: str = ""
    closed: bool = False
    created: float | None = None  # UTC epoch seconds; None when the source has no time
    # Only a Townsquare export carries these: the thread's own close time and its pinned comment.
    closes: float | None = None
    pinned_old_id: str | None = None


@dataclass(slots=True)
class CommentRecord:
    old_id: str
    thread_old_id: str
    parent_old_id: str | None
    author_name: str
    text: str
    # How `text` is written: Markdown and plain text are rendered, HTML is sanitised.
    format: BodyFormat = "markdown"
    author_email: str | None = None
    author_website: str | None = None
    quote: str | None = None
    status: Status = "published"
    created: float | None = None
    edited: float | None = None
    likes: int = 0
    dislikes: int = 0
    ip: str | None = None
    # Only a Townsquare export carries these: what was stored, kept as it was.
    html: str | None = None
    author_key: str | None = None
    ip_hash: str | None = None
    moderation: dict | None = None
    votes: list[Vote] = field(default_factory=list)
    featured: bool = False  # an editor's pick


@dataclass(slots=True)
class Vote:
    voter: str
    value: int  # 1 or -1
    created: float


@dataclass(slots=True)
class Skip:
    """A record left out on purpose; it is counted and listed in the import report."""

    kind: Literal["thread", "comment"]
    old_id: str
    reason: str
    where: str = ""  # line or element in the source, when known


Record = Union[ThreadRecord, CommentRecord, Skip]
RecordStream = Iterator[Record]


class ImportFormatError(ValueError):
    """The source is malformed; the message names the line or element."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
