"""Events that cause alerts. Each call runs inside the caller's transaction and writes one
fan-out row (when anyone is subscribed to hear of it), so the alert commits (or rolls back) with the
change that caused it.

The core calls `comment_published` whenever a comment becomes published (posted published, or
approved from the queue) and `comment_held` when a comment enters the moderation queue.
Nothing is written for any other status: a held comment alerts readers only once approved.
"""

from __future__ import annotations

import html
from typing import Any

import nh3

from townsquare.alerts import outbox
from townsquare.domain.render import render_markdown
from townsquare.store import subscriptions as subscription_rows
from townsquare.store.articles import Article
from townsquare.store.comments import Comment
from townsquare.store.db import Connection
from townsquare.store.db import now as clock
from townsquare.store.threads import Thread

EXCERPT_CHARS = 500


def plain_text(markdown: str) -> str:
    """The comment's own words as plain text (Markdown rendered, tags dropped, no quote)."""
    return html.unescape(nh3.clean(render_markdown(markdown), tags=set()))


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _anyone(conn: Connection, site_id: int, match: list[list[str]]) -> bool:
    """Whether any confirmed subscription (or webhook) would receive the event. Most comments
    have none to alert, and an event with no one to tell is not worth a row and a worker's turn."""
    return subscription_rows.any_confirmed(conn, site_id=site_id, match=[(m[0], m[1]) for m in match])


def _site(site: Any) -> dict[str, Any]:
    return {"id": site.id, "name": site.name, "title": site.title or site.name}


def _comment_event(event: str, site: Any, thread: Thread, comment: Comment) -> dict[str, Any]:
    return {
        "event": event,
        "site": _site(site),
        "thread": {"id": thread.id, "uri": thread.uri, "title": thread.title or thread.uri, "url": thread.url or ""},
        "comment": {
            "id": comment.id, "parent_id": comment.parent_id,
            "author": comment.author_name, "text": excerpt(plain_text(comment.text)),
            "html": comment.html, "created": comment.created,
        },
    }


def comment_published(conn: Connection, *, site: Any, thread: Thread, comment: Comment) -> None:
    """Queue reply alerts (to the parent's subscribers) and alerts to the thread's followers.
    `site` is a store `Site` or a `sites.Publication`."""
    if comment.status != "published":
        raise ValueError(f"comment {comment.id} is {comment.status}, not published")
    match = [["thread", f"thread:{thread.id}"], ["thread", ""]]
    if comment.parent_id:
        match.insert(0, ["reply", f"comment:{comment.parent_id}"])
    if not _anyone(conn, site.id, match):
        return
    payload = _comment_event("comment.published", site, thread, comment)
    payload["match"] = match
    # Nobody is alerted about their own comment.
    payload["exclude"] = [comment.author_email.lower()] if comment.author_email else []
    outbox.enqueue(
        conn, key=f"comment-{comment.id}-published", site_id=site.id, kind="fanout",
        channel="fanout", payload=payload, now=clock(),
    )


def comment_held(conn: Connection, *, site: Any, thread: Thread, comment: Comment) -> None:
    """Queue moderator alerts for a comment that entered the moderation queue."""
    if comment.status != "pending":
        raise ValueError(f"comment {comment.id} is {comment.status}, not pending")
    if not _anyone(conn, site.id, [["moderator", ""]]):
        return
    payload = _comment_event("comment.held", site, thread, comment)
    payload["match"] = [["moderator", ""]]
    now = clock()
    # A comment can be held again later (after reader reports), and that is news again.
    outbox.enqueue(
        conn, key=f"comment-{comment.id}-held-{int(now * 1000)}", site_id=site.id, kind="fanout",
        channel="fanout", payload=payload, now=now,
    )


def article_published(conn: Connection, *, site: Any, article: Article) -> None:
    """Queue news alerts for a new article (to every news subscriber and its section's)."""
    match = [["news", ""]]
    if article.section:
        match.append(["news", f"section:{article.section}"])
    payload = {
        "event": "article.published",
        "site": _site(site),
        "article": {
            "id": article.id, "url": article.url, "title": article.title,
            "summary": excerpt(article.summary or ""), "section": article.section or "",
        },
        "match": match,
    }
    outbox.enqueue(
        conn, key=f"article-{article.id}", site_id=site.id, kind="fanout",
        channel="fanout", payload=payload, now=clock(),
    )
