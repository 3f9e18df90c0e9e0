"""The learned scorers, applied with plain Python: weights come from a data file that eval/train_answerer.py writes.

Two logistic regressions over standardized named features:
- the sentence scorer: the probability that a candidate sentence holds the answer (features.FEATURES);
- the answerability scorer: the probability that the best candidate answers the question at all
  (ANSWERABLE_FEATURES, computed from the ranked candidates), compared with a threshold chosen on a
  development split for at most 10% false refusals.
Each comes twice: as trained on every feature, and as trained without what the bundled model cannot
measure across languages (its cosine, the reader's scores). A sentence in another language than the
question is scored by the second, not by the first with those features set to their means: with the
features that carry most of its weight gone, the first scores every such sentence as mediocre.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from rag.answerers.extractive.features import FEATURES

WEIGHTS = "answer_selector.json"
FEATURE_AT = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class LogisticModel:
    """Standardize, weigh, squash: p = sigmoid(b + sum(w_i * (x_i - mean_i) / scale_i))."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticModel:
        """From the `{"features", "mean", "scale", "weights", "bias"}` object the training script writes."""
        return cls(
            tuple(data["features"]),
            tuple(data["mean"]),
            tuple(data["scale"]),
            tuple(data["weights"]),
            float(data["bias"]),
        )

    def contributions(self, row: Sequence[float]) -> list[float]:
        """Each feature's share of the log-odds; an unknown (NaN) feature has none, as if at its mean."""
        return [
            0.0 if math.isnan(x) else w * (x - m) / s
            for x, m, s, w in zip(row, self.mean, self.scale, self.weights, strict=True)
        ]

    def probability(self, row: Sequence[float]) -> float:
        """P(positive) for one row of features."""
        z = self.bias + sum(self.contributions(row))
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def own(self, row: Sequence[float], names: Sequence[str]) -> Sequence[float]:
        """Pick the features this model reads out of a row of `names` (it may read fewer)."""
        if self.names == tuple(names):
            return row
        return [row[names.index(n)] for n in self.names]


# What the bundled model cannot measure across languages; the "across" scorers are trained without them.
ACROSS_UNKNOWN = ("dense", "dense_gap")
# The entailment model reads English; the reader learned "no answer" from questions over text in their language.
ANSWERABLE_ACROSS_UNKNOWN = ("top_dense", "top_entailed", "top_read_alone")


@dataclass(frozen=True)
class Selector:
    """Both scorers, each also without the features unknown across languages, and the dev thresholds."""

    sentence: LogisticModel
    answerable: LogisticModel
    sentence_across: LogisticModel  # for a sentence in another language than the question
    answerable_across: LogisticModel  # when the best sentence is in another language
    refuse_below: float  # answerability probability under which the answer is a refusal
    refuse_below_across: float  # the same, for answerable_across
    short_above: dict[str, float]  # per question language: the sentence probability from which a span leads
    second_above: float  # probability from which a runner-up sentence is quoted too
    trained_on: dict[str, Any]

    def short_from(self, language: str) -> float:
        """The sentence probability from which a short answer leads, for a question in `language`."""
        return self.short_above.get(language, 1.0)

    def sentence_scorer(self, across: bool) -> LogisticModel:
        """The sentence scorer for a sentence in the question's language, or (across) in another one."""
        return self.sentence_across if across else self.sentence

    def sentence_probability(self, row: Sequence[float], across: bool) -> float:
        """P(the sentence holds the answer), by the scorer that fits its language."""
        model = self.sentence_scorer(across)
        return model.probability(model.own(row, FEATURES))

    def answerable_scorer(self, across: bool) -> LogisticModel:
        """The answerability scorer for a best sentence in the question's language, or (across) in another."""
        return self.answerable_across if across else self.answerable

    def answerable_probability(self, row: Sequence[float], across: bool) -> tuple[float, float]:
        """P(the best sentence answers the question) and the threshold to refuse under."""
        model = self.answerable_scorer(across)
        return model.probability(model.own(row, ANSWERABLE_FEATURES)), (
            self.refuse_below_across if across else self.refuse_below
        )


@cache
def load_selector() -> Selector:
    """The weights shipped in the package (rag/data/answer_selector.json)."""
    data = json.loads(resources.files("rag.data").joinpath(WEIGHTS).read_text(encoding="utf-8"))
    return Selector(
        LogisticModel.from_json(data["sentence"]),
        LogisticModel.from_json(data["answerable"]),
        LogisticModel.from_json(data["sentence_across"]),
        LogisticModel.from_json(data["answerable_across"]),
        float(data["thresholds"]["refuse_below"]),
        float(data["thresholds"]["refuse_below_across"]),
        {k: float(v) for k, v in data["thresholds"]["short_above"].items()},
        float(data["thresholds"]["second_above"]),
        data.get("trained_on", {}),
    )


ANSWERABLE_FEATURES = (
    "top_probability",
    "top_gap",
    "top_dense",
    "top_idf_overlap",
    "top_names",
    "typed_question",
    "typed_span_in_top",
    "year_missing",
    "names_missing",
    "reader_margin",
    "reader_top",
    "top_typed_no_names",
    "top_entailed",
    "top_read_alone",
)


def answerable_row(
    probabilities: Sequence[float],
    rows: Sequence[Sequence[float]],
    typed: bool,
    asks_year: bool,
    entailed: float = math.nan,
    read_alone: float = math.nan,
) -> list[float]:
    """ANSWERABLE_FEATURES for a question whose candidates have these probabilities and sentence features.

    year_missing: the question asks about a year that no candidate mentions; names_missing: no candidate
    holds even half of the question's names; top_typed_no_names: the best candidate has a span of the asked
    type but lacks the question's names (a linear scorer cannot combine the two itself); top_entailed:
    `entailed`, the entailment model's view of the best candidate and the question (features.entailed);
    top_read_alone: `read_alone`, the reader's margin for the best candidate read alone (features.read_alone).
    """
    at = FEATURE_AT
    order = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    top = rows[order[0]]
    second = probabilities[order[1]] if len(order) > 1 else 0.0
    return [
        probabilities[order[0]],
        probabilities[order[0]] - second,
        top[at["dense"]],
        top[at["idf_overlap"]],
        top[at["names"]],
        float(typed),
        top[at["typed_span"]],
        float(asks_year and not any(r[at["year_match"]] for r in rows)),
        float(max(r[at["names"]] for r in rows) < 0.5),
        _known_max(r[at["reader"]] for r in rows),
        top[at["reader"]],
        top[at["typed_span"]] * (1.0 - top[at["names"]]),
        entailed,
        read_alone,
    ]


def _known_max(values: Iterable[float]) -> float:
    """The largest value that is known (not NaN); NaN when none is."""
    return max((v for v in values if not math.isnan(v)), default=math.nan)
