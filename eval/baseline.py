"""The pipeline a user would write with the same libraries: the yardstick of `rag bench`.

llama-index defaults throughout: `SimpleDirectoryReader`, `VectorStoreIndex.from_documents` with its
default `SentenceSplitter` (1024 tokens, 200 overlap), the same embedding model through llama-index's
`HuggingFaceEmbedding`, a `ChromaVectorStore`, dense retrieval only. Nothing is tuned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUFFIXES = [".md", ".txt"]  # what the synthetic and bundled corpora hold (sidecar .meta.yaml files are not documents)


@dataclass
class BaselineIndex:
    """A built baseline index and what building it cost."""

    index: Any
    collection: Any  # the Chroma collection under it
    seconds: float
    documents: int
    chunks: int

    def retrieve(self, question: str, k: int) -> list[tuple[str, str]]:
        """(document id, text) of the `k` nearest chunks; the id is the file name without its suffix."""
        nodes = self.index.as_retriever(similarity_top_k=k).retrieve(question)
        return [(Path(str(n.node.metadata.get("file_name", ""))).stem, n.node.get_content()) for n in nodes]

    def word_pieces(self, count_tokens: Callable[[str], int], window: int) -> tuple[int, int]:
        """Word pieces of the stored chunks that reach the model (inside its window), and all of them.

        llama-index's 1024-token chunks meet MiniLM's 256-piece window, and the model truncates silently.
        """
        counts = [count_tokens(t) for t in self.collection.get(include=["documents"])["documents"] or []]
        return sum(min(n, window) for n in counts), sum(counts)


def load_embedding(model_path: str) -> Any:
    """llama-index's HuggingFaceEmbedding on the bundled model, on the CPU, offline."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=model_path, device="cpu")


def build(corpus: Path, chroma_path: Path, embedding: Any) -> BaselineIndex:
    """Read, split, embed and store `corpus` the plain llama-index way, timed from reading to stored."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    started = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus), recursive=True, required_exts=SUFFIXES).load_data()
    client = chromadb.PersistentClient(path=str(chroma_path), settings=ChromaSettings(anonymized_telemetry=False))
    # embedding_function=None: Chroma's default one would download an ONNX model.
    collection = client.get_or_create_collection("baseline", embedding_function=None)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embedding)
    seconds = time.perf_counter() - started
    return BaselineIndex(index, collection, seconds, len(documents), int(collection.count()))
