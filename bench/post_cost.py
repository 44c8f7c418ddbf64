"""What one post costs the server, in CPU: with the full moderation pipeline, with the toxicity
model switched off in the site's rules, and for a 250 kB comment that is refused.

    .venv/bin/python bench/post_cost.py [--posts 300]

Starts `townsquare serve` (one process, rate limits off) on a fresh SQLite database on loopback,
posts the load harness's own comment texts (`../shared/bench/load.py` `make_text`) one at a
time, and reads the server process's CPU time from /proc before and after each group: the
figures are server CPU per request, not wall time, so a busy machine disturbs them little.
Also prints the median model CPU per comment (the scorer alone, in this process, same texts).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED") or ROOT.parent / "shared" / "bench")  # as in bench/run.sh
TS = str(ROOT / ".venv" / "bin" / "townsquare")
RULES = '"author_rate": 1000000, "ip_rate": 1000000, "min_submit_seconds": 0, "repeat_window": 0'


def bench_texts(n: int) -> list[str]:
    sys.path.insert(0, str(SHARED))
    from load import make_text  # the harness's comment bodies, so figures match b_write

    rng = random.Random(7)
    return [make_text(rng, i) for i in range(n)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def per_request_ms(pid: int, client: httpx.Client, requests: list[dict], expect: int) -> float:
    before = cpu_seconds(pid)
    for body in requests:
        r = client.post("/api/v1/comments", json=body)
        if r.status_code != expect:
            raise SystemExit(f"expected {expect}, got {r.status_code}: {r.text[:200]}")
    return (cpu_seconds(pid) - before) / len(requests) * 1000


def model_ms(texts: list[str]) -> float:
    from townsquare.moderation.scoring import default_scorer

    scorer = default_scorer()
    scorer.score("warm up")
    times = []
    for text in texts:
        t0 = time.thread_time()
        scorer.score(text)
        times.append((time.thread_time() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=300)
    args = ap.parse_args()
    texts = bench_texts(args.posts)
    work = Path(tempfile.mkdtemp(prefix="townsquare-cost-"))
    db = f"sqlite:///{work}/t.db"
    port = free_port()
    for name, extra in (("full", ""), ("notox", ', "toxicity": false')):
        subprocess.run([TS, "site", "add", name, "--origin", "*", "--db", db,
                        "--settings", '{"moderation_rules": {' + RULES + extra + "}}"], check=True, capture_output=True)
    env = {**os.environ, "TOWNSQUARE_RATE_LIMITS": "off"}
    server = subprocess.Popen([TS, "serve", "--db", db, "--port", str(port), "--workers", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not start")

            def posts(site: str, prefix: str) -> list[dict]:
                return [{"site": site, "uri": f"/{prefix}-{i % 100}", "title": "Title", "text": t,
                         "author": {"name": f"user{i % 500}"}} for i, t in enumerate(texts)]

            per_request_ms(server.pid, client, posts("full", "warm")[:20], 201)  # loads the model
            full = per_request_ms(server.pid, client, posts("full", "post"), 201)
            notox = per_request_ms(server.pid, client, posts("notox", "post"), 201)
            huge = "word " * (250 * 1024 // 5)
            refused = per_request_ms(server.pid, client, [{"site": "full", "uri": "/huge", "text": huge,
                                                           "author": {"name": "big"}}] * 20, 422)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"server CPU per post, full moderation pipeline: {full:.2f} ms")
    print(f"server CPU per post, toxicity model off:       {notox:.2f} ms")
    print(f"server CPU per refused 250 kB comment:         {refused:.2f} ms")
    print(f"median model CPU per comment (scorer alone):   {model_ms(texts):.2f} ms")


if __name__ == "__main__":
    main()
