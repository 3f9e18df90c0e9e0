"""Chroma backend: embedded `PersistentClient` under home, or a server through `HttpClient`.

Writes go through llama-index's `ChromaVectorStore`; bookkeeping reads the raw collection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from rag.chunks import Chunk
from rag.config import Settings
from rag.errors import SettingsError, StoreUnavailableError
from rag.stores.base import StoredDocument

FINGERPRINT_PREFIX = "fp:"
PAGE = 5000  # rows per read when listing a collection


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if not settings.chroma_url:
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise SettingsError(f"chroma_url {settings.chroma_url!r} is not an http://HOST:PORT address")
    port = url.port or (443 if url.scheme == "https" else 8000)
    try:
        return chromadb.HttpClient(
            host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
        )
    except Exception as exc:  # chromadb raises ValueError, httpx errors or others when nothing answers
        raise StoreUnavailableError(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from None


class ChromaStore:
    """Chunks and vectors in one Chroma collection; the index fingerprint in its metadata."""

    def __init__(self, client: Any, collection: Any, location: str) -> None:
        self._client = client
        self._collection = collection
        self.location = location

    @classmethod
    def open(cls, settings: Settings, name: str) -> ChromaStore:
        """Open (creating if needed) the collection `name`. Raises StoreUnavailableError."""
        location = settings.chroma_url or str(settings.chroma_path)
        client = _client(settings)
        with _reachable(location):
            collection = client.get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        return cls(client, collection, location)

    @property
    def name(self) -> str:
        """The collection's name."""
        return str(self._collection.name)

    def fingerprint(self) -> dict[str, str] | None:
        """The settings the stored vectors were made with; None for a new index."""
        with _reachable(self.location):
            meta = self._collection.metadata or {}
        fp = {k[len(FINGERPRINT_PREFIX) :]: str(v) for k, v in meta.items() if k.startswith(FINGERPRINT_PREFIX)}
        return fp or None

    def set_fingerprint(self, fingerprint: dict[str, str]) -> None:
        """Record the settings the vectors are made with."""
        with _reachable(self.location):
            self._collection.modify(metadata={FINGERPRINT_PREFIX + k: v for k, v in fingerprint.items()})

    def count(self) -> int:
        """Number of chunks stored."""
        with _reachable(self.location):
            return int(self._collection.count())

    def _metadatas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            with _reachable(self.location):
                rows = self._collection.get(include=["metadatas"], limit=PAGE, offset=offset)
            yield from zip(rows["ids"], rows["metadatas"] or [], strict=True)
            if len(rows["ids"]) < PAGE:
                return
            offset += PAGE

    def documents(self) -> dict[str, StoredDocument]:
        """Every stored document, by id."""
        docs: dict[str, StoredDocument] = {}
        for chunk_id, meta in self._metadatas():
            doc_id = str(meta.get("doc_id", ""))
            doc = docs.get(doc_id)
            if doc is None:
                doc = docs[doc_id] = StoredDocument(
                    doc_id=doc_id,
                    title=str(meta.get("title", "")),
                    language=str(meta.get("language", "")),
                    source=str(meta.get("source", "")),
                    n_chunks=int(meta.get("n_chunks", 0)),
                )
            doc.doc_hashes.add(str(meta.get("doc_hash", "")))
            doc.chunk_ids.add(chunk_id)
        return docs

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Store chunks with their vectors."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        nodes = [
            TextNode(
                id_=chunk.id,
                text=chunk.text,
                metadata=chunk.metadata(),
                embedding=list(vector),
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
            )
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        with _reachable(self.location):
            ChromaVectorStore(chroma_collection=self._collection).add(nodes)

    def delete(self, chunk_ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        ids = list(chunk_ids)
        for start in range(0, len(ids), PAGE):
            with _reachable(self.location):
                self._collection.delete(ids=ids[start : start + PAGE])

    def drop(self) -> None:
        """Delete the whole collection."""
        with _reachable(self.location):
            self._client.delete_collection(self.name)

    def rename(self, new_name: str) -> None:
        """Give the collection another name (the old name must be free)."""
        with _reachable(self.location):
            self._collection.modify(name=new_name)


@contextlib.contextmanager
def _reachable(location: str) -> Iterator[None]:
    """Turn connection failures into one clear StoreUnavailableError."""
    try:
        yield
    except (ConnectionError, OSError) as exc:
        raise StoreUnavailableError(f"cannot reach the Chroma store at {location}: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise StoreUnavailableError(f"cannot reach the Chroma server at {location}: {exc}") from None
        raise
