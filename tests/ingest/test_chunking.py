from pathlib import Path

import pytest

from ingest.chunking import _splitter, chunk_document
from ingest.loaders import is_document, load_file
from rag.embedders import Embedder, get_embedder
from tests.conftest import CORPUS
from tests.ingest.test_loaders import make_pdf


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder("all-MiniLM-L6-v2")


def corpus_docs() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if is_document(p))


@pytest.mark.parametrize("path", corpus_docs(), ids=lambda p: p.name)
def test_chunk_offsets_round_trip_on_the_corpus(path: Path, embedder: Embedder) -> None:
    doc = load_file(path, 10**7)
    chunks = chunk_document(doc, 160, 32, embedder.count_tokens, embedder.max_tokens)
    assert len(chunks) >= 2
    for i, chunk in enumerate(chunks):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.position == i and chunk.n_chunks == len(chunks)
        assert embedder.count_tokens(chunk.text) <= embedder.max_tokens
    # Together the chunks cover every sentence of the document.
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())


def test_no_chunk_exceeds_the_model_window_even_when_tiktoken_says_it_fits(embedder: Embedder) -> None:
    doc = load_file(CORPUS / "meta-ai-spending.txt", 10**7)
    # With 400-token chunks, the plain splitter makes French chunks the model would silently truncate.
    plain = _splitter(400, 40)(doc.text)
    assert max(embedder.count_tokens(p) for p in plain) > embedder.max_tokens
    chunks = chunk_document(doc, 400, 40, embedder.count_tokens, embedder.max_tokens)
    assert max(embedder.count_tokens(c.text) for c in chunks) <= embedder.max_tokens == 254
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)


def test_pdf_chunks_keep_their_page(tmp_path: Path, embedder: Embedder) -> None:
    page_one = "Meta paid $14.3 billion for 49% of Scale AI. " * 30
    page_two = "Llama 4 ranked 32nd on LMArena. " * 30
    doc = load_file(make_pdf(tmp_path / "two.pdf", [page_one, page_two]), 10**7)
    chunks = chunk_document(doc, 64, 8, embedder.count_tokens, embedder.max_tokens)
    assert {c.page for c in chunks} == {1, 2}
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert ("Scale AI" in chunk.text) == (chunk.page == 1)


def test_chunk_ids_are_stable_and_unique(embedder: Embedder) -> None:
    doc = load_file(CORPUS / "meta-ai-spending.txt", 10**7)
    first = chunk_document(doc, 160, 32, embedder.count_tokens, embedder.max_tokens)
    second = chunk_document(doc, 160, 32, embedder.count_tokens, embedder.max_tokens)
    assert [c.id for c in first] == [c.id for c in second]
    assert len({c.id for c in first}) == len(first)
