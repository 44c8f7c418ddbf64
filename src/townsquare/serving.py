"""Runs the app under uvicorn: in this process, or in worker processes sharing one socket.

Each worker is handed the one `Settings` object the command built (pickled to a fresh
interpreter), so a worker serves exactly what the parent validated; nothing travels through
the environment.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.connection import wait

from townsquare.config import Settings

log = logging.getLogger("townsquare")

# A worker that exits sooner than this after starting failed to start; starting another would
# only fail again, so the server stops instead.
START_GRACE_SECONDS = 5.0
STOP_TIMEOUT_SECONDS = 8.0
MAX_WORKERS = 64  # the most `settings.workers` allows


def worker_count(settings: Settings) -> int:
    """`settings.workers`, or one per core when it is unset."""
    return settings.workers or min(os.cpu_count() or 1, MAX_WORKERS)


def listen(settings: Settings) -> socket.socket:
    """Bind `settings.host`:`settings.port` now, so a taken port is known before anything else
    happens; OSError (EADDRINUSE…) when it cannot be bound."""
    return _bind(settings.host, settings.port)


def serve(settings: Settings, sock: socket.socket | None = None) -> None:
    """Serve on `sock` (default: bind `settings.host`:`settings.port`) with `worker_count` processes,
    until SIGINT/SIGTERM."""
    sock = sock or listen(settings)
    workers = worker_count(settings)
    if workers == 1:
        _server(settings).run(sockets=[sock])
    else:
        metrics_dir = tempfile.mkdtemp(prefix="townsquare-metrics-")
        # prometheus_client reads only this variable, when first imported; the spawned workers
        # inherit it. The directory is this run's alone, since files left by another run would
        # be added to its figures.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        try:
            Supervisor(settings.model_copy(update={"workers": workers, "metrics_dir": metrics_dir}), sock).run()
        finally:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _server(settings: Settings):
    import uvicorn

    from townsquare.app import create_app

    # uvloop and httptools are chosen when installed ("auto").
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port, log_level="warning",
                            access_log=False, proxy_headers=False,
                            # Live streams never end by themselves: a stopping server gives requests
                            # this long, then closes them; readers reconnect elsewhere with Last-Event-ID.
                            timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections wait in the queue while the workers start
    sock.set_inheritable(True)
    return sock


def _worker(settings: Settings, sock: socket.socket) -> None:
    """A worker process: its own app (engine, caches, alerts worker) on the shared socket."""
    _server(settings).run(sockets=[sock])


class Supervisor:
    """Starts the workers, replaces one that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, settings: Settings, sock: socket.socket):
        self.settings, self.sock = settings, sock
        # spawn: each worker starts from a clean interpreter, with no copy of the parent's
        # database connections or threads.
        self.context = multiprocessing.get_context("spawn")
        self.workers: dict[int, tuple[multiprocessing.process.BaseProcess, float]] = {}
        self.stopping = False

    def run(self) -> None:
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in range(self.settings.workers):
                self._start(slot)
            while not self.stopping:
                sentinels = {p.sentinel: slot for slot, (p, _) in self.workers.items()}
                for ready in wait(list(sentinels), timeout=0.5):
                    if not self.stopping:
                        self._replace(sentinels[ready])
        finally:
            self._stop_all()
            self.sock.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, slot: int) -> None:
        process = self.context.Process(target=_worker, args=(self.settings, self.sock), name=f"townsquare-worker-{slot}")
        process.start()
        self.workers[slot] = (process, time.monotonic())

    def _replace(self, slot: int) -> None:
        process, started = self.workers[slot]
        process.join()
        if time.monotonic() - started < START_GRACE_SECONDS:
            log.error("worker %s exited with code %s while starting; stopping", process.pid, process.exitcode)
            raise SystemExit(1)
        log.warning("worker %s exited with code %s; starting another", process.pid, process.exitcode)
        self._start(slot)

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def _stop_all(self) -> None:
        processes = [p for p, _ in self.workers.values()]
        for p in processes:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for p in processes:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in processes:
            if p.is_alive():
                p.kill()
                p.join()
