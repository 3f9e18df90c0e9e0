"""The extractive answerer on the gold set: floors that only move up, and the hard rule of no unsupported text.

The items run through `rag eval`'s own harness (eval/harness.py): one way to run a gold set.
"""

from pathlib import Path
from typing import Any

import pytest

from eval.harness import load_jsonl, run_system, score_item
from eval.metrics import states_fact
from eval.run import GOLD
from ingest.pipeline import ingest_paths
from rag.config import load_settings
from rag.engine import Engine
from tests.conftest import CORPUS

# Measured 19/25 since the multilingual reader's second epoch (session 23), 20/25 with its first (17/25 with
# MiniLM's, 16/25 before sentences across languages had their own scorer, 15/25 with the one-epoch reader,
# 14/25 before French questions were ranked by the multilingual encoder; the rules: 13/25). Target 85%.
HOLDOUT_FLOOR = 19 / 25
FIELDS = ("id", "turns", "answerable")


def rate(items: list[dict[str, Any]], answerable: bool) -> float:
    """Answerable: share with every key fact stated; unanswerable: share refused."""
    chosen = [i for i in items if i["answerable"] == answerable]
    return sum(bool(i["correct"]) for i in chosen) / len(chosen)


def unsupported(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(item id, claim) for every claim of an answer that its sources do not support."""
    return [(i["id"], c["text"]) for i in items for c in i["claims"] if c["verdict"] != "supported"]


def test_key_facts_match_across_formats() -> None:
    assert states_fact("Meta a payé $14.3 Milliards [1]", "$14.3 billion")
    assert states_fact("14,3 milliards de dollars [1]", "$14.3 billion")
    assert not states_fact("$14.8 billion [1]", "$14.3 billion")
    assert states_fact("Jason  Droege [2]", "Jason Droege")
    assert states_fact("« Start-up fondée en juin 2024. » [3]", "June")  # a month, in the quote's language
    assert states_fact("founded in June 2024 [1]", "juin")
    assert not states_fact("fondée en juillet 2024 [3]", "June")
    assert not states_fact("it may be so [1]", "May") and states_fact("signed in May [1]", "mai")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    home: Path = tmp_path_factory.mktemp("gold-home")
    settings = load_settings({"home": home}, environ={})
    ingest_paths([CORPUS], settings)
    return Engine(settings)


@pytest.fixture(scope="module")
def items(engine: Engine) -> list[dict[str, Any]]:
    return [score_item(a) for a in run_system(engine, load_jsonl(GOLD, FIELDS))]


def test_gold_set_shape() -> None:
    gold = load_jsonl(GOLD, FIELDS)
    assert len(gold) >= 40 and len({i["id"] for i in gold}) == len(gold)
    assert sum(not i["answerable"] for i in gold) >= 8
    assert sum(len(i["turns"]) > 1 for i in gold) >= 6


def test_extractive_answers_never_carry_unsupported_sentences(items: list[dict[str, Any]]) -> None:
    assert unsupported(items) == []


def test_extractive_quality_floors(items: list[dict[str, Any]]) -> None:
    # Floors at what the learned selector measures (41/55 and 5/9): regression floors, not targets. The
    # hand-written rules it replaced were tuned on this very set (50/55, 9/9) and did not carry over to
    # public questions; nothing here is fitted on it. The target (90%) is not met: see the README.
    # The refusal floor moved down once (from 7/9), when the selector learned out-of-scope refusal from
    # public data: 72% -> 79% of such English test questions refused, 49% -> 55% French (README).
    # The answered floor moved down once (from 41/55), when French questions came to be ranked by the
    # multilingual encoder: PIAF's French test questions went from 52% to 58% answered right (787), the
    # held-out set from 14 to 15 of 25, and two French gold questions changed their retrieved chunks; and
    # once more (39 -> 38) when the reader stopped reading chunks in the other language (its scores there
    # were discarded, but swayed the rest): median answer 105 -> 71 ms here, one English question answered
    # by a French sentence is now refused (and one wrong answer became a refusal). Then both floors moved
    # down once more (38/55 -> 36/55, 5/9 -> 4/9) for the reader's second epoch, which on the public test
    # splits end to end states 61% of French answers against 57% and refuses 30% of SQuAD's unanswerable
    # questions against 21% (README): gold 39 -> 36 and 5/9 -> 4/9, held-out 15 -> 16 of 25. The refusal
    # floor moved down once more (4/9 -> 3/9) for the multilingual reader (session 21): PIAF's French test
    # questions stated 60% -> 66%, held-out 17 -> 20 of 25, cross-language 11 -> 14 of 35 and 14 -> 17 of
    # 20, but SQuAD's unanswerable questions refused 32% -> 27% too: a trade, taken knowingly (README).
    # Session 23, the multilingual reader's second epoch (chosen on the dev split, where it won in both
    # languages): gold 39 -> 43 of 55, so the answered floor moved up (36 -> 41). Unanswerable refused went
    # 3/9 -> 2/9 with it ("How old is Sam Altman?" got another man's age) and back to 3/9 with the
    # answerability feature top_typed_no_names, chosen on dev (README).
    print(f"gold: {rate(items, True):.3f} answerable, {rate(items, False):.3f} unanswerable refused")
    assert rate(items, answerable=True) >= 41 / 55
    assert rate(items, answerable=False) >= 3 / 9


def test_held_out_quality_floors(engine: Engine) -> None:
    """eval/holdout.jsonl was written by someone who never saw the answerer; nothing was fitted on it."""
    held = [score_item(a) for a in run_system(engine, load_jsonl(GOLD.with_name("holdout.jsonl"), FIELDS))]
    print(f"holdout: {rate(held, True):.3f} answerable, {rate(held, False):.3f} unanswerable refused")
    assert unsupported(held) == []
    assert rate(held, answerable=True) >= HOLDOUT_FLOOR
    assert rate(held, answerable=False) >= 2 / 5  # measured (the rules: 4/5)


def test_cross_language_floors(engine: Engine) -> None:
    """eval/crosslingual.jsonl: English questions answered only by the French article, French ones only by
    English sources, and unanswerable ones; written in session 19 by someone who never saw the answerer."""
    items = [score_item(a) for a in run_system(engine, load_jsonl(GOLD.with_name("crosslingual.jsonl"), FIELDS))]
    assert unsupported(items) == []
    english = [i for i in items if i["id"].startswith("x-en-")]
    french = [i for i in items if i["id"].startswith("x-fr-")]
    # Measured 14/35 and 18/20 since the reader's second epoch (17/20 with one), 14/35 and 17/20 since the
    # multilingual reader reads across languages (11/35 and 14/20 before; 3/35 and 9/20 before sentences
    # across languages had their own scorer). Session 41: 18/20 -> 17/20 when e5 joined USE in ranking French
    # questions' chunks (x-fr-012 now quotes the French article's "ancien scientifique en chef d'OpenAI").
    assert rate(english, answerable=True) >= 13 / 35
    assert rate(french, answerable=True) >= 17 / 20
