"""The extractive answerer on the gold set: floors that only move up, and the hard rule of no unsupported text."""

from pathlib import Path

import pytest

from eval.gold import GOLD, GoldReport, load_gold, run_gold, states_fact
from ingest.pipeline import ingest_paths
from rag.config import load_settings
from rag.engine import Engine
from tests.conftest import CORPUS

HOLDOUT_FLOOR = 14 / 25  # measured with the learned selector (the rules it replaced: 13/25); the target is 85%


def test_key_facts_match_across_formats() -> None:
    assert states_fact("Meta a payé $14.3 Milliards [1]", "$14.3 billion")
    assert states_fact("14,3 milliards de dollars [1]", "$14.3 billion")
    assert not states_fact("$14.8 billion [1]", "$14.3 billion")
    assert states_fact("Jason  Droege [2]", "Jason Droege")


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    home: Path = tmp_path_factory.mktemp("gold-home")
    settings = load_settings({"home": home}, environ={})
    ingest_paths([CORPUS], settings)
    return Engine(settings)


@pytest.fixture(scope="module")
def report(engine: Engine) -> GoldReport:
    return run_gold(engine, load_gold())


def test_gold_set_shape() -> None:
    items = load_gold()
    assert len(items) >= 40 and len({i["id"] for i in items}) == len(items)
    assert sum(not i["answerable"] for i in items) >= 8
    assert sum(len(i["turns"]) > 1 for i in items) >= 6


def test_extractive_answers_never_carry_unsupported_sentences(report: GoldReport) -> None:
    assert [(i.id, i.unsupported) for i in report.items if i.unsupported] == []


def test_extractive_quality_floors(report: GoldReport) -> None:
    print(report.summary())
    # Floors at what the learned selector measures (38/55 and 7/9): regression floors, not targets. The
    # hand-written rules it replaced were tuned on this very set (50/55, 9/9) and did not carry over to
    # public questions; nothing here is fitted on it. The target (90%) is not met: see the README.
    assert report.rate(answerable=True) >= 38 / 55
    assert report.rate(answerable=False) >= 7 / 9


def test_held_out_quality_floors(engine: Engine) -> None:
    """eval/holdout.jsonl was written by someone who never saw the answerer; nothing was fitted on it."""
    report = run_gold(engine, load_gold(GOLD.with_name("holdout.jsonl")))
    print(report.summary())
    assert [(i.id, i.unsupported) for i in report.items if i.unsupported] == []
    assert report.rate(answerable=True) >= HOLDOUT_FLOOR
    assert report.rate(answerable=False) >= 2 / 5  # measured (the rules: 4/5)
