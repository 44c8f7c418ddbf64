"""One process's wake-ups for its open streams.

The `thread_events` table is the truth; this only tells the streams of this process when to read
it. Every `poll_interval` the hub asks the database, in one query whatever the number of streams,
which threads have new events, and wakes the streams of those threads, which then read what they
have not sent yet. Events written by any process are found the same way. On PostgreSQL one
connection per process LISTENs for the NOTIFY each event sends on commit, and makes the hub look
at once instead of at the end of the interval (which then only matters if that connection drops).

With `redis_url` set, Redis pub/sub replaces both: each process publishes the keys (thread ids, or
QUEUE for a held comment) of the events a transaction wrote once it has committed, and one
subscriber connection per process wakes exactly those streams, with no query at all. After a
lost Redis connection every stream is woken once, to read what it may have missed.

A stream also reads the table on every heartbeat, so a wake-up missed (an event committed after a
later one was seen, a Redis message lost) delays it by one heartbeat at most, and loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from starlette.concurrency import run_in_threadpool

from townsquare.live.settings import LiveSettings
from townsquare.store import thread_events
from townsquare.store.db import Engine, reader, writing

log = logging.getLogger(__name__)
ANY = 0  # the key of streams waiting for a thread that does not exist yet
QUEUE = thread_events.QUEUE  # the key of the moderators' queue streams
PRUNE_EVERY = 60.0
REDIS_CHANNEL = "townsquare:thread_events"
REDIS_TIMEOUT = 1.0  # seconds a commit's publish may take before it is given up (the heartbeat catches up)


class Hub:
    def __init__(self, engine: Engine, settings: LiveSettings, redis_url: str | None = None):
        self.engine, self.settings, self.redis_url = engine, settings, redis_url
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
    def subscribe(self, key: int | None) -> Iterator[asyncio.Event]:
        """Wait for a thread's events (its id), QUEUE, or ANY (None: a thread not created yet)."""
        key = key or ANY
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
        """The wake-ups, for the life of the process."""
        self._poke = asyncio.Event()
        if self.redis_url:
            await self._run_redis()
            return
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

    # -- Redis ------------------------------------------------------------------------------------
    async def _run_redis(self) -> None:
        import redis

        publisher = redis.Redis.from_url(self.redis_url, socket_timeout=REDIS_TIMEOUT,
                                         socket_connect_timeout=REDIS_TIMEOUT)

        def announce(keys: set[int]) -> None:  # in the writer's thread, right after its commit
            try:
                publisher.publish(REDIS_CHANNEL, ",".join(map(str, keys)))
            except redis.RedisError:
                log.warning("live events: could not publish to Redis; streams catch up at their heartbeat")

        undo = thread_events.on_commit(self.engine, announce)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._subscribe())
                tasks.create_task(self._prune_loop())
        finally:
            undo()
            publisher.close()

    async def _subscribe(self) -> None:
        """The one subscriber connection of this process; reconnects after a loss."""
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(self.redis_url, health_check_interval=30,
                                             socket_connect_timeout=REDIS_TIMEOUT)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(REDIS_CHANNEL)
                    self._wake(self._waiters)  # whatever was published while this process was not listening
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._wake(int(k) for k in message["data"].split(b","))
            except (aioredis.RedisError, OSError, ValueError):
                log.warning("live events: Redis subscription lost; reconnecting", exc_info=True)
                await asyncio.sleep(self.settings.poll_interval)
            finally:
                await client.aclose()

    async def _prune_loop(self) -> None:
        while True:
            try:
                await run_in_threadpool(self._prune)
            except Exception:  # noqa: BLE001 - tried again at the next round
                log.exception("live events: prune failed; trying again")
            await asyncio.sleep(PRUNE_EVERY)

    # -- both -------------------------------------------------------------------------------------
    def _latest(self) -> int:
        with reader(self.engine) as conn:
            return thread_events.latest(conn)

    def _changed(self) -> set[int]:
        with reader(self.engine) as conn:
            rows = thread_events.changed_threads(conn, self._last)
        if rows:
            self._last = rows[-1][0]
        return {key for _, key in rows}

    def _wake(self, keys: Iterable[int]) -> None:
        keys = set(keys)
        if not keys:
            return
        for key in (*keys, ANY):
            for wake in self._waiters.get(key, ()):
                wake.set()

    def _prune(self) -> None:
        with writing(self.engine) as conn:
            thread_events.prune(conn, time.time() - self.settings.retention)
