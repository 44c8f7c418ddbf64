"""Plain-text threads as crawled from article pages.

The layout: the article title on the first line, then the article's paragraphs (an optional
"Receive News Alerts on …" line among them), then the comments. Each comment starts with a
`• Name` line; the bullet's indentation gives its depth. The comment's paragraphs follow,
indented under the bullet. A reply that opens with `Name wrote :"…"` quotes its parent; the
quoted text is taken out of the body and kept as the comment's quote.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import IO, Iterable, Iterator

from .records import CommentRecord, ImportFormatError, RecordStream, ThreadRecord

_BULLET = re.compile(r"^(?P<indent>[ \t]*)[•●▪◦]\s+(?P<name>\S.*?)\s*$")
_ALERTS = re.compile(r"^receive\b.*\balerts?\b.*:", re.IGNORECASE)
# `Name wrote :"quoted…` with straight or curly quotes, either way round.
_QUOTE = re.compile(r'^(?P<who>.+?)\s+wrote\s*:\s*["“”](?P<quote>.*)$', re.DOTALL)
_CLOSING_QUOTES = "\"“”"


@dataclass(slots=True)
class TextComment:
    number: int  # 1-based position on the page
    author_name: str
    depth: int  # 1 for a top-level comment
    parent_number: int | None
    paragraphs: list[str]
    quote: str | None = None
    quote_author: str | None = None
    line: int = 0  # line of the bullet in the source

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(slots=True)
class TextThread:
    title: str
    body_paragraphs: list[str]
    alerts_line: str | None
    comments: list[TextComment] = field(default_factory=list)

    @property
    def max_depth(self) -> int:
        return max((c.depth for c in self.comments), default=0)


def parse_text(source: str | PathLike[str] | IO[str] | IO[bytes]) -> TextThread:
    """Parse one crawled thread. Raises ImportFormatError naming the line when the layout is broken."""
    try:
        lines = list(_read_lines(source))
    except UnicodeDecodeError as e:
        raise ImportFormatError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    first_bullet = next((i for i in range(len(lines)) if _starts_comment(lines, i)), len(lines))
    header = _paragraphs(lines[:first_bullet])
    if not header:
        raise ImportFormatError("the page has no title before its comments", "line 1")
    title, article = header[0], header[1:]
    alerts = next((p for p in article if _ALERTS.match(p)), None)
    body = _without_repeats([p for p in article if p is not alerts])
    thread = TextThread(title=title, body_paragraphs=body, alerts_line=alerts)
    thread.comments = list(_comments(lines, first_bullet))
    return thread


def text_records(source: str | PathLike[str] | IO[str] | IO[bytes], uri: str | None = None) -> RecordStream:
    """The generic record stream for one crawled page; the thread's URI defaults to a slug of its title."""
    thread = parse_text(source)
    return thread_records(thread, uri or "/" + slugify(thread.title))


def thread_records(thread: TextThread, uri: str) -> Iterator[ThreadRecord | CommentRecord]:
    yield ThreadRecord(old_id=uri, uri=uri, title=thread.title)
    for c in thread.comments:
        yield CommentRecord(
            old_id=f"{uri}#{c.number}",
            thread_old_id=uri,
            parent_old_id=f"{uri}#{c.parent_number}" if c.parent_number else None,
            author_name=c.author_name,
            text=c.text,
            format="plain",
            quote=c.quote,
        )


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:200] or "thread"


def _read_lines(source: str | PathLike[str] | IO[str] | IO[bytes]) -> Iterator[str]:
    if isinstance(source, (str, PathLike)):
        with Path(source).open(encoding="utf-8-sig", newline=None) as f:
            yield from (line.rstrip("\r\n") for line in f)
        return
    stream: IO[str] = source if isinstance(source.read(0), str) else io.TextIOWrapper(source, "utf-8-sig")  # type: ignore[arg-type]
    yield from (line.rstrip("\r\n") for line in stream)


def _paragraphs(lines: Iterable[str]) -> list[str]:
    """Blank-line separated paragraphs, each joined into one line of text."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in list(lines) + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return paragraphs


def _without_repeats(paragraphs: list[str]) -> list[str]:
    # Crawled pages repeat an image's alt text as its caption; keep one.
    return [p for i, p in enumerate(paragraphs) if i == 0 or p != paragraphs[i - 1]]


def _comments(lines: list[str], start: int) -> Iterator[TextComment]:
    # Stack of (indent width, comment number, depth) for the comments that are still open.
    stack: list[tuple[int, int, int]] = []
    names: dict[int, str] = {}
    i, number = start, 0
    while i < len(lines):
        match = _BULLET.match(lines[i])
        if not match or not _starts_comment(lines, i):
            raise ImportFormatError("expected a '• Name' line starting a comment", f"line {i + 1}")
        bullet_line = i
        indent = _indent(lines[i])
        i += 1
        body: list[str] = []
        while i < len(lines) and not _starts_comment(lines, i):
            body.append(lines[i])
            i += 1
        _check_body_indent(body, indent, bullet_line)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else None
        number += 1
        depth = len(stack) + 1
        stack.append((indent, number, depth))
        name = match["name"]
        names[number] = name
        comment = TextComment(number, name, depth, parent, _paragraphs(body), line=bullet_line + 1)
        if parent is not None:
            _split_quote(comment)
        if not comment.paragraphs and comment.quote is None:
            raise ImportFormatError(f"comment by {name!r} has no text", f"line {bullet_line + 1}")
        yield comment


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _starts_comment(lines: list[str], i: int) -> bool:
    """A bullet starts a comment when the next text below it is indented deeper.

    That tells comments apart from a bulleted list inside the article or a comment.
    """
    if not _BULLET.match(lines[i]):
        return False
    following = next((lines[j] for j in range(i + 1, len(lines)) if lines[j].strip()), None)
    return following is not None and not _BULLET.match(following) and _indent(following) > _indent(lines[i])


def _check_body_indent(body: list[str], indent: int, bullet_line: int) -> None:
    for offset, line in enumerate(body, start=bullet_line + 2):
        if line.strip() and _indent(line) <= indent:
            raise ImportFormatError(
                "comment text must be indented under its bullet", f"line {offset}"
            )


def _split_quote(comment: TextComment) -> None:
    match = _QUOTE.match(comment.paragraphs[0])
    if not match:
        return
    comment.quote = match["quote"].strip().rstrip(_CLOSING_QUOTES).strip()
    comment.quote_author = match["who"].strip()
    comment.paragraphs = comment.paragraphs[1:]
