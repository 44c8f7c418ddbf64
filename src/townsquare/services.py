"""The discussion core's use cases: post, edit, delete, vote, read, count.

The web layer calls these; they apply the domain rules, call moderation and alerts at their hook
points, and read and write through `store.queries`. Each write is one transaction.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import orjson
from sqlalchemy import Engine

from townsquare.alerts import events as alert_events
from townsquare.alerts import subscriptions
from townsquare.config import Settings, SiteSettings, site_settings
from townsquare.domain import tree, validate
from townsquare.domain.render import render_markdown
from townsquare.domain.tokens import Signer, TokenError
from townsquare.errors import Forbidden, Invalid, NotFound, TooMany, Unauthorized
from townsquare.metrics import COMMENTS_CREATED
from townsquare.moderation import service as moderation
from townsquare.store import queries as q
from townsquare.store.db import now, reader

RATE_WINDOW = 60  # seconds; limits are "per minute"
DELETED_NAME = "[deleted]"


@dataclass
class Client:
    """Who is asking: the request's origin and address, reduced to what the rules need."""

    ip: str = ""
    origin: str | None = None
    voter_token: str | None = None


class ThreadCache:
    """Serialized thread pages keyed by the thread's version.

    Every read checks the version in the database, so a write by any process makes older
    entries unreachable at once; the cache never serves a stale thread.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._lock = Lock()

    def get(self, key: tuple) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: bytes) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += len(value) - (len(old) if old else 0)
            self._items[key] = value
            while self._bytes > self._max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)


@dataclass
class ThreadPage:
    """One requested page of a thread; `head` is the thread row once looked up."""

    site: str
    uri: str
    sort: str = "oldest"
    limit: int = 50
    cursor: str | None = None
    parent: int | None = None
    reply_limit: int = 20
    head: dict[str, Any] | None = None

    def key(self) -> tuple:
        # The version makes every write, by any process, move readers to a new key.
        return (self.head["id"], self.head["version"], self.sort, self.limit, self.cursor, self.parent,
                self.reply_limit)


@dataclass
class Core:
    engine: Engine
    settings: Settings
    signer: Signer
    limiter: Any  # townsquare.ratelimit.Limiter
    cache: ThreadCache = field(default_factory=ThreadCache)

    # -- helpers --------------------------------------------------------------------------
    def _site(self, conn, name: str) -> dict[str, Any]:
        site = q.site_by_name(conn, name)
        if site is None:
            raise NotFound(f"There is no site named '{name}'.", field="site")
        return self._with_rules(site)

    def _check_origin(self, site: dict[str, Any], client: Client) -> None:
        allowed = site["origins"]
        if client.origin and "*" not in allowed and client.origin.rstrip("/") not in allowed:
            raise Forbidden(f"The origin {client.origin} may not post to site '{site['name']}'.")

    def _limit(self, conn, site: dict[str, Any], what: str, client: Client, per_minute: int) -> None:
        if self.settings.rate_limits == "off":
            return
        key = f"{site['id']}:{what}:{self.signer.hash('ip', client.ip)}"
        if not self.limiter.allow(key, per_minute, RATE_WINDOW, conn):
            raise TooMany(f"Too many {what}s from this address; try again in a minute.", retry_after=RATE_WINDOW)

    @staticmethod
    def _prescore(text: str):
        """Run the toxicity model before the write transaction: it takes milliseconds of CPU, and
        on SQLite every other writer would wait that long for the lock."""
        text = validate.normalize_text(text)
        return moderation.prescore(text) if text else None

    def _edit_token(self, token: str | None, comment: dict, site: SiteSettings) -> None:
        if not token:
            raise Unauthorized("Send the comment's edit token as 'Authorization: Bearer <token>'.")
        try:
            self.signer.check_edit_token(token, comment["id"], site.edit_window)
        except TokenError as e:
            raise Unauthorized(str(e)) from None

    # -- writes -----------------------------------------------------------------------------
    def post_comment(self, body: dict[str, Any], client: Client) -> dict[str, Any]:
        author = body.get("author") or {}
        prescored = self._prescore(body["text"])
        with self.engine.begin() as conn:
            site = self._site(conn, body["site"])
            rules: SiteSettings = site["settings_obj"]
            self._check_origin(site, client)
            text = validate.clean_text(body["text"], rules)
            name = validate.clean_name(author.get("name") or "", rules)
            email = validate.clean_email(author.get("email"), rules)
            website = validate.clean_website(author.get("website"))
            uri = validate.clean_uri(body["uri"])
            if body.get("notify_replies") and not email:
                raise Invalid("Reply alerts need an e-mail address (author.email).", field="author.email")
            self._limit(conn, site, "post", client, rules.posts_per_minute)

            parent_id = body.get("parent_id")
            parent = None
            if parent_id is not None:
                parent = q.comment_by_id(conn, parent_id)
                if parent is None or parent["status"] != "published":
                    raise NotFound(f"There is no comment {parent_id} to reply to.", field="parent_id")
                thread = q.thread_by_id(conn, parent["thread_id"])
                if thread["site_id"] != site["id"] or thread["uri"] != uri:
                    raise Invalid(f"Comment {parent_id} belongs to another thread.", field="parent_id")
            else:
                thread = q.get_or_create_thread(conn, site["id"], uri, (body.get("title") or "")[:500],
                                                (body.get("url") or "")[:2000])
            if thread["closed"]:
                raise Forbidden("This discussion is closed.")
            quote = validate.clean_quote(body.get("quote"), parent["text"]) if parent else None
            if body.get("quote") and parent is None:
                raise Invalid("A quote needs a parent_id: it quotes the comment being answered.", field="quote")

            html = render_markdown(text, quote, parent["author_name"] if parent else None)
            author_key = self.signer.hash("email", email.lower()) if email else None
            draft = {
                "text": text, "html": html, "quote": quote, "parent_id": parent_id,
                "author_name": name, "author_email": email, "author_website": website,
                "author_key": author_key, "ip_hash": self.signer.hash("ip", client.ip),
                "honeypot": body.get("honeypot"), "elapsed_ms": body.get("elapsed_ms"), "is_edit": False,
            }
            decision = moderation.decide(conn, site=site, thread=thread, draft=draft, prescored=prescored)
            created = now()
            values = {
                "thread_id": thread["id"], "parent_id": parent_id, "author_name": name, "author_email": email,
                "author_website": website, "author_key": author_key, "ip_hash": draft["ip_hash"], "text": text,
                "quote": quote, "html": html, "status": decision.status, "created": created, "edited": None,
                "likes": 0, "dislikes": 0, "moderation": orjson.dumps(decision.as_json()).decode(),
            }
            comment_id = q.insert_comment(conn, values)
            comment = {"id": comment_id, **values}
            reply_alerts = None
            if body.get("notify_replies"):
                reply_alerts = subscriptions.subscribe_replies(
                    conn, site_id=site["id"], comment_id=comment_id, email=email, now=created).state
            published = decision.status == "published"
            q.touch_thread(conn, thread["id"], 1 if published else 0)
            if published:
                alert_events.comment_published(conn, site=site, thread=thread, comment=comment)
            elif decision.status == "pending":
                alert_events.comment_held(conn, site=site, thread=thread, comment=comment)
        COMMENTS_CREATED.labels(decision.status).inc()
        return {"comment": public_comment(comment), "edit_token": self.signer.edit_token(comment_id),
                "edit_until": created + rules.edit_window, "reply_alerts": reply_alerts,
                "moderation": decision.as_json() if decision.status != "published" else None}

    def edit_comment(self, comment_id: int, body: dict[str, Any], token: str | None, client: Client) -> dict[str, Any]:
        prescored = self._prescore(body["text"])
        with self.engine.begin() as conn:
            comment, thread, site = self._own_comment(conn, comment_id, token, client)
            rules: SiteSettings = site["settings_obj"]
            text = validate.clean_text(body["text"], rules)
            html = render_markdown(text, comment["quote"], self._parent_name(conn, comment))
            draft = {
                "text": text, "html": html, "quote": comment["quote"], "parent_id": comment["parent_id"],
                "author_name": comment["author_name"], "author_email": comment["author_email"],
                "author_website": comment["author_website"], "author_key": comment["author_key"],
                "ip_hash": self.signer.hash("ip", client.ip), "is_edit": True, "comment_id": comment_id,
            }
            decision = moderation.decide(conn, site=site, thread=thread, draft=draft, prescored=prescored)
            old_status = comment["status"]
            was, becomes = old_status == "published", decision.status == "published"
            changes = {"text": text, "html": html, "edited": now(), "status": decision.status,
                       "moderation": orjson.dumps(decision.as_json()).decode()}
            q.update_comment(conn, comment_id, **changes)
            q.touch_thread(conn, thread["id"], becomes - was)
            comment.update(changes)
            if becomes and not was:
                alert_events.comment_published(conn, site=site, thread=thread, comment=comment)
            elif decision.status == "pending" and old_status != "pending":
                alert_events.comment_held(conn, site=site, thread=thread, comment=comment)
        return {"comment": public_comment(comment),
                "moderation": decision.as_json() if decision.status != "published" else None}

    def delete_comment(self, comment_id: int, token: str | None, client: Client) -> None:
        with self.engine.begin() as conn:
            comment, thread, _site = self._own_comment(conn, comment_id, token, client)
            # The row stays as a placeholder (hidden unless replies hang below it), scrubbed of
            # the author's words and identity.
            q.update_comment(conn, comment_id, status="deleted", text="", html="", quote=None,
                             author_name=DELETED_NAME, author_email=None, author_website=None, edited=now())
            q.touch_thread(conn, thread["id"], -1 if comment["status"] == "published" else 0)

    def _own_comment(self, conn, comment_id: int, token: str | None, client: Client):
        comment = q.comment_by_id(conn, comment_id)
        if comment is None or comment["status"] == "deleted":
            raise NotFound(f"There is no comment {comment_id}.")
        thread = q.thread_by_id(conn, comment["thread_id"])
        site = self._site_by_id(conn, thread["site_id"])
        self._check_origin(site, client)
        self._edit_token(token, comment, site["settings_obj"])
        if thread["closed"]:
            raise Forbidden("This discussion is closed.")
        return comment, thread, site

    def _site_by_id(self, conn, site_id: int) -> dict[str, Any]:
        return self._with_rules(q.site_by_id(conn, site_id))

    def _with_rules(self, site: dict[str, Any]) -> dict[str, Any]:
        site["settings_obj"] = site_settings(self.settings.site_defaults, site["settings"])
        return site

    def _parent_name(self, conn, comment: dict) -> str | None:
        if comment["parent_id"] is None:
            return None
        parent = q.comment_by_id(conn, comment["parent_id"])
        return parent["author_name"] if parent else None

    def vote(self, comment_id: int, value: int, client: Client) -> dict[str, Any]:
        if value not in (-1, 0, 1):
            raise Invalid("A vote is 1, -1 or 0 (to withdraw it).", field="value")
        token = client.voter_token
        if token:
            try:
                voter = self.signer.voter_id(token)
            except TokenError as e:
                raise Unauthorized(str(e)) from None
        else:
            token = self.signer.new_voter()
            voter = self.signer.voter_id(token)
        with self.engine.begin() as conn:
            comment = q.comment_by_id(conn, comment_id)
            if comment is None or comment["status"] != "published":
                raise NotFound(f"There is no comment {comment_id}.")
            thread = q.thread_by_id(conn, comment["thread_id"])
            site = self._site_by_id(conn, thread["site_id"])
            self._check_origin(site, client)
            self._limit(conn, site, "vote", client, site["settings_obj"].votes_per_minute)
            likes, dislikes = q.set_vote(conn, comment_id, voter, value)
            q.touch_thread(conn, thread["id"])
        return {"id": comment_id, "votes": likes - dislikes, "likes": likes, "dislikes": dislikes,
                "value": value, "voter_token": token}

    # -- reads ------------------------------------------------------------------------------
    def read_thread_json(self, site: str, uri: str, sort: str = "oldest", limit: int = 50,
                         cursor: str | None = None, parent: int | None = None, reply_limit: int = 20) -> bytes:
        """A page of a thread as JSON bytes: two queries on a cache miss, one on a hit."""
        page = ThreadPage(site, uri, sort, limit, cursor, parent, reply_limit)
        return self.cached_thread_json(page) or self.build_thread_json(page)

    def cached_thread_json(self, page: ThreadPage) -> bytes | None:
        """The page from the cache, or None. One indexed query (the thread's version): cheap
        enough to run on the event loop, so cache hits never wait for a worker thread."""
        with reader(self.engine) as conn:
            head = q.thread_for_read(conn, page.site, page.uri)
        if head is None:
            raise NotFound(f"There is no site named '{page.site}'.", field="site")
        if head["id"] is None:
            return orjson.dumps(_empty_thread(page.site, page.uri))
        page.head = head
        return self.cache.get(page.key())

    def build_thread_json(self, page: ThreadPage) -> bytes:
        """Read and shape the page (after `cached_thread_json` missed) and cache it."""
        with reader(self.engine) as conn:
            rows = q.thread_comments(conn, page.head["id"])
        body = orjson.dumps(_shape_thread(page.site, page.head, rows, page.sort, page.limit, page.cursor,
                                          page.parent, page.reply_limit))
        self.cache.put(page.key(), body)
        return body

    def read_thread(self, site: str, uri: str, **kwargs: Any) -> dict[str, Any]:
        return orjson.loads(self.read_thread_json(site, uri, **kwargs))

    def list_threads(self, site: str, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        after = tree.decode_cursor(cursor, 2) if cursor else None
        with reader(self.engine) as conn:
            site_row = self._site(conn, site)
            rows = q.list_threads(conn, site_row["id"], limit + 1, after)
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "threads": [{"uri": r["uri"], "title": r["title"], "url": r["url"], "count": r["comment_count"],
                         "closed": bool(r["closed"])} for r in rows],
            "next_cursor": tree.encode_cursor((rows[-1]["created"], rows[-1]["id"])) if more else None,
        }

    def counts(self, site: str, uris: list[str]) -> dict[str, Any]:
        with reader(self.engine) as conn:
            found = q.counts(conn, site, uris)
        if found is None:
            raise NotFound(f"There is no site named '{site}'.", field="site")
        return {"counts": found}


def public_comment(c: dict[str, Any], replies: list | None = None) -> dict[str, Any]:
    """The API shape of one comment; placeholders keep their place but show nothing."""
    # Reads only ever hold published comments and placeholders; a pending one appears only in the
    # answer to its own author, who may see their words.
    shown = c["status"] in ("published", "pending")
    return {
        "id": c["id"],
        "parent_id": c["parent_id"],
        "author": {"name": c["author_name"] if shown else DELETED_NAME,
                   "website": c["author_website"] if shown else None},
        "html": c["html"] if shown else tree.PLACEHOLDER_HTML,
        "created": c["created"],
        "edited": c["edited"],
        "votes": c["likes"] - c["dislikes"],
        "likes": c["likes"],
        "dislikes": c["dislikes"],
        "status": c["status"] if c["status"] in ("published", "pending") else "deleted",
        "replies": replies if replies is not None else [],
    }


def _empty_thread(site: str, uri: str) -> dict[str, Any]:
    return {"thread": {"site": site, "uri": uri, "title": "", "url": "", "closed": False},
            "total": 0, "comments": [], "next_cursor": None}


def _shape_thread(site: str, head: dict, rows: list[dict], sort: str, limit: int, cursor: str | None,
                  parent: int | None, reply_limit: int) -> dict[str, Any]:
    roots, nodes, total = tree.build(rows)

    def shape(node: tree.Node, replies: list[dict], more: int, more_cursor: str | None) -> dict:
        out = public_comment(node.row, replies)
        out["reply_count"] = node.descendants
        if more:
            out["more_replies"] = more
            out["replies_cursor"] = more_cursor
        return out

    if parent is None:
        siblings, key = roots, tree.sort_key(sort)
    else:
        if parent not in nodes:
            raise NotFound(f"There is no comment {parent} in this thread.", field="parent")
        siblings, key = nodes[parent].children, tree.conversation_key
    try:
        comments, next_cursor = tree.page(siblings, key, limit, cursor, reply_limit, shape)
    except tree.CursorError as e:
        raise Invalid(str(e), field="cursor") from None
    return {
        "thread": {"site": site, "uri": head["uri"], "title": head["title"], "url": head["url"],
                   "closed": bool(head["closed"])},
        "total": total,
        "comments": comments,
        "next_cursor": next_cursor,
    }
