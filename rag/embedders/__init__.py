"""Embedders: text in, vectors out. One module per backend, one factory."""

from rag.embedders.base import Embedder
from rag.embedders.factory import embedder_for, get_embedder

__all__ = ["Embedder", "embedder_for", "get_embedder"]
