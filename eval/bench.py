"""`rag bench`: ingest and answer speed from 1k to 100k chunks, against plain llama-index and the model.

The yardsticks are a plain llama-index pipeline and the raw encode speed of the model (the hardware's
limit), all measured in one process so that the ratios are fair.

Per size: a seeded synthetic corpus (eval/synthetic.py) is ingested by the real `ingest_paths`; the
same chunk texts go through `SentenceTransformer.encode` alone; retrieval (dense, BM25, fused), warm
answers and cold `rag ask` runs are timed on seeded questions whose answer document is known, which
also gives hit@k; the baseline (eval/baseline.py) ingests the same files and answers the same
questions. At sizes of `CACHED_FROM` chunks and more, the index is built from vectors cached on disk
(eval/vectorcache.py) instead of being timed, and only retrieval, answers and re-ingest are measured.

Peak RSS is the process's peak so far (`ru_maxrss`): it only grows, so sizes run smallest first.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from eval.metrics import evidence_ranks, percentile
from eval.run import package_versions
from eval.synthetic import Question, documents_for_chunks, questions, write_corpus
from rag.config import Settings
from rag.errors import RagError
from rag.retrieval import STAMP
from rag.stores import open_store

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
CACHED_FROM = 100_000  # encoding this many chunks takes about an hour on 2 cores: use cached vectors
CANDIDATES = 30  # as HybridRetriever.retrieve asks each side for
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
GOLD = Path(__file__).with_name("gold.jsonl")
Progress = Callable[[str], None]
T = TypeVar("T")


class BenchInputError(RagError):
    """A size or option `rag bench` cannot use."""

    exit_code = 2


class BenchError(RagError):
    """A step of the benchmark failed (a `rag ask` subprocess, an ingest with errors)."""


@dataclass
class BenchOptions:
    """What to run. `quick` is the CI mode: 1k chunks, one run of each slow step."""

    sizes: list[tuple[str, int]] = field(default_factory=lambda: [("1k", 1_000)])
    seed: int = 0
    repeats: int = 3  # full ingests and raw encodes per size
    queries: int = 50  # synthetic questions per size (retrieval, answers, hit@k)
    cold_runs: int = 3  # `rag ask` subprocesses per size
    cached_from: int = CACHED_FROM  # sizes of this many chunks and more are built from cached vectors
    gold_limit: int | None = None  # the first N gold questions only (tests); None: all of them
    encode_sample: int | None = None  # raw-encode this many of the chunks, spread evenly; None: all of them
    baseline: bool = True
    work: Path | None = None  # corpora and indexes; default a temporary directory, removed afterwards
    cache_dir: Path | None = None  # default HOME/bench-cache
    quick: bool = False

    def __post_init__(self) -> None:
        for flag, value in (("--repeats", self.repeats), ("--encode-sample", self.encode_sample)):
            if value is not None and value < 1:
                raise BenchInputError(f"{flag} must be at least 1, not {value}")

    @classmethod
    def quick_mode(cls, **overrides: Any) -> BenchOptions:
        """The CI mode: 1k chunks, one run of each slow step, 20 questions."""
        quick = {"sizes": parse_sizes("1k"), "repeats": 1, "queries": 20, "cold_runs": 1, "encode_sample": 128}
        return cls(**{**quick, "quick": True, **overrides})


def parse_sizes(text: str) -> list[tuple[str, int]]:
    """'1k,10k,100k' (or chunk counts such as '150') as (label, target chunks), smallest first.

    Raises BenchInputError naming the size at fault.
    """
    out = []
    for item in (t.strip().lower() for t in text.split(",") if t.strip()):
        match = re.fullmatch(r"(\d+)(k?)", item)
        if not match or int(match[1]) == 0:
            raise BenchInputError(f"--sizes: {item!r} is not a chunk count; use e.g. 1k,10k,100k or 200")
        out.append((item, int(match[1]) * (1000 if match[2] else 1)))
    if not out:
        raise BenchInputError("--sizes is empty; use e.g. 1k,10k,100k")
    return sorted(set(out), key=lambda s: s[1])


def stats(values: Sequence[float]) -> dict[str, float | int]:
    """Median, p95 (nearest rank) and count of measurements."""
    return {
        "median": round(statistics.median(values), 4),
        "p95": round(percentile(values, 0.95) or 0.0, 4),
        "n": len(values),
    }


def peak_rss_mb() -> float:
    """The peak resident set of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - started


def _quiet(message: str) -> None:
    """Ingest notices are not wanted here."""


def _bench_settings(base: Settings, home: Path) -> Settings:
    """Settings for an index of the benchmark: the caller's model and chunking, embedded Chroma under `home`."""
    settings = base.model_copy(update={"home": home, "chroma_url": None})
    home.mkdir(parents=True, exist_ok=True)
    keys = ("embed_model", "embed_backend", "chunk_size", "chunk_overlap", "embed_batch_size", "answerer", "top_k")
    # For the `rag ask` subprocess, which reads its settings from home.
    (home / "config.toml").write_text(
        "".join(f"{k} = {getattr(settings, k)!r}\n".replace("'", '"') for k in keys), encoding="utf-8"
    )
    return settings


class Bench:
    """One benchmark run: the models loaded once, each size measured in turn."""

    def __init__(self, settings: Settings, options: BenchOptions, work: Path, progress: Progress) -> None:
        from sentence_transformers import SentenceTransformer

        from eval.vectorcache import VectorCache
        from rag.embedders import embedder_for
        from rag.embedders.sentence_transformers import resolve_model_path

        self.settings, self.options, self.work, self.say = settings, options, work, progress
        self.k = settings.top_k
        self.embedder = embedder_for(settings)  # what ingest uses
        self.model_path = resolve_model_path(settings.embed_model)
        # The hardware limit: the very model object ingest uses, called directly (no second copy in RAM).
        self.raw = getattr(self.embedder, "model", None) or SentenceTransformer(self.model_path, device="cpu")
        self.embedder.embed_documents(["warm up"])
        model = settings.embed_model + ("" if settings.embed_backend == "torch" else f"@{settings.embed_backend}")
        self.cache = VectorCache(options.cache_dir or settings.home / "bench-cache", options.seed, model)
        self.baseline_embedding: Any = None
        if options.baseline:
            from eval.baseline import load_embedding

            self.baseline_embedding = load_embedding(self.model_path)
            self.baseline_embedding.get_text_embedding("warm up")

    def encode(self, texts: list[str]) -> Any:
        """The model alone, as ingest batches it: `SentenceTransformer.encode`, or the int8 graph's own runs."""
        if self.settings.embed_backend != "torch":
            return self.embedder.embed_documents(texts)
        batch = self.settings.embed_batch_size
        return self.raw.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)

    # --- ingest -----------------------------------------------------------------------------------

    def ingest(self, label: str, corpus: Path) -> tuple[Settings, dict[str, Any]]:
        """First ingests into fresh indexes, each followed by a raw encode of the same chunks; then re-ingests.

        Taking ingest and raw encode in turn lets the shared machine's drift hit both alike. The re-ingests
        (no change) run on the last index.
        """
        from ingest.pipeline import ingest_paths

        seconds, encode_seconds, chunks, settings, texts = [], [], 0, self.settings, []
        for run in range(self.options.repeats):
            home = self.work / f"ours-{label}-{run}"
            settings = _bench_settings(self.settings, home)
            report, took = _timed(ingest_paths, [corpus], settings, notice=_quiet)
            if report.errors:
                raise BenchError(f"ingest of {corpus} failed: {report.errors[0]}")
            chunks = report.added
            seconds.append(took)
            self.say(f"[{label}] ingest {run + 1}/{self.options.repeats}: {chunks} chunks in {took:.1f} s")
            if run == 0:
                indexed = [c.text for c in open_store(settings).chunks()]
                pieces = sum(self.embedder.count_tokens(t) for t in indexed)  # all of them reach the model
                texts = self._sample(indexed)
            vectors, took = _timed(self.encode, texts)
            encode_seconds.append(took)
            if run == 0:
                self.cache.put(texts, vectors)
                self.cache.save()
            self.say(f"[{label}] raw encode {run + 1}/{self.options.repeats}: {len(texts) / took:.1f} chunks/s")
            if run + 1 < self.options.repeats:
                shutil.rmtree(home)
        first = self._throughput(chunks, seconds)
        encode = {"chunks": len(texts), **self._throughput(len(texts), encode_seconds)}
        return settings, {
            "ingest": {
                "chunks": chunks,
                "first": first,
                "embedded_pieces_per_s": round(pieces / first["seconds"]["median"], 1),
                "reingest_s": self._reingest(label, corpus, settings, chunks),
                "peak_rss_mb": peak_rss_mb(),
            },
            "encode": encode,
            "ingest_fraction_of_encode": round(first["chunks_per_s"]["median"] / encode["chunks_per_s"]["median"], 4),
        }

    def _reingest(self, label: str, corpus: Path, settings: Settings, chunks: int) -> dict[str, float | int]:
        from ingest.pipeline import ingest_paths

        seconds = []
        for _ in range(max(3, self.options.repeats)):
            report, took = _timed(ingest_paths, [corpus], settings, notice=_quiet)
            if report.added or report.unchanged != chunks:
                raise BenchError(f"re-ingest of an unchanged {corpus} changed the index: {report.summary()}")
            seconds.append(took)
        self.say(f"[{label}] no-change re-ingest: {statistics.median(seconds):.2f} s")
        return stats(seconds)

    @staticmethod
    def _throughput(chunks: int, seconds: list[float]) -> dict[str, Any]:
        return {"seconds": stats(seconds), "chunks_per_s": stats([chunks / s for s in seconds])}

    def build_from_cache(self, label: str, corpus: Path) -> tuple[Settings, dict[str, Any]]:
        """An index of `corpus` made of cached vectors (encoding and caching the missing ones first)."""
        from ingest.chunking import chunk_document
        from ingest.loaders import load_file
        from ingest.pipeline import collect_files

        settings = _bench_settings(self.settings, self.work / f"ours-{label}-cached")
        started = time.perf_counter()
        store = open_store(settings)
        store.set_fingerprint(settings.index_fingerprint())
        files, _, _ = collect_files([corpus], _quiet)
        pending: list[Any] = []
        stored = encoded = 0

        def flush() -> None:
            nonlocal stored, encoded
            before = len(self.cache)
            vectors = self.cache.vectors([c.text for c in pending], self.encode)
            encoded += len(self.cache) - before
            store.add(pending, vectors.tolist())
            stored += len(pending)
            self.cache.save()  # an hour of encoding is not lost to a kill
            self.say(f"[{label}] stored {stored} chunks from the cache ({encoded} encoded now)")
            pending.clear()

        for file in files:
            doc = load_file(file, int(settings.max_file_mb * 1e6), _quiet)
            pending.extend(
                chunk_document(
                    doc,
                    settings.chunk_size,
                    settings.chunk_overlap,
                    self.embedder.count_tokens,
                    self.embedder.max_tokens,
                )
            )
            if len(pending) >= 4096:
                flush()
        if pending:
            flush()
        took = time.perf_counter() - started
        return settings, {
            "chunks": stored,
            "built_from_cache_s": round(took, 2),
            "encoded_now": encoded,
            "reingest_s": self._reingest(label, corpus, settings, stored),
            "peak_rss_mb": peak_rss_mb(),
        }

    # --- questions --------------------------------------------------------------------------------

    def retrieval(self, label: str, settings: Settings, asked: list[Question]) -> dict[str, Any]:
        """Latency of dense, BM25 and fused retrieval, hit@k of each, warm answer latency."""
        from rag.embedders.multilingual import load_multilingual
        from rag.engine import Engine

        engine = Engine(settings)
        retriever = engine.retriever
        retriever.retrieve(asked[0].question, self.k)  # loads the chunks and builds BM25 once
        load_multilingual()  # French questions' encoder: the first of them loaded it inside its timing
        doc_of = {cid: c.doc_id for cid, c in retriever.chunks().items()}
        times: dict[str, list[float]] = {"dense": [], "bm25": [], "fused": []}
        hits: dict[str, list[bool]] = {"dense": [], "bm25": [], "fused": []}
        for q in asked:
            dense, t_dense = _timed(retriever.dense, q.question, CANDIDATES)
            bm25, t_bm25 = _timed(retriever.bm25, q.question, CANDIDATES)
            fused, t_fused = _timed(retriever.retrieve, q.question, self.k)
            for name, took in (("dense", t_dense), ("bm25", t_bm25), ("fused", t_fused)):
                times[name].append(took * 1000)
            hits["dense"].append(q.doc_id in {doc_of.get(cid) for cid, _ in dense[: self.k]})
            hits["bm25"].append(q.doc_id in {doc_of.get(cid) for cid, _ in bm25[: self.k]})
            hits["fused"].append(q.doc_id in {r.chunk.doc_id for r in fused})
        engine.ask(asked[0].question)  # loads the answerer's models (reader, sentence graph) once, untimed
        answers = [_timed(engine.ask, q.question)[1] * 1000 for q in asked]
        self.say(
            f"[{label}] fused retrieval p95 {stats(times['fused'])['p95']:.1f} ms, "
            f"warm answer p95 {stats(answers)['p95']:.1f} ms"
        )
        return {
            "retrieval_ms": {name: stats(values) for name, values in times.items()},
            "answer_ms": stats(answers),
            "hit_at_k": {name: round(sum(v) / len(v), 4) for name, v in hits.items()},
        }

    def cold_ask(self, label: str, settings: Settings, question: str) -> dict[str, float | int]:
        """Wall time of `rag ask` in a fresh process (imports, model load, BM25 side, answer).

        The first run finds the BM25 snapshot stale, as the first question after another process wrote to the
        index does, and rebuilds it from the store (`first_after_ingest`; the multilingual vectors of chunks
        already encoded are reused); median and p95 are over the runs after it, which load it.
        """
        script = Path(sys.executable).with_name("rag")
        command = [str(script)] if script.exists() else [sys.executable, "-m", "rag.cli"]
        # This checkout's code first, even when the installed `rag` points at another one.
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, "PYTHONPATH": path, "RAG_HOME": str(settings.home), "HF_HUB_OFFLINE": "1"}
        env.pop("RAG_CHROMA_URL", None)
        (settings.bm25_snapshot / STAMP).unlink(missing_ok=True)
        seconds = []
        for _ in range(1 + self.options.cold_runs):
            run, took = _timed(
                lambda: subprocess.run(
                    [*command, "ask", question, "--home", str(settings.home)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=600,
                )
            )
            if run.returncode != 0:
                raise BenchError(f"`rag ask` exited {run.returncode}: {run.stderr.strip()[-300:]}")
            seconds.append(took)
        first, *rest = seconds
        self.say(f"[{label}] cold `rag ask`: {statistics.median(rest):.1f} s ({first:.1f} s rebuilding BM25)")
        return {**stats(rest), "first_after_ingest": round(first, 3)}

    def baseline(self, label: str, corpus: Path, asked: list[Question]) -> dict[str, Any]:
        """The plain llama-index pipeline on the same files and questions."""
        from eval.baseline import build

        seconds, built = [], None
        for run in range(self.options.repeats):
            target = self.work / f"baseline-{label}-{run}"
            built = build(corpus, target, self.baseline_embedding)
            seconds.append(built.seconds)
            self.say(
                f"[{label}] baseline ingest {run + 1}/{self.options.repeats}: "
                f"{built.chunks} chunks in {built.seconds:.1f} s"
            )
            if run + 1 < self.options.repeats:
                shutil.rmtree(target)
        assert built is not None
        embedded, pieces = built.word_pieces(self.embedder.count_tokens, self.embedder.max_tokens)
        built.retrieve(asked[0].question, self.k)
        times, hits = [], []
        for q in asked:
            found, took = _timed(built.retrieve, q.question, self.k)
            times.append(took * 1000)
            hits.append(q.doc_id in {doc for doc, _ in found})
        return {
            "documents": built.documents,
            "chunks": built.chunks,
            "embedded_share": round(embedded / max(1, pieces), 4),
            "embedded_pieces_per_s": round(embedded / statistics.median(seconds), 1),
            "ingest": self._throughput(built.chunks, seconds),
            "retrieval_ms": stats(times),
            "hit_at_k": round(sum(hits) / len(hits), 4),
        }

    # --- one size ---------------------------------------------------------------------------------

    def size(self, label: str, target: int) -> dict[str, Any]:
        """Everything measured at one corpus size; `phase_s` says where the benchmark's own time went."""
        s, phases = self.settings, {}
        n_docs = documents_for_chunks(target, self.options.seed, s.chunk_size, s.chunk_overlap)
        corpus = self.work / f"corpus-{label}"
        deals = write_corpus(corpus, n_docs, self.options.seed)
        asked = questions(deals, self.options.queries, self.options.seed)
        cached = target >= self.options.cached_from
        self.say(f"[{label}] {n_docs} documents written to {corpus}; {'cached vectors' if cached else 'timed ingest'}")
        result: dict[str, Any] = {
            "label": label,
            "target_chunks": target,
            "documents": n_docs,
            "corpus_mb": round(sum(f.stat().st_size for f in corpus.iterdir()) / 1e6, 2),
            "cached": cached,
            "questions": len(asked),
        }
        if cached:
            (settings, result["ingest"]), phases["build_from_cache"] = _timed(self.build_from_cache, label, corpus)
        else:
            (settings, measured), phases["ingest_and_raw_encode"] = _timed(self.ingest, label, corpus)
            result.update(measured)
        result["chunks"] = result["ingest"]["chunks"]
        measured, phases["retrieval_and_answers"] = _timed(self.retrieval, label, settings, asked)
        result.update(measured)
        result["cold_ask_s"], phases["cold_ask"] = _timed(self.cold_ask, label, settings, asked[0].question)
        if self.options.baseline and not cached:
            result["baseline"], phases["baseline"] = _timed(self.baseline, label, corpus, asked)
            result["ratios"] = _ratios(result, result["baseline"])
        result["peak_rss_mb"] = peak_rss_mb()
        result["phase_s"] = {name: round(took, 1) for name, took in phases.items()}
        return result

    def _sample(self, texts: list[str]) -> list[str]:
        """The indexed chunk texts, or `encode_sample` of them spread evenly (quick mode)."""
        want = self.options.encode_sample
        if want and want < len(texts):
            step = len(texts) / want
            texts = [texts[int(i * step)] for i in range(want)]
        return texts

    def gold(self) -> dict[str, Any]:
        """hit@k on the bundled corpus's gold questions (single-turn, answerable): ours against the baseline."""
        from eval.harness import load_jsonl
        from ingest.pipeline import ingest_paths
        from rag.engine import Engine

        items = [
            g
            for g in load_jsonl(GOLD, ("id", "turns"))
            if g.get("answerable", True) and g.get("evidence") and len(g["turns"]) == 1
        ][: self.options.gold_limit]
        settings = _bench_settings(self.settings, self.work / "ours-gold")
        ingest_paths([CORPUS], settings, notice=_quiet)
        retriever = Engine(settings).retriever
        chunks = retriever.chunks()
        ours, dense, base = [], [], []
        built = None
        if self.options.baseline:
            from eval.baseline import build

            built = build(CORPUS, self.work / "baseline-gold", self.baseline_embedding)
        for g in items:
            question = g["turns"][0]
            fused = [r.chunk.text for r in retriever.retrieve(question, self.k)]
            ours.append(_hit(g["evidence"], fused))
            dense_texts = [chunks[cid].text for cid, _ in retriever.dense(question, self.k) if cid in chunks]
            dense.append(_hit(g["evidence"], dense_texts))
            if built is not None:
                base.append(_hit(g["evidence"], [t for _, t in built.retrieve(question, self.k)]))
        result: dict[str, Any] = {"questions": len(items), "k": self.k}
        result["hit_at_k"] = {"fused": _share(ours), "dense": _share(dense), "baseline": _share(base) if base else None}
        self.say(f"[gold] hit@{self.k}: ours {result['hit_at_k']['fused']}, baseline {result['hit_at_k']['baseline']}")
        return result


def _share(flags: Sequence[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0


def _ratios(ours: dict[str, Any], base: dict[str, Any]) -> dict[str, float]:
    """Ours divided by the baseline: under 1 is faster (times) or smaller."""
    return {
        "ingest_time": round(ours["ingest"]["first"]["seconds"]["median"] / base["ingest"]["seconds"]["median"], 4),
        "embedded_pieces_per_s": round(ours["ingest"]["embedded_pieces_per_s"] / base["embedded_pieces_per_s"], 4),
        "fused_retrieval_p95": round(ours["retrieval_ms"]["fused"]["p95"] / base["retrieval_ms"]["p95"], 4),
        "dense_retrieval_p95": round(ours["retrieval_ms"]["dense"]["p95"] / base["retrieval_ms"]["p95"], 4),
    }


def run_benchmark(
    settings: Settings,
    options: BenchOptions,
    progress: Progress = _quiet,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Measure every size in `options`, then hit@k on the gold set; the result as JSON-ready data.

    `checkpoint` gets the result so far after each size (`"complete": False`, no gold figures yet), so a
    run killed at 100k keeps what it measured at 1k and 10k.
    Raises BenchError when a step fails, SettingsError when the model cannot be loaded.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    work = options.work or Path(tempfile.mkdtemp(prefix="rag-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        progress(f"loading models; work directory {work}")
        bench = Bench(settings, options, work, progress)
        sizes: list[dict[str, Any]] = []
        for label, target in options.sizes:
            sizes.append(bench.size(label, target))
            if checkpoint is not None:
                checkpoint(_result(settings, options, bench, sizes, None, started))
        gold, took = _timed(bench.gold)
        gold["phase_s"] = round(took, 1)
    finally:
        if options.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return _result(settings, options, bench, sizes, gold, started)


def _result(
    settings: Settings,
    options: BenchOptions,
    bench: Bench,
    sizes: list[dict[str, Any]],
    gold: dict[str, Any] | None,
    started: float,
) -> dict[str, Any]:
    return {
        "benchmark": 1,
        "complete": gold is not None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": options.quick,
        "seed": options.seed,
        "repeats": options.repeats,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "packages": package_versions(),
        "settings": {
            "embed_model": settings.embed_model,
            "embed_backend": settings.embed_backend,
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "embed_batch_size": settings.embed_batch_size,
            "top_k": settings.top_k,
        },
        "vector_cache": str(bench.cache.path),
        "sizes": list(sizes),  # a copy: checkpoints must not grow with the run
        "gold": gold,
        "peak_rss_mb": peak_rss_mb(),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _hit(evidence: list[dict[str, str]], texts: list[str]) -> bool:
    """Some gold evidence passage is inside the retrieved texts."""
    return any(rank is not None for rank in evidence_ranks(evidence, texts))
