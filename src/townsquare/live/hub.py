"""One process's wake-ups for its open streams.

The `thread_events` table is the truth; this only tells the streams of this process when to read
it. Every `poll_interval` the hub asks the database, in one query whatever the number of streams,
which threads have new events, and wakes the streams of those threads, which then read what they
have not sent yet. Events written by any process are found the same way. On PostgreSQL one
connection per process LISTENs for the NOTIFY each event sends on commit, and makes the hub look
at once instead of at the end of the interval (which then only matters if that connection drops). A stream also reads the
table on every heartbeat, so a wake-up missed (an event committed after a later one was seen)
delays it by one heartbeat at most, and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.concurrency import run_in_threadpool

from townsquare.live.settings import LiveSettings
from townsquare.store import thread_events
from townsquare.store.db import Engine, reader, writing

log = logging.getLogger(__name__)
ANY = 0  # the key of streams waiting for a thread that does not exist yet
PRUNE_EVERY = 60.0


class Hub:
    def __init__(self, engine: Engine, settings: LiveSettings):
        self.engine, self.settings = engine, settings
        self.open = 0
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._last = 0
        self._poke: asyncio.Event | None = None

    def admit(self) -> bool:
        """Count a new stream in, unless the process already holds `max_streams`."""
        if self.open >= self.settings.max_streams:
            return False
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1

    @contextmanager
    def subscribe(self, thread_id: int | None) -> Iterator[asyncio.Event]:
        key = thread_id or ANY
        wake = asyncio.Event()
        self._waiters.setdefault(key, set()).add(wake)
        try:
            yield wake
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None:
                waiters.discard(wake)
                if not waiters:
                    del self._waiters[key]

    async def run(self) -> None:
        """The poll loop, for the life of the process."""
        self._poke = asyncio.Event()
        self._last = await run_in_threadpool(self._latest)
        stop = threading.Event()
        if self.engine.dialect.name == "postgresql":
            loop = asyncio.get_running_loop()
            threading.Thread(target=self._listen, args=(loop, stop), name="live-listen", daemon=True).start()
        try:
            await self._poll()
        finally:
            stop.set()

    async def _poll(self) -> None:
        next_prune = 0.0
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), self.settings.poll_interval)
            except TimeoutError:
                pass
            self._poke.clear()
            try:
                if self._waiters:
                    self._wake(await run_in_threadpool(self._changed))
                else:  # nobody to wake: just keep the place
                    self._last = await run_in_threadpool(self._latest)
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_EVERY
                    await run_in_threadpool(self._prune)
            except Exception:  # noqa: BLE001 - a database hiccup must not end live streams for good
                log.exception("live events: poll failed; trying again")

    def _listen(self, loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        """The LISTEN connection's thread: pokes the poll loop; reconnects after a loss."""
        while not stop.is_set():
            try:
                thread_events.listen(self.engine, stop, lambda: loop.call_soon_threadsafe(self._poke.set))
            except Exception:  # noqa: BLE001 - the poll still runs meanwhile
                log.warning("live events: LISTEN connection lost; reconnecting", exc_info=True)
                stop.wait(self.settings.poll_interval)

    def _latest(self) -> int:
        with reader(self.engine) as conn:
            return thread_events.latest(conn)

    def _changed(self) -> set[int]:
        with reader(self.engine) as conn:
            rows = thread_events.changed_threads(conn, self._last)
        if rows:
            self._last = rows[-1][0]
        return {tid for _, tid in rows}

    def _wake(self, thread_ids: set[int]) -> None:
        if not thread_ids:
            return
        for tid in (*thread_ids, ANY):
            for wake in self._waiters.get(tid, ()):
                wake.set()

    def _prune(self) -> None:
        with writing(self.engine) as conn:
            thread_events.prune(conn, time.time() - self.settings.retention)
