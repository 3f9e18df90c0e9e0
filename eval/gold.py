"""The gold Q&A set and the answer checks the issue's targets are stated in.

`run_gold` asks every gold item (earlier turns first, as one conversation) and reports, per item,
whether the answer states the key facts, whether it refused, and whether any sentence went unsupported.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.metrics import states_fact
from rag.conversation import Conversation
from rag.engine import Engine

GOLD = Path(__file__).with_name("gold.jsonl")


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The gold items, one JSON object per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class GoldItem:
    """The outcome of one gold item."""

    id: str
    answerable: bool
    correct: bool  # answerable: every key fact stated; unanswerable: refused
    refused: bool
    unsupported: list[str]
    answer: str
    ms: float


@dataclass
class GoldReport:
    """All items and the headline rates."""

    items: list[GoldItem] = field(default_factory=list)

    def rate(self, answerable: bool) -> float:
        """Share of correct items among the answerable (or the unanswerable) ones."""
        chosen = [i for i in self.items if i.answerable == answerable]
        return sum(i.correct for i in chosen) / len(chosen) if chosen else 0.0

    def latency(self, quantile: float) -> float:
        """Milliseconds of the last turn at a quantile (0.5 = median)."""
        values = sorted(i.ms for i in self.items)
        return values[min(len(values) - 1, int(quantile * len(values)))] if quantile < 1 else values[-1]

    def summary(self) -> str:
        """One line of headline numbers."""
        unsupported = sum(len(i.unsupported) for i in self.items)
        answerable = [i for i in self.items if i.answerable]
        return (
            f"key fact stated: {sum(i.correct for i in answerable)}/{len(answerable)} answerable; "
            f"refused: {sum(i.correct for i in self.items if not i.answerable)}/{len(self.items) - len(answerable)} "
            f"unanswerable; unsupported sentences: {unsupported}; "
            f"p50 {statistics.median(i.ms for i in self.items):.0f} ms, p95 {self.latency(0.95):.0f} ms"
        )


def run_gold(engine: Engine, items: list[dict[str, Any]], answerer: str | None = None) -> GoldReport:
    """Ask every item; time only its last turn."""
    report = GoldReport()
    for item in items:
        conversation = Conversation()
        for turn in item["turns"][:-1]:
            engine.ask(turn, conversation, answerer=answerer)
        started = time.perf_counter()
        result = engine.ask(item["turns"][-1], conversation, answerer=answerer)
        ms = (time.perf_counter() - started) * 1000
        if item["answerable"]:
            correct = not result.refused and all(states_fact(result.answer, f) for f in item["key_facts"])
        else:
            correct = result.refused
        unsupported = [s.text for s in result.sentences if not s.supported and not result.refused]
        report.items.append(
            GoldItem(item["id"], item["answerable"], correct, result.refused, unsupported, result.answer, ms)
        )
    return report
