"""Evaluate a toxicity model build on one split, the same way for every build.

    HF_HUB_OFFLINE=1 python training/evaluate_build.py [MODEL_DIR] [--split val|test] [--datasets DIR]

Reports, for the split asked (validation by default; test only once per shipped build):

* per-class accuracy on the hand-written functional suite (tests/data/functional_suite.csv,
  not a training source; it has no split),
* false-positive rate on fine comments of each source (wiki_fine, davidson_neither,
  fox_not_hateful),
* ToxiGen demonstrations: false-positive rate on the neutral sentences naming a group and
  recall on the hateful ones (implicit hate, mostly without slurs),
* a reliability table (toxicity score bins against the share labelled toxic),
* median single-comment scoring latency.

"Held" is the toxicity phase's decision for a site with the default policy (ModerationSettings);
"flagged" is toxicity at or above the build's threshold. Splits are the training script's:
every source is split on its own by a seeded hash (SEED) of the normalized text, 80/10/10.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train_toxicity as tt  # noqa: E402

from townsquare.moderation import toxicity as tx  # noqa: E402
from townsquare.moderation.phases.toxicity import verdict  # noqa: E402
from townsquare.moderation.settings import ModerationSettings  # noqa: E402

SUITE = tt.REPO / "tests" / "data" / "functional_suite.csv"
FINE_SOURCES = ("wiki_fine", "davidson_neither", "fox_not_hateful")


def split_key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def toxigen_rows(d: Path) -> list[dict]:
    path = d / "toxigen_demonstrations" / "toxigen_demonstrations.csv"
    with path.open(encoding="utf-8") as f:
        return [{"text": r["text"], "label": int(r["label"]), "group": r["target_group"],
                 "split": tt.split_of(split_key(r["text"]))} for r in csv.DictReader(f)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir", nargs="?", default=str(tt.OUT_DIR))
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--datasets", default=str(tt.REPO.parent / "shared" / "datasets"),
                    help="the shared datasets folder (from a worktree: /work/shared/datasets)")
    ap.add_argument("--per-source", type=int, default=600, help="fine comments scored per source (seeded sample)")
    args = ap.parse_args()
    d = Path(args.datasets)
    model = tx.ToxicityModel.load(Path(args.model_dir), threads=2)
    site = ModerationSettings()
    thr = float(model.config["threshold"])

    def decide(texts):
        # held: what the toxicity phase decides for a site with the default policy (coarse swearing
        # published, a word or two without a lexicon word held only when near certain)
        res = model.score_many(texts, spans=False)
        held = [verdict(r.scores, site, t, r.lexicon_word)[0] in ("hold", "reject") for t, r in zip(texts, res)]
        return held, [r.scores["toxicity"] for r in res]

    print(f"build {args.model_dir}  split={args.split}  threshold={thr}  hold limits={site.hold_thresholds}")

    # functional suite
    with SUITE.open(encoding="utf-8") as f:
        suite = list(csv.DictReader(f))
    held, _ = decide([r["text"] for r in suite])
    per = defaultdict(list)
    for r, h in zip(suite, held):
        per[r["class"]].append(int(h) == int(r["expected"]))
    print("\nfunctional suite (accuracy of held / published against expected)")
    for c, ok in per.items():
        print(f"  {c:22s} {np.mean(ok):.2f}  (n={len(ok)})")
    print(f"  {'all':22s} {np.mean([x for v in per.values() for x in v]):.3f}")

    # fine comments of each source
    rng = random.Random(tt.SEED)
    civil, _gold = tt.load_civil(d)
    rows = tt.dedup_and_split(civil + tt.load_davidson(d, rng) + tt.load_fox(d) + tt.load_wiki(d))
    rows = [r for r in rows if r["split"] == args.split]
    rel_scores, rel_labels = [], []
    pooled = {0: [], 1: []}  # held decisions of all fine / all toxic comments of the sources
    print(f"\nfine comments ({args.split} split, up to {args.per_source} per source): held / flagged")
    for cat in FINE_SOURCES:
        pick = [r["text"] for r in rows if r["category"] == cat]
        random.Random(tt.SEED).shuffle(pick)
        pick = pick[: args.per_source]
        h, s = decide(pick)
        rel_scores += s
        rel_labels += [0] * len(s)
        pooled[0] += h
        print(f"  {cat:18s} FPR held {np.mean(h):.3f}  flagged {np.mean(np.array(s) >= thr):.3f}  (n={len(pick)})")
    for cat in ("civil_toxic", "davidson_hate", "fox_hateful", "wiki_toxic"):
        pick = [r["text"] for r in rows if r["category"] == cat]
        random.Random(tt.SEED).shuffle(pick)
        pick = pick[: args.per_source]
        h, s = decide(pick)
        rel_scores += s
        rel_labels += [1] * len(s)
        pooled[1] += h
        print(f"  {cat:18s} recall held {np.mean(h):.3f}  flagged {np.mean(np.array(s) >= thr):.3f}  (n={len(pick)})")

    print(f"  all fine: FPR held {np.mean(pooled[0]):.3f} (n={len(pooled[0])});"
          f" all toxic: recall held {np.mean(pooled[1]):.3f} (n={len(pooled[1])})")

    # ToxiGen
    tg = [r for r in toxigen_rows(d) if r["split"] == args.split]
    print(f"\nToxiGen demonstrations ({args.split} split)")
    for label, name in ((0, "neutral: FPR"), (1, "hateful: recall")):
        part = [r for r in tg if r["label"] == label]
        h, s = decide([r["text"] for r in part])
        rel_scores += s
        rel_labels += [label] * len(s)
        print(f"  {name:16s} held {np.mean(h):.3f}  flagged {np.mean(np.array(s) >= thr):.3f}  (n={len(part)})")

    # reliability: share labelled toxic per toxicity-score bin (all rows above)
    print("\nreliability (toxicity score bin: n, share labelled toxic)")
    sc, lab = np.array(rel_scores), np.array(rel_labels)
    for lo in np.arange(0, 1, 0.1):
        m = (sc >= lo) & (sc < lo + 0.1 if lo < 0.9 else sc <= 1.0)
        if m.any():
            print(f"  [{lo:.1f}, {lo + 0.1:.1f})  n={m.sum():5d}  toxic {lab[m].mean():.2f}")

    # latency, single comments
    sample = [r["text"] for r in rows[:100]]
    ms, cpu = [], []
    single = tx.ToxicityModel.load(Path(args.model_dir), threads=1)  # as the server scores a post
    for t in sample:
        t0, c0 = time.perf_counter(), time.process_time()
        single.score(t)
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    # CPU time is the figure to compare on a shared machine; wall time includes waiting for a core.
    print(f"\nlatency: median {statistics.median(cpu):.1f} ms CPU, {statistics.median(ms):.1f} ms wall per comment"
          f" (one at a time, with spans, n={len(ms)})")


if __name__ == "__main__":
    main()
