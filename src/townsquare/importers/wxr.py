"""WordPress eXtended RSS (WXR 1.0–1.2), read one `<item>` at a time.

Each post or page with comments becomes a thread keyed by its WordPress post id; each
`<wp:comment>` becomes a comment. `comment_approved` maps 1 → published, 0 → pending,
spam → rejected, trash → deleted. Pingbacks and trackbacks are skipped (they are not
discussion), and so are items in the trash, with their comments.
"""

from __future__ import annotations

from typing import Iterator

from lxml import etree

from .fields import author_name, parse_time, text_or_none, uri_of
from .records import CommentRecord, ImportFormatError, RecordStream, Skip, ThreadRecord
from .sources import Source, open_binary

_APPROVED = {"1": "published", "approve": "published", "0": "pending", "hold": "pending",
             "spam": "rejected", "trash": "deleted", "post-trashed": "deleted"}
_ZERO_DATE = "0000-00-00 00:00:00"


def wxr_records(source: Source) -> RecordStream:
    for item in _items(source):
        fields = _children(item)
        comments = [c for c in item if isinstance(c.tag, str) and etree.QName(c).localname == "comment"]
        if not comments:
            continue  # attachments, menus and posts nobody commented on carry no discussion
        where = f"line {item.sourceline}, <item>"
        post_id = text_or_none(_text(fields, "post_id"))
        link = text_or_none(_text(fields, "link")) or text_or_none(_text(fields, "guid"))
        if not post_id and not link:
            raise ImportFormatError("item has neither wp:post_id nor link", where)
        thread_id = post_id or link
        if (_text(fields, "status") or "").strip() == "trash":
            yield Skip("thread", thread_id, "post is in the trash", where)
            yield from (Skip("comment", _comment_id(c, thread_id), "its post is in the trash", where) for c in comments)
            continue
        yield ThreadRecord(
            old_id=thread_id,
            uri=uri_of(link) if link else f"/?p={post_id}",
            title=(_text(fields, "title") or "").strip(),
            url=link or "",
            closed=(_text(fields, "comment_status") or "open").strip() == "closed",
            created=_wp_time(fields, "post_date_gmt", "post_date", where),
        )
        for comment in comments:
            yield _comment(comment, thread_id)


def _items(source: Source) -> Iterator[etree._Element]:
    with open_binary(source) as stream:
        yield from _parse(stream)


def _parse(stream) -> Iterator[etree._Element]:
    events = etree.iterparse(
        stream, events=("end",), tag="item",
        resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True, strip_cdata=True,
    )
    try:
        for _, item in events:
            yield item
            item.clear(keep_tail=False)
            parent = item.getparent()
            while parent is not None and item.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as e:
        raise ImportFormatError(f"not well-formed XML: {e.msg}", f"line {e.lineno}") from None


def _comment(element, thread_id: str) -> CommentRecord | Skip:
    fields = _children(element)
    old_id = _comment_id(element, thread_id)
    where = f"line {element.sourceline}, <wp:comment> {old_id}"
    kind = (_text(fields, "comment_type") or "").strip()
    if kind in ("pingback", "trackback"):
        return Skip("comment", old_id, f"{kind}, not a comment", where)
    approved = (_text(fields, "comment_approved") or "1").strip()
    if approved not in _APPROVED:
        raise ImportFormatError(f"unknown comment_approved value {approved!r}", where)
    parent = (_text(fields, "comment_parent") or "0").strip()
    return CommentRecord(
        old_id=old_id,
        thread_old_id=thread_id,
        parent_old_id=f"{thread_id}/{parent}" if parent not in ("", "0") else None,
        author_name=author_name(_text(fields, "comment_author")),
        author_email=text_or_none(_text(fields, "comment_author_email")),
        author_website=text_or_none(_text(fields, "comment_author_url")),
        text=(_text(fields, "comment_content") or "").strip(),
        format="html",  # WordPress stores comment bodies as HTML with auto-paragraphs
        status=_APPROVED[approved],  # type: ignore[arg-type]
        created=_wp_time(fields, "comment_date_gmt", "comment_date", where),
        ip=text_or_none(_text(fields, "comment_author_IP")),
    )


def _comment_id(element, thread_id: str) -> str:
    # WordPress comment ids are unique per blog; the post id keeps several blogs in one site apart.
    found = element.find("{*}comment_id")
    cid = text_or_none(found.text if found is not None else None)
    if not cid:
        raise ImportFormatError("wp:comment has no wp:comment_id", f"line {element.sourceline}")
    return f"{thread_id}/{cid}"


def _wp_time(fields: dict, gmt: str, local: str, where: str) -> float | None:
    value = text_or_none(_text(fields, gmt))
    if value and value != _ZERO_DATE:
        return parse_time(value, where)
    # Drafts have no GMT date; the local date is the best there is.
    value = text_or_none(_text(fields, local))
    return parse_time(value, where) if value and value != _ZERO_DATE else None


def _children(element) -> dict:
    out: dict = {}
    for child in element:
        if isinstance(child.tag, str):
            out.setdefault(etree.QName(child).localname, child)
    return out


def _text(fields: dict, name: str) -> str | None:
    child = fields.get(name)
    return child.text if child is not None else None
