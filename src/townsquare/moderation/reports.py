"""Community reports: readers flag a comment; at the site's threshold it is held for review."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from townsquare.alerts import events as alert_events
from townsquare.errors import NotFound
from townsquare.moderation import audit
from townsquare.moderation.settings import for_site
from townsquare.store import queries as q
from townsquare.store.db import now
from townsquare.store.moderation import reports

REASONS = ("spam", "abuse", "hate", "harassment", "personal_data", "off_topic", "other")


def report(conn: Connection, *, site: dict[str, Any], comment_id: int, reporter: str, reason: str,
           note: str = "") -> dict[str, Any]:
    """Record one reader's report (a second report by the same reader changes nothing) and hold the
    comment once it has `reports_to_hold` open reports. `site` carries `settings_obj`."""
    comment = q.comment_by_id(conn, comment_id)
    if comment is None or comment["status"] in ("deleted", "rejected"):
        raise NotFound(f"There is no comment {comment_id}.")
    thread = q.thread_by_id(conn, comment["thread_id"])
    if thread["site_id"] != site["id"]:
        raise NotFound(f"There is no comment {comment_id} on site '{site['name']}'.")
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        insert(reports)
        .values(comment_id=comment_id, reporter=reporter, reason=reason, note=note, created=now())
        .on_conflict_do_nothing(index_elements=["comment_id", "reporter"])
    )
    count = conn.execute(
        select(func.count()).select_from(reports).where(reports.c.comment_id == comment_id, reports.c.resolved.is_(None))
    ).scalar_one()
    limit = for_site(site["settings_obj"]).reports_to_hold
    held = comment["status"] == "published" and count >= limit
    if held:
        decision = orjson.loads(comment["moderation"]) if comment["moderation"] else {}
        decision.setdefault("reasons", []).append(
            {"phase": "reports", "label": "reported", "detail": f"{count} reader reports", "spans": []}
        )
        decision.update(decision="hold", status="pending")
        q.update_comment(conn, comment_id, status="pending", moderation=orjson.dumps(decision).decode())
        q.touch_thread(conn, thread["id"], -1)
        comment.update(status="pending")
        alert_events.comment_held(conn, site=site, thread=thread, comment=comment)
        audit.record(conn, site_id=site["id"], user_id=None, actor="readers", action="report_hold",
                     target=f"comment:{comment_id}", reason=f"{count} reports", details={"last_reason": reason})
    return {"reports": count, "status": comment["status"]}


def open_reports(conn: Connection, comment_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The open reports of these comments, oldest first (one query)."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in comment_ids}
    rows = conn.execute(
        select(reports.c.comment_id, reports.c.reason, reports.c.note, reports.c.created)
        .where(reports.c.comment_id.in_(comment_ids), reports.c.resolved.is_(None))
        .order_by(reports.c.created)
    ).mappings()
    for row in rows:
        out[row["comment_id"]].append(dict(row))
    return out
