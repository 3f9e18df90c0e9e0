"""The eval metrics on hand-made answers: each returns a value and its reasons, never NaN."""

import json
import math

from eval.harness import Answered, score_item, summarize
from eval.metrics import citation_precision, evidence_ranks, faithfulness, scorer_accuracy, split_claims

ARTICLE = (
    "Le rachat en juin de 49% de ScaleAI à 14.3 milliards, deuxième transaction la plus importante de "
    "l’histoire de Meta après WhatsApp, montre la détermination du géant."
)
SCALE = "Meta announced on Thursday, 12 June 2025, that it would pay $14.3 billion for a 49% stake in Scale AI."


def test_faithfulness_checks_each_claim_across_languages() -> None:
    supported = faithfulness("Meta paid $14.3 billion for 49% of ScaleAI [1].", [ARTICLE])
    assert supported.score == 1.0 and supported.claims[0].verdict == "supported"
    wrong = faithfulness("Meta paid $14.8 billion for ScaleAI [1]. It bought 49% of it [1].", [ARTICLE])
    assert [c.verdict for c in wrong.claims] == ["contradicted", "supported"]
    assert wrong.score == 0.5 and "14.8" in wrong.claims[0].reason and wrong.claims[0].evidence
    invented = faithfulness("Google paid $14.3 billion for ScaleAI.", [SCALE])
    assert invented.claims[0].verdict != "supported"


def test_a_refusal_is_an_abstention_not_nan() -> None:
    result = faithfulness("I couldn't find this in the sources.", [SCALE])
    assert result.score is None and result.claims == []
    item = score_item(Answered("x", "q", "Je n'ai pas trouvé cela dans les sources.", [SCALE], True, False))
    metrics = summarize([item])
    assert metrics["faithfulness"] is None and metrics["abstentions"] == 1 and metrics["refusal_accuracy"] == 1.0
    assert not any(isinstance(v, float) and math.isnan(v) for v in metrics.values())
    json.dumps(metrics, allow_nan=False)


def test_claims_split_at_conjunctions_when_both_halves_say_something() -> None:
    text = "Scale AI's revenue was $870 million in 2024, and the company expected about $2 billion in 2025."
    assert split_claims(text) == [
        "Scale AI's revenue was $870 million in 2024",
        "the company expected about $2 billion in 2025.",
    ]
    assert split_claims("Wang and Friedman lead MSL [2].") == ["Wang and Friedman lead MSL."]


def test_citation_precision_checks_the_cited_context_alone() -> None:
    answer = "Meta paid $14.3 billion [1]. Meta paid $14.3 billion [2]."
    precision, reasons = citation_precision(answer, [SCALE, "Reality Labs lost $4.2 billion."])
    assert precision == 0.5 and len(reasons) == 1 and reasons[0].startswith("[2]")
    assert citation_precision("No markers here.", [SCALE]) == (None, [])


def test_evidence_rank_ignores_spacing_and_case() -> None:
    quote = {"doc_id": "d", "quote": "pay  $14.3 BILLION for a 49% stake"}
    assert evidence_ranks([quote], ["something else", SCALE]) == [2]
    assert evidence_ranks([{"doc_id": "d", "quote": "$19 billion purchase"}], [SCALE]) == [None]


def test_scoring_a_wrong_answer_names_what_failed() -> None:
    item = score_item(
        Answered("x", "How much?", "$14.8 billion [1]", [SCALE], False, True, ["$14.3 billion"], [], 12.0)
    )
    assert not item["passed"] and item["correct"] is False and item["contradicted"] == 1
    assert "missing fact $14.3 billion" in item["failures"]
    assert any(f.startswith("contradicted claim") for f in item["failures"])


def test_the_claim_checker_on_the_labelled_claims() -> None:
    # Balanced accuracy over supported / unsupported / contradicted. The hand-made rules, tuned on these very
    # claims, measured 0.907; the learned checker (trained on public pairs, never on these) 0.896 on word
    # features alone, 0.870 with the entailment model (which says "contradicted" of 3 unsupported claims and
    # flags contradicted public pairs five times as often). Supported against not: 0.919 (test_checker.py).
    assert scorer_accuracy() >= 0.86
