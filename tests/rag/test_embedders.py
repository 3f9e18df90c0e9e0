"""The int8 ONNX backend: made locally from the bundled model, close to the torch vectors, a separate index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from ingest.pipeline import ingest_paths
from rag.config import load_settings
from rag.embedders import embedder_for, get_embedder
from rag.embedders.factory import onnx_dir
from rag.embedders.onnx import graph_path, tokenizer_path
from rag.errors import IndexMismatchError, SettingsError

SENTENCES = [
    "Meta a acquis 49% de ScaleAI pour 14,3 milliards de dollars.",
    "Meta paid $14.3 billion for a 49% stake in Scale AI.",
    "Llama 4 was accused of gaming the LMArena leaderboard.",
    "Le PIB de la Finlande atteint 295 milliards de dollars.",
    "Zuckerberg offered signing bonuses of up to 100 million dollars.",
    "A short one.",
]


def test_onnx_int8_is_made_once_and_agrees_with_torch(rag_home: Path) -> None:
    torch_settings = load_settings(environ={"RAG_HOME": str(rag_home)})
    int8_settings = torch_settings.model_copy(update={"embed_backend": "onnx-int8"})
    int8 = embedder_for(int8_settings)
    graph = graph_path(onnx_dir(), "all-MiniLM-L6-v2", "int8")
    assert graph.is_file() and "IsNaN" not in [n.op_type for n in onnx.load(str(graph)).graph.node]
    assert not list(onnx_dir().glob("tmp*"))  # no temporary left behind

    ours = np.array(int8.embed_documents(SENTENCES))
    reference = np.array(embedder_for(torch_settings).embed_documents(SENTENCES))
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.97, cosines
    # Ranking survives quantization: each sentence's nearest neighbour is the same under both.
    assert (np.argsort(-(ours @ ours.T))[:, 1] == np.argsort(-(reference @ reference.T))[:, 1]).all()
    # Activations are quantized per batch, so a text's vector depends a little on its batch-mates' range.
    assert float(np.dot(int8.embed_query(SENTENCES[1]), ours[1])) > 0.98


def test_switching_backend_asks_for_a_rebuild(rag_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "note.txt").write_text(" ".join(SENTENCES))
    settings = load_settings(environ={"RAG_HOME": str(rag_home)})
    ingest_paths([folder], settings)
    with pytest.raises(IndexMismatchError, match=r"built with embed_backend=None \(now onnx-int8\); run `rag ingest"):
        ingest_paths([folder], settings.model_copy(update={"embed_backend": "onnx-int8"}))


def test_unknown_backend_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^setting embed_backend: Input should be 'torch' or 'onnx-int8'"):
        load_settings(environ={"RAG_EMBED_BACKEND": "cuda"})


def test_questions_are_embedded_by_the_fp32_graph_with_torch_vectors(rag_home: Path) -> None:
    embedder = embedder_for(load_settings(environ={"RAG_HOME": str(rag_home)}))
    plain = get_embedder("all-MiniLM-L6-v2")  # no graph directory: questions go through torch
    for sentence in SENTENCES:
        assert float(np.dot(embedder.embed_query(sentence), plain.embed_query(sentence))) > 0.9999
    graph = graph_path(onnx_dir(), "all-MiniLM-L6-v2", "fp32")
    assert tokenizer_path(graph).is_file()
    assert "IsNaN" not in [n.op_type for n in onnx.load(str(graph)).graph.node]  # see test_nan_guards.py


def test_a_process_that_only_asks_never_loads_torch(rag_home: Path) -> None:
    embedder_for(load_settings()).embed_query("warm up")  # makes the question graph, once per user
    code = (
        "import json, sys; from rag.config import load_settings; from rag.embedders import embedder_for; "
        "vectors = [embedder_for(load_settings()).embed_query(s) for s in sys.argv[1:]]; "
        "print(json.dumps([vectors, sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules)]))"
    )
    long = " ".join(SENTENCES * 30)  # past the model's window: truncated as the torch tokenizer does
    run = subprocess.run([sys.executable, "-c", code, *SENTENCES, long], capture_output=True, text=True, check=True)
    vectors, loaded = json.loads(run.stdout)
    assert loaded == []
    reference = get_embedder("all-MiniLM-L6-v2").embed_documents([*SENTENCES, long])  # torch
    assert (np.array(vectors) * np.array(reference)).sum(axis=1).min() > 0.9999


def test_candidate_sentence_vectors_are_kept_and_do_not_depend_on_their_neighbours(
    rag_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.embedders import sentence_transformers

    embedder = get_embedder("all-MiniLM-L6-v2", models_dir=onnx_dir())
    first = embedder.embed_sentences(SENTENCES[:4])
    texts = (SENTENCES[3], "A sentence never seen before.", SENTENCES[0])
    again = embedder.embed_sentences(texts)
    assert graph_path(onnx_dir(), "all-MiniLM-L6-v2", "int8").is_file()  # they go through the int8 graph
    alone = sentence_transformers.SentenceTransformerEmbedder("all-MiniLM-L6-v2", models_dir=onnx_dir())
    fresh = np.vstack([alone.embed_sentences([t]) for t in texts])  # each one alone, in a fresh embedder
    assert np.array_equal(again, fresh) and np.array_equal(again[0], first[3]) and again.shape == (3, 384)
    fp32 = np.array([embedder.embed_query(t) for t in texts])
    assert (again * fp32).sum(axis=1).min() > 0.98  # close to the question graph's vectors
    assert embedder.embed_sentences([]).shape[0] == 0
    monkeypatch.setattr(sentence_transformers, "SENTENCE_CACHE", 2)
    embedder.embed_sentences(SENTENCES)
    assert len(embedder._sentences) == 2  # the two most recent only: the cache is bounded


def test_multilingual_encoder_puts_a_translation_closest() -> None:
    from rag.embedders import multilingual

    encoder = multilingual.MultilingualEncoder()
    english = ["The cat sleeps on the sofa.", "The train to Lyon leaves at noon.", "Prices rose by 3% last year."]
    french = [
        "Le train pour Lyon part à midi.",
        "Les prix ont augmenté de 3 % l'an dernier.",
        "Le chat dort sur le canapé.",
    ]
    cosines = encoder.encode(english) @ encoder.encode(french).T
    assert cosines.argmax(axis=1).tolist() == [2, 0, 1]
    assert np.allclose(np.linalg.norm(encoder.encode(french), axis=1), 1.0, atol=1e-4)
    # The same vector alone or in a batch.
    assert np.allclose(encoder.encode(french[:1])[0], encoder.encode(french)[0], atol=1e-5)


def test_a_new_graph_prunes_the_oldest_of_its_model_and_kind(tmp_path: Path) -> None:
    from rag.embedders.onnx import KEEP_GRAPHS, prune_older

    def made(name: str, age: int) -> Path:
        graph = tmp_path / name
        graph.write_bytes(b"graph")
        tokenizer_path(graph).write_text("{}")
        os.utime(graph, (1_000_000 - age, 1_000_000 - age))
        return graph

    old = [made(f"all-MiniLM-L6-v2-{n:010d}-int8.onnx", age=100 + n) for n in range(KEEP_GRAPHS + 1)]
    others = [made("all-MiniLM-L6-v2-aaaaaaaaaa-fp32.onnx", 500), made("other-model-bbbbbbbbbb-int8.onnx", 500)]
    new = made("all-MiniLM-L6-v2-cccccccccc-int8.onnx", age=0)
    prune_older(new)
    kept = sorted(p.name for p in tmp_path.glob("*.onnx"))
    # The newest KEEP_GRAPHS of this model's int8 graphs stay (the new one among them), with their tokenizers.
    assert kept == sorted([new.name, *(p.name for p in old[: KEEP_GRAPHS - 1]), *(p.name for p in others)])
    assert sorted(p.name for p in tmp_path.glob("*.tokenizer.json")) == sorted(
        tokenizer_path(tmp_path / name).name for name in kept
    )
