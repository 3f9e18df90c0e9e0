"""Run the system (or read someone else's answers) on a gold set, score every item, sum up the run.

`run_system` asks our engine; `read_predictions` reads answers produced elsewhere. Both give the same
`Answered` records, which `score_item` turns into one report row each and `summarize` into metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.metrics import (
    as_json,
    citation_precision,
    evidence_ranks,
    faithfulness,
    is_refusal,
    mean,
    missing_facts,
    percentile,
    reference_facts,
)
from rag.errors import RagError

RATIO_METRICS = (
    "faithfulness",
    "answer_correctness",
    "context_recall",
    "hit_at_k",
    "citation_precision",
    "refusal_accuracy",
)


class EvalInputError(RagError):
    """A gold or predictions file that cannot be read: names the file and line."""

    exit_code = 2


@dataclass
class Answered:
    """One question with the answer and the contexts it was given, whoever produced them."""

    id: str
    question: str
    answer: str
    contexts: list[str]
    refused: bool
    answerable: bool | None = None  # None: not known (predictions without a gold item)
    key_facts: list[str] = field(default_factory=list)
    evidence: list[dict[str, str]] = field(default_factory=list)
    latency_ms: float | None = None
    reference: str = ""  # the gold answer, in words
    context_ids: list[str] = field(default_factory=list)  # the retrieved chunks' ids, in rank order


def load_jsonl(path: Path, required: Sequence[str]) -> list[dict[str, Any]]:
    """JSON objects, one per line. Raises EvalInputError naming the file and line at fault."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalInputError(f"{path}:{number}: not JSON ({exc.msg})") from None
        missing = [k for k in required if not isinstance(row, dict) or k not in row]
        if missing:
            raise EvalInputError(f"{path}:{number}: missing field {missing[0]!r}")
        rows.append(row)
    if not rows:
        raise EvalInputError(f"{path}: no items")
    return rows


def run_system(
    engine: Any,
    gold: Sequence[dict[str, Any]],
    *,
    k: int | None = None,
    answerer: str | None = None,
    on_item: Callable[[], None] | None = None,
) -> list[Answered]:
    """Ask every gold item (earlier turns first, as one conversation); time only the last turn."""
    from rag.conversation import Conversation

    out = []
    for item in gold:
        conversation = Conversation()
        for turn in item["turns"][:-1]:
            engine.ask(turn, conversation, k=k, answerer=answerer)
        started = time.perf_counter()
        result = engine.ask(item["turns"][-1], conversation, k=k, answerer=answerer)
        ms = (time.perf_counter() - started) * 1000
        out.append(
            Answered(
                item["id"],
                result.standalone_question,
                result.answer,
                [r.chunk.text for r in result.retrieved],
                result.refused,
                bool(item.get("answerable", True)),
                list(item.get("key_facts", [])),
                list(item.get("evidence", [])),
                ms,
                str(item.get("reference", "")),
                [r.chunk.id for r in result.retrieved],
            )
        )
        if on_item:
            on_item()
    return out


def read_predictions(path: Path, gold: Sequence[dict[str, Any]] | None = None) -> list[Answered]:
    """Answers produced elsewhere: `id`, `question`, `answer`, `contexts` and optionally `reference`.

    A gold item with the same id lends its key facts, evidence and answerability.
    """
    by_id = {g["id"]: g for g in gold or []}
    out = []
    for row in load_jsonl(path, ("id", "question", "answer", "contexts")):
        if not isinstance(row["contexts"], list) or not all(isinstance(c, str) for c in row["contexts"]):
            raise EvalInputError(f"{path}: item {row['id']!r}: 'contexts' must be a list of strings")
        item = by_id.get(row["id"])
        facts = list(item["key_facts"]) if item else reference_facts(str(row.get("reference") or ""))
        out.append(
            Answered(
                str(row["id"]),
                str(row["question"]),
                str(row["answer"]),
                list(row["contexts"]),
                is_refusal(str(row["answer"])),
                bool(item["answerable"]) if item else (True if row.get("reference") else None),
                facts,
                list(item.get("evidence", [])) if item else [],
            )
        )
    return out


def score_item(a: Answered) -> dict[str, Any]:
    """One report row: every metric of one item, with the reasons it failed (if it did)."""
    faith = faithfulness(a.answer, a.contexts)
    missing = missing_facts(a.answer, a.key_facts) if a.answerable and not a.refused else list(a.key_facts)
    correct = (
        None
        if a.answerable is None or not (a.key_facts or not a.answerable)
        else ((not a.refused and not missing) if a.answerable else a.refused)
    )
    ranks = evidence_ranks(a.evidence, a.contexts) if a.evidence else []
    found = [rank is not None for rank in ranks]
    precision, citation_reasons = citation_precision(a.answer, a.contexts) if not a.refused else (None, [])
    failures = [f"missing fact {f}" for f in missing] if a.answerable and not a.refused else []
    if a.answerable and a.refused:
        failures.append("refused an answerable question")
    if a.answerable is False and not a.refused:
        failures.append("answered a question the sources cannot answer")
    failures += [f"{c.verdict} claim: {c.text[:80]}" for c in faith.claims if c.verdict != "supported"]
    failures += citation_reasons
    return {
        "id": a.id,
        "question": a.question,
        "reference": a.reference,
        "answer": a.answer,
        "evidence": [{**e, "retrieved_rank": rank} for e, rank in zip(a.evidence, ranks, strict=True)],
        "retrieved": a.context_ids,
        "refused": a.refused,
        "answerable": a.answerable,
        "faithfulness": as_json(faith.score),
        "correct": correct,
        "missing_facts": missing if a.answerable else [],
        "hit": any(found) if found else None,
        "recall": as_json(sum(found) / len(found)) if found else None,
        "citation_precision": as_json(precision),
        "latency_ms": as_json(a.latency_ms),
        "contradicted": faith.contradicted,
        "passed": not failures,
        "failures": failures,
        "claims": [c.to_json() for c in faith.claims],
    }


def summarize(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's metrics. A metric nothing could measure is None, never NaN."""
    known = [i for i in items if i["answerable"] is not None]
    answerable = [i for i in known if i["answerable"]]
    latencies = [i["latency_ms"] for i in items if i["latency_ms"] is not None]
    metrics = {
        "faithfulness": mean([i["faithfulness"] for i in items]),
        "answer_correctness": mean([float(i["correct"]) for i in answerable if i["correct"] is not None]),
        "context_recall": mean([i["recall"] for i in answerable]),
        "hit_at_k": mean([float(i["hit"]) for i in answerable if i["hit"] is not None]),
        "citation_precision": mean([i["citation_precision"] for i in items]),
        "refusal_accuracy": mean([float(i["refused"] != i["answerable"]) for i in known]),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "items": len(items),
        "abstentions": sum(i["faithfulness"] is None for i in items),
        "contradicted_claims": sum(i["contradicted"] for i in items),
    }
    return {k: as_json(v) for k, v in metrics.items()}
