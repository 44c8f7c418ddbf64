"""Community reports: readers flag a comment; at the site's threshold it is held for review."""

from __future__ import annotations

from typing import Any

import orjson

from townsquare.alerts import events as alert_events
from townsquare.live import events as live_events
from townsquare.domain import status
from townsquare.errors import Conflict, NotFound
from townsquare.moderation import audit
from townsquare.moderation.settings import for_site
from townsquare.sites import Publication
from townsquare.store import comments, threads
from townsquare.store import reports as stored
from townsquare.store.db import Connection, now

REASONS = ("spam", "abuse", "hate", "harassment", "personal_data", "off_topic", "other")


def report(conn: Connection, *, site: Publication, comment_id: int, reporter: str, address: str, reason: str,
           note: str = "") -> dict[str, Any]:
    """Record one reader's report (a second report by the same reader, or from the same address,
    changes nothing) and hold the comment once `reports_to_hold` distinct readers report it."""
    comment = comments.by_id(conn, comment_id)
    if comment is None or comment.status in ("deleted", "rejected"):
        raise NotFound(f"There is no comment {comment_id}.")
    thread = threads.by_id(conn, comment.thread_id)
    if thread.site_id != site.id:
        raise NotFound(f"There is no comment {comment_id} on site '{site.name}'.")
    counted = stored.add(conn, comment_id=comment_id, reporter=reporter, address=address, reason=reason, note=note,
                         created=now())
    count = stored.open_count(conn, comment_id)
    limit = for_site(site.rules).reports_to_hold
    if comment.status == "published" and count >= limit:
        try:
            status.require("reports", comment.status, "pending")
        except status.TransitionError as e:
            raise Conflict(str(e)) from None
        decision = comment.decision()
        decision.setdefault("reasons", []).append(
            {"phase": "reports", "label": "reported", "detail": f"{count} reader reports", "spans": []}
        )
        decision.update(decision="hold", status="pending")
        comments.update_comment(conn, comment_id, status="pending", moderation=orjson.dumps(decision).decode())
        threads.touch(conn, thread.id, -1)
        comment = comments.by_id(conn, comment_id)
        alert_events.comment_held(conn, site=site, thread=thread, comment=comment)
        live_events.comment_removed(conn, thread.id, comment_id, "pending")
        live_events.comment_held(conn, thread.id, comment_id)
        audit.record(conn, site_id=site.id, user_id=None, actor="readers", action="report_hold",
                     target=f"comment:{comment_id}", reason=f"{count} reports", details={"last_reason": reason})
    return {"reports": count, "status": comment.status, "counted": counted}
