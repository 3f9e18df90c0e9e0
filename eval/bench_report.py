"""The `rag bench` result as a Markdown table (one column per size) and as files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, Callable[[dict[str, Any]], str]]


def _get(data: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        if not isinstance(data, dict) or data.get(key) is None:
            return None
        data = data[key]
    return data


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _spread(path: str, digits: int = 1) -> Callable[[dict[str, Any]], str]:
    """'median / p95' of a stats block."""

    def cell(size: dict[str, Any]) -> str:
        block = _get(size, path)
        return "–" if block is None else f"{_num(block['median'], digits)} / {_num(block['p95'], digits)}"

    return cell


def _value(path: str, digits: int = 1, pct: bool = False) -> Callable[[dict[str, Any]], str]:
    def cell(size: dict[str, Any]) -> str:
        value = _get(size, path)
        if value is None:
            return "–"
        return f"{value * 100:.0f}%" if pct else _num(value, digits)

    return cell


ROWS: list[Row] = [
    ("chunks (documents)", lambda s: f"{s['chunks']:,} ({s['documents']:,})"),
    ("ingest, chunks/s (median)", _value("ingest.first.chunks_per_s.median")),
    ("ingest time, s (median / p95)", _spread("ingest.first.seconds")),
    (
        "raw `encode`, chunks/s (median; chunks encoded)",
        lambda s: f"{_value('encode.chunks_per_s.median')(s)} ({_value('encode.chunks')(s)})",
    ),
    ("ingest as a share of raw encode", _value("ingest_fraction_of_encode", pct=True)),
    ("index built from cached vectors, s", _value("ingest.built_from_cache_s")),
    ("no-change re-ingest, s (median / p95)", _spread("ingest.reingest_s", 2)),
    ("dense retrieval, ms (median / p95)", _spread("retrieval_ms.dense")),
    ("BM25 retrieval, ms (median / p95)", _spread("retrieval_ms.bm25")),
    ("fused retrieval, ms (median / p95)", _spread("retrieval_ms.fused")),
    ("warm extractive answer, ms (median / p95)", _spread("answer_ms")),
    ("cold `rag ask`, s (median / p95)", _spread("cold_ask_s")),
    ("cold `rag ask` after an ingest (BM25 rebuilt), s", _value("cold_ask_s.first_after_ingest")),
    ("peak RSS so far, MB (process)", _value("peak_rss_mb", 0)),
    (
        "hit@k synthetic: fused / dense / BM25",
        lambda s: " / ".join(_value(f"hit_at_k.{n}", 2)(s) for n in ("fused", "dense", "bm25")),
    ),
    ("baseline: chunks", _value("baseline.chunks")),
    ("baseline: share of chunk text inside the model's window", _value("baseline.embedded_share", 0, pct=True)),
    (
        "baseline: word pieces embedded per s (ours)",
        lambda s: f"{_value('baseline.embedded_pieces_per_s', 0)(s)} ({_value('ingest.embedded_pieces_per_s', 0)(s)})",
    ),
    ("baseline: ingest time, s (median / p95)", _spread("baseline.ingest.seconds")),
    ("baseline: retrieval, ms (median / p95)", _spread("baseline.retrieval_ms")),
    ("baseline: hit@k synthetic", _value("baseline.hit_at_k", 2)),
    ("ours ÷ baseline: ingest time", _value("ratios.ingest_time", 2)),
    ("ours ÷ baseline: word pieces embedded per s", _value("ratios.embedded_pieces_per_s", 2)),
    ("ours ÷ baseline: fused retrieval p95", _value("ratios.fused_retrieval_p95", 2)),
    ("ours ÷ baseline: dense retrieval p95", _value("ratios.dense_retrieval_p95", 2)),
]


def markdown(result: dict[str, Any]) -> str:
    """The table, then the gold-set hit@k and how the figures were taken."""
    sizes = result["sizes"]
    lines = [
        "| | " + " | ".join(s["label"] for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    lines += [f"| {name} | " + " | ".join(cell(s) for s in sizes) + " |" for name, cell in ROWS]
    gold = result["gold"]
    if gold is None:  # written after a size, before the run ended
        lines += ["", "Partial result: the run has not finished (no gold-set figures yet)."]
    else:
        hits = gold["hit_at_k"]
        lines += [
            "",
            f"Gold set ({gold['questions']} single-turn answerable questions, bundled corpus): hit@{gold['k']} "
            f"ours {_num(hits['fused'], 2)} (dense alone {_num(hits['dense'], 2)}), "
            f"baseline {_num(hits['baseline'], 2)}.",
        ]
    lines += [
        "",
        f"{result['machine']['cpus']} CPUs, {result['machine']['platform']}; "
        f"model {result['settings']['embed_model']} ({result['settings'].get('embed_backend', 'torch')}), "
        f"chunks of {result['settings']['chunk_size']} tokens; seed {result['seed']}; {result['repeats']} ingest and "
        f"encode run(s) per size{' (quick mode)' if result['quick'] else ''}; {result['seconds']:.0f} s in all. "
        "Peak RSS is the process's peak so far (it includes the models and every smaller size). Sizes marked by "
        "'index built from cached vectors' were not ingest-timed. Baseline: llama-index defaults "
        "(SentenceSplitter 1024/200, HuggingFaceEmbedding, ChromaVectorStore, dense only).",
    ]
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], out: Path) -> dict[str, Path]:
    """bench.json and bench.md in `out`; their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "markdown": out / "bench.md"}
    paths["json"].write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths["markdown"].write_text(markdown(result), encoding="utf-8")
    return paths
