"""Hybrid retrieval: dense search in the vector store plus BM25 over the same chunks, fused by RRF.

The BM25 side is rebuilt from the store whenever the store's version changes, so it is never stale,
whoever wrote to the store (this process, another `rag ingest`, a UI upload).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.chunks import Chunk
from rag.embedders import Embedder
from rag.errors import EmptyIndexError
from rag.stores import VectorStore
from rag.text import expand, guess_language, tokenize

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.)


@dataclass
class Retrieved:
    """A retrieved chunk with the scores that put it there."""

    chunk: Chunk
    score: float  # fused
    dense: float | None = None  # cosine similarity
    dense_rank: int | None = None
    bm25: float | None = None
    bm25_rank: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Scores and location, for `--trace` and JSON output."""
        return {
            "chunk_id": self.chunk.id,
            "doc_id": self.chunk.doc_id,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 4),
            "dense_rank": self.dense_rank,
            "bm25": None if self.bm25 is None else round(self.bm25, 4),
            "bm25_rank": self.bm25_rank,
        }


class HybridRetriever:
    """Dense + BM25, fused with reciprocal rank fusion."""

    def __init__(self, store: VectorStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self._version: str | None = None
        self._chunks: dict[str, Chunk] = {}
        self._order: list[str] = []
        self._bm25: Any = None
        self._at: dict[tuple[str, int], Chunk] = {}  # (doc id, position) -> chunk

    def chunks(self) -> dict[str, Chunk]:
        """Every indexed chunk by id, refreshed if the store changed."""
        self._sync()
        return self._chunks

    def _sync(self) -> None:
        version = self.store.version()
        if version == self._version:
            return
        import bm25s

        chunks = self.store.chunks()
        self._chunks = {c.id: c for c in chunks}
        self._order = [c.id for c in chunks]
        self._at = {(c.doc_id, c.position): c for c in chunks}
        self._bm25 = None
        if chunks:
            self._bm25 = bm25s.BM25()
            self._bm25.index([tokenize(f"{c.title}\n{c.text}") or ["_"] for c in chunks], show_progress=False)
        self._version = version

    def text_before(self, chunk: Chunk, chars: int = 1200) -> str:
        """Up to `chars` characters of the document just before `chunk` (from its predecessor), or ""."""
        self._sync()
        previous = self._at.get((chunk.doc_id, chunk.position - 1))
        if previous is None or previous.start >= chunk.start:
            return ""
        return previous.text[: chunk.start - previous.start][-chars:]

    def bm25(self, query: str, n: int) -> list[tuple[str, float]]:
        """Chunk ids ranked by BM25 over folded FR/EN tokens (no match: empty)."""
        self._sync()
        return self._bm25_ranked(query, n)

    def _bm25_ranked(self, query: str, n: int) -> list[tuple[str, float]]:
        # The question's words plus their translations: an English question finds the French article.
        tokens = [t for t in dict.fromkeys(expand(tokenize(query))) if t in self._bm25.vocab_dict] if self._bm25 else []
        if not tokens:
            return []
        docs, scores = self._bm25.retrieve([tokens], k=min(n, len(self._order)), show_progress=False)
        return [(self._order[int(i)], float(s)) for i, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def dense(self, query: str, n: int) -> list[tuple[str, float]]:
        """Chunk ids ranked by cosine similarity of embeddings."""
        return self.store.query(self.embedder.embed_query(query), min(n, max(len(self._chunks), 1)))

    def retrieve(self, query: str, k: int = 5, candidates: int = 30) -> list[Retrieved]:
        """The `k` best chunks for `query`. Raises EmptyIndexError when nothing is indexed."""
        self._sync()
        if not self._chunks:
            raise EmptyIndexError("the index is empty; add documents with `rag ingest PATH` (try `rag ingest corpus/`)")
        found: dict[str, Retrieved] = {}
        for rank, (chunk_id, sim) in enumerate(self.dense(query, candidates), start=1):
            if chunk_id in self._chunks:
                found[chunk_id] = Retrieved(self._chunks[chunk_id], 1 / (RRF_K + rank), sim, rank)
        language = guess_language(query)
        for rank, (chunk_id, score) in enumerate(self._bm25_ranked(query, candidates), start=1):  # synced above
            hit = found.setdefault(chunk_id, Retrieved(self._chunks[chunk_id], 0.0))
            hit.bm25, hit.bm25_rank = score, rank
            if not self.embedder.multilingual and hit.chunk.language and hit.chunk.language != language:
                # The embedding model is English-only: across languages its rank is noise, so BM25 (which
                # reaches the other language through the lexicon) speaks for both.
                hit.score = 2 / (RRF_K + rank)
            else:
                hit.score += 1 / (RRF_K + rank)
        return sorted(found.values(), key=lambda r: (-r.score, r.chunk.id))[:k]
