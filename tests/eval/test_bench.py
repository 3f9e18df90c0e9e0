"""rag bench: the seeded corpus, the vector cache, and a whole run at a tiny size (real model, real Chroma)."""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eval.bench import BenchInputError, BenchOptions, parse_sizes, run_benchmark
from eval.bench_report import ROWS, markdown, write_results
from eval.synthetic import buyer_name, money, questions, write_corpus
from eval.vectorcache import VectorCache, VectorCacheError, cache_path
from rag.cli import main
from rag.config import Settings


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_seed_writes_the_same_files_and_questions(tmp_path: Path) -> None:
    a = write_corpus(tmp_path / "a", 12, seed=3)
    b = write_corpus(tmp_path / "b", 12, seed=3)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert questions(a, 5, seed=3) == questions(b, 5, seed=3)
    write_corpus(tmp_path / "c", 12, seed=4)
    assert _files(tmp_path / "c") != _files(tmp_path / "a")


def test_a_smaller_corpus_is_the_start_of_a_larger_one(tmp_path: Path) -> None:
    write_corpus(tmp_path / "small", 5, seed=0)
    write_corpus(tmp_path / "large", 9, seed=0)
    large = _files(tmp_path / "large")
    assert {name: large[name] for name in _files(tmp_path / "small")} == _files(tmp_path / "small")


def test_corpus_is_bilingual_with_figures_in_both_formats(tmp_path: Path) -> None:
    deals = write_corpus(tmp_path, 40, seed=0)
    assert {d.language for d in deals} == {"en", "fr"}
    assert money(14.3, "fr") == "14,3 milliards de dollars"
    assert money(14.3, "en") == "$14.3 billion"
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert " milliards de dollars" in text and " billion" in text
    assert len({buyer_name(0, i) for i in range(5000)}) == 5000  # one answer document per question


def test_parse_sizes() -> None:
    assert parse_sizes("100k, 1k,10k") == [("1k", 1_000), ("10k", 10_000), ("100k", 100_000)]
    assert parse_sizes("150") == [("150", 150)]
    with pytest.raises(BenchInputError, match=r"--sizes: '1m' is not a chunk count; use e.g. 1k,10k,100k or 200"):
        parse_sizes("1k,1m")


def test_bad_sizes_exit_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--sizes", "0"]) == 2
    assert capsys.readouterr().err == "error: --sizes: '0' is not a chunk count; use e.g. 1k,10k,100k or 200\n"


def test_vector_cache_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texts = [f"chunk {i}" for i in range(7)]
    vectors = rng.standard_normal((7, 384)).astype(np.float32)
    cache = VectorCache(tmp_path, seed=5, model="all-MiniLM-L6-v2")
    cache.put(texts[:4], vectors[:4])
    cache.put(texts[3:], vectors[3:])
    cache.save()

    again = VectorCache(tmp_path, seed=5, model="all-MiniLM-L6-v2")
    assert len(again) == 7
    found, missing = again.get([*texts, "never seen"])
    assert missing == [7]
    assert np.array_equal(np.stack([found[i] for i in range(7)]), vectors)

    encoded: list[list[str]] = []

    def encode(batch: list[str]) -> np.ndarray:
        encoded.append(batch)
        return np.ones((len(batch), 384), dtype=np.float32)

    matrix = again.vectors(["chunk 2", "new"], encode)
    assert encoded == [["new"]]  # only what the cache lacks is encoded
    assert np.array_equal(matrix[0], vectors[2]) and matrix[1].sum() == 384

    other = cache_path(tmp_path, seed=6, model="all-MiniLM-L6-v2")
    other.write_bytes(again.path.read_bytes())  # a file under another key's name is refused, not used
    with pytest.raises(VectorCacheError, match="holds seed 5"):
        VectorCache(tmp_path, seed=6, model="all-MiniLM-L6-v2")


def _leaves(data: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in _leaves(v, f"{path}.{k}" if path else k)]
    return [(path, data)]


def test_tiny_run_measures_everything(settings: Settings, tmp_path: Path) -> None:
    options = BenchOptions(
        sizes=parse_sizes("60,150"),
        repeats=1,
        queries=3,
        cold_runs=1,
        cached_from=100,  # the 150 size goes the way of 100k: an index built from cached vectors
        gold_limit=12,
        cache_dir=tmp_path / "cache",
        work=tmp_path / "work",
    )
    messages: list[str] = []
    partials: list[dict[str, Any]] = []
    result = run_benchmark(settings, options, progress=messages.append, checkpoint=partials.append)

    measured, cached = result["sizes"]
    for key in ("ingest", "encode", "ingest_fraction_of_encode", "retrieval_ms", "answer_ms", "cold_ask_s"):
        assert key in measured
    for key in ("baseline", "ratios", "hit_at_k", "phase_s", "peak_rss_mb"):
        assert key in measured
    numbers_ = [(p, v) for p, v in _leaves(measured) if isinstance(v, numbers.Number) and not isinstance(v, bool)]
    zero_allowed = ("hit_at_k", "baseline.hit_at_k")  # a share of questions can honestly be 0
    for path, value in numbers_:
        assert value >= 0 if path.startswith(zero_allowed) else value > 0, path
    assert measured["chunks"] > 30 and measured["baseline"]["chunks"] > 0
    assert measured["encode"]["chunks"] == measured["chunks"]

    assert cached["cached"] and "encode" not in cached and "baseline" not in cached
    assert cached["ingest"]["built_from_cache_s"] > 0 and cached["ingest"]["reingest_s"]["median"] > 0
    # The 60-chunk corpus is the start of the 150-chunk one: its vectors came from the cache.
    assert 0 < cached["ingest"]["encoded_now"] < cached["chunks"]
    assert cached["retrieval_ms"]["fused"]["p95"] > 0 and cached["cold_ask_s"]["median"] > 0
    assert Path(result["vector_cache"]).is_file()

    gold = result["gold"]
    assert gold["questions"] == 12 and 0 <= gold["hit_at_k"]["baseline"] <= 1 and gold["hit_at_k"]["fused"] > 0.5
    assert any("raw encode" in m for m in messages)

    # After each size, the result so far: a run killed at 100k keeps 1k and 10k.
    assert [len(p["sizes"]) for p in partials] == [1, 2] and not partials[0]["complete"] and result["complete"]
    assert partials[0]["sizes"][0]["label"] == "60" and "Partial result" in markdown(partials[0])

    table = markdown(result)
    assert table.startswith("| | 60 | 150 |") and len(table.splitlines()) >= len(ROWS) + 2
    paths = write_results(result, tmp_path / "out")
    assert paths["json"].is_file() and paths["markdown"].read_text(encoding="utf-8") == table
