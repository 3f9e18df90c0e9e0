"""Vector stores: chunks and their vectors, kept and searched. One module per backend, one factory."""

from rag.stores.base import StoredDocument, VectorStore
from rag.stores.factory import open_store

__all__ = ["StoredDocument", "VectorStore", "open_store"]
