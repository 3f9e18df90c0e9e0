"""Sentence-aware chunks, counted in tiktoken tokens, that never overflow the embedding model's window.

Every chunk is a verbatim slice of its document: `doc.text[chunk.start:chunk.end] == chunk.text`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from ingest.loaders import SourceDocument
from rag.chunks import Chunk, chunk_id
from rag.injection import UNTRUSTED, Instruction

TokenCounter = Callable[[str], int]


def _splitter(chunk_size: int, chunk_overlap: int) -> Callable[[str], list[str]]:
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.utils import get_tokenizer

    # get_tokenizer() points tiktoken at the BPE files llama-index ships, so nothing is downloaded.
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap, tokenizer=get_tokenizer())
    return splitter.split_text


def _locate(text: str, piece: str, not_before: int) -> tuple[int, int]:
    """Where `piece` stands in `text`, searching from `not_before`; whitespace may differ."""
    at = text.find(piece, not_before)
    if at < 0:
        at = text.find(piece)
    if at >= 0:
        return at, at + len(piece)
    pattern = r"\s+".join(re.escape(word) for word in piece.split())
    match = re.compile(pattern).search(text, not_before) or re.compile(pattern).search(text)
    if match is None:  # the splitter changed more than whitespace: should never happen
        raise AssertionError(f"chunk not found in its document: {piece[:60]!r}")
    return match.start(), match.end()


def split_spans(
    text: str, chunk_size: int, chunk_overlap: int, count_model_tokens: TokenCounter, max_model_tokens: int
) -> list[tuple[int, int]]:
    """(start, end) spans of `text`, each at most `max_model_tokens` word pieces for the embedding model."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _splitter(chunk_size, chunk_overlap)(text):
        start, end = _locate(text, piece, cursor)
        cursor = start + 1
        pieces = count_model_tokens(text[start:end])
        if pieces <= max_model_tokens:
            spans.append((start, end))
            continue
        # The model's tokenizer spends more on this text than tiktoken (French, digits): cut it smaller.
        smaller = max(16, int(chunk_size * max_model_tokens / pieces * 0.9))
        if smaller >= chunk_size:
            smaller = chunk_size // 2
        inner = split_spans(
            text[start:end], smaller, min(chunk_overlap, smaller // 4), count_model_tokens, max_model_tokens
        )
        spans.extend((start + a, start + b) for a, b in inner)
    return spans


def chunk_document(
    doc: SourceDocument,
    chunk_size: int,
    chunk_overlap: int,
    count_model_tokens: TokenCounter,
    max_model_tokens: int,
    untrusted: Sequence[Instruction] = (),
) -> list[Chunk]:
    """Cut a document into chunks that keep their exact place (and PDF page) in the document text.

    Chunks overlapping an `untrusted` line (see rag.injection) are flagged in their metadata.
    """
    located: list[tuple[int, int, int]] = []  # (page, start, end)
    for page, offset, segment in doc.segments():
        spans = split_spans(segment, chunk_size, chunk_overlap, count_model_tokens, max_model_tokens)
        located.extend((page, offset + start, offset + end) for start, end in spans)
    doc_hash = doc.doc_hash
    seen: Counter[str] = Counter()
    chunks = []
    for position, (page, start, end) in enumerate(located):
        text = doc.text[start:end]
        seen[text] += 1
        chunks.append(
            Chunk(
                id=chunk_id(doc.doc_id, text, seen[text]),
                doc_id=doc.doc_id,
                text=text,
                start=start,
                end=end,
                position=position,
                doc_hash=doc_hash,
                n_chunks=len(located),
                title=doc.title,
                source=doc.source,
                language=doc.language,
                page=page,
                extra=_flagged(doc.metadata, start, end, untrusted),
            )
        )
    return chunks


def _flagged(metadata: dict[str, str], start: int, end: int, untrusted: Sequence[Instruction]) -> dict[str, str]:
    """The document's metadata, plus `untrusted` (the giveaway words) if the chunk holds an untrusted line."""
    found = next((i for i in untrusted if i.start < end and start < i.end), None)
    return {**metadata, UNTRUSTED: found.marker} if found else metadata
