"""The same sentence-transformers model as an ONNX graph run by onnxruntime (which comes with chromadb).

fp32: the torch model's vectors (cosine 1.0000) at a third of its per-call cost for one short text, so
the default backend embeds questions with it: 8 ms against 27 ms on 2 cores.

int8 (`embed_backend = "onnx-int8"`): faster ingest on a CPU, for a small cost. Activations are
quantized per batch, so a text's vector depends slightly (cosine > 0.98) on the batch it is in.

Both are made from the local model the first time they are needed (`torch.onnx.export`; for int8 then
onnxruntime's dynamic quantization of the MatMul weights, per channel) and kept in the user's cache directory; nothing
is downloaded. `rag bench` measures them. Mean-pooling models (Transformer, Pooling, Normalize) only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.embedders.sentence_transformers import SentenceTransformerEmbedder
from rag.errors import SettingsError
from rag.text import file_slug


def mean_pooling(model: Any) -> bool:
    """Whether `model` (a SentenceTransformer) is Transformer, mean Pooling, Normalize: what `Graph` computes."""
    modules = [type(m).__name__ for m in model]
    return modules == ["Transformer", "Pooling", "Normalize"] and model[1].pooling_mode in ("mean", ("mean",))


def graph_path(models_dir: Path, name: str, kind: str) -> Path:
    """Where the `kind` ("fp32" or "int8") graph of model `name` is kept; a changed model gets a new file."""
    from rag.embedders.sentence_transformers import resolve_model_path

    source = Path(resolve_model_path(name))
    stamp = f"{source.resolve()}:{source.stat().st_mtime_ns if source.exists() else ''}"
    return models_dir / f"{file_slug(name)}-{hashlib.sha256(stamp.encode()).hexdigest()[:10]}-{kind}.onnx"


class Graph:
    """A mean-pooling sentence-transformers model as an onnxruntime session, made from it on first use."""

    def __init__(self, model: Any, path: Path) -> None:
        import onnxruntime

        self._tokenizer, self._max_length = model.tokenizer, model.max_seq_length
        self._inputs = list(model.tokenizer.model_input_names)
        if not path.is_file():
            _export(model[0].auto_model, model.tokenizer, self._inputs, path, quantize=path.stem.endswith("int8"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors of one batch, as a numpy array."""
        import numpy as np

        batch = self._tokenizer(
            list(texts), padding=True, truncation=True, max_length=self._max_length, return_tensors="np"
        )
        hidden = self._session.run(None, {k: batch[k].astype(np.int64) for k in self._inputs})[0]
        mask = batch["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


class OnnxInt8Embedder(SentenceTransformerEmbedder):
    """Tokenizes like the torch model and runs its int8 graph for passages and questions alike."""

    def __init__(self, name: str, batch_size: int, models_dir: Path) -> None:
        super().__init__(name, batch_size)
        if not mean_pooling(self._model):
            modules = " + ".join(type(m).__name__ for m in self._model)
            raise SettingsError(f"embed_backend 'onnx-int8' needs a mean-pooling model; {name!r} is {modules}")
        self._graph = Graph(self._model, graph_path(models_dir, name, "int8"))
        self._query_graph = self._graph

    def _encode(self, texts: Sequence[str]) -> Any:
        return self._graph.encode(texts)


def _export(model: Any, tokenizer: Any, inputs: list[str], path: Path, quantize: bool) -> None:
    """Write the graph of `model` to `path`, int8 if `quantize` (atomically: a kill leaves no half file)."""
    import torch

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
            if quantize:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                quantize_dynamic(
                    str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
                )
            os.replace(int8 if quantize else fp32, path)
    finally:
        root.setLevel(level)
