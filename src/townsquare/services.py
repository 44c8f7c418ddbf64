"""The discussion core's use cases: post, edit, delete, vote, read, count.

Every write has two steps. *Prepare* runs with no transaction open: it bounds and validates the
input (sizes before anything else), rate-limits, reads what the rules need in a read-only
snapshot and scores the draft with the model. *Commit* then writes in one short transaction. So
the model, and anything else slow, never runs while SQLite's writer lock is held.

Status changes follow `domain.status`; moderation and alerts are called at their hook points.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from threading import Lock
from typing import Any

import orjson

from townsquare.alerts import events as alert_events
from townsquare.alerts import subscriptions
from townsquare.live import events as live_events
from townsquare import readers, sites
from townsquare.config import Settings
from townsquare.domain import closing, status, tree, validate
from townsquare.domain.render import render_markdown
from townsquare.domain.tokens import Signer, TokenError
from townsquare.errors import BadCursor, Conflict, Forbidden, Invalid, NotFound, TooMany, Unauthorized
from townsquare.metrics import COMMENTS_CREATED
from townsquare.moderation import audit
from townsquare.moderation import service as moderation
from townsquare.moderation.inputs import Draft, Facts
from townsquare.moderation.policy import Decision
from townsquare.moderation.settings import ModerationSettings, for_site
from townsquare.store import comments as comment_store
from townsquare.store import readers as readers_store
from townsquare.store import threads as thread_store
from townsquare.store.comments import Comment, NewComment
from townsquare.store.db import Engine, now, reader, reading, writing
from townsquare.sites import Publication
from townsquare.store.readers import Session
from townsquare.store.threads import Thread, ThreadHead

RATE_WINDOW = 60  # seconds; limits are "per minute"
DELETED_NAME = "[deleted]"
# How long an author may still ask what became of their comment (not edit it: that is the edit window).
OWN_STATUS_MAX_AGE = 30 * 86400


@dataclass
class Client:
    """Who is asking: the request's origin and address, reduced to what the rules need."""

    ip: str = ""
    origin: str | None = None
    voter_token: str | None = None
    session: str | None = None  # a signed-in reader's session token (X-Townsquare-Session)


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
    head: ThreadHead | None = None

    def key(self) -> tuple:
        # The version makes every write, by any process, move readers to a new key.
        return (self.head.id, self.head.version, self.head.closed, self.sort, self.limit, self.cursor, self.parent, self.reply_limit)


@dataclass(frozen=True)
class Prepared:
    """A moderated draft, ready to be committed."""

    draft: Draft
    decision: Decision
    heated: tuple[int, ...]  # a heated branch to mark on the thread, if this comment heats it
    settings: ModerationSettings


@dataclass
class Core:
    engine: Engine
    settings: Settings
    signer: Signer
    limiter: Any  # townsquare.ratelimit.Limiter
    cache: ThreadCache = field(default_factory=ThreadCache)

    # -- helpers --------------------------------------------------------------------------
    def _check_origin(self, site: Publication, client: Client) -> None:
        allowed = site.origins
        if client.origin and "*" not in allowed and client.origin.rstrip("/") not in allowed:
            raise Forbidden(f"The origin {client.origin} may not post to site '{site.name}'.")

    def _limit(self, site: Publication, what: str, client: Client, per_minute: int, identity: str | None = None) -> None:
        """Per address, or per verified reader when one is signed in (many readers may share an address)."""
        if self.settings.rate_limits == "off":
            return
        key = f"{site.id}:{what}:{identity or self.signer.hash('ip', client.ip)}"
        if not self.limiter.allow(key, per_minute, RATE_WINDOW):
            who = "you" if identity else "this address"
            raise TooMany(f"Too many {what}s from {who}; try again in a minute.", retry_after=RATE_WINDOW)

    def _require_identity(self, site: Publication, signed_in: Session | None) -> None:
        """A site may take comments from signed-in readers only (`require_identity`)."""
        if signed_in is not None and signed_in.identity.site_id != site.id:
            raise Unauthorized(f"This session is for another site; sign in to '{site.name}'.")
        wanted = site.rules.require_identity
        if wanted == "none":
            return
        if signed_in is None:
            how = ("sign in with your account on this site (single sign-on)" if wanted == "sso" else
                   "sign in with your account on this site, or with a link sent to your e-mail address "
                   "(POST /api/v1/auth/email)")
            raise Unauthorized(f"Only signed-in readers may comment here: {how}.", require_identity=wanted)
        if wanted == "sso" and signed_in.identity.kind != "sso":
            raise Forbidden("Only readers signed in with their account on this site may comment here.",
                            require_identity=wanted)

    def _judge(self, site: Publication, draft: Draft, facts: Facts, settings: ModerationSettings,
               check_token: str | None) -> Prepared:
        """Score (outside any transaction) and decide. A text just checked by the nudge brings
        its scores in a signed check token, so the model is not paid twice."""
        prescored = moderation.redeem_check(self.signer, check_token, site.name, draft.text)
        facts, fresh = moderation.score(draft, facts, settings, prescored=prescored)
        if fresh:
            # Scores of stored comments (imported ones have none) are kept, so they are paid once.
            with writing(self.engine) as conn:
                comment_store.save_scores(conn, fresh)
        decision, heated = moderation.judge(draft, facts, settings)
        return Prepared(draft, decision, heated, settings)

    # -- writes -----------------------------------------------------------------------------
    def post_comment(self, body: dict[str, Any], client: Client) -> dict[str, Any]:
        # Prepare: bound and validate before anything costs more than a read.
        author = body.get("author") or {}
        with reading(self.engine) as conn:
            site = sites.by_name(conn, self.settings, body["site"])
            signed_in = readers.session(conn, client.session)
        rules = site.rules
        self._check_origin(site, client)
        self._require_identity(site, signed_in)
        identity = signed_in.identity if signed_in else None
        # A signed-in reader's key: their history, trust, bans and rate limits follow it, not a
        # typed e-mail address or where they post from.
        identity_key = readers.identity_key(identity) if identity else None
        text = validate.clean_text(body["text"], rules)
        name = identity.name if identity else validate.clean_name(author.get("name") or "", rules)
        email = validate.clean_email(author.get("email"), rules.model_copy(update={"require_email": False})
                                     if identity else rules)
        website = validate.clean_website(author.get("website"))
        uri = validate.clean_uri(body["uri"])
        title = (body.get("title") or "")[:500]
        url = validate.clean_page_url(body.get("url"))
        parent_id = body.get("parent_id")
        if body.get("notify_replies") and not email:
            raise Invalid("Reply alerts need an e-mail address (author.email).", field="author.email")
        if body.get("quote") and parent_id is None:
            raise Invalid("A quote needs a parent_id: it quotes the comment being answered.", field="quote")
        self._limit(site, "post", client, rules.posts_per_minute, identity_key)

        with reading(self.engine) as conn:
            parent = None
            if parent_id is not None:
                parent = comment_store.by_id(conn, parent_id)
                if parent is None or parent.status != "published":
                    raise NotFound(f"There is no comment {parent_id} to reply to.", field="parent_id")
                thread = thread_store.by_id(conn, parent.thread_id)
                if thread.site_id != site.id or thread.uri != uri:
                    raise Invalid(f"Comment {parent_id} belongs to another thread.", field="parent_id")
            else:
                thread = thread_store.by_uri(conn, site.id, uri)
            if thread is not None:
                _refuse_if_closed(thread, rules)
            quote = validate.clean_quote(body.get("quote"), parent.text) if parent else None
            author_key = identity_key or (self.signer.hash("email", email.lower()) if email else None)
            draft = Draft(
                text=text, created=now(), author_name=name, author_email=email, author_key=author_key,
                ip_hash=self.signer.hash("ip", client.ip), identity=identity_key,
                staff_badge=bool(identity and "staff" in identity.badges and rules.staff_skip_moderation),
                thread_id=thread.id if thread else None, parent_id=parent_id, honeypot=body.get("honeypot"),
                form_age=body["elapsed_ms"] / 1000 if body.get("elapsed_ms") is not None else None,
            )
            settings = for_site(rules)
            facts = moderation.gather(conn, site_id=site.id, thread=thread, draft=draft, settings=settings)
        prepared = self._judge(site, draft, facts, settings, body.get("check_token"))
        html = render_markdown(text, quote, parent.author_name if parent else None)

        # Commit: one short transaction.
        decision = prepared.decision
        stored = decision.as_json()
        with writing(self.engine) as conn:
            thread = thread_store.get_or_create(conn, site.id, uri, title, url)
            _refuse_if_closed(thread, rules)
            status.require("pipeline", status.NEW, decision.status)
            comment = comment_store.insert_comment(conn, NewComment(
                thread_id=thread.id, parent_id=parent_id, author_name=name, author_email=email,
                author_website=website, author_key=author_key, ip_hash=draft.ip_hash, text=text, quote=quote,
                html=html, status=decision.status, moderation=orjson.dumps(stored).decode(), created=draft.created,
                identity_id=identity.id if identity else None))
            reply_alerts = None
            if body.get("notify_replies"):
                reply_alerts = subscriptions.subscribe_replies(
                    conn, site_id=site.id, comment_id=comment.id, email=email, now=comment.created).state
            published = decision.status == "published"
            thread_store.touch(conn, thread.id, 1 if published else 0)
            moderation.record(conn, thread.id, prepared.heated, prepared.draft.created, prepared.settings)
            if published:
                alert_events.comment_published(conn, site=site, thread=thread, comment=comment)
                live_events.comment_published(conn, thread.id, public_comment(comment, badges=identity.badges if identity else ()))
            elif decision.status == "pending":
                alert_events.comment_held(conn, site=site, thread=thread, comment=comment)
                live_events.comment_held(conn, thread.id, comment.id)
        COMMENTS_CREATED.labels(decision.status).inc()
        return {"comment": public_comment(comment, badges=identity.badges if identity else (), own=True),
                "edit_token": self.signer.edit_token(comment.id),
                "edit_until": comment.created + rules.edit_window, "reply_alerts": reply_alerts,
                "moderation": stored if decision.status != "published" else None}

    def edit_comment(self, comment_id: int, body: dict[str, Any], token: str | None, client: Client) -> dict[str, Any]:
        with reading(self.engine) as conn:
            comment, thread, site = self._own_comment(conn, comment_id, token, client)
            if comment.status not in status.EDITABLE:
                raise Conflict(status.refusal("author", comment.status, "published"), comment_status=comment.status)
            text = validate.clean_text(body["text"], site.rules)
            parent = comment_store.by_id(conn, comment.parent_id) if comment.parent_id is not None else None
            identity = readers_store.identity(conn, comment.identity_id) if comment.identity_id else None
            draft = Draft(
                text=text, created=now(), author_name=comment.author_name, author_email=comment.author_email,
                author_key=comment.author_key, ip_hash=self.signer.hash("ip", client.ip), thread_id=thread.id,
                identity=readers.identity_key(identity) if identity else None,
                staff_badge=bool(identity and "staff" in identity.badges and site.rules.staff_skip_moderation),
                parent_id=comment.parent_id, is_edit=True, comment_id=comment_id,
            )
            settings = for_site(site.rules)
            facts = moderation.gather(conn, site_id=site.id, thread=thread, draft=draft, settings=settings)
        prepared = self._judge(site, draft, facts, settings, body.get("check_token"))
        decision = prepared.decision
        html = render_markdown(text, comment.quote, parent.author_name if parent else None)
        becomes = status.after_author_edit(comment.status, decision.status)
        stored = _edited_decision(comment, decision, becomes)

        with writing(self.engine) as conn:
            current = comment_store.by_id(conn, comment_id)
            if current is None or current.status != comment.status:
                # A moderator (or the readers' reports) acted while this edit was being checked.
                raise Conflict("This comment changed while you were editing it; reload and try again.")
            moderation_json = orjson.dumps(stored).decode()
            comment = replace(current, text=text, html=html, edited=now(), status=becomes, moderation=moderation_json)
            comment_store.update_comment(conn, comment_id, text=text, html=html, edited=comment.edited, status=becomes,
                                         moderation=moderation_json)
            thread_store.touch(conn, thread.id, (becomes == "published") - (current.status == "published"))
            moderation.record(conn, thread.id, prepared.heated, prepared.draft.created, prepared.settings)
            if becomes == "published":
                live_events.comment_edited(conn, thread.id, public_comment(comment, badges=identity.badges if identity else ()))
            elif current.status == "published":
                live_events.comment_removed(conn, thread.id, comment_id, becomes)
            if becomes != current.status:
                audit.record(conn, site_id=site.id, user_id=None, actor="author", action="author_edit",
                             target=f"comment:{comment_id}", reason="the edited text was held by moderation",
                             details={"from": current.status, "to": becomes, "reasons": decision.reasons()})
                alert_events.comment_held(conn, site=site, thread=thread, comment=comment)
                live_events.comment_held(conn, thread.id, comment_id)
        return {"comment": public_comment(comment, badges=identity.badges if identity else (), own=True),
                "moderation": stored if becomes != "published" else None}

    def delete_comment(self, comment_id: int, token: str | None, client: Client) -> None:
        with reading(self.engine) as conn:
            comment, thread, site = self._own_comment(conn, comment_id, token, client)
        status.require("author", comment.status, "deleted")
        with writing(self.engine) as conn:
            current = comment_store.by_id(conn, comment_id)
            if current is None or current.status == "deleted":
                return
            # The row stays as a placeholder (hidden unless replies hang below it), scrubbed of
            # the author's words and identity.
            comment_store.scrub(conn, comment_id, name=DELETED_NAME)
            thread_store.touch(conn, thread.id, -1 if current.status == "published" else 0)
            if current.status == "published":
                live_events.comment_deleted(conn, thread.id, comment_id)
            audit.record(conn, site_id=site.id, user_id=None, actor="author", action="author_delete",
                         target=f"comment:{comment_id}", details={"from": current.status, "to": "deleted"})

    def own_comment(self, comment_id: int, token: str | None) -> dict[str, Any]:
        """What became of one's own comment: published, awaiting moderation, or not published
        (with the moderators' reasons when the site tells authors why)."""
        if not token:
            raise Unauthorized("Send the comment's edit token as 'Authorization: Bearer <token>'.")
        try:
            self.signer.check_edit_token(token, comment_id, OWN_STATUS_MAX_AGE)
        except TokenError as e:
            raise Unauthorized(str(e)) from None
        with reading(self.engine) as conn:
            comment = comment_store.by_id(conn, comment_id)
            if comment is None:
                raise NotFound(f"There is no comment {comment_id}.")
            site = sites.by_id(conn, self.settings, thread_store.by_id(conn, comment.thread_id).site_id)
        shown = public_comment(comment, own=True)
        shown["status"] = comment.status
        reasons = None
        if comment.status == "rejected" and site.rules.tell_authors_why:
            decision = comment.decision()
            review = decision.get("review") or {}
            reasons = {"reason": review.get("reason") or "", "reasons": decision.get("reasons", [])}
        return {"comment": shown, "moderation": reasons}

    def _own_comment(self, conn, comment_id: int, token: str | None, client: Client) -> tuple[Comment, Thread, Publication]:
        comment = comment_store.by_id(conn, comment_id)
        if comment is None or comment.status == "deleted":
            raise NotFound(f"There is no comment {comment_id}.")
        thread = thread_store.by_id(conn, comment.thread_id)
        site = sites.by_id(conn, self.settings, thread.site_id)
        self._check_origin(site, client)
        # A signed-in author may change their comments from any device while the session lasts;
        # others prove authorship with the comment's edit token, within the edit window.
        signed_in = readers.session_or_none(conn, client.session) if comment.identity_id is not None else None
        if signed_in is None or signed_in.identity.id != comment.identity_id:
            if not token:
                raise Unauthorized("Send the comment's edit token as 'Authorization: Bearer <token>' (or sign in "
                                   "as its author).")
            try:
                self.signer.check_edit_token(token, comment.id, site.rules.edit_window)
            except TokenError as e:
                raise Unauthorized(str(e)) from None
        _refuse_if_closed(thread, site.rules)
        return comment, thread, site

    def vote(self, comment_id: int, value: int, client: Client) -> dict[str, Any]:
        """One reader's vote. It counts once per comment per address and per voter token: a
        reader without a token is their address, and a token is issued only with a vote that
        counted (`counted` in the answer), so minting tokens adds no votes."""
        if value not in (-1, 0, 1):
            raise Invalid("A vote is 1, -1 or 0 (to withdraw it).", field="value")
        token = client.voter_token
        if token:
            try:
                voter = self.signer.voter_id(token)
            except TokenError as e:
                raise Unauthorized(str(e)) from None
        else:
            token = self.signer.new_voter()  # handed out only if this vote counts
            voter = self.signer.voter_id(token)
        with reading(self.engine) as conn:
            comment = comment_store.by_id(conn, comment_id)
            if comment is None or comment.status != "published":
                raise NotFound(f"There is no comment {comment_id}.")
            thread = thread_store.by_id(conn, comment.thread_id)
            site = sites.by_id(conn, self.settings, thread.site_id)
        self._check_origin(site, client)
        self._limit(site, "vote", client, site.rules.votes_per_minute)
        address = self.signer.reader_key(comment_id, client.ip)
        with writing(self.engine) as conn:
            tally = comment_store.set_vote(conn, comment_id, voter=voter, address=address, value=value)
            if tally.counted:
                thread_store.touch(conn, thread.id)
                live_events.votes(conn, thread.id, comment_id, tally.likes, tally.dislikes)
        issued = token if tally.counted and not client.voter_token else None
        return {"id": comment_id, "votes": tally.likes - tally.dislikes, "likes": tally.likes,
                "dislikes": tally.dislikes, "value": value if tally.counted else None,
                "counted": tally.counted, "voter_token": issued}

    # -- reads ------------------------------------------------------------------------------
    def read_thread_json(self, site: str, uri: str, sort: str = "oldest", limit: int = 50,
                         cursor: str | None = None, parent: int | None = None, reply_limit: int = 20) -> bytes:
        """A page of a thread as JSON bytes: one query on a hit; on a miss, a few more per level
        of replies the page shows (see `build_thread_json`)."""
        page = ThreadPage(site, uri, sort, limit, cursor, parent, reply_limit)
        return self.cached_thread_json(page) or self.build_thread_json(page)

    def cached_thread_json(self, page: ThreadPage) -> bytes | None:
        """The page from the cache, or None. One indexed query (the thread's version): cheap
        enough to run on the event loop, so cache hits never wait for a worker thread."""
        with reader(self.engine) as conn:
            head = thread_store.head(conn, page.site, page.uri)
        if head is None:
            raise NotFound(f"There is no site named '{page.site}'.", field="site")
        if head.id is None:
            return orjson.dumps(_empty_thread(page.site, page.uri))
        if not head.closed and (head.closes is not None or head.site_settings != "{}" or
                                self.settings.site_defaults.close_after_days):
            # Closing by the clock bumps no version: the state at this moment is part of the key.
            after = sites.rules_of(self.settings, orjson.loads(head.site_settings)).close_after_days
            if closing.is_closed(False, head.closes, head.created, after, now()):
                head = replace(head, closed=True)
        page.head = head
        return self.cache.get(page.key())

    def build_thread_json(self, page: ThreadPage) -> bytes:
        """Read and shape the page (after `cached_thread_json` missed) and cache it. Only what the
        answer shows is read, at most `tree.MAX_COMMENTS` comments: a keyset page of comments, then
        their replies level by level, each row with its words and counts (see `_plan_page`)."""
        with reading(self.engine) as conn:  # one snapshot for every query of the page
            plan = _plan_page(conn, page)
        shown = {n.id: n.row for n in _planned(plan)}
        # The thread's published count, kept with every status change and read with its version.
        total = page.head.comment_count
        body = orjson.dumps(_shape_thread(page.site, page.head, plan, shown, total))
        self.cache.put(page.key(), body)
        return body

    def read_thread(self, site: str, uri: str, **kwargs: Any) -> dict[str, Any]:
        return orjson.loads(self.read_thread_json(site, uri, **kwargs))

    def list_threads(self, site: str, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        try:
            after = tree.decode_cursor(cursor, 2) if cursor else None
        except tree.CursorError as e:
            raise BadCursor(str(e), field="cursor") from None
        with reading(self.engine) as conn:
            found = sites.by_name(conn, self.settings, site)
            rows = thread_store.newest(conn, found.id, limit + 1, after)
        more = len(rows) > limit
        rows = rows[:limit]
        at, after_days = now(), found.rules.close_after_days
        return {
            "threads": [{"uri": r.uri, "title": r.title, "url": r.url, "count": r.comment_count,
                         "closed": closing.is_closed(r.closed, r.closes, r.created, after_days, at)} for r in rows],
            "next_cursor": tree.encode_cursor((rows[-1].created, rows[-1].id)) if more else None,
        }

    def counts(self, site: str, uris: list[str]) -> dict[str, Any]:
        with reader(self.engine) as conn:
            found = thread_store.counts(conn, site, uris)
        if found is None:
            raise NotFound(f"There is no site named '{site}'.", field="site")
        return {"counts": found}


def _refuse_if_closed(thread: Thread, rules) -> None:
    """Forbidden, saying since when, if the thread takes no comments now (`domain.closing`)."""
    if closing.is_closed(thread.closed, thread.closes, thread.created, rules.close_after_days, now()):
        raise Forbidden(closing.refusal(thread.closed, thread.closes, thread.created, rules.close_after_days),
                        closed=True)


def _edited_decision(comment: Comment, decision: Decision, becomes: str) -> dict[str, Any]:
    """The stored decision after an author's edit: the new checks, plus whatever held the
    comment before (reports, a review), which an edit does not wash away."""
    stored = decision.as_json()
    stored["status"] = becomes
    if becomes == "pending":
        stored["decision"] = "hold"
    if comment.status == "pending":
        before = comment.decision()
        seen = {(r.get("phase"), r.get("label")) for r in stored["reasons"]}
        stored["reasons"] += [r for r in before.get("reasons", []) if (r.get("phase"), r.get("label")) not in seen]
        if "review" in before:
            stored["review"] = before["review"]
    return stored


def public_comment(c: Any, replies: list | None = None, badges: tuple[str, ...] | None = None,
                   *, own: bool = False) -> dict[str, Any]:
    """The API shape of one comment; placeholders keep their site but show nothing. `verified`
    says a signed-in reader posted it; `badges` are theirs (from a thread read's row, or given).
    `own`: the answer goes to the comment's author, who may see the words of a held comment."""
    # A held comment kept in a thread read for its published replies is a placeholder to readers.
    shown = c.status == "published" or (own and c.status == "pending")
    verified = shown and c.identity_id is not None
    if badges is None:
        badges = tuple(orjson.loads(c.badges)) if verified and getattr(c, "badges", None) else ()
    return {
        "id": c.id,
        "parent_id": c.parent_id,
        "author": {"name": c.author_name if shown else DELETED_NAME,
                   "website": c.author_website if shown else None,
                   "verified": verified, "badges": list(badges) if verified else [],
                   # The signed-in reader's id on this site: the widget knows its reader's comments by it.
                   "id": c.identity_id if verified else None},
        "html": c.html if shown else tree.PLACEHOLDER_HTML,
        "created": c.created,
        "edited": c.edited,
        "votes": c.likes - c.dislikes,
        "likes": c.likes,
        "dislikes": c.dislikes,
        "status": c.status if shown else "deleted",
        "featured": shown and bool(getattr(c, "featured", False)),  # an editor's pick
        "replies": replies if replies is not None else [],
    }


def _empty_thread(site: str, uri: str) -> dict[str, Any]:
    return {"thread": {"site": site, "uri": uri, "title": "", "url": "", "closed": False},
            "total": 0, "comments": [], "next_cursor": None}


def _plan_page(conn, page: ThreadPage, budget: int = tree.MAX_COMMENTS) -> tree.Plan:
    """The comments one answer shows, read page by page from the store, by the rule (and with
    the result) of `tree.plan` over the whole thread: the page's comments in key order after the
    cursor, then replies breadth-first, each comment showing at most `reply_limit`, `budget` in all.
    One query for the page's comments, then one per level of replies it shows."""
    thread_id = page.head.id
    if page.parent is None:
        key = tree.sort_key(page.sort)

        def siblings(after, n):
            return comment_store.top_level(conn, thread_id, page.sort, after, n)
    else:
        key = tree.conversation_key

        def siblings(after, n):
            return comment_store.replies(conn, thread_id, page.parent, after, n)
    after = None
    if page.cursor:
        try:
            after = tree.decode_cursor(page.cursor, tree.key_width(page.sort if page.parent is None else None))
        except tree.CursorError as e:
            if siblings(None, 1):  # a bad cursor for nothing to page is an empty page, as ever
                raise BadCursor(str(e), field="cursor") from None
            _require_parent(conn, page)
            return tree.Plan([], {}, None)
    # The pinned comment opens the first page of every top-level sort but picks, and no other page.
    pin_id = page.head.pinned_id if page.parent is None and page.sort != "picks" else None
    pin = comment_store.pinned(conn, thread_id, pin_id) if pin_id is not None and after is None else None
    top = [tree.Node(pin, descendants=pin.reply_count)] if pin is not None else []
    limit = max(1, min(page.limit, budget) - len(top))
    # One row more than the page tells whether there is a next page; one more again when the pin,
    # shown on top, may also be among the siblings read.
    extra = 1 + (pin_id is not None)
    rows = [r for r in siblings(after, limit + extra) if r.id != pin_id][:limit + 1]
    if not rows:  # replies: no more of them, or no such comment?
        _require_parent(conn, page)
    chosen = [tree.Node(r, descendants=r.reply_count) for r in rows[:limit]]
    next_cursor = tree.encode_cursor(key(chosen[-1])) if len(rows) > limit else None
    chosen = top + chosen
    # Picks are listed alone: their replies are a `parent=` read away.
    left, reply_limit = budget - len(chosen), 0 if page.sort == "picks" and page.parent is None else min(page.reply_limit, budget)
    shown: dict[int, list[tree.Node]] = {}
    level, depth = chosen, 1
    while level:
        take = min(reply_limit, left) if depth < tree.MAX_DEPTH else 0
        found = comment_store.next_level(conn, [n.id for n in level], take, left)
        following = [tree.Node(r, descendants=r.reply_count) for r in found.shown]
        for n in level:
            shown[n.id] = []
            n.reply_total = found.counts.get(n.id, 0)
        for n in following:
            shown[n.row.parent_id].append(n)
        left -= len(following)
        level, depth = following, depth + 1
    return tree.Plan(chosen, shown, next_cursor)


def _require_parent(conn, page: ThreadPage) -> None:
    if page.parent is not None and not comment_store.in_tree(conn, page.head.id, page.parent):
        raise NotFound(f"There is no comment {page.parent} in this thread.", field="parent")


def _planned(plan: tree.Plan) -> list[tree.Node]:
    out, stack = [], list(plan.chosen)
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(plan.shown[n.id])
    return out


def _shape_thread(site: str, head: ThreadHead, plan: tree.Plan, shown: dict[int, Any], total: int) -> dict[str, Any]:
    def shape(node: tree.Node, replies: list[dict], more: int, more_cursor: str | None) -> dict:
        # A comment deleted between the two reads is shown as the placeholder its row now is.
        view = shown.get(node.id)
        out = public_comment(view if view is not None else _gone(node.row), replies)
        out["reply_count"] = node.descendants
        out["pinned"] = node.id == head.pinned_id
        if more:
            out["more_replies"] = more
            out["replies_cursor"] = more_cursor
        return out

    return {
        "thread": {"site": site, "uri": head.uri, "title": head.title, "url": head.url, "closed": head.closed},
        "total": total,
        "comments": tree.render(plan, shape),
        "next_cursor": plan.next_cursor,
    }


def _gone(row: Any) -> comment_store.CommentView:
    return comment_store.CommentView(id=row.id, parent_id=row.parent_id, author_name=DELETED_NAME, author_website=None,
                                     html="", created=row.created, edited=None, likes=row.likes,
                                     dislikes=row.dislikes, status="deleted")
