"""The delivery worker: claims due outbox rows, expands fan-outs, delivers, records outcomes.

Several workers (the task inside `townsquare serve`, any number of `townsquare worker`
processes) can run at once: claiming is atomic and leased (see store/outbox.py). Each message is
marked sent right after its channel accepted it, so a worker killed mid-batch leaves at most the
message in flight to be delivered again, with the same idempotency key. No transaction is open
while a message is sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from townsquare.alerts import compose, outbox
from townsquare.alerts.channels import Channel, DeliveryError, Outgoing
from townsquare.alerts.channels.email import EmailChannel
from townsquare.alerts.channels.webhook import WebhookChannel
from townsquare.alerts.channels.whatsapp import WhatsAppChannel
from townsquare.alerts.runtime import AlertsConfig, config_from
from townsquare.store import alert_lookups
from townsquare.store import outbox as outbox_rows
from townsquare.store import subscriptions as subscription_rows
from townsquare.store import webhooks as webhook_rows
from townsquare.store.db import Engine, reading, writing
from townsquare.store.db import now as clock
from townsquare.store.outbox import DatabaseError, OutboxItem
from townsquare.store.subscriptions import Subscription
from townsquare.store.webhooks import Webhook

log = logging.getLogger("townsquare.alerts")

# The comment status an event's alerts still make sense for; anything else cancels them.
_EXPECTED_STATUS = {"comment.published": "published", "comment.held": "pending"}

CONFIRM_ABOUT = {
    "reply": "alerts when someone replies to your comment",
    "thread": "alerts of new comments on an article",
    "news": "news alerts",
    "moderator": "alerts of comments waiting for moderation",
}


@dataclass
class Delivery:
    rows: list[OutboxItem]
    message: Outgoing


class Worker:
    def __init__(self, engine: Engine, config: AlertsConfig, *, name: str | None = None):
        self.engine = engine
        self.config = config
        self.settings = config.alerts
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.queue_url = f"{config.links.public_url.rstrip('/')}/admin/queue/pending"

    # -- one round ---------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Handle one batch of due rows; returns how many rows were claimed."""
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            return 0
        for row in (r for r in rows if r.channel == "fanout"):
            await asyncio.to_thread(self._expand, row)
        messages = [r for r in rows if r.channel != "fanout"]
        if messages:
            deliveries = await asyncio.to_thread(self._prepare, messages)
            await self._deliver(deliveries)
        return len(rows)

    def _claim(self) -> list[OutboxItem]:
        s = self.settings
        with writing(self.engine) as conn:
            now = clock()
            rows = outbox_rows.claim(conn, worker=self.name, now=now, lease=s.lease_seconds, limit=s.batch_size)
            groups = {(r.site_id, r.channel, r.target, r.digest): r for r in rows if r.digest}
            for row in groups.values():
                rows += outbox_rows.claim_digest(conn, row, worker=self.name, now=now, lease=s.lease_seconds)
        return rows

    def _expand(self, row: OutboxItem) -> None:
        s = self.settings
        try:
            with writing(self.engine) as conn:
                outbox.expand_fanout(conn, row, worker=self.name, now=clock(), chunk=s.fanout_chunk,
                                     daily_hour=s.daily_digest_hour)
        except DatabaseError as exc:
            log.exception("expanding alert %s failed", row.key)
            self._failed([row], f"fan-out failed: {exc}", permanent=False)

    # -- composing ---------------------------------------------------------------------------
    def _prepare(self, rows: list[OutboxItem]) -> list[Delivery]:
        """Compose messages; cancel rows whose subscription or comment no longer warrants one.

        Reads one snapshot, composes outside any transaction, and writes only the cancellations.
        The rows are leased to this worker, so nobody else changes them meanwhile.
        """
        with reading(self.engine) as conn:
            subs = subscription_rows.by_ids(conn, {r.subscription_id for r in rows if r.subscription_id})
            payloads = outbox_rows.payloads(conn, {r.parent_id for r in rows if r.parent_id})
            comment_ids = {p["comment"]["id"] for p in payloads.values() if "comment" in p}
            statuses = alert_lookups.comment_statuses(conn, comment_ids)
            site_titles = alert_lookups.site_titles(conn, {r.site_id for r in rows})
            hook_ids = {int(r.target) for r in rows if r.channel == "webhook"}
            hooks = webhook_rows.by_ids(conn, hook_ids)
            secrets = webhook_rows.active_secrets(conn, hook_ids, now=clock())

        deliveries: list[Delivery] = []
        cancelled: dict[str, list[int]] = defaultdict(list)
        groups: dict[tuple, list[OutboxItem]] = defaultdict(list)
        for row in rows:
            groups[(row.site_id, row.channel, row.target, row.digest) if row.digest else (row.id,)].append(row)
        for group in groups.values():
            live: list[OutboxItem] = []
            for row in group:
                reason = self._why_not(row, subs.get(row.subscription_id), payloads, statuses, hooks)
                if reason:
                    cancelled[reason].append(row.id)
                else:
                    live.append(row)
            if live:
                deliveries.append(self._compose(live, subs, payloads, site_titles, hooks, secrets))
        if cancelled:
            with writing(self.engine) as conn:
                for reason, ids in cancelled.items():
                    outbox_rows.mark_cancelled(conn, ids, worker=self.name, reason=reason)
        return deliveries

    def _why_not(self, row: OutboxItem, sub: Subscription | None, payloads: dict[int, dict[str, Any]],
                 statuses: dict[int, str], hooks: dict[int, Webhook]) -> str | None:
        if row.kind == "confirm":
            if sub is None or sub.unsubscribed is not None:
                return "subscription removed"
            return "already confirmed" if sub.confirmed is not None else None
        if row.parent_id is None:  # a direct message, e.g. a personal-data link
            return None if compose.is_notice(row.channel, row.payload) else "not a message Townsquare can send"
        if sub is None:
            return "subscription removed"
        if sub.unsubscribed is not None:
            return "unsubscribed"
        if sub.confirmed is None:
            return "not confirmed"
        payload = payloads[row.parent_id]
        expected = _EXPECTED_STATUS.get(payload["event"])
        if expected and statuses.get(payload["comment"]["id"]) != expected:
            return f"comment is no longer {expected}"
        if row.channel == "webhook":
            hook = hooks.get(int(row.target))
            if hook is None or not hook.active:
                return "webhook removed"
        return None

    def _compose(self, rows: list[OutboxItem], subs, payloads, site_titles, hooks, secrets) -> Delivery:
        first = rows[0]
        links = self.config.links
        site_title = site_titles.get(first.site_id, "")
        if first.parent_id is None and first.kind != "confirm":
            return Delivery(rows, compose.notice(key=first.key, target=first.target, site_title=site_title,
                                                 payload=first.payload or {}))
        if first.kind == "confirm":
            sub = subs[first.subscription_id]
            message = compose.confirmation(
                key=first.key, channel=first.channel, target=first.target, site_title=site_title,
                about=CONFIRM_ABOUT[sub.kind], subscription_id=sub.id, links=links,
            )
            return Delivery(rows, message)
        items = [compose.item_for(r.kind, payloads[r.parent_id], r.key, self.queue_url) for r in rows]
        key = first.key if len(rows) == 1 else "digest-" + hashlib.sha256(
            "\n".join(sorted(r.key for r in rows)).encode()).hexdigest()[:40]
        address = None
        hook_secrets: tuple[str, ...] = ()
        if first.channel == "webhook":
            address = hooks[int(first.target)].url
            hook_secrets = secrets.get(int(first.target), ())
        kinds = {r.kind for r in rows}
        message = compose.alert(
            key=key, kind=kinds.pop() if len(kinds) == 1 else "digest", channel=first.channel,
            target=first.target, site_id=first.site_id, site_title=site_title,
            subscription_id=first.subscription_id, items=items, links=links,
            digest=first.digest is not None, address=address, secrets=hook_secrets,
        )
        return Delivery(rows, message)

    # -- delivering --------------------------------------------------------------------------
    def _channel(self, name: str) -> Channel:
        if name == "email":
            return EmailChannel(self.config.email)
        if name == "webhook":
            return WebhookChannel(timeout=self.settings.webhook_timeout,
                                  allow_private=self.settings.allow_private_targets)
        if name == "whatsapp":
            return WhatsAppChannel(self.config.whatsapp)
        raise ValueError(f"unknown channel {name!r}")

    async def _deliver(self, deliveries: list[Delivery]) -> None:
        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        for d in deliveries:
            queue.put_nowait(d)
        in_flight = {r.id for d in deliveries for r in d.rows}
        heartbeat = asyncio.create_task(self._keep_leases(in_flight))
        recorder = _Recorder(self)
        try:
            # A TaskGroup: if storing outcomes fails, the other senders stop too.
            async with asyncio.TaskGroup() as senders:
                for _ in range(min(self.settings.concurrency, len(deliveries))):
                    senders.create_task(self._sender(queue, in_flight, recorder))
        finally:
            heartbeat.cancel()
            recorder.close()

    async def _sender(self, queue: asyncio.Queue[Delivery], in_flight: set[int], recorder: _Recorder) -> None:
        channels: dict[str, Channel] = {}
        try:
            while not queue.empty():
                d = queue.get_nowait()
                name = d.message.channel
                channel = channels.get(name) or channels.setdefault(name, self._channel(name))
                try:
                    await channel.send(d.message)
                except DeliveryError as exc:
                    log.warning("alert %s to %s failed: %s", d.message.key, name, exc)
                    await recorder.record(_Outcome(d.rows, str(exc), exc.permanent))
                except Exception as exc:  # one broken message must not stall the rest
                    log.exception("alert %s to %s failed", d.message.key, name)
                    await recorder.record(_Outcome(d.rows, repr(exc), False))
                else:
                    # Recorded before this sender takes the next message: a crash repeats at
                    # most the one message each sender has in flight.
                    await recorder.record(_Outcome(d.rows))
                in_flight.difference_update(r.id for r in d.rows)
        finally:
            for channel in channels.values():
                await channel.close()

    async def _keep_leases(self, in_flight: set[int]) -> None:
        period = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(period)
            if in_flight:
                ids = list(in_flight)
                until = clock() + self.settings.lease_seconds
                await asyncio.to_thread(self._extend, ids, until)

    def _extend(self, ids: list[int], until: float) -> None:
        with writing(self.engine) as conn:
            outbox_rows.extend_lease(conn, ids, worker=self.name, until=until)

    def _record(self, outcomes: list[_Outcome]) -> None:
        s = self.settings
        now = clock()
        with writing(self.engine) as conn:
            sent = [r.id for o in outcomes if o.error is None for r in o.rows]
            if sent:
                outbox_rows.mark_sent(conn, sent, worker=self.name, now=now)
            for o in outcomes:
                if o.error is not None:
                    outbox.mark_failed(
                        conn, o.rows, worker=self.name, now=now, error=o.error, permanent=o.permanent,
                        max_attempts=s.max_attempts, backoff_base=s.backoff_base, backoff_max=s.backoff_max,
                    )

    def _failed(self, rows: list[OutboxItem], error: str, permanent: bool) -> None:
        self._record([_Outcome(rows, error, permanent)])


@dataclass
class _Outcome:
    rows: list[OutboxItem]
    error: str | None = None
    permanent: bool = False


class _Recorder:
    """Group commit of delivery outcomes: each sender waits until its outcome is stored, and
    one transaction stores the outcomes of all senders that finished meanwhile."""

    def __init__(self, worker: Worker):
        self._worker = worker
        self._waiting: list[tuple[_Outcome, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def record(self, outcome: _Outcome) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((outcome, done))
        self._wake.set()
        await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._waiting = self._waiting, []
            try:
                await asyncio.to_thread(self._worker._record, [o for o, _ in batch])
            except Exception as exc:  # the senders see the database error
                for _, done in batch:
                    done.set_exception(exc)
            else:
                for _, done in batch:
                    done.set_result(None)

    def close(self) -> None:
        self._task.cancel()


async def run(engine: Engine, config: AlertsConfig, stop_event: asyncio.Event) -> None:
    """Deliver until `stop_event` is set; the batch in hand is finished first."""
    from townsquare.alerts import polling

    worker = Worker(engine, config)
    poller = polling.FeedPoller(engine, allow_private=config.alerts.allow_private_targets)
    log.info("alert worker %s started", worker.name)
    while not stop_event.is_set():
        try:
            handled = await worker.run_once()
            handled += await poller.poll_due()
        except Exception:
            # The database may be restarting, or one round hit a bug: everything is in the
            # outbox, so log it and try again after the idle wait rather than stop delivering.
            log.exception("alert worker round failed; retrying")
            handled = 0
        if not handled:
            try:
                await asyncio.wait_for(stop_event.wait(), timeout=worker.settings.poll_interval)
            except TimeoutError:
                pass
    log.info("alert worker %s stopped", worker.name)


async def run_worker(engine: Engine, settings: Any, stop_event: asyncio.Event) -> None:
    """Entry point for `townsquare serve` (as a background task) and `townsquare worker`."""
    config = await asyncio.to_thread(config_from, settings, engine)
    await run(engine, config, stop_event)


@asynccontextmanager
async def background_worker(engine: Engine, settings: Any) -> AsyncIterator[None]:
    """For the app's lifespan: deliver alerts from inside `townsquare serve` (unless
    `[alerts] worker_in_serve = false`); on shutdown the batch in hand is finished first."""
    if not settings.alerts.worker_in_serve:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(engine, settings, stop))
    try:
        yield
    finally:
        stop.set()
        await task


def run_blocking(engine: Engine, settings: Any) -> None:
    """`townsquare worker`: deliver until SIGINT or SIGTERM."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(engine, settings, stop)

    asyncio.run(main())
