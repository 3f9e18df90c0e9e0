"""Pick an embedder from settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rag.config import Settings
from rag.embedders.base import Embedder


def embedder_for(settings: Settings) -> Embedder:
    """The embedder `settings` describe (model, batch size, backend), loaded once per process."""
    return get_embedder(settings.embed_model, settings.embed_batch_size, settings.embed_backend, onnx_dir())


def onnx_dir() -> Path:
    """Where ONNX graphs made from local models are kept: derived data, shared by every RAG_HOME."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("rag-assistant", appauthor=False)) / "onnx"


@lru_cache(maxsize=4)
def get_embedder(name: str, batch_size: int = 32, backend: str = "torch", models_dir: Path | None = None) -> Embedder:
    """The embedder for a model name or path and a backend (loaded once per process).

    Raises SettingsError when the model cannot be loaded offline.
    """
    if backend == "onnx-int8":
        from rag.embedders.onnx import OnnxInt8Embedder

        if models_dir is None:
            raise ValueError("the onnx-int8 backend needs a directory for its model file")
        return OnnxInt8Embedder(name, batch_size, models_dir)
    from rag.embedders.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, batch_size=batch_size, models_dir=models_dir)
