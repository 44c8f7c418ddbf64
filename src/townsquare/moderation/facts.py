"""Gather what the store knows around a draft, in a constant number of queries (at most eight, whatever the thread size)."""

from __future__ import annotations

from typing import Any

import orjson

from townsquare.moderation.inputs import Ancestor, Ban, Draft, Facts, PastComment
from townsquare.moderation.settings import ModerationSettings
from townsquare.store import facts as stored
from townsquare.store.db import Connection

RECENT_LIMIT = 50
MAX_DEPTH = 64


def gather(conn: Connection, *, site_id: int, thread: dict[str, Any] | None, draft: Draft,
           settings: ModerationSettings) -> Facts:
    since = draft.created - settings.rate_window
    recent = [PastComment(c.text, c.created, c.status, c.thread_id) for c in stored.recent(
        conn, site_id, author_key=draft.author_key, ip_hash=draft.ip_hash, limit=RECENT_LIMIT,
        excluding=draft.comment_id)]
    counts = (stored.author_counts(conn, site_id, draft.author_key, draft.ip_hash) if draft.author_key
              else stored.AuthorCounts())
    # A verified identity is the author wherever they post from: their standing is all theirs,
    # trust is theirs alone (not the address's), and the address's post count is not theirs.
    verified = draft.identity is not None
    last_here = next((c.created for c in recent if thread and c.thread_id == thread.id), None)
    return Facts(
        thread_closed=bool(thread and thread.closed),
        slow_mode=stored.slow_mode(conn, thread.id) if thread else 0,
        author_last_in_thread=last_here,
        recent=tuple(recent),
        author_post_times=tuple(c.created for c in recent if c.created > since) if draft.author_key else (),
        ip_posts=(stored.ip_posts(conn, site_id, draft.ip_hash, since, settings.ip_rate)
                  if draft.ip_hash and not verified else 0),
        author_total=counts.total,
        # A typed e-mail proves nothing: comments published under it count towards the new-author
        # holds only where they came from this address, as trust and bans follow addresses.
        author_published=counts.published if verified else counts.published_here,
        author_rejected=counts.rejected,
        trusted=stored.trusted(conn, site_id, ip_hash=None if verified else draft.ip_hash, identity=draft.identity),
        staff=draft.staff_badge or (draft.user_id is not None and stored.staff(conn, site_id, draft.user_id)),
        bans=tuple(Ban(b.kind, b.reason, b.expires) for b in stored.active_bans(
            conn, site_id, author_key=draft.author_key, ip_hash=draft.ip_hash, identity=draft.identity,
            at=draft.created)),
        ancestors=_ancestors(conn, draft.parent_id),
    )


def _ancestors(conn: Connection, parent_id: int | None) -> tuple[Ancestor, ...]:
    """The branch above the draft, nearest first."""
    if parent_id is None:
        return ()
    return tuple(Ancestor(c.id, c.author_key, c.author_name, c.text, _scores(c.moderation))
                 for c in stored.branch(conn, parent_id, MAX_DEPTH))


def _scores(moderation: str | None) -> dict[str, float] | None:
    if not moderation:
        return None
    try:
        return orjson.loads(moderation).get("scores") or None
    except (orjson.JSONDecodeError, AttributeError):
        return None
