"""Compare the Townsquare toxicity model with two public baselines on one CSV.

    python bench/moderation_eval.py [bench/data/moderation_heldout.csv]
        [--baselines-python /tmp/baselines-venv/bin/python] [--threads 1]

The CSV has columns text,label,category (label 1 = flag, 0 = fine). The default
file is the held-out sample written by training/train_toxicity.py (never used
for training or tuning) plus the hand-written challenge set.

Baselines (not project dependencies; install them in their own virtualenv):
    python -m venv /tmp/baselines-venv
    /tmp/baselines-venv/bin/pip install alt-profanity-check==1.9.1 hatesonar==0.1.0
hatesonar needs the en_US.UTF-8 locale (Debian: apt-get install locales, then
enable en_US.UTF-8 in /etc/locale.gen and run locale-gen).
They run in a subprocess of that interpreter; each is scored with its own
natural threshold of 0.5 (profanity-check: P(offensive); hatesonar:
1 - P(neither)).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from townsquare.moderation.evaluate import Report, evaluate, format_report  # noqa: E402

BASELINE_SCRIPT = r"""
import json, sys, time, statistics
import numpy as np
texts = json.load(sys.stdin)
which = sys.argv[1]
if which == "profanity_check":
    from profanity_check import predict_prob
    def bulk(ts): return [float(x) for x in predict_prob(ts)]
elif which == "hatesonar":
    from hatesonar import Sonar
    sonar = Sonar()
    def bulk(ts):
        labels, probs = sonar.sess.run(None, {"text": np.array(ts, dtype=object)})
        out = []
        for p in probs:
            neither = p[2] if not isinstance(p, dict) else p[2]
            out.append(1.0 - float(neither))
        return out
bulk(texts[:2])
t0 = time.perf_counter()
scores = []
for b in range(0, len(texts), 32):
    scores += bulk(texts[b:b + 32])
elapsed = time.perf_counter() - t0
step = max(1, len(texts) // 200)
lat = []
for t in texts[::step][:200]:
    s = time.perf_counter(); bulk([t]); lat.append((time.perf_counter() - s) * 1000)
json.dump({"scores": scores, "throughput": len(texts) / elapsed, "median_ms": statistics.median(lat)}, sys.stdout)
"""


@dataclass
class _Res:
    scores: dict


class Precomputed:
    """A scorer that replays scores computed elsewhere (for the baselines)."""

    def __init__(self, texts, scores):
        self.map = dict(zip(texts, scores))

    def score_many(self, texts):
        return [_Res({"toxicity": self.map[t]}) for t in texts]


def run_baseline(python: str, which: str, texts: list[str]) -> dict | None:
    env = dict(os.environ, LC_ALL="en_US.UTF-8", LANG="en_US.UTF-8")
    env.pop("PYTHONPATH", None)
    try:
        p = subprocess.run([python, "-c", BASELINE_SCRIPT, which], input=json.dumps(texts),
                           capture_output=True, text=True, env=env, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"[{which}] could not run: {e}", file=sys.stderr)
        return None
    if p.returncode != 0:
        print(f"[{which}] failed:\n{p.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(p.stdout)


def load_rows(path: Path):
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["text"], int(r["label"]), r.get("category") or None) for r in csv.DictReader(f)]


def table(reports: dict[str, Report]) -> str:
    names = list(reports)
    cats = sorted({c for r in reports.values() for c in r.per_category})
    lines = []
    head = f"{'metric':<34}" + "".join(f"{n:>20}" for n in names)
    lines.append(head)
    lines.append("-" * len(head))

    def line(label, fn):
        lines.append(f"{label:<34}" + "".join(f"{fn(reports[n]):>20}" for n in names))

    line("threshold", lambda r: f"{r.threshold:.2f}")
    line("precision", lambda r: f"{r.precision:.3f}")
    line("recall", lambda r: f"{r.recall:.3f}")
    line("F1", lambda r: f"{r.f1:.3f}")
    line("ROC-AUC", lambda r: "n/a" if r.roc_auc is None else f"{r.roc_auc:.3f}")
    line("FPR on fine comments", lambda r: f"{r.fpr:.3f}")
    line("accuracy", lambda r: f"{r.accuracy:.3f}")
    line("throughput (comments/s)", lambda r: f"{r.throughput:.0f}")
    line("median latency (ms/comment)",
         lambda r: "n/a" if r.median_latency_ms is None else f"{r.median_latency_ms:.2f}")
    lines.append("accuracy per category (n):")
    for c in cats:
        n = next(r.per_category[c][1] for r in reports.values() if c in r.per_category)
        line(f"  {c} ({n})", lambda r, c=c: f"{r.per_category[c][0]:.3f}" if c in r.per_category else "-")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="?", default=str(REPO / "bench" / "data" / "moderation_heldout.csv"))
    ap.add_argument("--baselines-python", default=os.environ.get("TOWNSQUARE_BASELINES_PYTHON",
                                                                   "/tmp/baselines-venv/bin/python"))
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads for our model")
    ap.add_argument("--only-ours", action="store_true")
    args = ap.parse_args()

    from townsquare.moderation.toxicity import ToxicityModel

    rows = load_rows(Path(args.csv))
    texts = [r[0] for r in rows]
    print(f"{args.csv}: {len(rows)} rows, {sum(r[1] for r in rows)} flag")
    t0 = time.perf_counter()
    model = ToxicityModel.load(threads=args.threads)
    print(f"model load {time.perf_counter() - t0:.2f}s, onnxruntime intra-op threads {args.threads}")
    reports: dict[str, Report] = {"townsquare": evaluate(model, rows)}
    print(format_report(reports["townsquare"]))

    if not args.only_ours:
        for which in ("profanity_check", "hatesonar"):
            out = run_baseline(args.baselines_python, which, texts)
            if out is None:
                continue
            rep = evaluate(Precomputed(texts, out["scores"]), rows, threshold=0.5, latency_samples=0)
            rep.throughput = out["throughput"]
            rep.median_latency_ms = out["median_ms"]
            reports[which] = rep
    print()
    print(table(reports))


if __name__ == "__main__":
    main()
