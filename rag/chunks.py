"""The unit of retrieval and citation: a verbatim slice of one document."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


def content_hash(text: str) -> str:
    """SHA-256 of text, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Chunk:
    """A chunk: `document_text[start:end] == text`, always."""

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

    @property
    def id(self) -> str:
        """Stable id: the same document, place and text always give the same id."""
        key = f"{self.doc_id}\0{self.start}\0{self.text}"
        return f"{self.doc_id}:{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"

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
