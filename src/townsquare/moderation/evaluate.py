"""Evaluate a comment scorer on labelled rows.

``evaluate(scorer, rows)`` takes any object with
``score_many(texts) -> list[result]`` where each result has a ``scores`` dict
containing ``"toxicity"`` (0-1), and rows of ``(text, label, category|None)``
with label 1 = flag, 0 = fine. A comment is flagged when its toxicity score is
at or above the threshold (default: the threshold in the shipped model card,
read from ``model_data/config.json``). With ``hold_limits`` (a site's hold
thresholds per label) the report also says what a site would do: a comment is
held when any of its scores reaches its limit. Pure numpy, no scikit-learn.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from townsquare.moderation.phases.toxicity import crossed

DEFAULT_THRESHOLD = 0.5


def default_threshold() -> float:
    cfg = Path(__file__).resolve().parent / "model_data" / "config.json"
    try:
        return float(json.loads(cfg.read_text(encoding="utf-8"))["threshold"])
    except (OSError, KeyError, ValueError):
        return DEFAULT_THRESHOLD


@dataclass
class PolicyView:
    """What a site with these hold limits does with the rows: fine ones it publishes, flag ones it holds."""

    limits: dict[str, float]
    fine_published: float
    flagged_held: float
    per_category: dict[str, float] = field(default_factory=dict)  # category -> share decided right


@dataclass
class Report:
    n: int
    positives: int
    threshold: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None
    fpr: float  # false-positive rate on fine (label 0) comments
    accuracy: float
    per_category: dict[str, tuple[float, int]] = field(default_factory=dict)  # category -> (accuracy, n)
    throughput: float = 0.0  # comments per second, bulk scoring
    median_latency_ms: float | None = None  # single-comment scoring
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0
    policy: PolicyView | None = None


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney U with tie-averaged ranks)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    n_pos = int(labels.sum())
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def evaluate(
    scorer,
    rows: Iterable[Sequence],
    threshold: float | None = None,
    latency_samples: int = 200,
    hold_limits: Mapping[str, float] | None = None,
) -> Report:
    rows = [(str(r[0]), int(r[1]), (r[2] if len(r) > 2 and r[2] not in ("", None) else None)) for r in rows]
    if threshold is None:
        threshold = default_threshold()
    texts = [r[0] for r in rows]
    labels = np.array([r[1] for r in rows], dtype=np.int64)

    t0 = time.perf_counter()
    results = scorer.score_many(texts) if texts else []
    elapsed = time.perf_counter() - t0
    scores = np.array([float(r.scores["toxicity"]) for r in results], dtype=np.float64)
    pred = scores >= threshold

    tp = int((pred & (labels == 1)).sum())
    fp = int((pred & (labels == 0)).sum())
    tn = int((~pred & (labels == 0)).sum())
    fn = int((~pred & (labels == 1)).sum())
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)

    per_cat = _per_category(rows, pred)
    policy = None
    if hold_limits:
        # the toxicity phase's own rule, so the report says what the pipeline would hold
        held = np.array([bool(crossed(r.scores, hold_limits)) for r in results], dtype=bool)
        policy = PolicyView(
            limits=dict(hold_limits),
            fine_published=_ratio(int((~held & (labels == 0)).sum()), int((labels == 0).sum())),
            flagged_held=_ratio(int((held & (labels == 1)).sum()), int((labels == 1).sum())),
            per_category={k: _ratio(v[0], v[1]) for k, v in sorted(_per_category(rows, held).items())},
        )

    median_ms = None
    if latency_samples and texts and hasattr(scorer, "score"):
        step = max(1, len(texts) // latency_samples)
        sample = texts[::step][:latency_samples]
        scorer.score(sample[0])  # warm-up
        lat = []
        for t in sample:
            s = time.perf_counter()
            scorer.score(t)
            lat.append((time.perf_counter() - s) * 1000.0)
        median_ms = statistics.median(lat)

    return Report(
        n=len(rows),
        positives=int(labels.sum()),
        threshold=float(threshold),
        precision=precision,
        recall=recall,
        f1=f1,
        roc_auc=roc_auc(labels, scores) if len(rows) else None,
        fpr=_ratio(fp, fp + tn),
        accuracy=_ratio(tp + tn, len(rows)),
        per_category={k: (_ratio(v[0], v[1]), v[1]) for k, v in sorted(per_cat.items())},
        throughput=_ratio(len(rows), elapsed),
        median_latency_ms=median_ms,
        tp=tp, fp=fp, tn=tn, fn=fn,
        policy=policy,
    )


def _per_category(rows, decided) -> dict[str, list[int]]:
    """category -> [rows decided right, rows]."""
    out: dict[str, list[int]] = {}
    for (_, label, cat), d in zip(rows, decided):
        if cat is not None:
            c = out.setdefault(cat, [0, 0])
            c[0] += int(bool(d) == bool(label))
            c[1] += 1
    return out


def format_report(report: Report) -> str:
    auc = "n/a" if report.roc_auc is None else f"{report.roc_auc:.3f}"
    lat = "n/a" if report.median_latency_ms is None else f"{report.median_latency_ms:.1f} ms"
    lines = [
        f"rows: {report.n} (flag {report.positives}, fine {report.n - report.positives}), threshold {report.threshold:.2f}",
        f"precision {report.precision:.3f}  recall {report.recall:.3f}  F1 {report.f1:.3f}  ROC-AUC {auc}",
        f"false-positive rate on fine comments {report.fpr:.3f}  accuracy {report.accuracy:.3f}"
        f"  (tp {report.tp}, fp {report.fp}, tn {report.tn}, fn {report.fn})",
        f"throughput {report.throughput:.0f} comments/s  median latency {lat}",
    ]
    policy = report.policy
    if policy:
        limits = ", ".join(f"{k} {v:g}" for k, v in policy.limits.items())
        lines.append(f"held at the site's limits ({limits}): fine comments published {policy.fine_published:.3f}"
                     f"  flagged comments held {policy.flagged_held:.3f}")
    if report.per_category:
        lines.append("accuracy per category (flagged / decided by the site's limits):" if policy else "accuracy per category:")
        width = max(len(k) for k in report.per_category)
        for cat, (acc, n) in report.per_category.items():
            decided = f"  {policy.per_category[cat]:6.3f}" if policy else ""
            lines.append(f"  {cat:<{width}}  {acc:6.3f}{decided}  (n={n})")
    return "\n".join(lines)
