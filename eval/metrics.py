"""Metrics that each return a value and the reasons behind it. Deterministic, offline, never NaN.

The claim checker is `rag.verify.check_claim`: the product's answers and these evals share one
definition of "supported".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answerers.base import is_refusal as ours_refuses
from rag.text import MONTH_OF, fold, months_in, proper_names, quantities, squash
from rag.verify import CONTRADICTED, SUPPORTED, UNSUPPORTED, check_claim, citations_of, split_sentences, strip_markup

CLAIMS = Path(__file__).with_name("claims.jsonl")
OTHER_REFUSALS = ("could not find this in the sources", "i don't know", "not in the provided context")  # others'

# "... in 2024, and the company expected about $2 billion in 2025": two claims, checked one by one.
CONJUNCTION = re.compile(r";\s+|,\s+(?:and|but|while|whereas|et|mais|alors que)\s+")


@dataclass
class Claim:
    """One checked claim of an answer."""

    text: str
    verdict: str
    reason: str
    evidence: str = ""

    def to_json(self) -> dict[str, str]:
        """As in eval reports."""
        return {"text": self.text, "verdict": self.verdict, "evidence": self.evidence, "reason": self.reason}


@dataclass
class Faithfulness:
    """Supported claims / claims; None for an abstention (a refusal makes no claims)."""

    score: float | None
    claims: list[Claim] = field(default_factory=list)

    @property
    def contradicted(self) -> int:
        """How many claims conflict with the context."""
        return sum(c.verdict == CONTRADICTED for c in self.claims)


def is_refusal(answer: str) -> bool:
    """The answer declines to answer (ours in either language, or the usual phrasings of others)."""
    folded = answer.lower().replace("’", "'")
    return not answer.strip() or ours_refuses(answer) or any(p in folded for p in OTHER_REFUSALS)


def split_claims(answer: str) -> list[str]:
    """Sentences, split further at conjunctions when both halves are long enough to say something."""
    out: list[str] = []
    for sentence in split_sentences(answer):
        text = strip_markup(sentence)
        parts = CONJUNCTION.split(text)
        if len(parts) > 1 and all(len(p.split()) >= 4 for p in parts):
            out.extend(p.strip() for p in parts)
        elif text:
            out.append(text)
    return out


def faithfulness(answer: str, contexts: Sequence[str]) -> Faithfulness:
    """Check every claim of `answer` against all of `contexts` together."""
    if is_refusal(answer):
        return Faithfulness(None)
    evidence = "\n".join(contexts)
    claims = [Claim(text, *check_claim(text, evidence)) for text in split_claims(answer)]
    if not claims:
        return Faithfulness(None)
    return Faithfulness(sum(c.verdict == SUPPORTED for c in claims) / len(claims), claims)


def states_fact(answer: str, fact: str) -> bool:
    """A figure matches by value across formats and languages, a month by its number, anything else by substring.

    "June" is stated by "juin 2024"; a substring is compared without spacing.
    """
    figures = quantities(fact)
    if figures:
        found = quantities(answer)
        return all(any(f.same(a) for a in found) for f in figures)
    month = MONTH_OF.get(fold(fact).strip())
    if month:
        return month in months_in(re.sub(r"\bmay\b", "", answer))  # the verb is not the month
    return squash(fact) in squash(answer)


def missing_facts(answer: str, facts: Sequence[str]) -> list[str]:
    """The key facts the answer does not state."""
    return [f for f in facts if not states_fact(answer, f)]


def reference_facts(reference: str) -> list[str]:
    """Key facts of a reference answer when none are given: its figures and its capitalized names."""
    figures = [q.text for q in quantities(reference) if q.kind != "year"]
    return figures or proper_names(reference)[:3]


def evidence_ranks(evidence: Sequence[dict[str, str]], contexts: Sequence[str]) -> list[int | None]:
    """Per gold evidence passage: the rank (1 = first) of the retrieved context holding it, or None.

    Spacing and case are ignored; the first 200 characters of the quote must appear.
    """
    squashed = [squash(c) for c in contexts]
    return [next((n for n, c in enumerate(squashed, start=1) if squash(e["quote"])[:200] in c), None) for e in evidence]


def citation_precision(answer: str, contexts: Sequence[str]) -> tuple[float | None, list[str]]:
    """Share of [n] citations whose context [n] alone supports the sentence citing it; None if none."""
    good = total = 0
    reasons = []
    for sentence in split_sentences(answer):
        for n in citations_of(sentence):
            total += 1
            if not 1 <= n <= len(contexts):
                reasons.append(f"[{n}] cites no context")
                continue
            verdict, reason, _ = check_claim(sentence, contexts[n - 1])
            if verdict == SUPPORTED:
                good += 1
            else:
                reasons.append(f"[{n}] does not support {strip_markup(sentence)[:60]!r}: {reason}")
    return (good / total if total else None), reasons


def scorer_accuracy(path: Path = CLAIMS) -> float:
    """Balanced accuracy of the claim checker on the labelled claims (mean recall of the three labels)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    recalls = []
    for label in (SUPPORTED, UNSUPPORTED, CONTRADICTED):
        chosen = [r for r in rows if r["label"] == label]
        if chosen:
            right = sum(check_claim(r["claim"], r["context"])[0] == label for r in chosen)
            recalls.append(right / len(chosen))
    return sum(recalls) / len(recalls) if recalls else 0.0


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the values that exist; None (not NaN) when there are none."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered) + 0.5)) - 1))]


def as_json(value: Any) -> Any:
    """Round floats for reports."""
    return round(value, 4) if isinstance(value, float) else value
