"""Incremental ingest against a real Chroma, embedded and served by `chroma run`, with the real model."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.loaders import load_file
from ingest.pipeline import ingest_paths, list_documents, remove_document
from rag.config import Settings, load_settings
from rag.errors import IndexMismatchError, UnknownDocumentError
from rag.stores import open_store


@pytest.fixture(params=["embedded", "server"])
def store_settings(request: pytest.FixtureRequest, rag_home: Path) -> Settings:
    """The same battery runs against both ways of reaching Chroma."""
    if request.param == "embedded":
        return load_settings()
    url = request.getfixturevalue("chroma_server")
    # Each test gets its own collection on the shared server.
    name = "t-" + request.node.name.replace("[", "-").replace("]", "").lower()[:60]
    return load_settings({"chroma_url": url, "collection": name})


def stored_ids(settings: Settings) -> dict[str, set[str]]:
    return {d.doc_id: d.chunk_ids for d in open_store(settings).documents().values()}


def assert_index_matches_files(settings: Settings) -> None:
    """Every stored chunk is a verbatim slice of its file, and each document is complete once."""
    chunks = open_store(settings).chunks()
    assert len({c.id for c in chunks}) == len(chunks)
    by_doc: dict[str, list] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    for doc_id, doc_chunks in by_doc.items():
        doc = load_file(Path(doc_chunks[0].source), 10**7)
        assert [c.position for c in doc_chunks] == list(range(doc_chunks[0].n_chunks)), doc_id
        for chunk in doc_chunks:
            assert doc.text[chunk.start : chunk.end] == chunk.text


def test_ingest_is_incremental(store_settings: Settings, corpus_copy: Path) -> None:
    first = ingest_paths([corpus_copy], store_settings)
    assert first.errors == []
    assert first.added > 20 and first.unchanged == 0
    assert {c.status for c in first.changes} == {"new"}
    assert len(first.changes) == 8
    before = stored_ids(store_settings)
    assert_index_matches_files(store_settings)

    again = ingest_paths([corpus_copy], store_settings)
    assert (again.added, again.replaced, again.removed) == (0, 0, 0)
    assert again.unchanged == first.added
    assert stored_ids(store_settings) == before

    # Edit one file: exactly its chunks change.
    doc = corpus_copy / "related" / "scale-ai-deal.md"
    doc.write_text(doc.read_text().replace("$870 million", "$870 million (a figure Scale did not confirm)"))
    edited = ingest_paths([corpus_copy], store_settings)
    after = stored_ids(store_settings)
    assert {c.doc_id for c in edited.changes if c.status == "changed"} == {"scale-ai-deal"}
    assert edited.added >= 1 and edited.replaced >= 1
    assert {k: v for k, v in after.items() if k != "scale-ai-deal"} == {
        k: v for k, v in before.items() if k != "scale-ai-deal"
    }
    assert after["scale-ai-deal"] != before["scale-ai-deal"]
    assert_index_matches_files(store_settings)

    # Remove one file from the folder: its chunks go, and the summary says so.
    (corpus_copy / "related" / "finland-gdp.md").unlink()
    removed = ingest_paths([corpus_copy], store_settings)
    assert removed.removed == len(before["finland-gdp"])
    assert "documents removed: finland-gdp" in removed.summary()
    assert "finland-gdp" not in stored_ids(store_settings)


def test_dry_run_writes_nothing(store_settings: Settings, corpus_copy: Path) -> None:
    report = ingest_paths([corpus_copy], store_settings, dry_run=True)
    assert report.added > 20 and {c.status for c in report.changes} == {"new"}
    assert "would be added" in report.summary() and "[dry run: nothing written]" in report.summary()
    assert open_store(store_settings).count() == 0


def test_settings_change_is_refused_then_rebuilt(store_settings: Settings, corpus_copy: Path) -> None:
    ingest_paths([corpus_copy / "related"], store_settings)
    smaller = store_settings.model_copy(update={"chunk_size": 96, "chunk_overlap": 16})
    with pytest.raises(IndexMismatchError) as info:
        ingest_paths([corpus_copy / "related"], smaller)
    assert str(info.value) == (
        f"the index at {open_store(store_settings).location} was built with chunk_overlap=32 (now 16), "
        "chunk_size=160 (now 96); run `rag ingest --rebuild` to re-embed everything"
    )
    # A rebuild with no paths re-reads every source the index knows.
    report = ingest_paths([], smaller, rebuild=True)
    assert report.errors == [] and len(report.changes) == 7
    store = open_store(smaller)
    assert store.fingerprint() == smaller.index_fingerprint()
    assert report.added == store.count()
    assert_index_matches_files(smaller)
    assert ingest_paths([corpus_copy / "related"], smaller).added == 0


def test_bad_files_fail_alone_and_lose_nothing(store_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "good.md").write_text("---\nid: good\n---\nMeta paid $14.3 billion for 49% of Scale AI.\n")
    (folder / "later-empty.txt").write_text("Llama 4 was released on 5 April 2025.")
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    assert ingest_paths([folder], store_settings).errors == []

    (folder / "later-empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n%%EOF")
    notices: list[str] = []
    report = ingest_paths([folder, tmp_path / "missing"], store_settings, notice=notices.append)
    assert sorted(str(e) for e in report.errors) == sorted(
        [
            f"{folder / 'later-empty.txt'}: empty file",
            f"{folder / 'binary.txt'}: binary file, not text (a NUL byte at offset 0)",
            f"{folder / 'broken.pdf'}: corrupt PDF: startxref not found",
            f"{tmp_path / 'missing'}: no such file or directory",
        ]
    )
    assert notices == [f"skipped {folder / 'notes.docx'}: unsupported type '.docx'"]
    # The file that became unreadable keeps its chunks: nothing is lost to a bad edit.
    assert len(stored_ids(store_settings)) == 2


def test_sources_lists_and_removes(store_settings: Settings, corpus_copy: Path) -> None:
    ingest_paths([corpus_copy], store_settings)
    docs = {d.doc_id: d for d in list_documents(store_settings)}
    article = docs["meta-ai-spending"]
    assert (article.language, article.title) == (
        "fr",
        "Meta appuie sur la pédale et fait pleuvoir les milliards",
    )
    assert len(docs) == 8 and all(d.language == "en" for k, d in docs.items() if k != "meta-ai-spending")
    change = remove_document("llama-4-lmarena", store_settings)
    assert change.deleted == len(docs["llama-4-lmarena"].chunk_ids)
    assert "llama-4-lmarena" not in {d.doc_id for d in list_documents(store_settings)}
    with pytest.raises(UnknownDocumentError, match=r"^no document with id 'nope' in the index; `rag sources` lists"):
        remove_document("nope", store_settings)


def test_ingest_killed_midway_is_completed_without_duplicates(rag_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):  # several write groups of 32 batches of 4 chunks
        sentences = " ".join(
            f"Document {i} sentence {j} says Meta spent {i * 7 + j} billion dollars in {2000 + j}." for j in range(40)
        )
        (folder / f"doc{i:02}.txt").write_text(sentences)
    env = {"RAG_EMBED_BATCH_SIZE": "4", "RAG_CHUNK_SIZE": "48", "RAG_CHUNK_OVERLAP": "8"}
    settings = load_settings(environ={**env, "RAG_HOME": str(rag_home)})
    rag = Path(sys.executable).with_name("rag")
    proc = subprocess.Popen(
        [str(rag), "ingest", "-q", str(folder)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            count = open_store(settings).count()
        except Exception:  # the writer may hold the database for a moment
            continue
        if count > 0:
            break
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    total = ingest_paths([folder], settings, dry_run=True)
    assert 0 < count < total.added + total.unchanged, "the kill did not land mid-ingest"

    report = ingest_paths([folder], settings)
    assert report.errors == []
    assert report.unchanged >= count and report.added > 0
    assert_index_matches_files(settings)
    assert ingest_paths([folder], settings).added == 0
