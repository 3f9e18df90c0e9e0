"""The extractive answerer on the gold set: floors that only move up, and the hard rule of no unsupported text."""

from pathlib import Path

import pytest

from eval.gold import GoldReport, load_gold, run_gold, states_fact
from ingest.pipeline import ingest_paths
from rag.config import load_settings
from rag.engine import Engine
from tests.conftest import CORPUS


def test_key_facts_match_across_formats() -> None:
    assert states_fact("Meta a payé $14.3 Milliards [1]", "$14.3 billion")
    assert states_fact("14,3 milliards de dollars [1]", "$14.3 billion")
    assert not states_fact("$14.8 billion [1]", "$14.3 billion")
    assert states_fact("Jason  Droege [2]", "Jason Droege")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> GoldReport:
    home: Path = tmp_path_factory.mktemp("gold-home")
    settings = load_settings({"home": home}, environ={})
    ingest_paths([CORPUS], settings)
    return run_gold(Engine(settings), load_gold())


def test_gold_set_shape() -> None:
    items = load_gold()
    assert len(items) >= 40 and len({i["id"] for i in items}) == len(items)
    assert sum(not i["answerable"] for i in items) >= 8
    assert sum(len(i["turns"]) > 1 for i in items) >= 6


def test_extractive_answers_never_carry_unsupported_sentences(report: GoldReport) -> None:
    assert [(i.id, i.unsupported) for i in report.items if i.unsupported] == []


def test_extractive_quality_floors(report: GoldReport) -> None:
    print(report.summary())
    # The targets (90% and 90%); measured 50/55 and 9/9. The held-out set (eval/holdout.jsonl,
    # written without looking at the answerer) is lower: see the README's "Answer quality".
    assert report.rate(answerable=True) >= 0.9
    assert report.rate(answerable=False) >= 0.9
