"""Live streams: memory per idle stream on one process, and POST→delivery latency across two.

Not a test: prints figures for bench/README.md. Loopback only; every loop is bounded.

    .venv/bin/python bench/live_streams_bench.py --pg postgresql://postgres@127.0.0.1:5432/NAME \\
        [--streams 2000] [--rate 50] [--seconds 20] [--redis redis://127.0.0.1:6379/0]

Starts two `townsquare serve --workers 1` processes on one (empty) database. (1) opens
`--streams` idle streams on the first and reads its resident memory before and after; (2) keeps
one stream open on the first while posting `--rate` comments a second to the second, and times
each comment from the start of its POST to its event's arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

import httpx

from townsquare.store import sites as site_store
from townsquare.store.db import make_engine, migrate

SITE = {"posts_per_minute": 1_000_000, "moderation_rules": {
    "author_rate": 1_000_000, "ip_rate": 1_000_000, "min_submit_seconds": 0, "repeat_window": 0,
    "hold_thresholds": {"toxicity": 1.0, "insult": 1.0, "identity_attack": 1.0, "threat": 1.0, "profanity": 1.0}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def serve(db: str, port: int, log: str, redis: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNSQUARE_")} | (
        {"TOWNSQUARE_REDIS_URL": redis} if redis else {}) | {
        "TOWNSQUARE_DB": db, "TOWNSQUARE_RATE_LIMITS": "off", "TOWNSQUARE_ALERTS__WORKER_IN_SERVE": "false",
        "TOWNSQUARE_LIVE__MAX_STREAMS": "10000"}
    return subprocess.Popen([sys.executable, "-m", "townsquare.cli", "serve", "--workers", "1", "--port", str(port)],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))


def wait_up(base: str) -> None:
    for _ in range(240):
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{base} did not start")


async def open_streams(base: str, n: int) -> tuple[httpx.AsyncClient, list]:
    client = httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=httpx.Limits(max_connections=None))
    params = {"site": "daily", "uri": "/idle"}

    async def one():
        resp = await client.send(client.build_request("GET", base + "/api/v1/threads/events", params=params),
                                 stream=True)
        lines = resp.aiter_lines()
        async for line in lines:  # until the first event has come
            if line.startswith("event: ready"):
                break
        # Keep the line iterator: once collected, closing it closes the connection too, and the
        # stream would not stay open (as it did not in this script's first version).
        return resp, lines

    responses = []
    for k in range(0, n, 200):
        responses += await asyncio.gather(*(one() for _ in range(min(200, n - k))))
    return client, responses


async def latency(reading: str, writing: str, rate: float, seconds: float) -> tuple[list[float], list[float], list[float]]:
    """(POST start → delivery, POST answered → delivery, POST duration) of each comment, sorted."""
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    arrived: dict[int, float] = {}
    failed: list[int] = []
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=httpx.Limits(max_connections=None)) as client:
        resp = await client.send(client.build_request("GET", reading + "/api/v1/threads/events",
                                                      params={"site": "daily", "uri": "/busy"}), stream=True)

        async def read():
            kind = None
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "comment":
                    arrived[int(line.split('"id":', 1)[1].split(",", 1)[0])] = time.perf_counter()

        reader = asyncio.create_task(read())
        await asyncio.sleep(1)

        async def post(i: int):
            start = time.perf_counter()
            try:
                r = await client.post(writing + "/api/v1/comments", json={
                    "site": "daily", "uri": "/busy", "text": f"Comment {i} on the busy thread", "author": {"name": "B"}})
            except httpx.HTTPError as e:
                failed.append(type(e).__name__)
                return
            if r.status_code != 201:
                failed.append(r.status_code)
                return
            sent[r.json()["comment"]["id"]] = start
            answered[r.json()["comment"]["id"]] = time.perf_counter()

        tasks, start = [], time.perf_counter()
        for i in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(post(i)))
            await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 30
        while len(arrived) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        reader.cancel()
        await resp.aclose()
    if failed:
        print(f"  {len(failed)} posts failed: {sorted(set(map(str, failed)))}")
    missing = set(sent) - set(arrived)
    if missing:
        print(f"  {len(missing)} comments never arrived")
    return (sorted(arrived[i] - sent[i] for i in sent if i in arrived),
            sorted(max(0.0, arrived[i] - answered[i]) for i in sent if i in arrived),
            sorted(answered[i] - sent[i] for i in sent))


def summary(figures: list[float]) -> str:
    p99 = figures[min(len(figures) - 1, int(len(figures) * 0.99))]
    return f"median {statistics.median(figures) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"


def raise_open_files(want: int) -> None:
    """Each stream is a socket on both ends: the client (this process) and the server (its child)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", required=True)
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--redis", help="a Redis URL: the servers wake their streams by Redis pub/sub instead of LISTEN")
    args = ap.parse_args()
    raise_open_files(2 * args.streams + 1000)
    engine = make_engine(args.pg)
    migrate(engine)
    with engine.begin() as conn:
        site_store.create(conn, "daily", "Daily", ["*"], SITE)
    engine.dispose()
    ports = [free_port(), free_port()]
    servers = [serve(args.pg, p, f"/tmp/live_bench_server_{i}.log", args.redis) for i, p in enumerate(ports)]
    a, b = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        wait_up(a), wait_up(b)
        httpx.get(a + "/api/v1/threads", params={"site": "daily", "uri": "/idle"})
        time.sleep(2)
        before = rss_kib(servers[0].pid)

        async def idle():
            client, responses = await open_streams(a, args.streams)
            await asyncio.sleep(3)
            after = rss_kib(servers[0].pid)
            cpu, start = cpu_seconds(servers[0].pid), time.monotonic()
            await asyncio.sleep(30)  # two heartbeats: each stream reads the table at every one
            busy = (cpu_seconds(servers[0].pid) - cpu) / (time.monotonic() - start)
            print(f"  idle, the server uses {busy * 100:.0f}% of a core (heartbeats, each a read of the table)")
            print(f"  the server holds {len(os.listdir(f'/proc/{servers[0].pid}/fd'))} open files")
            for r, _ in responses:
                await r.aclose()
            await client.aclose()
            return after

        after = asyncio.run(idle())
        print(f"{args.streams} idle streams: server RSS {before / 1024:.0f} MiB -> {after / 1024:.0f} MiB, "
              f"{(after - before) / args.streams:.1f} KiB per stream")
        time.sleep(20)  # the closed streams are noticed at their next heartbeat
        lat, after_answer, posting = asyncio.run(latency(a, b, args.rate, args.seconds))
        if lat:
            print(f"POST→delivery across processes at {args.rate:.0f}/s for {args.seconds:.0f} s ({len(lat)} comments): "
                  f"{summary(lat)}")
            print(f"  answered POST→delivery: {summary(after_answer)}; the POST itself: {summary(posting)}")
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            try:
                s.wait(timeout=20)
            except subprocess.TimeoutExpired:
                s.kill()


if __name__ == "__main__":
    main()
