"""`GET /api/v1/threads/events`: a thread's changes as a server-sent event stream.

The stream never holds a worker thread or a database connection while it waits: each read is a
short hop to a worker thread, and between reads the stream awaits its process's wake-up
(`live.hub`) or the heartbeat, whichever comes first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from townsquare.errors import Invalid, Unavailable
from townsquare.live import service
from townsquare.live.hub import QUEUE, Hub
from townsquare.web.inputs import Line

router = APIRouter(prefix="/api/v1", tags=["comments"])
RETRY_MS = 3000  # how soon a browser reconnects after losing the stream
BUSY_RETRY_AFTER = 30


@router.get("/threads/events", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def thread_events(
    request: Request,
    site: Annotated[Line, Query(max_length=64)],
    uri: Annotated[Line, Query(max_length=2000)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Follow a thread live (`text/event-stream`). Events, each with an `id:`:
    `comment` (a newly published comment, in the thread API's shape; held comments only when
    approved), `edit` (the comment's new shape), `delete` (`{id}`), `vote` (`{id, likes,
    dislikes, votes}`, the newest totals), `status` (`{id, status: "removed"}` when a moderator
    removes a comment, `{closed}` when the thread is closed or reopened, given a close time, or
    reaches its close time), `feature` (`{id, featured}`: an editor's pick, or no longer),
    `pin` (`{id, pinned}`: pinned to the top in place of any other, or unpinned), and `ready` first, with
    the id to resume from. Reconnecting with `Last-Event-ID` delivers every event missed within
    the retention window (`live.retention`). `: ping` comments keep the stream alive. A server
    holding its most streams answers 503 with Retry-After."""
    if last_event_id is not None and not (last_event_id.isascii() and last_event_id.isdigit()):
        raise Invalid("Last-Event-ID must be an event id from this stream.", field="Last-Event-ID")
    engine = request.app.state.core.engine
    hub: Hub = request.app.state.hub
    settings = request.app.state.core.settings
    # When the clock closes the thread (nothing is written then): the stream says so itself.
    thread, closes = await run_in_threadpool(service.opening, engine, settings, site, uri)
    if not hub.admit():
        raise Unavailable("This server has as many live streams open as it may; try again shortly.",
                          retry_after=BUSY_RETRY_AFTER)
    resume = int(last_event_id) if last_event_id is not None else None
    return StreamingResponse(_stream(engine, settings, hub, site, uri, thread, closes, resume),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(engine, settings, hub: Hub, site: str, uri: str, thread: int | None, closes: float | None,
                  resume: int | None) -> AsyncIterator[bytes]:
    try:
        last = resume if resume is not None else await run_in_threadpool(service.start, engine, thread)
        yield f"retry: {RETRY_MS}\nid: {last}\nevent: ready\ndata: {{\"last_event_id\":{last}}}\n\n".encode()
        while True:
            with hub.subscribe(thread) as wake:
                while True:
                    wake.clear()  # before reading: a wake-up during the read is kept for the wait
                    if thread is None:
                        thread = await run_in_threadpool(service.thread_id, engine, site, uri)
                        if thread is not None:
                            closes = (await run_in_threadpool(service.closing, engine, settings, site, uri))[1]
                            break  # the first comment created the thread: follow it instead
                    else:
                        events = await run_in_threadpool(service.after, engine, thread, last)
                        if events:
                            last = events[-1].id
                            yield b"".join(_format(e) for e in service.coalesce(events))
                            if any(e.kind == "status" and '"closed"' in e.payload for e in events):
                                closes = (await run_in_threadpool(service.closing, engine, settings, site, uri))[1]
                            continue  # there may be more than one batch
                    wait = hub.settings.heartbeat if closes is None else min(hub.settings.heartbeat,
                                                                             max(closes - time.time(), 0))
                    try:
                        await asyncio.wait_for(wake.wait(), wait)
                    except TimeoutError:
                        if closes is not None and time.time() >= closes:
                            closed, closes = await run_in_threadpool(service.closing, engine, settings, site, uri)
                            if closed:  # no id: nothing is stored to resume from
                                yield b'event: status\ndata: {"closed":true}\n\n'
                            continue
                        yield b": ping\n\n"
    finally:
        hub.release()


async def queue_stream(engine, hub: Hub, site_ids: frozenset[int],
                       signed_in: Callable[[], bool]) -> AsyncIterator[bytes]:
    """A moderator's queue, live: `queue` events (`{pending}`, the comments waiting in the
    moderator's sites) first and whenever that changes, woken by every held comment (and checked
    at every heartbeat, when the stream also ends if the moderator's session has). The caller has
    admitted it to the hub."""
    try:
        sent = None
        with hub.subscribe(QUEUE) as wake:
            while True:
                wake.clear()
                pending = await run_in_threadpool(service.waiting, engine, site_ids)
                if pending != sent:
                    sent = pending
                    yield f"retry: {RETRY_MS}\nevent: queue\ndata: {{\"pending\":{pending}}}\n\n".encode()
                try:
                    await asyncio.wait_for(wake.wait(), hub.settings.heartbeat)
                except TimeoutError:
                    if not await run_in_threadpool(signed_in):
                        return
                    yield b": ping\n\n"
    finally:
        hub.release()


def _format(event) -> bytes:
    return f"id: {event.id}\nevent: {event.kind}\ndata: {event.payload}\n\n".encode()
