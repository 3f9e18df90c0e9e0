"""The three eval reports: JSON that round-trips without NaN, markdown for a terminal, one offline HTML page."""

import json
import math
import re
from pathlib import Path
from typing import Any

from eval.report import RATIOS, write_reports

XSS = "<script>alert(1)</script>"


def metrics(faithfulness: float | None, correctness: float, p50: float, contradicted: int = 0) -> dict[str, Any]:
    return {
        "faithfulness": faithfulness,
        "answer_correctness": correctness,
        "context_recall": 0.9,
        "hit_at_k": 0.93,
        "citation_precision": None,
        "refusal_accuracy": 0.98,
        "latency_p50_ms": p50,
        "latency_p95_ms": p50 * 1.5,
        "scorer_balanced_accuracy": 0.92,
        "items": 3,
        "abstentions": 1,
        "contradicted_claims": contradicted,
    }


def make_report(history_runs: int = 3) -> dict[str, Any]:
    this_run = metrics(0.91, 0.88, 82.0, contradicted=1)
    this_run["refusal_accuracy"] = math.nan  # a scorer bug must not leak NaN into the JSON
    past = [
        {"date": "2026-11-24T10:00:00+00:00", "commit": "aaa1111", "metrics": metrics(None, 0.90, 75.0)},
        {"date": "2026-11-25T10:00:00+00:00", "commit": None, "metrics": metrics(0.97, 0.91, 80.0)},
    ]
    history = [*past, {"date": "2026-11-26T10:00:00+00:00", "commit": "abc1234", "metrics": this_run}]
    history = history[-history_runs:]
    previous = past[-1] if history_runs > 1 else None
    return {
        "run": {
            "date": "2026-11-26T10:00:00+00:00",
            "commit": "abc1234",
            "fingerprint": "f00dcafe",
            "versions": {"rag-assistant": "0.1.0", "chromadb": "1.5.9"},
            "gold": "eval/gold.jsonl",
            "predictions": None,
            "answerer": "extractive",
            "k": 5,
            "duration_s": 12.3,
        },
        "metrics": this_run,
        "items": [
            {
                "id": "en-scale-price",
                "question": "How much did Meta pay for its stake in Scale AI?",
                "answer": f"Meta paid $14.8 billion [1]. {XSS}",
                "refused": False,
                "answerable": True,
                "faithfulness": 0.5,
                "correct": False,
                "missing_facts": ["$14.3 billion"],
                "hit": True,
                "recall": 1.0,
                "citation_precision": 1.0,
                "latency_ms": 45.2,
                "passed": False,
                "failures": ["missing fact $14.3 billion", "contradicted claim"],
                "claims": [
                    {
                        "text": "Meta paid $14.8 billion.",
                        "verdict": "contradicted",
                        "evidence": "Meta invested $14.3 billion in Scale AI for a 49% stake.",
                        "reason": "number 14.8 billion conflicts with 14.3 billion in the evidence",
                    },
                    {"text": "It was in June.", "verdict": "supported", "evidence": "In June 2025", "reason": "ok"},
                ],
            },
            {
                "id": "fr-ceo",
                "question": "Qui dirige Scale AI ?",
                "answer": "Jason Droege [2]. " + "x" * 400,
                "refused": False,
                "answerable": True,
                "faithfulness": 1.0,
                "correct": True,
                "missing_facts": [],
                "hit": True,
                "recall": 1.0,
                "citation_precision": 1.0,
                "latency_ms": 60.0,
                "passed": True,
                "failures": [],
                "claims": [
                    {"text": "Jason Droege.", "verdict": "supported", "evidence": "Jason Droege", "reason": "ok"}
                ],
            },
            {
                "id": "unanswerable-weather",
                "question": "What was the weather in Paris?",
                "answer": "",
                "refused": True,
                "answerable": False,
                "faithfulness": None,
                "correct": None,
                "missing_facts": [],
                "hit": None,
                "recall": None,
                "citation_precision": None,
                "latency_ms": None,
                "passed": True,
                "failures": [],
                "claims": [],
            },
        ],
        "comparison": {
            "previous": previous,
            "deltas": {"faithfulness": -0.06, "answer_correctness": -0.03} if previous else {},
            "newly_failing": ["en-scale-price"] if previous else [],
            "newly_passing": [],
        },
        "history": history,
        "gates": {
            "passed": False,
            "failed": ["faithfulness 0.91 < 0.95 (--fail-under)", "1 new contradicted claim"],
            "fail_under": {"faithfulness": 0.95},
        },
    }


EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:[a-z]+:|//)|url\(|@import""", re.IGNORECASE)


def test_writes_three_reports(tmp_path: Path) -> None:
    paths = write_reports(make_report(), tmp_path / "out")
    assert sorted(paths) == ["html", "json", "md"]
    assert all(path.is_file() and path.parent == tmp_path / "out" for path in paths.values())


def test_json_round_trips_without_nan(tmp_path: Path) -> None:
    report = make_report()
    text = write_reports(report, tmp_path)["json"].read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    assert data["metrics"]["refusal_accuracy"] is None
    assert data["metrics"]["faithfulness"] == 0.91
    assert data["items"][0]["answer"] == report["items"][0]["answer"]  # non-ASCII and markup kept as is
    assert list(data) == ["run", "metrics", "items", "comparison", "history", "gates"]
    assert math.isnan(report["metrics"]["refusal_accuracy"])  # the caller's dict is not modified


def test_markdown_has_summary_and_failing_claims(tmp_path: Path) -> None:
    md = write_reports(make_report(), tmp_path)["md"].read_text(encoding="utf-8")
    assert md.startswith("# Eval report: 2026-11-26T10:00:00+00:00 · commit abc1234")
    assert "| metric | this run | previous | change |" in md
    assert "| Faithfulness | 91.0% | 97.0% | -6.0 pp |" in md
    assert "| Latency p50 | 82 ms | 80 ms | +2 ms |" in md
    assert "| Refusal accuracy | – | 98.0% | – |" in md
    assert "- faithfulness 0.91 < 0.95 (--fail-under)" in md
    failing = md.split("## Failing items (1)")[1]
    assert "### en-scale-price" in failing and "fr-ceo" not in failing
    assert "> Meta paid $14.8 billion [1]." in failing
    assert "- **contradicted**: Meta paid $14.8 billion." in failing
    assert "  > Meta invested $14.3 billion in Scale AI for a 49% stake." in failing
    # every claim with its verdict, the ones that failed first
    assert failing.index("**contradicted**: Meta paid $14.8 billion.") < failing.index("**supported**: It was in June.")


def test_html_is_offline_escaped_and_charts_every_metric(tmp_path: Path) -> None:
    page = write_reports(make_report(), tmp_path)["html"].read_text(encoding="utf-8")
    for key in RATIOS:
        assert re.search(rf'<figure id="trend-{key}">.*?<svg .*?</svg></figure>', page), key
    assert page.count("<svg") == len(RATIOS) + 1  # one more for latency p50/p95
    assert "http://" not in page and "https://" not in page
    assert not EXTERNAL.search(page)
    assert "<script" not in page and XSS not in page
    assert html_escaped(XSS) in page
    assert re.search(r'<tr class="fail"><td class="id"><a href="#fail-en-scale-price">en-scale-price</a>', page)
    assert '<tr class="pass"><td class="id">fr-ceo</td>' in page
    full, shown = re.findall(r'<td title="([^"]*)">([^<]*)</td></tr>', page)[1]  # fr-ceo's long answer
    assert len(full) > 400 and len(shown) <= 200 and shown.endswith("…")
    assert 'class="gates failed"' in page
    assert "Meta invested $14.3 billion in Scale AI for a 49% stake." in page
    assert "2026-11-25T10:00:00+00:00 · commit unknown: 97.0%" in page  # date on hover
    # citation precision is None and refusal accuracy NaN this run: no point; latency has p50 and p95
    assert page.count('class="now"') == len(RATIOS) - 2 + 2
    # dates of the first and the last run under the x axis; the faithfulness gate drawn where its floor is
    faithfulness = re.search(r'<figure id="trend-faithfulness">.*?</figure>', page)
    assert faithfulness and ">2026-11-24</text>" in faithfulness[0] and ">2026-11-26</text>" in faithfulness[0]
    gate = re.search(
        r'<line class="gate"[^>]*y1="([\d.]+)"[^>]*><title>gate: fails under 95.0%</title>', faithfulness[0]
    )
    assert gate, faithfulness[0]
    points = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', faithfulness[0])]
    assert min(points) < float(gate[1]) < max(points)  # 0.97 above the 0.95 line, this run's 0.91 under it
    assert page.count('class="gate"') == 1  # only the metric with a floor


def html_escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_single_run_is_a_single_dot(tmp_path: Path) -> None:
    report = make_report(history_runs=1)
    paths = write_reports(report, tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "<polyline" not in page
    assert page.count("<circle") == len(RATIOS) - 2 + 2  # citation precision None, refusal accuracy NaN
    assert "No previous run to compare with." in page
    md = paths["md"].read_text(encoding="utf-8")
    assert "| Faithfulness | 91.0% | – | – |" in md
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["comparison"]["previous"] is None
