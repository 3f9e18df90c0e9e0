"""The unit of retrieval and citation: a verbatim slice of one document."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def content_hash(text: str) -> str:
    """SHA-256 of text, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id(doc_id: str, text: str, occurrence: int) -> str:
    """Stable id from content, so a text keeps its id (and its vector) when an edit elsewhere moves it.

    `occurrence` tells identical texts of one document apart.
    """
    key = f"{doc_id}\0{occurrence}\0{text}"
    return f"{doc_id}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


@dataclass(frozen=True)
class Chunk:
    """A chunk: `document_text[start:end] == text`, always."""

    id: str  # see chunk_id()
    doc_id: str
    text: str
    start: int
    end: int
    position: int  # 0-based order within its document
    doc_hash: str  # hash of the whole document text and metadata it was cut from
    n_chunks: int  # how many chunks the document has; a stored document with fewer is incomplete
    title: str = ""
    source: str = ""
    language: str = ""
    page: int = 0  # 1-based PDF page; 0 when the document has no pages
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def chunk_hash(self) -> str:
        """Hash of the chunk's own text."""
        return content_hash(self.text)

    def metadata(self) -> dict[str, Any]:
        """Flat metadata as stored beside the vector."""
        return {
            **self.extra,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "language": self.language,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "position": self.position,
            "doc_hash": self.doc_hash,
            "chunk_hash": self.chunk_hash,
            "n_chunks": self.n_chunks,
        }
