"""Bulk rescoring speed: `townsquare moderation rescore` over a site's stored comments.

    python bench/rescore_bench.py [--comments 3000] [--flagged 0.1] [--csv bench/data/moderation_heldout.csv]

Builds a fresh SQLite database in a temporary directory, stores COMMENTS comments drawn from the
CSV (held-out rows that training never saw) with the given share of flagged ones (label 1), then
runs the same rescoring the command runs and prints comments per second. Flagged comments cost
more than fine ones (long flagged comments are scored sentence by sentence too), so the share
matters: `--flagged 0.1` is a news site's traffic-like mix, `--flagged 0.5` the held-out file's.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from townsquare.config import load_settings  # noqa: E402
from townsquare.moderation import rescore  # noqa: E402
from townsquare.moderation.toxicity import ToxicityModel  # noqa: E402
from townsquare.store import db  # noqa: E402
from townsquare.store import sites as site_store  # noqa: E402
from townsquare.store import threads as thread_store  # noqa: E402
from townsquare.store.comments import NewComment, insert_comment  # noqa: E402


def sample(path: Path, n: int, flagged: float, seed: int = 7) -> list[str]:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    bad = [r["text"] for r in rows if r["label"] == "1"]
    fine = [r["text"] for r in rows if r["label"] == "0"]
    rng = random.Random(seed)
    n_bad = round(n * flagged)
    texts = [rng.choice(bad) for _ in range(n_bad)] + [rng.choice(fine) for _ in range(n - n_bad)]
    rng.shuffle(texts)
    return texts


def store(url: str, texts: list[str]) -> None:
    engine = db.make_engine(url)
    db.migrate(engine)
    with engine.begin() as conn:
        site_id = site_store.create(conn, "bench", "Bench", ["*"], {})
        for i, text in enumerate(texts):
            thread = thread_store.get_or_create(conn, site_id, f"/article-{i % 100}", "Article", "")
            insert_comment(conn, NewComment(
                thread_id=thread.id, parent_id=None, author_name=f"reader{i % 500}", author_email=None,
                author_website=None, author_key=None, ip_hash=None, text=text, quote=None, html="",
                status="published", moderation=None, created=1.7e9 + i))
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comments", type=int, default=3000)
    ap.add_argument("--flagged", type=float, default=0.1, help="share of flagged comments (0-1)")
    ap.add_argument("--csv", type=Path, default=REPO / "bench/data/moderation_heldout.csv")
    args = ap.parse_args()
    if not 0 <= args.flagged <= 1:
        ap.error("--flagged must be between 0 and 1")
    texts = sample(args.csv, args.comments, args.flagged)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/rescore.db"
        store(url, texts)
        engine = db.make_engine(url)
        settings = load_settings(None, environ={}, db=url)
        model = ToxicityModel.load(threads=2)  # as `townsquare moderation rescore` loads it
        model.score_many(texts[:32])  # warm up the ONNX session outside the timing
        report = rescore.rescore(engine, settings, "bench", model)
    chars = sum(map(len, texts)) / len(texts)
    print(f"{report.scored} comments ({args.flagged:.0%} flagged, {chars:.0f} characters on average) "
          f"rescored in {report.seconds:.1f} s: {report.per_second:.0f} comments/s; "
          f"{report.over_threshold} at or over a hold threshold")


if __name__ == "__main__":
    main()
