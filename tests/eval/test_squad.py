"""`rag eval --squad`: SQuAD's normalization and F1, both input formats, a real run on a tiny set, the CLI."""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from eval.metrics import mean, percentile
from eval.squad import (
    answer_sentences,
    answer_words,
    articles_of,
    best_f1,
    f1_score,
    first_questions,
    lead_line,
    load_squad,
    normalize_answer,
    run_squad,
    short_answer,
    states,
    summary_text,
)
from rag.cli import main
from rag.config import load_settings

BRIDGE_1 = (
    "The Kelvin Harbor Bridge opened to traffic in 1932 after six years of construction. "
    "It was designed by the engineer Margaret Doyle, who had trained in Glasgow."
)
BRIDGE_2 = (
    "The Kelvin Harbor Bridge is 503 metres long. It carries eight lanes of road traffic "
    "and two railway tracks across the harbour."
)
LAKE = (
    "Le lac de Pralognan est un lac de barrage situé dans les Alpes. Il a été mis en eau en 1956. "
    "Sa profondeur maximale atteint 45 mètres. Le barrage a été construit par la société Durand Frères."
)
# (title, context, question, answers); no answers: unanswerable
QUESTIONS = [
    ("Kelvin_Harbor_Bridge", BRIDGE_1, "When did the Kelvin Harbor Bridge open to traffic?", ["1932", "in 1932"]),
    ("Kelvin_Harbor_Bridge", BRIDGE_1, "Who designed the Kelvin Harbor Bridge?", ["Margaret Doyle"]),
    ("Kelvin_Harbor_Bridge", BRIDGE_2, "How long is the Kelvin Harbor Bridge?", ["503 metres"]),
    ("Kelvin_Harbor_Bridge", BRIDGE_2, "How many tons of steel were used to build the Kelvin Harbor Bridge?", []),
    ("Lac de Pralognan", LAKE, "En quelle année le lac de Pralognan a-t-il été mis en eau ?", ["1956"]),
    ("Lac de Pralognan", LAKE, "Quelle est la profondeur maximale du lac de Pralognan ?", ["45 mètres"]),
    ("Lac de Pralognan", LAKE, "Qui a construit le barrage du lac de Pralognan ?", ["la société Durand Frères"]),
]
LANGUAGES = ["en", "en", "en", "en", "fr", "fr", "fr"]


def write_jsonl(path: Path) -> Path:
    rows = [{"title": t, "context": c, "question": q, "answers": a, "is_impossible": not a} for t, c, q, a in QUESTIONS]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_official(path: Path) -> Path:
    data: list[dict[str, Any]] = []
    for n, (title, context, question, answers) in enumerate(QUESTIONS):
        if not data or data[-1]["title"] != title:
            data.append({"title": title, "paragraphs": []})
        paragraphs = data[-1]["paragraphs"]
        if not paragraphs or paragraphs[-1]["context"] != context:
            paragraphs.append({"context": context, "qas": []})
        qa = {"id": f"q{n}", "question": question, "answers": [{"text": a, "answer_start": 0} for a in answers]}
        paragraphs[-1]["qas"].append({**qa, "is_impossible": not answers})
    path.write_text(json.dumps({"version": "v2.0", "data": data}, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


# --- normalization and scores: SQuAD's official behaviour -----------------------------------------------------


def test_normalize_answer_is_squads_plus_accents_and_french_articles() -> None:
    assert normalize_answer("The Denver Broncos!") == "denver broncos"
    assert normalize_answer("  a   well-known   answer. ") == "wellknown answer"  # SQuAD drops '-' without a space
    assert normalize_answer("La Paz") == "la paz"  # English drops only a/an/the
    assert normalize_answer("L'Église de la Madeleine", "fr") == "eglise madeleine"
    assert normalize_answer("« 45 mètres »", "fr") == "45 metres"
    assert normalize_answer("d’un côté", "fr") == "cote"


def test_f1_matches_squads_official_values() -> None:
    assert f1_score("Denver Broncos", "Denver Broncos") == 1.0
    assert f1_score("the Denver Broncos", "Denver Broncos") == 1.0
    assert f1_score("Broncos", "Denver Broncos") == pytest.approx(2 / 3)
    assert f1_score("Denver Broncos won", "the Denver Broncos") == pytest.approx(0.8)
    assert f1_score("Carolina Panthers", "Denver Broncos") == 0.0
    assert f1_score("", "Denver Broncos") == 0.0
    assert f1_score("the", "a") == 1.0  # both empty after normalization, as in SQuAD's script
    assert f1_score("la société Durand", "société Durand Frères", "fr") == pytest.approx(0.8)
    # A gold answer that normalizes to nothing (SQuAD 2.0 has a "." among real ones) does not match an empty answer.
    assert best_f1("", ["renewal of hostilities", "."]) == 0.0
    assert best_f1("the renewal", ["renewal of hostilities", "."]) == pytest.approx(0.5)


def test_short_answer_and_stating_a_gold_answer() -> None:
    assert short_answer("$14.3 billion [1]\n« Meta paid $14.3 billion. » [1]") == "$14.3 billion"
    assert short_answer("« Le lac a été mis en eau en 1956. » [2]") == ""
    assert short_answer("It opened in 1932 [1].\nMore text.") == "It opened in 1932 ."
    assert states("It opened in 1932 [1].", ["1932"])
    assert not states("It opened in 19321.", ["1932"])  # whole words only
    assert not states("See the source [1].", ["1"])  # a citation marker is not a figure
    assert states("à une profondeur de 45 Mètres [1]", ["45 mètres"], "fr")
    assert answer_words("« Il a été mis en eau en 1956. » [2]") == 8
    # The short answer line is a span of the quote under it, not a sentence; an answer without quotes counts whole.
    assert answer_sentences("$14.3 billion [1]\n« Meta paid $14.3 billion. » [1]\n« It was 49%. » [2]") == 2
    assert answer_sentences("It opened in 1932 [1]. It cost $4 million [2].") == 2


# --- loading ----------------------------------------------------------------------------------------------------


def test_both_input_formats_give_the_same_questions(tmp_path: Path) -> None:
    lines = load_squad(write_jsonl(tmp_path / "set.jsonl"))
    official = load_squad(write_official(tmp_path / "set.json"))

    def key(items: list) -> list:
        return [(i.title, i.context, i.question, i.answers, i.answerable, i.language) for i in items]

    assert key(lines) == key(official)
    assert [i.language for i in lines] == LANGUAGES
    assert [i.answerable for i in lines] == [bool(q[3]) for q in QUESTIONS]
    assert official[0].id == "q0" and lines[0].id == "set.jsonl:1"


def test_limit_keeps_the_first_questions_with_their_whole_articles(tmp_path: Path) -> None:
    items = load_squad(write_jsonl(tmp_path / "set.jsonl"))
    asked, corpus = first_questions(items, 2)
    assert [i.question for i in asked] == [q[2] for q in QUESTIONS[:2]]
    assert articles_of(corpus) == {"Kelvin_Harbor_Bridge": BRIDGE_1 + "\n\n" + BRIDGE_2}
    assert set(articles_of(items)) == {"Kelvin_Harbor_Bridge", "Lac de Pralognan"}


# --- a real run: real ingest, the bundled model, embedded Chroma ------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("squad")
    home = folder / "home"
    items = load_squad(write_official(folder / "tiny.json"))
    return run_squad(items, load_settings({"home": home}, environ={}), k=5), home


def test_run_reports_every_question_and_leaves_the_users_index_alone(tiny_run: tuple[dict[str, Any], Path]) -> None:
    report, home = tiny_run
    assert not (home / "chroma").exists()  # the index was a throw-away one
    assert report["run"]["articles"] == 2 and report["run"]["chunks"] >= 2 and report["run"]["k"] == 5
    assert [i["id"] for i in report["items"]] == [f"q{n}" for n in range(len(QUESTIONS))]
    assert [i["language"] for i in report["items"]] == LANGUAGES
    metrics = report["metrics"]
    assert (metrics["items"], metrics["answerable"], metrics["unanswerable"]) == (7, 6, 1)
    # Two short articles, five chunks retrieved: every gold answer is within reach.
    assert metrics["retrieval_ceiling"] == 1.0
    assert all(i["retrieved_has_gold"] for i in report["items"] if i["answerable"])
    assert metrics["answerable_refused"] < 1.0  # it answers some of these easy questions


def test_item_scores_agree_with_the_answer_text(tiny_run: tuple[dict[str, Any], Path]) -> None:
    for item in tiny_run[0]["items"]:
        answer = item["answer"]
        if not item["answerable"]:
            assert item["f1"] is None and item["states_gold_any"] is None and item["retrieved_has_gold"] is None
            continue
        verbatim = any(re.search(rf"(?<!\w){re.escape(g.lower())}(?!\w)", answer.lower()) for g in item["gold"])
        assert item["states_gold_any"] == (not item["refused"] and states(answer, item["gold"], item["language"]))
        if verbatim and not item["refused"]:
            assert item["states_gold_any"]
        if item["refused"]:
            assert item["f1"] == 0.0 and item["short_answer"] == "" and item["answer_words"] is None
        else:
            assert item["short_answer"] == short_answer(answer) and item["answer_words"] == answer_words(answer)
        assert 0.0 <= item["f1"] <= 1.0
        lead = states(lead_line(answer), item["gold"], item["language"])
        assert item["states_gold_lead"] == (not item["refused"] and lead)
        if item["states_gold_short"]:
            assert item["states_gold_lead"] and item["short_answer"]
        if item["states_gold_lead"]:
            assert item["states_gold_any"]
        if item["f1"] == 1.0:
            assert item["states_gold_short"]
        assert item["latency_ms"] > 0


def test_metrics_are_the_items_summed_up(tiny_run: tuple[dict[str, Any], Path]) -> None:
    report = tiny_run[0]
    items, metrics = report["items"], report["metrics"]
    answerable = [i for i in items if i["answerable"]]
    for name in ("states_gold_short", "states_gold_lead", "states_gold_any", "retrieved_has_gold", "refused"):
        expected = mean([float(i[name]) for i in answerable])
        key = {"retrieved_has_gold": "retrieval_ceiling", "refused": "answerable_refused"}.get(name, name)
        assert metrics[key] == pytest.approx(expected, abs=1e-4)
    assert metrics["f1"] == pytest.approx(mean([i["f1"] for i in answerable]), abs=1e-4)
    assert metrics["unanswerable_refused"] == float(items[3]["refused"])
    assert metrics["states_gold_short"] <= metrics["states_gold_lead"] <= metrics["states_gold_any"]
    latencies = [i["latency_ms"] for i in items]
    assert metrics["latency_p50_ms"] == percentile(latencies, 0.5) <= metrics["latency_p95_ms"]
    by_language = report["by_language"]
    assert set(by_language) == {"en", "fr"}
    assert (by_language["en"]["items"], by_language["fr"]["items"]) == (4, 3)
    assert by_language["fr"]["unanswerable_refused"] is None  # no unanswerable French question: None, not 0
    text = summary_text(report)
    assert text.splitlines()[0].split() == ["metric", "all", "en", "fr"]
    assert re.search(r"^retrieval ceiling\s+100\.0%\s+100\.0%\s+100\.0%$", text, re.M)


# --- the CLI ----------------------------------------------------------------------------------------------------


def test_cli_limit_json_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "set.jsonl")
    out = tmp_path / "reports"
    assert main(["eval", "--squad", str(data), "--limit", "2", "--k", "3", "--json", "--out", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [i["id"] for i in report["items"]] == ["set.jsonl:1", "set.jsonl:2"]
    assert report["run"]["articles"] == 1 and report["run"]["k"] == 3 and report["run"]["limit"] == 2
    assert report["by_language"] == {} and report["metrics"]["items"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["squad.json", "squad.md"]
    assert json.loads((out / "squad.json").read_text(encoding="utf-8"))["items"] == report["items"]
    assert "| retrieval ceiling |" in (out / "squad.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{path}: no such file"),
        ('{"title": "t", "context": "c", "question": "q?", "answers": []}\nnot json\n', "{path}:2: not JSON"),
        ('{"title": "t", "context": "Some text.", "answers": ["x"]}\n', "{path}:1: missing field 'question'"),
        ('{"data": [{"title": "t", "paragraphs": [{"qas": [{"id": "a", "question": "Why?"}]}]}]}', "{path}: "),
        ("[1, 2]", "{path}: expected SQuAD JSON"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["eval", "--squad", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + message.format(path=path)) and err.count("\n") == 1
    if content and '"data"' in content:
        assert err == f"error: {path}: data[0].paragraphs[0].qas[0]: missing field 'context'\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--squad", "x.json", "--gold", "g.jsonl"], "--squad cannot be combined with --gold"),
        (["--squad", "x.json", "--predictions", "p.jsonl"], "--squad cannot be combined with --predictions"),
        (["--limit", "3"], "--limit goes with --squad"),
        (["--squad", "x.json", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_cli_usage_errors(capsys: pytest.CaptureFixture[str], flags: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
