"""Townsquare against Isso and against the constant-response ceiling, from the harness's JSON lines.

    python bench/ratios.py --townsquare T.jsonl --isso I.jsonl --limit L.jsonl

Prints a Markdown table: one row per target of the discussion-core issue, with the median over
rounds of each side, the ratio, the target and whether it is met. Each comparison uses the same
client engine on both sides (the harness's raw client, or wrk). The last column is the highest
`other CPU` (cores used by unrelated processes) among the rows compared: above ~0.2 the machine
was not quiet and the figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def read_rows(path: str | None) -> list[dict]:
    if not path or not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def pick(rows: list[dict], scenario: str, server_prefix: str | None = None) -> list[dict]:
    return [r for r in rows if r["scenario"] == scenario
            and (server_prefix is None or r["server"].startswith(server_prefix))]


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def noise(*groups: list[dict]) -> float | None:
    values = [r.get("other_cpu_cores") for g in groups for r in g if r.get("other_cpu_cores") is not None]
    return max(values) if values else None


def fmt(v: float | None, nd: int = 1) -> str:
    if v is None:
        return "–"
    if 0 < abs(v) < 1:
        return f"{v:.2g}"
    return f"{v:,.{nd}f}"


def side(rows: list[dict], key: str, unit: str) -> str:
    """The median, or what went wrong when no request succeeded."""
    value = median(rows, key)
    if rows and not any(r.get("ok") for r in rows):
        errors = sum(r.get("errors", 0) for r in rows)
        return f"0 ok ({errors} errors)"
    return f"{fmt(value)} {unit}"


def ratio_row(label, ours, theirs, key, target, higher_is_better=True, unit="req/s"):
    """One table row; `target` None marks a row the issue gives no ratio for."""
    a, b = median(ours, key), median(theirs, key)
    if a and theirs and b == 0 and higher_is_better:
        r, met = float("inf"), "yes"
    elif a is None or b is None or b == 0:
        r, met = None, "–"
    else:
        r = a / b if higher_is_better else b / a
        met = "yes" if target is None or r >= target else "no"
    if target is None:  # informational: the issue sets no ratio for this row
        target, tgt, met = 1, "–", "–"
    else:
        tgt = f"≥ {target:g}×" if target >= 1 else f"≥ {target:.0%}"
    if r is None:
        shown = "–"
    elif r == float("inf"):
        shown = "∞ (other side: no answer)"
    else:
        shown = f"{r:,.1f}×" if target >= 1 else f"{r:.0%}"
    return [label, side(ours, key, unit), side(theirs, key, unit), shown, tgt, met, fmt(noise(ours, theirs), 2)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--townsquare", required=True)
    ap.add_argument("--notox", help="b_write results with the toxicity model off in the site's rules")
    ap.add_argument("--isso")
    ap.add_argument("--limit")
    ap.add_argument("--ceiling", default="uvicorn", help="server name prefix of the ceiling rows (default uvicorn)")
    args = ap.parse_args()
    ts, isso, lim = read_rows(args.townsquare), read_rows(args.isso), read_rows(args.limit)
    notox = read_rows(args.notox)

    out = [["comparison", "Townsquare", "other side", "ratio", "target", "met", "max other CPU"]]
    out.append(ratio_row("read 200-comment thread vs Isso (a_read, raw client)",
                         pick(ts, "a_read"), pick(isso, "a_read"), "rps_ok", 100))
    out.append(ratio_row("read 200-comment thread vs ceiling (a_read, raw client)",
                         pick(ts, "a_read"), pick(lim, "a_read", args.ceiling), "rps_ok", 0.3))
    if pick(ts, "a_read_wrk"):
        out.append(ratio_row("read 200-comment thread vs Isso (a_read_wrk, wrk client)",
                             pick(ts, "a_read_wrk"), pick(isso, "a_read_wrk"), "rps_ok", 100))
        out.append(ratio_row("read 200-comment thread vs ceiling (a_read_wrk, wrk client)",
                             pick(ts, "a_read_wrk"), pick(lim, "a_read_wrk", args.ceiling), "rps_ok", 0.3))
        out.append(ratio_row("read 200-comment thread vs ceiling (a_read_wrk vs plain wrk)",
                             pick(ts, "a_read_wrk"), pick(lim, "wrk_plain", args.ceiling), "rps_ok", 0.3))
    out.append(ratio_row("post a comment, full moderation pipeline, vs Isso (b_write)", pick(ts, "b_write"),
                         pick(isso, "b_write"), "rps_ok", 1))
    if notox:
        out.append(ratio_row("post a comment, toxicity model off, vs Isso (b_write)", pick(notox, "b_write"),
                             pick(isso, "b_write"), "rps_ok", 2))
    out.append(ratio_row("counts of 50 URIs vs Isso (c_counts)", pick(ts, "c_counts"), pick(isso, "c_counts"),
                         "rps_ok", 5))
    if pick(ts, "c_counts_wrk"):
        out.append(ratio_row("counts of 50 URIs vs Isso (c_counts_wrk)", pick(ts, "c_counts_wrk"),
                             pick(isso, "c_counts_wrk"), "rps_ok", 5))
    big = pick(ts, "d_read_big_c1")
    p50 = median(big, "p50_ms")
    out.append(["2,000-comment thread, 100k stored, c=1: median latency", f"{fmt(p50)} ms",
                side(pick(isso, "d_read_big_c1"), "p50_ms", "ms"), "–", "< 100 ms",
                "–" if p50 is None else ("yes" if p50 < 100 else "no"), fmt(noise(big), 2)])
    out.append(ratio_row("2,000-comment thread, 100k stored, c=1 vs Isso", big, pick(isso, "d_read_big_c1"),
                         "rps_ok", None))
    out.append(ratio_row("2,000-comment thread, 100k stored, c=4 vs Isso", pick(ts, "d_read_big_c4"),
                         pick(isso, "d_read_big_c4"), "rps_ok", None))
    out.append(ratio_row("counts of 50 URIs, 100k stored vs Isso (d_counts_big)", pick(ts, "d_counts_big"),
                         pick(isso, "d_counts_big"), "rps_ok", None))

    writes = pick(ts, "b_write")
    lost = [r.get("lost_writes") for r in writes]
    seed = pick(ts, "d_seed_direct")

    print("| " + " | ".join(out[0]) + " |")
    print("|" + "---|" * len(out[0]))
    for row in out[1:]:
        print("| " + " | ".join(row) + " |")
    print()
    print(f"- lost writes (Townsquare b_write, per round): {lost or '–'} (target: 0); acknowledged but "
          f"missing from the database: {[r.get('lost_writes_db') for r in writes] or '–'}; held by moderation "
          f"(stored as pending, so not visible through counts, which the harness counts as lost): "
          f"{[(r.get('db_statuses') or {}).get('pending', 0) for r in writes] or '–'}")
    print(f"- Townsquare b_write p50 / p99: {fmt(median(writes, 'p50_ms'))} / {fmt(median(writes, 'p99_ms'))} ms")
    for name, rows in (("Townsquare", pick(ts, "a_read")), ("Isso", pick(isso, "a_read")),
                       ("ceiling", pick(lim, "a_read", args.ceiling))):
        print(f"- {name} a_read p50 / p99: {fmt(median(rows, 'p50_ms'))} / {fmt(median(rows, 'p99_ms'))} ms")
    if seed:
        s = seed[-1]
        print(f"- 100k seed (direct SQL, incl. Markdown rendering {s.get('render_s')} s): {s['elapsed_s']} s")
    rounds = {name: sorted({r['run'] for r in rows}) for name, rows in (("townsquare", ts), ("isso", isso), ("limit", lim))}
    print(f"- rounds: {rounds}; medians over rounds; ratios compare the same client engine")


if __name__ == "__main__":
    main()
