"""Where the encoder's CPU goes on the load harness's comment texts, and what two changes would save.

    .venv/bin/python bench/encoder_cost.py [--texts 200]

1. The server's session (`toxicity.encoder_session`: int8 weights in the file, float32 arithmetic)
   against the same graph with every weight dequantized ONCE beforehand with numpy (each
   DequantizeLinear of an initializer replaced by its float32 result) and optimised fully: CPU
   per text and the largest embedding difference. Needs the `onnx` package (not a dependency of
   the project: `pip install onnx`); skipped without it.
2. The session's operators, by share of kernel time (ONNX Runtime's own profile): whether any
   DequantizeLinear still runs per inference, and how much is matrix multiplication.
3. Batches of 8 texts of similar length (padded, with the attention mask) against one at a time:
   CPU per text, and how far a text's embedding moves with its batch-mates.

CPU is the calling thread's (`time.thread_time`; one intra-op thread, as the server runs it).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED") or ROOT.parent / "shared" / "bench")  # as in bench/run.sh
sys.path.insert(0, str(ROOT / "src"))
from townsquare.moderation import toxicity as tx  # noqa: E402

MODEL = tx.DEFAULT_MODEL_DIR / "encoder.int8.onnx"


def bench_ids(n: int) -> list[np.ndarray]:
    sys.path.insert(0, str(SHARED))
    from load import make_text  # the harness's comment bodies, so figures match b_write
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tx.DEFAULT_MODEL_DIR / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.no_padding()
    rng = random.Random(7)
    return [np.array([tok.encode(make_text(rng, i)).ids], dtype=np.int64) for i in range(n)]


def run_each(session, ids: list[np.ndarray], rounds: int = 2) -> tuple[np.ndarray, float]:
    """Embeddings (first round) and the median CPU ms per text over all rounds."""
    out, cpu = [], []
    for r in range(rounds):
        for x in ids:
            t0 = time.thread_time()
            e = session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0]
            cpu.append(time.thread_time() - t0)
            if r == 0:
                out.append(e)
    return np.array(out), float(np.median(cpu) * 1000)


def dequantized_session():
    """The same graph with its weights dequantized once, in numpy; None without `onnx`."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return None
    import onnxruntime as ort

    model = onnx.load(str(MODEL))
    known = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            known.update({node.output[0]: numpy_helper.to_array(a.t) for a in node.attribute if a.name == "value"})
    kept, weights = [], []
    for node in model.graph.node:
        inputs = [known.get(name) for name in node.input]
        if node.op_type == "DequantizeLinear" and inputs[0] is not None and inputs[1] is not None:
            q, scale = inputs[0], inputs[1]
            zero = inputs[2] if len(inputs) > 2 and inputs[2] is not None else np.zeros_like(scale)
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * q.ndim
            if scale.ndim == 1 and scale.size > 1:
                shape[axis % q.ndim] = -1
            w = (q.astype(np.float32) - zero.astype(np.float32).reshape(shape or [1])) * scale.reshape(shape or [1])
            weights.append(numpy_helper.from_array(w.astype(np.float32), node.output[0]))
        else:
            kept.append(node)
    used = {name for node in kept for name in node.input}
    initializers = [i for i in model.graph.initializer if i.name in used] + weights
    del model.graph.node[:]
    model.graph.node.extend(kept)
    del model.graph.initializer[:]
    model.graph.initializer.extend(initializers)
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def operator_shares(ids: list[np.ndarray]) -> list[tuple[str, float, float]]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.disable_quant_qdq", "1")
    so.enable_profiling = True
    so.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "encoder")
    session = ort.InferenceSession(str(MODEL), so, providers=["CPUExecutionProvider"])
    run_each(session, ids, rounds=1)
    path = session.end_profiling()
    spent: collections.Counter[str] = collections.Counter()
    for event in json.loads(Path(path).read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            spent[event["args"]["op_name"]] += event["dur"]
    Path(path).unlink()
    total = sum(spent.values())
    return [(op, us / total, us / len(ids) / 1000) for op, us in spent.most_common()]


def batched(session, ids: list[np.ndarray], alone: np.ndarray, size: int = 8) -> tuple[float, float]:
    """CPU ms per text in batches of `size` texts of neighbouring lengths, and the largest
    difference of any embedding component from the text run alone."""
    order = sorted(range(len(ids)), key=lambda i: ids[i].shape[1])
    cpu, diff = 0.0, 0.0
    for k in range(0, len(order), size):
        group = order[k:k + size]
        width = max(ids[i].shape[1] for i in group)
        batch = np.zeros((len(group), width), np.int64)
        mask = np.zeros_like(batch)
        for row, i in enumerate(group):
            batch[row, :ids[i].shape[1]] = ids[i][0]
            mask[row, :ids[i].shape[1]] = 1
        t0 = time.thread_time()
        out = session.run(None, {"input_ids": batch, "attention_mask": mask})[0]
        cpu += time.thread_time() - t0
        diff = max(diff, max(float(np.abs(out[row] - alone[i]).max()) for row, i in enumerate(group)))
    return cpu / len(ids) * 1000, diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=200)
    args = ap.parse_args()
    ids = bench_ids(args.texts)
    print(f"{len(ids)} texts, median {int(np.median([x.shape[1] for x in ids]))} tokens")
    server = tx.encoder_session(MODEL)
    run_each(server, ids[:10], rounds=1)  # warm up
    alone, ms = run_each(server, ids)
    print(f"server session (int8 file, float32 arithmetic): {ms:.2f} ms CPU per text, median")
    pre = dequantized_session()
    if pre is None:
        print("weights dequantized once in numpy: skipped (no onnx package)")
    else:
        run_each(pre, ids[:10], rounds=1)
        emb, ms_pre = run_each(pre, ids)
        _, ms_again = run_each(server, ids)
        print(f"weights dequantized once in numpy: {ms_pre:.2f} ms (server session again: {ms_again:.2f} ms), "
              f"largest embedding difference {np.abs(emb - alone).max():.1e}")
    shares = operator_shares(ids)
    print("operators by kernel time: " + ", ".join(f"{op} {share:.1%}" for op, share, _ in shares[:6]))
    dq = [s for s in shares if s[0] == "DequantizeLinear"]
    print(f"DequantizeLinear per inference: {dq[0][2]:.3f} ms" if dq else "DequantizeLinear per inference: none ran")
    per_text, diff = batched(server, ids, alone)
    print(f"batches of 8 of neighbouring lengths: {per_text:.2f} ms CPU per text, "
          f"largest embedding difference from alone {diff:.1e}")


if __name__ == "__main__":
    main()
