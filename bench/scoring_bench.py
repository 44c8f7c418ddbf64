"""Toxicity scoring per post: model CPU per comment, decisions with and without the shortcuts, and
throughput from many threads.

    python bench/scoring_bench.py [--mix 3000] [--flagged 0.1] [--margins 0.05,0.1,0.2] [--threads 8]

1. Decisions: every row of bench/data/moderation_heldout.csv (2,568 held-out rows + the challenge
   rows) scored in full and with the default policy's limits (extra passes only near a limit);
   the default policy's toxicity action (hold / nudge / none) and the heat bit compared, per margin.
2. First stage: how many held-out rows a lexicon screen ("no lexicon word at all") would let skip
   the encoder, and how many of those the full model holds or nudges (the decisions it would change).
3. CPU: median / mean thread CPU per comment on a traffic-like mix (`--flagged` share of label-1
   rows), full against the shortcut.
4. Throughput: `--threads` threads sharing the process's model score the mix, each text once, in
   full (before) and with the site's limits (after).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from townsquare.domain.tokens import Signer  # noqa: E402
from townsquare.moderation import check_tokens  # noqa: E402
from townsquare.moderation.inputs import Draft, Facts  # noqa: E402
from townsquare.moderation.phases import toxicity as phase  # noqa: E402
from townsquare.moderation.scoring import limits_for  # noqa: E402
from townsquare.moderation.settings import ModerationSettings  # noqa: E402
from townsquare.moderation.toxicity import Limits, ToxicityModel, normalize, word_hits  # noqa: E402

SETTINGS = ModerationSettings()
SIGNER = Signer("bench")


def rows(path: Path) -> list[tuple[str, int, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(r["text"], int(r["label"]), r["category"]) for r in csv.DictReader(f)]


def outcome(result) -> tuple[str | None, bool]:
    """The default policy's toxicity action, and whether the comment counts as a hostile turn."""
    action = phase.check(Draft(text="", created=0.0), Facts(toxicity=result), SETTINGS).action
    return action, phase.hostility(result.scores) >= SETTINGS.heat_hostility


def held(action: str | None) -> bool:
    return action in ("hold", "reject")


def timed(model, texts, limits=None) -> tuple[list, list[float]]:
    """Results, and the thread CPU (ms) each text took."""
    out, cpu = [], []
    for t in texts:
        c = time.thread_time()
        out.append(model.score(t, limits=limits))
        cpu.append((time.thread_time() - c) * 1000)
    return out, cpu


class Counting:
    """The encoder's session, counting runs: a measure of model work that a busy machine does not blur."""

    def __init__(self, session):
        self.session, self.runs = session, 0

    def run(self, *args, **kwargs):
        self.runs += 1
        return self.session.run(*args, **kwargs)


def runs_of(model, texts, limits=None) -> list[int]:
    counter = model.encoder.session = Counting(model.encoder.session)
    try:
        out = []
        for t in texts:
            before = counter.runs
            model.score(t, limits=limits)
            out.append(counter.runs - before)
        return out
    finally:
        model.encoder.session = counter.session


def decisions(model, data, margins) -> None:
    texts = [r[0] for r in data]
    full, cpu_full = timed(model, texts)
    base = [outcome(r) for r in full]
    held_out = [r[2] for r in data if not r[2].startswith("challenge")]
    print(f"1. decisions on {len(texts)} rows ({len(held_out)} held-out); full scoring "
          f"{statistics.mean(cpu_full):.2f} ms CPU per row on average")
    limits = limits_for(SETTINGS)
    for m in margins:
        lim = Limits(act=limits.act, hold=limits.hold, margin=m)
        short, cpu = timed(model, texts, lim)
        got = [outcome(r) for r in short]
        diff_hold = [i for i, (a, b) in enumerate(zip(base, got)) if held(a[0]) != held(b[0])]
        diff_action = [i for i, (a, b) in enumerate(zip(base, got)) if a[0] != b[0]]
        diff_heat = [i for i, (a, b) in enumerate(zip(base, got)) if a[1] != b[1]]
        diff_scores = sum(a.scores != b.scores for a, b in zip(full, short))
        print(f"   margin {m:.2f}: publish/hold differs on {len(diff_hold)}, toxicity action (incl. nudge) on "
              f"{len(diff_action)}, hostile turn on {len(diff_heat)}; scores differ on {diff_scores}; "
              f"CPU {statistics.mean(cpu):.2f} ms per row on average (full {statistics.mean(cpu_full):.2f})")
        for i in diff_action[:5]:
            print(f"      {data[i][2]}: {base[i][0]} -> {got[i][0]}: {texts[i][:90]!r}")
    first_stage(model, data, full, base)


def first_stage(model, data, full, base) -> None:
    """A comment with no lexicon word at all skips the encoder (scores 0): decisions it changes."""
    idx = [i for i, r in enumerate(data) if not r[2].startswith("challenge")]
    clean = [i for i in idx if not word_hits(normalize(data[i][0])[0], model.lexicon)]
    changed_hold = [i for i in clean if held(base[i][0])]
    changed_any = [i for i in clean if base[i][0] is not None or base[i][1]]
    n = len(idx)
    print(f"2. first stage (no lexicon word): skips {len(clean)} of {n} held-out rows ({len(clean) / n:.1%}); "
          f"of those the model holds {len(changed_hold)} ({len(changed_hold) / n:.1%} of all decisions), "
          f"holds, nudges or counts as hostile {len(changed_any)} ({len(changed_any) / n:.1%})")
    ch = [i for i, r in enumerate(data) if r[2].startswith("challenge")]
    cc = [i for i in ch if not word_hits(normalize(data[i][0])[0], model.lexicon)]
    print(f"   challenge rows: skips {len(cc)} of {len(ch)}, of which held by the model {sum(held(base[i][0]) for i in cc)}")


def mix(data, n: int, flagged: float, seed: int = 7) -> list[str]:
    bad = [r[0] for r in data if r[1] == 1]
    fine = [r[0] for r in data if r[1] == 0]
    rng = random.Random(seed)
    k = round(n * flagged)
    texts = [rng.choice(bad) for _ in range(k)] + [rng.choice(fine) for _ in range(n - k)]
    rng.shuffle(texts)
    return texts


def cpu(model, texts) -> None:
    limits = limits_for(SETTINGS)
    _, before = timed(model, texts)
    _, after = timed(model, texts, limits)
    q = statistics.quantiles
    print(f"3. model CPU per comment on the mix ({len(texts)}): full median {statistics.median(before):.2f} ms, "
          f"mean {statistics.mean(before):.2f}, p90 {q(before, n=10)[-1]:.2f}; with limits median "
          f"{statistics.median(after):.2f} ms, mean {statistics.mean(after):.2f}, p90 {q(after, n=10)[-1]:.2f}")
    rb, ra = runs_of(model, texts), runs_of(model, texts, limits)
    print(f"   encoder runs per comment: full mean {statistics.mean(rb):.3f} (total {sum(rb)}), "
          f"with limits {statistics.mean(ra):.3f} (total {sum(ra)}); median {statistics.median(rb):.0f} / {statistics.median(ra):.0f}")
    token = check_tokens.issue(SIGNER, "bench", texts[0], model.score(texts[0]))
    c = time.thread_time()
    for t in texts:
        check_tokens.redeem(SIGNER, token, "bench", t)
    print(f"   redeeming a check token: {(time.thread_time() - c) * 1000 / len(texts):.3f} ms CPU")


def throughput(score, texts, threads: int) -> tuple[float, float]:
    """Comments per second, and process CPU (ms) per comment: the second is what other jobs on a
    shared machine blur least."""
    work = iter(range(len(texts)))
    lock = threading.Lock()

    def run():
        while True:
            with lock:
                i = next(work, None)
            if i is None:
                return
            score(texts[i])

    ts = [threading.Thread(target=run) for _ in range(threads)]
    t0, c0 = time.perf_counter(), time.process_time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return len(texts) / (time.perf_counter() - t0), (time.process_time() - c0) * 1000 / len(texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", type=Path, default=REPO / "bench/data/moderation_heldout.csv")
    ap.add_argument("--mix", type=int, default=3000)
    ap.add_argument("--flagged", type=float, default=0.1)
    ap.add_argument("--margins", default="0.05,0.1,0.15,0.2")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--only", default="decisions,cpu,throughput")
    args = ap.parse_args()
    model = ToxicityModel.load()
    data = rows(args.csv)
    model.score_many([r[0] for r in data[:16]])  # warm up
    only = args.only.split(",")
    if "decisions" in only:
        decisions(model, data, [float(m) for m in args.margins.split(",")])
    texts = mix(data, args.mix, args.flagged)
    if "cpu" in only:
        cpu(model, texts)
    if "throughput" in only:
        limits = limits_for(SETTINGS)
        for _ in range(3):  # interleaved, three times: the machine is shared
            before = throughput(model.score, texts, args.threads)
            after = throughput(lambda t: model.score(t, limits), texts, args.threads)
            print(f"4. {args.threads} threads, {len(texts)} comments, comments/s (CPU ms per comment): in full "
                  f"{before[0]:.0f} ({before[1]:.2f}), with the site's limits {after[0]:.0f} ({after[1]:.2f})")


if __name__ == "__main__":
    main()
