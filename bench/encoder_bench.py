"""Compare two encoder ONNX files: embedding agreement, CPU time per comment, load time, memory.

    python bench/encoder_bench.py NEW.onnx [REFERENCE.onnx ...]

Each file is loaded the way the server loads it (toxicity.encoder_session) and run on the
bench file's comments one at a time; cosines are against the first reference.
"""

from __future__ import annotations

import csv
import resource
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from townsquare.moderation import toxicity as tx  # noqa: E402


def texts(n: int = 200) -> list[str]:
    rows = list(csv.DictReader((REPO / "bench" / "data" / "moderation_heldout.csv").open(encoding="utf-8")))
    return [r["text"] for r in rows[:n]]


def run(path: Path, items: list[str]):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tx.DEFAULT_MODEL_DIR / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.no_padding()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.process_time()
    session = tx.encoder_session(path)
    load = time.process_time() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out, cpu = [], []
    for t in items:
        ids = np.array([tok.encode(t).ids], dtype=np.int64)
        t0 = time.process_time()
        e = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        cpu.append(time.process_time() - t0)
        out.append(e / np.linalg.norm(e))
    return np.array(out), np.array(cpu) * 1000, load, (rss1 - rss0) / 1024


if __name__ == "__main__":
    items = texts()
    results = {}
    for p in sys.argv[1:]:
        results[p] = run(Path(p), items)
    ref = results[sys.argv[2]][0] if len(sys.argv) > 2 else None
    for p, (emb, ms, load, mb) in results.items():
        line = f"{Path(p).name:28s} CPU ms/comment median {np.median(ms):.1f} p90 {np.percentile(ms, 90):.1f}" \
               f" | load {load:.2f}s | peak RSS +{mb:.0f} MB"
        if ref is not None and p != sys.argv[2]:
            cos = (emb * ref).sum(1)
            line += f" | cosine to ref min {cos.min():.6f} median {np.median(cos):.6f}" \
                    f" | max abs diff {np.abs(emb - ref).max():.2e}"
        print(line)
