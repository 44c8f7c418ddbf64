"""Exports: lossless JSON lines (Townsquare's own format) and Disqus-compatible XML.

JSON lines hold everything a discussion is made of (sites, threads with their close time and
pinned comment, comments with their stored HTML, statuses, moderation decisions, editors' picks and
votes), and nothing that depends on database ids:
a comment is known by `ref`, a hash of what it is. So export → import into a fresh database →
export gives the very same bytes.

The Disqus XML follows Disqus's own export layout (threads, then posts pointing at them), which is
what other comment systems read when a publisher moves.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any, Iterator

import orjson
from lxml import etree

from townsquare.store import export as stored
from townsquare.store.db import Connection, Engine, reading
from townsquare.store.comments import Comment
from townsquare.site_config import without_secrets
from townsquare.store.sites import Site
from townsquare.store.threads import Thread

FORMAT = "townsquare"
VERSION = 1
DISQUS_NS = "http://disqus.com"
DSQ_NS = "http://disqus.com/disqus-internals"
_DSQ_ID = f"{{{DSQ_NS}}}id"


@dataclass
class ExportCounts:
    sites: int = 0
    threads: int = 0
    comments: int = 0
    # With everything (`export --all`):
    accounts: int = 0
    subscriptions: int = 0
    bans: int = 0
    trusted: int = 0
    webhooks: int = 0
    audit_entries: int = 0


class UnknownSite(LookupError):
    pass


def comment_ref(uri: str, row: Comment) -> str:
    """A comment's id in an export: stable across databases, different for different comments."""
    parts = (uri, repr(float(row.created)), row.author_name, row.author_email or "", row.text, row.quote or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


# -- JSON lines -------------------------------------------------------------------------------------
def export_jsonl(engine: Engine, out: IO[bytes], site: str | None = None, *, everything: bool = False) -> ExportCounts:
    """The discussions; with `everything`, also what a move to another database needs (see
    everything.py): the instance secret, accounts, and each site's alerts and moderation records."""
    from . import everything as everything_lines  # it reads files with jsonl.py, which needs this module

    counts = ExportCounts()
    with reading(engine) as conn:
        _line(out, {"type": "header", "format": FORMAT, "version": VERSION})
        chosen = _sites(conn, site)
        if everything:
            for line in everything_lines.instance_lines(conn, counts):
                _line(out, line)
        for site_row in chosen:
            counts.sites += 1
            _line(out, {
                "type": "site", "name": site_row.name, "title": site_row.title, "origins": list(site_row.origins),
                # A site's own secrets (the sign-on secret) travel only with the instance's, in `--all`.
                "settings": site_row.settings if everything else without_secrets(site_row.settings),
                "created": site_row.created,
            })
            wanted = stored.referenced_comments(conn, site_row.id) if everything else set()
            refs: dict[int, str] = {}
            for thread in stored.site_threads(conn, site_row.id, order_by_uri=True):
                counts.threads += 1
                thread_refs: dict[int, str] = {}
                lines = list(_thread_comment_lines(conn, site_row.name, thread, wanted, refs, thread_refs))
                # The newsroom's state of the thread: its own close time and its pinned comment (by ref).
                _line(out, {
                    "type": "thread", "site": site_row.name, "uri": thread.uri, "title": thread.title,
                    "url": thread.url, "closed": thread.closed, "created": thread.created, "closes": thread.closes,
                    "pinned": thread_refs.get(thread.pinned_id) if thread.pinned_id is not None else None,
                })
                for line in lines:
                    counts.comments += 1
                    _line(out, line)
            if everything:
                for line in everything_lines.site_lines(conn, site_row, refs, counts):
                    _line(out, line)
    return counts


def _thread_comment_lines(conn: Connection, site_name: str, thread: Thread, wanted: set[int] = frozenset(),
                          found: dict[int, str] | None = None,
                          refs: dict[int, str] | None = None) -> Iterator[dict[str, Any]]:
    """The thread's comment lines; the refs of the comments in `wanted` are put in `found`, and
    every comment's in `refs` (once the first line is asked for)."""
    rows = stored.thread_comments(conn, thread.id)
    refs = {} if refs is None else refs
    taken: set[str] = set()
    for row in sorted(rows, key=lambda r: (r.created, r.id)):
        ref = comment_ref(thread.uri, row)
        n = 1
        while ref in taken:  # two comments identical in every field
            n += 1
            ref = f"{comment_ref(thread.uri, row)}-{n}"
        taken.add(ref)
        refs[row.id] = ref
        if row.id in wanted and found is not None:
            found[row.id] = ref
    voted: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if rows:
        for v in stored.thread_votes(conn, thread.id):
            voted[v.comment_id].append({"voter": v.voter, "value": v.value, "created": v.created})
    for row in sorted(rows, key=lambda r: (r.created, refs[r.id])):
        yield {
            "type": "comment", "site": site_name, "thread": thread.uri, "ref": refs[row.id],
            "parent": refs.get(row.parent_id) if row.parent_id is not None else None,
            "author": {"name": row.author_name, "email": row.author_email,
                       "website": row.author_website, "key": row.author_key},
            "ip_hash": row.ip_hash, "text": row.text, "quote": row.quote, "html": row.html,
            "status": row.status, "created": row.created, "edited": row.edited,
            "likes": row.likes, "dislikes": row.dislikes, "moderation": row.decision() or None,
            "featured": bool(row.featured),
            "votes": sorted(voted.get(row.id, []), key=lambda v: v["voter"]),
        }


def _line(out: IO[bytes], value: dict[str, Any]) -> None:
    out.write(orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))


def _sites(conn: Connection, name: str | None) -> list[Site]:
    found = stored.export_sites(conn, name)
    if name is not None and not found:
        raise UnknownSite(f"There is no site named '{name}'.")
    return found


# -- Disqus XML ---------------------------------------------------------------------------------------
def export_disqus(engine: Engine, out: IO[bytes], site: str) -> ExportCounts:
    counts = ExportCounts(sites=1)
    with reading(engine) as conn, etree.xmlfile(out, encoding="utf-8") as xf:
        site_row = _sites(conn, site)[0]
        xf.write_declaration()
        with xf.element(f"{{{DISQUS_NS}}}disqus", nsmap={None: DISQUS_NS, "dsq": DSQ_NS}):
            category = _el("category", {_DSQ_ID: "1"}, _el("forum", text=site), _el("title", text="General"),
                           _el("isDefault", text="true"))
            xf.write("\n", category)
            for thread in stored.site_threads(conn, site_row.id):
                counts.threads += 1
                xf.write("\n", _disqus_thread(site, thread))
            for row in stored.site_comments(conn, site_row.id):
                counts.comments += 1
                xf.write("\n", _disqus_post(row))
            xf.write("\n")
    return counts


def _disqus_thread(site: str, t: Thread) -> etree._Element:
    return _el(
        "thread", {_DSQ_ID: str(t.id)},
        _el("id", text=t.uri), _el("forum", text=site), _el("category", {_DSQ_ID: "1"}),
        _el("link", text=t.url or t.uri), _el("title", text=t.title), _el("message"),
        _el("createdAt", text=_disqus_time(t.created)),
        _el("isClosed", text=_bool(t.closed)), _el("isDeleted", text="false"),
    )


def _disqus_post(c: Comment) -> etree._Element:
    children = [
        _el("id"), _el("message", text=c.html), _el("createdAt", text=_disqus_time(c.created)),
        _el("isDeleted", text=_bool(c.status == "deleted")), _el("isSpam", text=_bool(c.status == "rejected")),
        _el("isApproved", text=_bool(c.status != "pending")),
        _el("author", None, _el("email", text=c.author_email), _el("name", text=c.author_name),
            _el("isAnonymous", text=_bool(not c.author_email))),
        _el("thread", {_DSQ_ID: str(c.thread_id)}),
    ]
    if c.parent_id is not None:
        children.append(_el("parent", {_DSQ_ID: str(c.parent_id)}))
    return _el("post", {_DSQ_ID: str(c.id)}, *children)


def _el(tag: str, attrib: dict[str, str] | None = None, *children: etree._Element, text: str | None = None) -> etree._Element:
    element = etree.Element(f"{{{DISQUS_NS}}}{tag}", attrib or {}, nsmap={None: DISQUS_NS, "dsq": DSQ_NS})
    element.text = text
    element.extend(children)
    return element


def _disqus_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bool(value: Any) -> str:
    return "true" if value else "false"
