"""Writing rows straight into the store, for tests that set up a thread without the API."""

from __future__ import annotations

import time
from typing import Any

from townsquare.store import comments
from townsquare.store.comments import NewComment


def insert_comment(conn, values: dict[str, Any]) -> int:
    """Store a comment from the columns a test cares about; the rest get plain defaults."""
    new = {"parent_id": None, "author_email": None, "author_website": None, "author_key": None, "ip_hash": None,
           "quote": None, "status": "published", "moderation": None, "created": time.time(), "identity_id": None,
           **values}
    new.setdefault("html", new["text"])
    fields = {k: new[k] for k in NewComment.__slots__}
    comment_id = comments.insert_comment(conn, NewComment(**fields)).id
    unset = {"likes": 0, "dislikes": 0, "edited": None}  # what a new comment has anyway
    rest = {k: v for k, v in new.items() if k not in NewComment.__slots__ and unset.get(k, ...) != v}
    if rest:
        comments.update_comment(conn, comment_id, **rest)
    return comment_id
