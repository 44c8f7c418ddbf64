"""Batches read ahead on a thread, so the next batch is decoded while the database stores this one.

SQLite (inside `executemany` and `COMMIT`) and nh3 (sanitising HTML) both release the GIL, so
reading and rendering the next batch overlaps with writing the current one: two cores, one process.
A failure of the record stream reaches the consumer at the same place in the stream as it would
without the thread: after every batch read before it.
"""

from __future__ import annotations

import queue
import threading
from typing import Callable, Generic, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_AHEAD = 1  # batches held ready beside the one being read: memory stays flat
_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[T, R]):
    """Iterate `items` on a thread, handing over `(item, prepare(item))` pairs in order."""

    def __init__(self, items: Iterable[T], prepare: Callable[[T], R]) -> None:
        self._items = items
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="import-read-ahead", daemon=True)

    def __iter__(self) -> Iterator[tuple[T, R]]:
        self._thread.start()
        try:
            while True:
                got = self._queue.get()
                if got is _DONE:
                    return
                if isinstance(got, _Failed):
                    raise got.error
                yield got
        finally:
            self._stop.set()
            self._thread.join()

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put((item, self._prepare(item))):
                    return
            self._put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            self._put(_Failed(e))

    def _put(self, value: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
