"""Pick an embedder from settings."""

from __future__ import annotations

from functools import lru_cache

from rag.embedders.base import Embedder


@lru_cache(maxsize=4)
def get_embedder(name: str, batch_size: int = 32) -> Embedder:
    """The embedder for a model name or path (loaded once per process).

    Raises SettingsError when the model cannot be loaded offline.
    """
    from rag.embedders.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(name, batch_size=batch_size)
