"""The durable outbox's rules: what an alert row is, when a digest or a retry is due, and how a
fan-out row becomes one row per recipient. The rows themselves live in `store.outbox`, which
leases them to one worker at a time.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from townsquare.store import outbox as outbox_rows
from townsquare.store import subscriptions as subscription_rows
from townsquare.store.db import Connection
from townsquare.store.outbox import NewOutboxItem, OutboxItem


def enqueue(
    conn: Connection,
    *,
    key: str,
    site_id: int,
    kind: str,
    channel: str,
    now: float,
    target: str = "",
    payload: dict[str, Any] | None = None,
    subscription_id: int | None = None,
) -> None:
    """Write one row (in the caller's transaction); nothing if a row with this key exists."""
    outbox_rows.add(conn, [NewOutboxItem(
        key=key, site_id=site_id, kind=kind, channel=channel, target=target, payload=payload,
        subscription_id=subscription_id, next_attempt_at=now, created=now,
    )])


def message_key(parent_key: str, channel: str, target: str) -> str:
    """One message per event and address, even if the address matches several subscriptions."""
    digest = hashlib.sha256(f"{channel}\n{target}".encode()).hexdigest()[:20]
    return f"{parent_key}.{digest}"


def digest_due(now: float, delivery: str, daily_hour: int) -> float:
    """When a digest that collects an item arriving at `now` goes out."""
    if delivery == "hourly":
        return (now // 3600 + 1) * 3600
    day_start = now // 86400 * 86400
    due = day_start + daily_hour * 3600
    return due if due > now else due + 86400


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next try after `attempts` failed ones: doubling, capped, jittered."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * random.uniform(0.8, 1.2)


def mark_failed(
    conn: Connection,
    items: list[OutboxItem],
    *,
    worker: str,
    now: float,
    error: str,
    permanent: bool,
    max_attempts: int,
    backoff_base: float,
    backoff_max: float,
) -> None:
    """Schedule another try with exponential backoff, or give up after `max_attempts`."""
    error = error[:2000]
    for item in items:
        if permanent or item.attempts >= max_attempts:
            outbox_rows.mark_failed(conn, item.id, worker=worker, error=error)
        else:
            at = now + backoff_delay(item.attempts, backoff_base, backoff_max)
            outbox_rows.retry_later(conn, item.id, worker=worker, error=error, at=at)


def expand_fanout(
    conn: Connection, item: OutboxItem, *, worker: str, now: float, chunk: int, daily_hour: int
) -> bool:
    """Add one chunk of per-recipient rows for a fan-out row; True once every recipient has one.

    The chunk and the cursor that records it commit together (the caller's transaction), and
    message keys are unique, so a worker killed mid-way resumes without gaps or repeats. An
    unfinished fan-out is handed back as due, so any worker continues it; a batch expands at most
    one chunk, so delivery starts while the rest is still being expanded.
    """
    payload = item.payload or {}
    recipients = subscription_rows.confirmed_recipients(
        conn, site_id=item.site_id, match=[(kind, scope) for kind, scope in payload["match"]],
        after_id=item.cursor, limit=chunk,
    )
    exclude = set(payload.get("exclude", ()))
    messages = []
    for sub in recipients:
        if sub.target.lower() in exclude:
            continue
        digest = sub.delivery if sub.delivery in ("hourly", "daily") else None
        messages.append(NewOutboxItem(
            key=message_key(item.key, sub.channel, sub.target), site_id=item.site_id, kind=sub.kind,
            channel=sub.channel, target=sub.target, subscription_id=sub.id, parent_id=item.id, digest=digest,
            created=now, next_attempt_at=digest_due(now, digest, daily_hour) if digest else now,
        ))
    outbox_rows.add(conn, messages)  # a message key that exists already (a resumed chunk) is skipped
    done = len(recipients) < chunk
    if done:
        outbox_rows.mark_sent(conn, [item.id], worker=worker, now=now)
    else:
        outbox_rows.hand_back_fanout(conn, item.id, worker=worker, cursor=recipients[-1].id, now=now)
    return done
