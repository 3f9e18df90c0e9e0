"""`rag eval`: run or read the answers, score them, compare with the last run, write reports, apply gates.

Exit codes: 0 every gate passed; 1 a gate failed (the first reason is printed); 2 bad input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from eval.harness import RATIO_METRICS, EvalInputError, load_jsonl, read_predictions, run_system, score_item, summarize
from eval.history import previous_runs, record_run
from eval.metrics import scorer_accuracy

GOLD = Path(__file__).with_name("gold.jsonl")
GATES = Path(__file__).with_name("gates.toml")
SOURCE = Path(__file__).resolve().parent.parent  # the checkout this package runs from
PACKAGES = ("rag-assistant", "chromadb", "llama-index-core", "sentence-transformers", "torch", "bm25s")


@dataclass
class Gates:
    """When a run fails: a metric under its floor, a drop beyond tolerance, or a new contradicted claim."""

    fail_under: dict[str, float] = field(default_factory=dict)
    max_drop: float = 0.02  # a ratio metric may fall this much from the previous run (noise in latency is not gated)
    new_contradictions: bool = True

    @classmethod
    def load(cls, path: Path | None, overrides: Sequence[str] = ()) -> Gates:
        """Gates from a TOML file (`[fail_under]`, `max_drop`, `new_contradictions`) and METRIC=VALUE flags."""
        data: dict[str, Any] = {}
        if path is not None:
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise EvalInputError(f"{path}: cannot read gates ({exc})") from None
        gates = cls(
            {str(k): float(v) for k, v in data.get("fail_under", {}).items()},
            float(data.get("max_drop", 0.02)),
            bool(data.get("new_contradictions", True)),
        )
        for item in overrides:
            name, _, value = item.partition("=")
            try:
                gates.fail_under[name.strip()] = float(value)
            except ValueError:
                raise EvalInputError(f"--fail-under {item!r}: expected METRIC=NUMBER") from None
        unknown = [m for m in gates.fail_under if m not in (*RATIO_METRICS, "scorer_balanced_accuracy")]
        if unknown:
            raise EvalInputError(f"unknown metric {unknown[0]!r}; choose from {', '.join(RATIO_METRICS)}")
        return gates

    def check(self, metrics: dict[str, Any], outcomes: dict[str, Any], previous: dict[str, Any] | None) -> list[str]:
        """Reasons this run fails, empty when it passes."""
        failed = [
            f"{name} {_show(metrics.get(name))} < {floor} (fail_under)"
            for name, floor in self.fail_under.items()
            if metrics.get(name) is None or metrics[name] < floor
        ]
        if previous is None:
            return failed
        before = previous["metrics"]
        for name in RATIO_METRICS:
            now, then = metrics.get(name), before.get(name)
            if now is not None and then is not None and then - now > self.max_drop:
                failed.append(f"{name} fell from {then:.3f} to {now:.3f} (more than {self.max_drop})")
        new = (
            sorted(
                i
                for i, o in outcomes.items()
                if o["contradicted"] > 0 and previous["outcomes"].get(i, {}).get("contradicted", 0) == 0
            )
            if self.new_contradictions
            else []
        )
        if new:
            failed.append(f"new contradicted claims in {', '.join(new)}")
        return failed


def _show(value: Any) -> str:
    return "none" if value is None else f"{value:.3f}"


def _commit() -> str | None:
    try:
        done = subprocess.run(  # in the package's own checkout, wherever `rag eval` is run from
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, cwd=SOURCE
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def package_versions() -> dict[str, str]:
    """Versions of the packages a result depends on (those installed)."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def evaluate(
    settings: Any,
    *,
    gold_path: Path | None = None,
    predictions: Path | None = None,
    answerer: str | None = None,
    k: int | None = None,
    gates: Gates | None = None,
    history: bool = True,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> dict[str, Any]:
    """Score a run and compare it with the previous run of the same suite. Raises EvalInputError."""
    started = time.perf_counter()
    gold = load_jsonl(gold_path or GOLD, ("id", "turns", "answerable")) if (gold_path or not predictions) else []
    if predictions is not None:
        answered = read_predictions(predictions, gold)
        suite = f"predictions:{predictions.name}"
    else:
        from rag.engine import Engine

        engine = Engine(settings)
        tick = progress(len(gold)) if progress else None
        answered = run_system(engine, gold, k=k, answerer=answerer, on_item=tick)
        suite = f"system:{(gold_path or GOLD).name}:{answerer or settings.answerer}"
    items = [score_item(a) for a in answered]
    metrics = summarize(items)
    metrics["scorer_balanced_accuracy"] = round(scorer_accuracy(), 4)
    used = run_settings(settings, gold_path or GOLD if gold else None, predictions, answerer, k)
    fingerprint = hashlib.sha256(json.dumps(used, sort_keys=True).encode()).hexdigest()[:12]
    run = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "fingerprint": fingerprint,
        "settings": used,
        "versions": package_versions(),
        "gold": str(gold_path or GOLD) if gold else None,
        "predictions": str(predictions) if predictions else None,
        "answerer": used["answerer"],
        "k": used["k"],
        "duration_s": 0.0,
    }
    db = Path(settings.home) / "eval" / "history.sqlite"
    suite_runs = previous_runs(db, suite) if history else []
    past = [p for p in suite_runs if p["fingerprint"] == fingerprint]  # like with like: same settings only
    previous = past[-1] if past else None
    outcomes = {i["id"]: {"passed": i["passed"], "contradicted": i["contradicted"]} for i in items}
    failed = (gates or Gates()).check(metrics, outcomes, previous)
    run["duration_s"] = round(time.perf_counter() - started, 2)
    if history:
        record_run(db, suite, run, metrics, outcomes)
    return {
        "run": run,
        "metrics": metrics,
        "items": items,
        "comparison": {**_compare(metrics, outcomes, previous), "why": _why(previous, fingerprint, suite_runs)},
        "history": [{"date": p["date"], "commit": p["commit"], "metrics": p["metrics"]} for p in past]
        + [{"date": run["date"], "commit": run["commit"], "metrics": metrics}],
        "gates": {"passed": not failed, "failed": failed, "fail_under": dict((gates or Gates()).fail_under)},
    }


def run_settings(
    settings: Any, gold: Path | None, predictions: Path | None, answerer: str | None, k: int | None
) -> dict[str, Any]:
    """What a run's numbers depend on: answerer, k, model and chunking, and the exact gold file.

    Scored answers from elsewhere (`--predictions`) are the thing measured: their file's name is the setting.
    """
    used: dict[str, Any] = {"gold": _file_id(gold) if gold else None}
    if predictions is not None:
        return {**used, "predictions": predictions.name, "answerer": None, "k": None}  # tonight's answers differ
    used = {**used, "answerer": answerer or settings.answerer, "k": k or settings.top_k, **settings.index_fingerprint()}
    if used["answerer"] == "openai":  # another model answers differently
        used |= {"llm_model": settings.llm_model, "llm_base_url": settings.llm_base_url}
    return used


def _file_id(path: Path) -> str:
    """A file's name and the start of its content's hash: an edited gold set is another gold set."""
    return f"{path.name}@{hashlib.sha256(path.read_bytes()).hexdigest()[:10]}"


def _why(previous: dict[str, Any] | None, fingerprint: str, suite_runs: list[dict[str, Any]]) -> str:
    """Which earlier run this one is compared with, and why that one."""
    others = sum(p["fingerprint"] != fingerprint for p in suite_runs)
    skipped = f"; {others} earlier run(s) with other settings are not compared" if others else ""
    if previous is None:
        return f"no earlier run with these settings (fingerprint {fingerprint}){skipped}"
    return f"the latest earlier run with the same settings (fingerprint {fingerprint}){skipped}"


def _compare(metrics: dict[str, Any], outcomes: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    if previous is None:
        return {"previous": None, "deltas": {}, "newly_failing": [], "newly_passing": []}
    before = previous["outcomes"]
    return {
        "previous": {k: previous[k] for k in ("date", "commit", "metrics")},
        "deltas": {
            name: round(metrics[name] - previous["metrics"][name], 4)
            for name in (*RATIO_METRICS, "latency_p50_ms", "latency_p95_ms")
            if metrics.get(name) is not None and previous["metrics"].get(name) is not None
        },
        "newly_failing": sorted(i for i, o in outcomes.items() if not o["passed"] and before.get(i, {}).get("passed")),
        "newly_passing": sorted(
            i for i, o in outcomes.items() if o["passed"] and i in before and not before[i]["passed"]
        ),
    }


def summary_text(report: dict[str, Any], paths: dict[str, Path]) -> str:
    """What `rag eval` prints: the metrics beside the previous run's, then what changed."""
    metrics, previous = report["metrics"], (report["comparison"]["previous"] or {}).get("metrics", {})
    lines = [f"{'metric':<26}{'now':>10}{'before':>10}"]
    for name in (*RATIO_METRICS, "scorer_balanced_accuracy", "latency_p50_ms", "latency_p95_ms"):
        lines.append(f"{name:<26}{_cell(name, metrics.get(name)):>10}{_cell(name, previous.get(name)):>10}")
    lines.append(
        f"{metrics['items']} items, {metrics['abstentions']} abstentions (refusals make no claims), "
        f"{metrics['contradicted_claims']} contradicted claims, {report['run']['duration_s']} s"
    )
    for label, key in (("newly failing", "newly_failing"), ("newly passing", "newly_passing")):
        if report["comparison"][key]:
            lines.append(f"{label}: {', '.join(report['comparison'][key])}")
    lines += [f"report: {p}" for p in paths.values()]
    lines.append(
        "gates: passed" if report["gates"]["passed"] else f"gates: FAILED ({'; '.join(report['gates']['failed'])})"
    )
    return "\n".join(lines)


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} ms" if name.endswith("_ms") else f"{100 * value:.1f}%"
