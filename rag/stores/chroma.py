"""Chroma backend: embedded `PersistentClient` under home, or a server through `HttpClient`.

Writes go through llama-index's `ChromaVectorStore`; bookkeeping reads the raw collection.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

from rag.chunks import Chunk
from rag.config import Settings
from rag.errors import SettingsError, StoreUnavailableError
from rag.injection import UNTRUSTED
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
        return chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings)
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
        meta = self._metadata()
        fp = {k[len(FINGERPRINT_PREFIX) :]: str(v) for k, v in meta.items() if k.startswith(FINGERPRINT_PREFIX)}
        return fp or None

    def set_fingerprint(self, fingerprint: dict[str, str]) -> None:
        """Record the settings the vectors are made with."""
        self._set_metadata({FINGERPRINT_PREFIX + k: v for k, v in fingerprint.items()})

    def version(self) -> str:
        """Changes whenever chunks are written or deleted (readers use it to refresh their caches).

        Every write moves it before and after it lands, so a writer killed half-way has moved it too. No
        count here: Chroma counts rows on every call (15 ms at 100k chunks, twice per question).
        """
        return str(self._metadata().get("version", ""))

    def _touch(self) -> None:
        self._set_metadata({"version": uuid.uuid4().hex})

    def _metadata(self) -> dict[str, Any]:
        with _reachable(self.location):  # read afresh: another process may have written since
            return dict(self._client.get_collection(self.name).metadata or {})

    def _set_metadata(self, values: dict[str, str]) -> None:
        current = self._metadata()
        with _reachable(self.location):
            self._collection.modify(metadata={**current, **values})

    def count(self) -> int:
        """Number of chunks stored."""
        with _reachable(self.location):
            return int(self._collection.count())

    def _rows(self, include: list[str]) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            with _reachable(self.location):
                rows = self._collection.get(include=include, limit=PAGE, offset=offset)
            yield rows
            if len(rows["ids"]) < PAGE:
                return
            offset += PAGE

    def _metadatas(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for rows in self._rows(["metadatas"]):
            yield from zip(rows["ids"], rows["metadatas"] or [], strict=True)

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, rebuilt from its text and metadata, in document order."""
        out = []
        for rows in self._rows(["metadatas", "documents"]):
            for row in zip(rows["ids"], rows["documents"] or [], rows["metadatas"] or [], strict=True):
                out.append(chunk_from_metadata(*row))
        return sorted(out, key=lambda c: (c.doc_id, c.position))

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
            doc.untrusted += UNTRUSTED in meta
        return docs

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Store chunks with their vectors."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        nodes = [_node(chunk, list(vector)) for chunk, vector in zip(chunks, vectors, strict=True)]
        self._touch()
        with _reachable(self.location):
            ChromaVectorStore(chroma_collection=self._collection).add(nodes)
        self._touch()

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the metadata of stored chunks (their text and vector stay)."""
        if not chunks:
            return
        from llama_index.core.vector_stores.utils import node_to_metadata_dict

        self._touch()
        for start in range(0, len(chunks), PAGE):
            batch = chunks[start : start + PAGE]
            metadatas = [
                {k: ("" if v is None else v) for k, v in node_to_metadata_dict(_node(c), remove_text=True).items()}
                for c in batch
            ]
            with _reachable(self.location):
                self._collection.update(ids=[c.id for c in batch], metadatas=metadatas)
        self._touch()

    def delete(self, chunk_ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        ids = list(chunk_ids)
        if not ids:
            return
        self._touch()
        for start in range(0, len(ids), PAGE):
            with _reachable(self.location):
                self._collection.delete(ids=ids[start : start + PAGE])
        self._touch()

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        """The ids of the `n` nearest chunks with their cosine similarity, best first."""
        with _reachable(self.location):
            found = self._collection.query(query_embeddings=[list(vector)], n_results=n, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(found["ids"][0], (found["distances"] or [[]])[0], strict=True)]

    def drop(self) -> None:
        """Delete the whole collection."""
        with _reachable(self.location):
            self._client.delete_collection(self.name)

    def rename(self, new_name: str) -> None:
        """Give the collection another name (the old name must be free)."""
        with _reachable(self.location):
            self._collection.modify(name=new_name)


def _node(chunk: Chunk, vector: list[float] | None = None) -> Any:
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata=chunk.metadata(),
        embedding=vector,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
    )


def chunk_from_metadata(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    """The Chunk that `Chunk.metadata()` was made from."""
    own = set(Chunk.__dataclass_fields__) | {"chunk_hash"}
    extra = {
        k: str(v)
        for k, v in meta.items()
        if k not in own and not k.startswith("_") and k not in ("document_id", "ref_doc_id")
    }
    return Chunk(
        id=chunk_id,
        doc_id=str(meta["doc_id"]),
        text=text,
        start=int(meta["start"]),
        end=int(meta["end"]),
        position=int(meta["position"]),
        doc_hash=str(meta["doc_hash"]),
        n_chunks=int(meta["n_chunks"]),
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        language=str(meta.get("language", "")),
        page=int(meta.get("page", 0)),
        extra=extra,
    )


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
