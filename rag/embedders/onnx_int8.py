"""The same sentence-transformers model as an int8 ONNX graph: faster ingest on a CPU, for a small cost.

`embed_backend = "onnx-int8"` makes it from the local model the first time (`torch.onnx.export`, then
onnxruntime's dynamic quantization of the MatMul weights, per channel) and keeps it under HOME/models;
nothing is downloaded. onnxruntime comes with chromadb. `rag bench` measures the speed and the hit@k
against the torch model. Activations are quantized per batch, so a text's vector depends slightly (cosine
> 0.98) on the batch it is in. Mean-pooling models (Transformer, Pooling, Normalize) only.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.embedders.sentence_transformers import SentenceTransformerEmbedder
from rag.errors import SettingsError


class OnnxInt8Embedder(SentenceTransformerEmbedder):
    """Tokenizes like the torch model, runs the int8 graph with onnxruntime, mean-pools and normalizes."""

    backend = "onnx-int8"

    def __init__(self, name: str, batch_size: int, models_dir: Path) -> None:
        super().__init__(name, batch_size)
        modules = [type(m).__name__ for m in self._model]
        if modules != ["Transformer", "Pooling", "Normalize"] or self._model[1].pooling_mode not in ("mean", ("mean",)):
            raise SettingsError(
                f"embed_backend 'onnx-int8' needs a mean-pooling model; {name!r} is {' + '.join(modules)}"
            )
        self._inputs = list(self._model.tokenizer.model_input_names)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[-80:] or "model"
        path = models_dir / f"{slug}-int8.onnx"
        if not path.is_file():
            _export_int8(self._model[0].auto_model, self._model.tokenizer, self._inputs, path)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        batch = self._model.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self._model.max_seq_length, return_tensors="np"
        )
        hidden = self._session.run(None, {k: batch[k].astype(np.int64) for k in self._inputs})[0]
        mask = batch["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def _export_int8(model: Any, tokenizer: Any, inputs: list[str], path: Path) -> None:
    """Write the int8 graph of `model` to `path` (atomically: a kill leaves no half file)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            return self.model(**dict(zip(inputs, args, strict=True))).last_hidden_state

    sample = tokenizer(["an example sentence"], return_tensors="pt")
    axes = {n: {0: "batch", 1: "tokens"} for n in [*inputs, "last_hidden_state"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer advises pre-processing the graph, on the root logger
    try:
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's and the legacy exporter's notices
            fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
            torch.onnx.export(
                LastHiddenState().eval(),
                tuple(sample[n] for n in inputs),
                str(fp32),
                input_names=inputs,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
            quantize_dynamic(
                str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
            )
            os.replace(int8, path)
    finally:
        root.setLevel(level)
