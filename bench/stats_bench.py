"""Dashboard figures on a big site: the stats service's latency over 1,000,000 comments.

    python bench/stats_bench.py [--comments 1000000] [--threads 5000] [--runs 21] [--big-thread N]
                                [--db FILE | --url postgresql+psycopg://…/EMPTY_DATABASE]

Builds a fresh SQLite database in a temporary directory (or reuses `--db`, or the database at
`--url`, if it holds the site already), bulk-inserts COMMENTS comments spread over the last 365 days on THREADS threads of one
site (statuses mixed like a busy site: 85% published, 3% held, 7% rejected, 5% deleted; every
comment with a stored decision and toxicity score), one vote per three comments and one report per
fifty (each batch adding its share of the dashboard's rollups as an import does), then times `moderation.stats.compute` (no cache) for periods of 7, 30 and
365 days and prints the median and 95th percentile of RUNS runs of each.

With `--big-thread N`, one more thread ("/big") gets N comments over the last three days, as a
story's discussion draws them, with as many votes as comments, and the same is timed for that
thread's figures (`thread=/big`: read from the thread's own rows, not from rollups).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import orjson  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from townsquare.moderation import stats  # noqa: E402
from townsquare.store import db  # noqa: E402
from townsquare.store import sites as site_store  # noqa: E402
from townsquare.store import stats as rollups  # noqa: E402
from townsquare.store import threads as thread_store  # noqa: E402
from townsquare.store.moderation import reports  # noqa: E402
from townsquare.store.tables import comments, threads, votes  # noqa: E402

STATUSES = ["published"] * 85 + ["pending"] * 3 + ["rejected"] * 7 + ["deleted"] * 5
PHASES = ("toxicity", "personal_data", "premoderation", "links", "new_author")
BATCH = 20_000


def fill(engine, n_comments: int, n_threads: int, now: float, big_thread: int = 0) -> int:
    rng = random.Random(7)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "bench", "Bench", ["*"], {})
        conn.execute(insert(threads), [{"site_id": site_id, "uri": f"/article-{i}", "title": f"Article {i}", "url": "",
                                        "closed": False, "created": now - 366 * 86400, "comment_count": 0,
                                        "version": 0} for i in range(n_threads)])
        big = conn.execute(insert(threads).values(site_id=site_id, uri="/big", title="A big story", url="",
                                                  closed=False, created=now - 4 * 86400, comment_count=0, version=0)
                           .returning(threads.c.id)).scalar_one()
    first_thread = 1
    decisions = {}
    for status in set(STATUSES):
        for phase in PHASES:
            decisions[(status, phase)] = [orjson.dumps({"decision": status, "status": status,
                                                        "scores": {"toxicity": s / 100},
                                                        "reasons": [{"phase": phase, "label": phase, "detail": "",
                                                                     "spans": []}] if status != "published" else []}
                                                       ).decode() for s in range(100)]
    done = 0
    total = n_comments + big_thread
    while done < total:
        rows = []
        for i in range(done, min(done + BATCH, total)):
            status = rng.choice(STATUSES)
            in_big = i >= n_comments  # the big thread's comments come last
            rows.append({"thread_id": big if in_big else first_thread + rng.randrange(n_threads), "parent_id": None,
                         "author_name": "Reader",
                         "author_email": None, "author_website": None, "author_key": f"k{rng.randrange(50_000)}",
                         "ip_hash": None, "text": "A comment.", "quote": None, "html": "<p>A comment.</p>",
                         "status": status, "created": now - rng.uniform(0, (3 if in_big else 365) * 86400),
                         "edited": None, "likes": 0,
                         "dislikes": 0, "identity_id": None,
                         "moderation": rng.choice(decisions[(status, rng.choice(PHASES))])})
        with engine.begin() as conn, rollups.bulk(conn):  # as an import stores a batch
            ids = list(conn.execute(insert(comments).returning(comments.c.id, sort_by_parameter_order=True), rows).scalars())
            def voters(i: int, r: dict) -> int:  # one vote per comment on the big thread on average
                return rng.randint(0, 2) if r["thread_id"] == big else int(i % 3 == 0)

            conn.execute(insert(votes), [{"comment_id": cid, "voter": f"v{k}", "value": 1, "address": None,
                                          "created": r["created"] + 60 * (k + 1)}
                                         for i, cid, r in zip(range(done, done + len(rows)), ids, rows)
                                         for k in range(voters(i, r))])
            conn.execute(insert(reports), [{"comment_id": cid, "reporter": "r", "reason": "spam", "note": "",
                                            "created": r["created"] + 120, "address": None}
                                           for i, cid, r in zip(range(done, done + len(rows)), ids, rows) if i % 50 == 0])
            rollups.add_comments(conn, ids)
        done += len(rows)
    return site_id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comments", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=5_000)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--big-thread", type=int, default=0, help="comments on one more thread, /big (default: none)")
    ap.add_argument("--db", help="SQLite file to build or reuse (default: a temporary one)")
    ap.add_argument("--url", help="another database to build or reuse instead (an empty PostgreSQL database)")
    args = ap.parse_args()
    path = Path(args.db) if args.db else Path(tempfile.mkdtemp()) / "stats.db"
    engine = db.make_engine(args.url or f"sqlite:///{path}")
    db.migrate(engine)
    now = time.time()
    with db.reading(engine) as conn:
        existing = site_store.by_name(conn, "bench")
    if existing is None:
        started = time.perf_counter()
        site_id = fill(engine, args.comments, args.threads, now, args.big_thread)
        if engine.dialect.name == "postgresql":  # planner statistics, as autovacuum would gather soon
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        print(f"inserted {args.comments + args.big_thread:,} comments in {time.perf_counter() - started:.1f} s "
              f"({args.url and engine.url.render_as_string(hide_password=True) or path})")
    else:
        site_id = existing.id
    with db.reading(engine) as conn:
        big = thread_store.by_uri(conn, site_id, "/big") if args.big_thread else None
    for thread, days in [(None, d) for d in (7, 30, 365)] + ([(big, d) for d in (7, 30, 365)] if big else []):
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = stats.compute(engine, site_id, "bench", days, time.time(), thread)
            times.append(time.perf_counter() - started)
        total = sum(d.published + d.held + d.rejected + d.deleted for d in result.per_day)
        votes_in = sum(d.votes for d in result.per_day)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
        print(f"{'thread /big, ' if thread else ''}days={days:>3}: median {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms over "
              f"{args.runs} runs (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}); {total:,} comments "
              f"in the period, {votes_in:,} votes, {result.queue.pending:,} pending")
    engine.dispose()


if __name__ == "__main__":
    main()
