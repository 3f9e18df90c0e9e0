"""The vector store interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rag.chunks import Chunk


@dataclass
class StoredDocument:
    """What the index holds of one document."""

    doc_id: str
    title: str
    language: str
    source: str
    doc_hashes: set[str] = field(default_factory=set)
    n_chunks: int = 0  # as the chunks themselves declare it
    chunk_ids: set[str] = field(default_factory=set)
    untrusted: int = 0  # chunks holding lines addressed to an assistant (see rag.injection)

    @property
    def complete(self) -> bool:
        """False when an ingest of this document was killed halfway (some chunks, or two versions, stored)."""
        return len(self.doc_hashes) == 1 and len(self.chunk_ids) == self.n_chunks

    def is_complete(self, doc_hash: str) -> bool:
        """True when every chunk of this version of the document is stored, and nothing else."""
        return self.doc_hashes == {doc_hash} and len(self.chunk_ids) == self.n_chunks


class VectorStore(Protocol):
    """Where chunks and their vectors live."""

    location: str  # for messages: a path or a URL

    def fingerprint(self) -> dict[str, str] | None:
        """The settings the stored vectors were made with; None for an empty, new index."""
        ...

    def set_fingerprint(self, fingerprint: dict[str, str]) -> None:
        """Record the settings the vectors are made with."""
        ...

    def version(self) -> str:
        """Changes whenever chunks are written or deleted."""
        ...

    def query(self, vector: Sequence[float], n: int) -> list[tuple[str, float]]:
        """The ids of the `n` nearest chunks with their similarity, best first."""
        ...

    def count(self) -> int:
        """Number of chunks stored."""
        ...

    def documents(self) -> dict[str, StoredDocument]:
        """Every stored document, by id."""
        ...

    def chunks(self) -> list[Chunk]:
        """Every stored chunk, in document order."""
        ...

    def add(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Store chunks with their vectors (ids already present are left as they are)."""
        ...

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Rewrite the metadata of stored chunks (their text and vector stay)."""
        ...

    def delete(self, chunk_ids: Sequence[str]) -> None:
        """Remove chunks by id."""
        ...

    def drop(self) -> None:
        """Delete the whole collection."""
        ...

    def rename(self, new_name: str) -> None:
        """Give the collection another name (the old name must be free)."""
        ...
