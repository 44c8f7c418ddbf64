"""First (uncached) read of one 50,000-comment thread against a cached read of the same page.

Not a test: prints figures for bench/README.md. Builds the thread straight into a fresh database
(SQLite file, or PostgreSQL with --pg URL), then times `Core.read_thread_json` with the thread
cache emptied before every round (a miss) and with it warm (a hit), for each sort, and as a peer
in the same rounds the read before keyset pages (the whole thread's outline, then the page).

    .venv/bin/python bench/thread_read_bench.py [--comments 50000] [--rounds 7] [--pg postgresql://…]
                                                [--sorts oldest,newest,top,replies]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import orjson

from townsquare.app import build_core
from townsquare.config import load_settings
from townsquare.domain import tree
from townsquare.services import ThreadCache, ThreadPage, _shape_thread
from townsquare.store import comments as comment_store
from townsquare.store import sites as site_store
from townsquare.store import threads as thread_store
from townsquare.store.db import make_engine, migrate, reading
from townsquare.store.tables import comments

TEXT = "A reader's comment of a typical length, with a few sentences in it. " * 6


def seed(engine, n: int) -> None:
    with engine.begin() as conn:
        site_id = site_store.create(conn, "daily", "Daily", ["*"], {})
        thread = thread_store.get_or_create(conn, site_id, "/big", "Big", "")
        rows, t = [], 1_000_000.0
        for i in range(1, n + 1):
            # A fifth top-level; the rest answer a recent comment, so the tree is both wide and deep.
            parent = None if i % 5 == 1 else max(1, i - 1 - (i * 7919) % 40)
            rows.append({"thread_id": thread.id, "parent_id": parent, "author_name": f"Reader {i % 300}",
                         "text": TEXT, "html": f"<p>{TEXT}</p>", "status": "published", "created": t + i,
                         "likes": i % 7, "dislikes": i % 3})
        for k in range(0, n, 5000):  # a fresh database: ids are 1..n, as `parent` assumed
            conn.execute(comments.insert(), [dict(r, id=j + 1) for j, r in enumerate(rows[k:k + 5000], start=k)])
        comment_store.recount_replies(conn, [thread.id])  # rows written straight in: count their replies
        thread_store.touch(conn, thread.id, n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--comments", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pg", default=None)
    ap.add_argument("--sorts", default="oldest,newest,top,replies")
    args = ap.parse_args()
    url = args.pg or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    engine = make_engine(url)
    migrate(engine)
    seed(engine, args.comments)
    if engine.dialect.name == "postgresql":  # the statistics autovacuum would have gathered by now
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    core = build_core(load_settings(None, environ={}, db=url), engine)
    for sort in args.sorts.split(","):
        miss, hit, outline, size = [], [], [], 0
        for _ in range(args.rounds):
            core.cache = ThreadCache()
            start = time.perf_counter()
            size = len(core.read_thread_json("daily", "/big", sort=sort))
            miss.append(time.perf_counter() - start)
            start = time.perf_counter()
            core.read_thread_json("daily", "/big", sort=sort)
            hit.append(time.perf_counter() - start)
            start = time.perf_counter()
            whole_outline_read(core, sort)
            outline.append(time.perf_counter() - start)
        print(f"{engine.dialect.name}: {args.comments} comments, default page, sort={sort} ({size} bytes): "
              f"miss median {statistics.median(miss) * 1000:.1f} ms, "
              f"hit median {statistics.median(hit) * 1000:.2f} ms, "
              f"whole-outline miss median {statistics.median(outline) * 1000:.1f} ms")


def whole_outline_read(core, sort: str) -> bytes:
    """The peer: the same page as the read before keyset pages made it, from the whole thread's
    outline (every comment's id, parent, status, time and votes) shaped by `domain.tree`."""
    page = ThreadPage("daily", "/big", sort)
    core.cached_thread_json(page)
    with reading(core.engine) as conn:
        keys = comment_store.thread_keys(conn, page.head.id)
        roots, _, total = tree.build(keys)
        plan = tree.plan(roots, tree.sort_key(sort), page.limit, None, page.reply_limit)
        shown = comment_store.views(conn, plan.ids())
    return orjson.dumps(_shape_thread("daily", page.head, plan, shown, total))

if __name__ == "__main__":
    main()
