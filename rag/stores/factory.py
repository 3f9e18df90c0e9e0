"""Open the vector store that settings name."""

from __future__ import annotations

from rag.config import Settings
from rag.stores.base import VectorStore


def open_store(settings: Settings, collection: str | None = None) -> VectorStore:
    """The Chroma store of the settings: a server when `chroma_url` is set, else embedded under home.

    Raises StoreUnavailableError when it cannot be reached.
    """
    from rag.stores.chroma import ChromaStore

    return ChromaStore.open(settings, collection or settings.collection)
