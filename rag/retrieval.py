"""Hybrid retrieval: dense search plus BM25 over the same chunks, fused by RRF.

Dense search has two models. The store's (the bundled MiniLM) is an English model: it ranks the chunks
for English questions. A question in another language is ranked by two multilingual encoders, USE
(rag.embedders.multilingual) and e5-small (rag.embedders.e5_encoder), whose vectors of every chunk are
kept beside the BM25 index; the three rankings are fused (e5 only when the index holds text in another
language than English). Measured on public QA paragraphs (the answer
selector's train split, 2,267 questions, English and French paragraphs in one pool), a French question's
answer is in the top 5 for 93% of questions with USE and BM25 (86% with MiniLM and BM25), in the top 1
for 68% (60%). Adding e5 (PIAF articles of one split in one index, answer in the top 5): train 90.2% ->
92.4% (768 questions), dev 88.5% -> 89.8% (295). When the store's model is itself multilingual, it ranks
everything.

The BM25 side is rebuilt from the store whenever the store's version changes, so it is never stale,
whoever wrote to the store (this process, another `rag ingest`, a UI upload). A rebuild is saved as a
snapshot (chunks and BM25 index, stamped with the store version), so the next process that finds the
store unchanged loads it instead: at 100k chunks, reading them back from Chroma and tokenizing them
costs most of a minute.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
    dense_model: str = "bundled"  # "multilingual": dense and dense_rank are the multilingual encoder's (USE)
    e5_rank: int | None = None  # a question not in English: the chunk's rank by e5-small

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
            "dense_model": self.dense_model,
            "e5_rank": self.e5_rank,
        }


class HybridRetriever:
    """Dense + BM25, fused with reciprocal rank fusion."""

    def __init__(self, store: VectorStore, embedder: Embedder, snapshot: Path | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.snapshot = snapshot  # directory of the saved BM25 side; None: rebuild in every process
        self._version: str | None = None
        self._chunks: dict[str, Chunk] = {}
        self._order: list[str] = []
        self._bm25: Any = None
        self._vectors: Any = None  # USE's vector of each chunk, in _order (None: not used)
        self._e5: Any = None  # e5-small's, likewise
        self._at: dict[tuple[str, int], Chunk] = {}  # (doc id, position) -> chunk

    def chunks(self) -> dict[str, Chunk]:
        """Every indexed chunk by id, refreshed if the store changed."""
        self._sync()
        return self._chunks

    def prepare(self, progress: bool = False) -> None:
        """Bring the BM25 index and the multilingual encoders' vectors up to date now, with progress bars if asked.

        `rag ingest` ends with this, so the first question does not pay for it.
        """
        self._sync(progress)

    def _sync(self, progress: bool = False) -> None:
        version = self.store.version()
        if version == self._version:
            return
        multilingual = not self.embedder.multilingual
        loaded = _load_snapshot(self.snapshot, version, self.store, multilingual) if self.snapshot else None
        if loaded is None:
            chunks = self.store.chunks()
            bm25 = _bm25_index(chunks)
            vectors = e5 = None
            if multilingual and chunks:
                before = _earlier_chunks(self.snapshot)  # read once: both encoders reuse their vectors
                vectors = _encoded_vectors(chunks, before, self.snapshot, VECTORS, _use_encode, progress)
                if _not_all_english(chunks):
                    e5 = _encoded_vectors(chunks, before, self.snapshot, E5_VECTORS, _e5_encode, progress)
            # Saved only when no write moved the version while the chunks were read.
            if self.snapshot and bm25 is not None and self.store.version() == version:
                _save_snapshot(self.snapshot, version, chunks, bm25, vectors, e5)
        else:
            chunks, bm25, vectors, e5 = loaded
        self._chunks = {c.id: c for c in chunks}
        self._order = [c.id for c in chunks]
        self._at = {(c.doc_id, c.position): c for c in chunks}
        self._bm25 = bm25
        self._vectors = vectors
        self._e5 = e5
        self._version = version

    def text_before(self, chunk: Chunk, chars: int = 1200) -> str:
        """Up to `chars` characters of the document just before `chunk` (from its predecessor), or "".

        Read from the index as the `retrieve` that returned `chunk` saw it: asking the store for its
        version again for each source cost an answer 3 ms.
        """
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

    def multilingual(self, query: str, n: int) -> list[tuple[str, float]]:
        """Chunk ids ranked by the multilingual encoder's cosine (empty when the store's model is multilingual)."""
        self._sync()
        return self._multilingual_ranked(query, n)

    def _multilingual_ranked(self, query: str, n: int) -> list[tuple[str, float]]:
        if self._vectors is None:
            return []
        return self._ranked(self._vectors, _use_encode([query])[0], n)

    def _e5_ranked(self, query: str, n: int) -> list[tuple[str, float]]:
        if self._e5 is None:
            return []
        from rag.embedders.e5_encoder import load_e5_encoder

        return self._ranked(self._e5, load_e5_encoder().encode([query], query=True)[0], n)

    def _ranked(self, vectors: Any, query: Any, n: int) -> list[tuple[str, float]]:
        """The chunk ids of the `n` vectors closest to `query`, with their cosines."""
        import numpy as np

        cosines = vectors @ query
        return [(self._order[i], float(cosines[i])) for i in np.argsort(-cosines, kind="stable")[:n]]

    def retrieve(self, query: str, k: int = 5, candidates: int = 30) -> list[Retrieved]:
        """The `k` best chunks for `query`. Raises EmptyIndexError when nothing is indexed."""
        self._sync()
        if not self._chunks:
            raise EmptyIndexError("the index is empty; add documents with `rag ingest PATH` (try `rag ingest corpus/`)")
        language = guess_language(query)
        # The store's model reads English: it ranks for English questions, the multilingual encoder for others.
        multilingual = self._vectors is not None and language != "en"
        dense = self._multilingual_ranked(query, candidates) if multilingual else self.dense(query, candidates)
        model = "multilingual" if multilingual else "bundled"
        found: dict[str, Retrieved] = {}
        for rank, (chunk_id, sim) in enumerate(dense, start=1):
            if chunk_id in self._chunks:
                found[chunk_id] = Retrieved(self._chunks[chunk_id], 1 / (RRF_K + rank), sim, rank, dense_model=model)
        for rank, (chunk_id, _) in enumerate(self._e5_ranked(query, candidates) if multilingual else [], start=1):
            hit = found.setdefault(chunk_id, Retrieved(self._chunks[chunk_id], 0.0))
            hit.e5_rank, hit.score = rank, hit.score + 1 / (RRF_K + rank)
        english_only = not self.embedder.multilingual and not multilingual
        for rank, (chunk_id, score) in enumerate(self._bm25_ranked(query, candidates), start=1):  # synced above
            hit = found.setdefault(chunk_id, Retrieved(self._chunks[chunk_id], 0.0))
            hit.bm25, hit.bm25_rank = score, rank
            if english_only and hit.chunk.language and hit.chunk.language != language:
                # Across languages the English model's rank is noise, so BM25 (which reaches the other
                # language through the lexicon) speaks for both.
                hit.score = 2 / (RRF_K + rank)
            else:
                hit.score += 1 / (RRF_K + rank)
        return sorted(found.values(), key=lambda r: (-r.score, r.chunk.id))[:k]


def _bm25_index(chunks: list[Chunk]) -> Any:
    """A BM25 index of the chunks' titles and texts, in list order; None when there are none."""
    if not chunks:
        return None
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index([tokenize(f"{c.title}\n{c.text}") or ["_"] for c in chunks], show_progress=False)
    return bm25


SNAPSHOT_FORMAT = 3  # 3: e5 vectors
STAMP = "snapshot.json"  # written last: a directory without it is incomplete
CHUNKS = "chunks.jsonl"
BAR_FROM = 1000  # chunks to encode (about 10 s) from which a progress bar is shown
VECTORS = "multilingual.npy"  # USE's, float16: half the disk, cosines unchanged to 3 decimals
E5_VECTORS = "e5.npy"  # e5-small's, float16
# Tokenized into the stamp: a snapshot made by a version of tokenize() that cuts words otherwise is not used.
PROBE = "L'été 2025, Meta a payé 14,3 milliards de dollars (14.3bn) pour 49 % de Scale AI."


def _stamp(version: str, chunks: int) -> dict[str, Any]:
    return {"format": SNAPSHOT_FORMAT, "version": version, "chunks": chunks, "tokens": tokenize(PROBE)}


def _load_snapshot(
    path: Path, version: str, store: VectorStore, multilingual: bool
) -> tuple[list[Chunk], Any, Any, Any] | None:
    """The chunks, BM25 index and both multilingual encoders' vectors (if asked) saved for this store version.

    None when there is none, it is for another version, or it is damaged.
    """
    import bm25s
    import numpy as np

    try:
        stamp = json.loads((path / STAMP).read_text(encoding="utf-8"))
        # The count catches a writer killed between its two version moves, which leaves the version as it was.
        if stamp != _stamp(version, store.count()):
            return None
        chunks = _snapshot_chunks(path)
        bm25 = bm25s.BM25.load(str(path), show_progress=False)
        vectors = np.load(path / VECTORS).astype(np.float32) if multilingual else None
        e5 = np.load(path / E5_VECTORS).astype(np.float32) if multilingual and _not_all_english(chunks) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if len(chunks) != stamp["chunks"] or any(v is not None and len(v) != len(chunks) for v in (vectors, e5)):
        return None
    return chunks, bm25, vectors, e5


def _snapshot_chunks(path: Path) -> list[Chunk]:
    """The chunks a snapshot holds, in its order."""
    with (path / CHUNKS).open(encoding="utf-8") as lines:
        return [Chunk(**json.loads(line)) for line in lines]


def _encoded(chunk: Chunk) -> str:
    """What the multilingual encoder reads of a chunk (as BM25: its title and text)."""
    return f"{chunk.title}\n{chunk.text}"


def _not_all_english(chunks: list[Chunk]) -> bool:
    """Whether e5 ranks this index's chunks for questions not in English: when some chunk is not in English.

    Its measured gain is French questions over French text (PIAF; see the module's docstring), and it
    costs ingest about 25 ms a chunk (USE: 8): an index all in English keeps USE and BM25 alone.
    """
    return any(c.language not in ("en", "") for c in chunks)


def _use_encode(texts: list[str]) -> Any:
    from rag.embedders.multilingual import load_multilingual

    return load_multilingual().encode(texts)


def _e5_encode(texts: list[str]) -> Any:
    from rag.embedders.e5_encoder import load_e5_encoder

    return load_e5_encoder().encode(texts)


def _earlier_chunks(snapshot: Path | None) -> list[Chunk]:
    """The chunks of the snapshot there is, of whatever store version ([] when there is none or it is damaged)."""
    try:
        return _snapshot_chunks(snapshot) if snapshot is not None else []
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _encoded_vectors(
    chunks: list[Chunk],
    before: list[Chunk],
    snapshot: Path | None,
    file: str,
    encode: Callable[[list[str]], Any],
    progress: bool,
) -> Any:
    """A multilingual encoder's unit vector of each chunk (`encode`; kept in the snapshot as `file`).

    Those the earlier snapshot holds for its chunks `before` are reused: 10 ms (USE) or 25 ms (e5) a chunk
    otherwise, and a one-file ingest into a large index should not re-encode all of it.
    """
    import numpy as np
    from tqdm import tqdm

    known: dict[str, Any] = {}
    try:
        if snapshot is not None and before:
            vectors = np.load(snapshot / file)
            if len(vectors) == len(before):
                known = {_encoded(c): v for c, v in zip(before, vectors, strict=True)}
    except (OSError, ValueError, KeyError, TypeError):
        known = {}
    todo = sorted({_encoded(c) for c in chunks} - known.keys())
    step = 64
    for start in tqdm(
        range(0, len(todo), step),
        desc=f"{file.removesuffix('.npy')} vectors",
        unit="batch",
        file=sys.stderr,
        disable=not progress or len(todo) < BAR_FROM,
    ):
        batch = todo[start : start + step]
        known.update(zip(batch, encode(batch), strict=True))
    # Rounded as the snapshot keeps them: the process that encodes ranks as the next one that loads.
    return np.array([known[_encoded(c)] for c in chunks], dtype=np.float16).astype(np.float32)


def _save_snapshot(path: Path, version: str, chunks: list[Chunk], bm25: Any, vectors: Any, e5: Any) -> None:
    """Write the snapshot beside `path` and swap it in; a failure only costs the next process a rebuild."""
    tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
        with (tmp / CHUNKS).open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(dataclasses.asdict(c), ensure_ascii=False) + "\n" for c in chunks)
        bm25.save(str(tmp), show_progress=False)
        import numpy as np

        for file, kept in ((VECTORS, vectors), (E5_VECTORS, e5)):
            if kept is not None:
                np.save(tmp / file, kept.astype(np.float16))
        (tmp / STAMP).write_text(json.dumps(_stamp(version, len(chunks))), encoding="utf-8")
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
