"""Disqus XML exports, read as a stream (memory stays flat whatever the file size).

Both export layouts are read:
- the current one: top-level `<thread dsq:id>` elements, then `<post dsq:id>` elements that point
  at them with `<thread dsq:id="…"/>` and `<parent dsq:id="…"/>`;
- the older one: no `dsq:id` on posts (their `<id>` is the key), and posts that name their thread
  by identifier (`<thread><id>…</id></thread>`) rather than by `dsq:id`.

Edge cases our peers tripped on: authors without an email (isso#477), empty `<id>` elements
(isso#135: the `dsq:id` attribute and the link are the keys here), posts with no id at all (a
stable content hash stands in), deleted threads (skipped with their posts), spam and deleted posts
(kept as rejected / deleted so replies below them keep their place).
"""

from __future__ import annotations

from typing import Iterator

from lxml import etree

from .fields import author_name, content_id, parse_bool, parse_time, text_or_none, uri_of
from .records import CommentRecord, ImportFormatError, RecordStream, Skip, ThreadRecord
from .sources import Source, open_binary

DSQ_ID = "{http://disqus.com/disqus-internals}id"


def disqus_records(source: Source) -> RecordStream:
    threads_by_ident: dict[str, str] = {}  # thread <id> identifier -> thread old id (older layout)
    deleted_threads: set[str] = set()
    for element in _top_level(source):
        try:
            if _local(element.tag) == "thread":
                yield from _thread(element, threads_by_ident, deleted_threads)
            else:
                yield _post(element, threads_by_ident, deleted_threads)
        except ImportFormatError as e:
            if e.where:
                raise
            raise ImportFormatError(str(e), _where(element)) from None


def _top_level(source: Source) -> Iterator[etree._Element]:
    """The children of <disqus>, one at a time, each freed once it has been read."""
    with open_binary(source) as stream:
        events = etree.iterparse(
            stream, events=("end",), tag=("{*}thread", "{*}post"),
            resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
        )
        try:
            for _, element in events:
                parent = element.getparent()
                if parent is None or parent.getparent() is not None:
                    continue  # a <thread> reference inside a <post>, read with its post
                yield element
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as e:
            raise ImportFormatError(f"not well-formed XML: {e.msg}", f"line {e.lineno}") from None


def _thread(element, threads_by_ident: dict[str, str], deleted_threads: set[str]) -> Iterator[ThreadRecord | Skip]:
    fields = _fields(element)
    link = text_or_none(fields.get("link"))
    ident = text_or_none(fields.get("id"))
    old_id = element.get(DSQ_ID) or ident or link
    if not old_id:
        raise ImportFormatError("thread has no dsq:id, identifier or link")
    if not link and not (ident and ident.startswith("/")):
        yield Skip("thread", old_id, "thread has no link", _where(element))
        return
    if ident:
        threads_by_ident.setdefault(ident, old_id)
    if parse_bool(fields.get("isDeleted")):
        deleted_threads.add(old_id)
        yield Skip("thread", old_id, "thread deleted in the source", _where(element))
        return
    yield ThreadRecord(
        old_id=old_id,
        uri=uri_of(link) if link else ident,  # type: ignore[arg-type]
        title=(fields.get("title") or "").strip(),
        url=link or "",
        closed=parse_bool(fields.get("isClosed")),
        created=parse_time(fields.get("createdAt")),
    )


def _post(element, threads_by_ident: dict[str, str], deleted_threads: set[str]) -> CommentRecord | Skip:
    fields = {}
    thread_ref = parent_ref = author = None
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = _local(tag)
        if name == "author":
            author = {_local(a.tag): a.text for a in child if isinstance(a.tag, str)}
        elif name == "thread":
            thread_ref = child
        elif name == "parent":
            parent_ref = child
        else:
            fields[name] = child.text
    author = author or {}
    message = (fields.get("message") or "").strip()
    name = author_name(author.get("name"), author.get("username"))
    created_text = fields.get("createdAt")
    thread_old_id = _reference(thread_ref, threads_by_ident)
    old_id = element.get(DSQ_ID) or text_or_none(fields.get("id")) or content_id(
        thread_old_id, created_text, name, author.get("email"), message
    )
    if thread_old_id is None:
        return Skip("comment", old_id, "comment names no thread", _where(element))
    if thread_old_id in deleted_threads:
        return Skip("comment", old_id, "its thread was deleted in the source", _where(element))
    status = "published"
    if parse_bool(fields.get("isDeleted")):
        status = "deleted"
    elif parse_bool(fields.get("isSpam")):
        status = "rejected"
    elif not parse_bool(fields.get("isApproved"), default=True):
        status = "pending"
    return CommentRecord(
        old_id=old_id,
        thread_old_id=thread_old_id,
        parent_old_id=_reference(parent_ref, None),
        author_name=name,
        author_email=text_or_none(author.get("email")),
        text=message,
        format="html",
        status=status,  # type: ignore[arg-type]
        created=parse_time(created_text),
        ip=text_or_none(fields.get("ipAddress")),
    )


def _reference(element, idents: dict[str, str] | None) -> str | None:
    """The id a <thread> or <parent> reference points at: its dsq:id, or (older layout) its <id>."""
    if element is None:
        return None
    if element.get(DSQ_ID):
        return element.get(DSQ_ID)
    child = element.find("{*}id")
    ident = text_or_none(child.text if child is not None else None)
    if ident and idents is not None:
        return idents.get(ident, ident)
    return ident


def _fields(element) -> dict[str, str | None]:
    return {_local(child.tag): child.text for child in element if isinstance(child.tag, str)}


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """`{namespace}name` -> `name`, remembered: a file uses a dozen tags a million times."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = _LOCAL_NAMES.setdefault(tag, tag[tag.rfind("}") + 1:])
    return name


def _where(element) -> str:
    dsq = element.get(DSQ_ID)
    label = f' dsq:id="{dsq}"' if dsq else ""
    return f"line {element.sourceline}, <{_local(element.tag)}{label}>"
