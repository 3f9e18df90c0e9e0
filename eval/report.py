"""The eval reports: report.json (everything), report.md (for a terminal) and report.html (one offline page).

Questions, answers and evidence come from documents and models, so they are untrusted data: every piece of
text that reaches the HTML goes through `html.escape`, and the page loads nothing from anywhere.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

RATIOS = ("faithfulness", "answer_correctness", "context_recall", "hit_at_k", "citation_precision", "refusal_accuracy")
LATENCIES = ("latency_p50_ms", "latency_p95_ms")
COUNTS = ("items", "abstentions", "contradicted_claims")
SUMMARY = (*RATIOS, *LATENCIES, "scorer_balanced_accuracy", *COUNTS)
LABELS = {
    "faithfulness": "Faithfulness",
    "answer_correctness": "Answer correctness",
    "context_recall": "Context recall@k",
    "hit_at_k": "Hit@k",
    "citation_precision": "Citation precision",
    "refusal_accuracy": "Refusal accuracy",
    "latency_p50_ms": "Latency p50",
    "latency_p95_ms": "Latency p95",
    "scorer_balanced_accuracy": "Scorer balanced accuracy",
    "items": "Items",
    "abstentions": "Abstentions",
    "contradicted_claims": "Contradicted claims",
}
# A rise in these is bad news; a change in a neutral one is neither; for every other metric a fall is bad.
LOWER_IS_BETTER = {"latency_p50_ms", "latency_p95_ms", "contradicted_claims"}
NEUTRAL = {"items", "abstentions"}
MOVED = (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing"))
COLOURS = ("#2563eb", "#d97706")
WIDTH, HEIGHT, LEFT, PAD, AXIS = 260, 96, 52, 8, 12  # AXIS: room for the dates under the x axis
BOTTOM = HEIGHT - PAD - AXIS  # the x axis

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em; color: #1f2937; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .25em .6em; text-align: left; vertical-align: top; }
td { overflow-wrap: break-word; }
td.num, td.id { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.fail { background: #fee2e2; }
.gates { display: inline-block; padding: .2em .7em; border-radius: .3em; color: #fff; font-weight: 600; }
.gates.passed { background: #15803d; } .gates.failed { background: #b91c1c; }
.worse { color: #b91c1c; } .better { color: #15803d; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { font-weight: 600; }
svg text { font-size: 10px; fill: #6b7280; } svg .now { stroke: #111827; stroke-width: 1.5; }
blockquote { margin: .4em 0 .4em 1em; padding-left: .8em; border-left: 3px solid #d1d5db; white-space: pre-wrap; }
.verdict { font-weight: 600; color: #b91c1c; } .run { color: #6b7280; }
"""


def write_reports(report: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `out` (created if needed); return their paths.

    Raises OSError when `out` cannot be created or written.
    """
    report = _finite(report)
    out.mkdir(parents=True, exist_ok=True)
    texts = {"json": _json(report), "md": _markdown(report), "html": _html(report)}
    paths: dict[str, Path] = {}
    for kind, text in texts.items():
        paths[kind] = out / f"report.{kind}"
        paths[kind].write_text(text, encoding="utf-8")
    return paths


def _finite(value: Any) -> Any:
    """A copy with NaN and infinities as None: a missing score is not a number, and JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _json(report: dict[str, Any]) -> str:
    # allow_nan=False makes a NaN that slipped past _finite fail here, not in the reader's parser;
    # default=str keeps a stray Path in the run settings from crashing the end of a nightly run.
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=False, allow_nan=False, default=str) + "\n"


def _fmt(key: str, value: Any, change: bool = False) -> str:
    """A metric as people read it: ratios as percentages, latencies in ms, counts as integers.

    A change (`change=True`) carries its sign, and ratios move in percentage points.
    """
    if not isinstance(value, int | float):
        return "–"
    sign = "+" if change else ""
    if key in COUNTS:
        return f"{value:{sign}g}"
    if key.endswith("_ms"):
        return f"{value:{sign}.0f} ms"
    return f"{value * 100:{sign}.1f}" + (" pp" if change else "%")


def _direction(key: str, delta: Any) -> str:
    """'worse', 'better' or '' for a change in a metric."""
    if not isinstance(delta, int | float) or delta == 0 or key in NEUTRAL:
        return ""
    return "worse" if (delta > 0) == (key in LOWER_IS_BETTER) else "better"


def _rows(report: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """(metric, this run, previous run, change) for the summary table."""
    comparison = report["comparison"]
    previous = (comparison["previous"] or {}).get("metrics") or {}
    rows = []
    for key in SUMMARY:
        now, before = report["metrics"].get(key), previous.get(key)
        delta = comparison["deltas"].get(key)
        if delta is None and isinstance(now, int | float) and isinstance(before, int | float):
            delta = now - before
        rows.append((key, now, before, delta))
    return rows


def _run_line(run: dict[str, Any]) -> str:
    """The settings of the run on one line, so a changed number can be traced to a changed setting."""
    fields = {name: run.get(name) for name in ("answerer", "k", "gold", "predictions", "fingerprint")}
    parts = [f"{name} {value}" for name, value in fields.items() if value is not None]
    if isinstance(run.get("duration_s"), int | float):
        parts.append(f"ran in {run['duration_s']:.1f} s")
    parts += [f"{name} {version}" for name, version in (run.get("versions") or {}).items()]
    return " · ".join(parts)


def _previous_line(comparison: dict[str, Any]) -> str:
    previous, why = comparison["previous"], comparison.get("why", "")
    if previous is None:
        return f"No previous run to compare with: {why}." if why else "No previous run to compare with."
    line = f"Compared with the run of {previous['date']} (commit {previous.get('commit') or 'unknown'})"
    return f"{line}: {why}." if why else line + "."


def _claims(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Every claim of a failing item's answer, the ones that are not supported first."""
    return sorted(item.get("claims") or [], key=lambda claim: claim["verdict"] == "supported")


def _quote(text: str | None) -> list[str]:
    """A markdown quote block; every line is prefixed so a multi-line answer stays inside it."""
    return ["> " + line for line in (text or "(empty)").splitlines() or [""]]


def _markdown(report: dict[str, Any]) -> str:
    run, comparison, gates = report["run"], report["comparison"], report["gates"]
    lines = [f"# Eval report: {run['date']} · commit {run['commit'] or 'unknown'}", "", _run_line(run), ""]
    lines += [_previous_line(comparison), ""]
    lines += ["| metric | this run | previous | change |", "|---|---:|---:|---:|"]
    for key, now, before, delta in _rows(report):
        lines.append(f"| {LABELS[key]} | {_fmt(key, now)} | {_fmt(key, before)} | {_fmt(key, delta, change=True)} |")
    lines += ["", "**Gates:** passed" if gates["passed"] else "**Gates:** FAILED"]
    lines += [f"- {reason}" for reason in gates["failed"]]
    for title, key in MOVED:
        lines += ["", f"## {title} ({len(comparison[key])})", ""] + ([f"- {i}" for i in comparison[key]] or ["none"])
    failing = [item for item in report["items"] if not item["passed"]]
    lines += ["", f"## Failing items ({len(failing)})"]
    for item in failing:
        lines += ["", f"### {item['id']}", "", f"**Question:** {item['question']}", ""]
        if item.get("reference"):
            lines += [f"**Reference answer:** {item['reference']}", ""]
        lines += ["**Answer:**", "", *_quote(item["answer"]), ""]
        for evidence in item.get("evidence") or []:
            lines += [f"- gold evidence ({_found(evidence)}):", *("  " + line for line in _quote(evidence["quote"]))]
        if item.get("retrieved"):
            lines.append(f"- retrieved: {', '.join(item['retrieved'])}")
        lines += [f"- {failure}" for failure in item["failures"]]
        for claim in _claims(item):
            lines += ["", f"- **{claim['verdict']}**: {claim['text']}", f"  reason: {claim['reason']}"]
            lines += ["  " + line for line in _quote(claim["evidence"])]
    return "\n".join(lines) + "\n"


def _html(report: dict[str, Any]) -> str:
    run, gates, e = report["run"], report["gates"], html.escape
    status = "passed" if gates["passed"] else "failed"
    reasons = "".join(f"<li>{e(reason)}</li>" for reason in gates["failed"])
    history, comparison = report["history"], report["comparison"]
    floors = gates.get("fail_under", {})
    charts = [*(_chart(key, (key,), history, floors.get(key)) for key in RATIOS), _chart("latency", LATENCIES, history)]
    failing = [item for item in report["items"] if not item["passed"]]
    moved = "".join(f"<p><b>{title}:</b> {e(', '.join(comparison[key]) or 'none')}</p>" for title, key in MOVED)
    return "\n".join(
        [
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">',
            f"<title>Eval report {e(run['date'])}</title><style>{CSS}</style></head><body>",
            f"<header><h1>Eval report</h1><p>{e(run['date'])} · commit {e(run['commit'] or 'unknown')}</p>",
            f'<p><span class="gates {status}">Gates {status}</span></p><ul>{reasons}</ul></header>',
            f'<p class="run">{e(_run_line(run))}</p><p>{e(_previous_line(comparison))}</p>',
            _html_summary(report),
            moved,
            '<h2>Trends</h2><div class="charts">',
            *charts,
            "</div><h2>Questions</h2>",
            _html_items(report["items"]),
            f"<h2>Failing items ({len(failing)})</h2>",
            *(_html_failing(item) for item in failing),
            "</body></html>\n",
        ]
    )


def _html_summary(report: dict[str, Any]) -> str:
    rows = "".join(
        f'<tr><td>{LABELS[key]}</td><td class="num">{_fmt(key, now)}</td><td class="num">{_fmt(key, before)}</td>'
        f'<td class="num {_direction(key, delta)}">{_fmt(key, delta, change=True)}</td></tr>'
        for key, now, before, delta in _rows(report)
    )
    return f"<table><tr><th>metric</th><th>this run</th><th>previous</th><th>change</th></tr>{rows}</table>"


def _chart(name: str, keys: tuple[str, ...], history: list[dict[str, Any]], floor: float | None = None) -> str:
    """A small line chart of metrics over the runs, oldest first; this run's point is drawn larger.

    The x axis is labelled with the first and the last run's dates; a gate's floor is a dashed red line.
    """
    series = {key: [(run.get("metrics") or {}).get(key) for run in history] for key in keys}
    values = [v for vs in series.values() for v in vs if isinstance(v, int | float)]
    body = [f'<text x="{LEFT}" y="{HEIGHT // 2}">no data</text>']
    if values:
        lo, hi = _scale(keys[0], values + ([floor] if floor is not None else []))
        body = [
            f'<line x1="{LEFT}" y1="{PAD}" x2="{LEFT}" y2="{BOTTOM}" stroke="#d1d5db"/>',
            f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{WIDTH - PAD}" y2="{BOTTOM}" stroke="#d1d5db"/>',
            f'<text x="{LEFT - 4}" y="{PAD + 4}" text-anchor="end">{_fmt(keys[0], hi)}</text>',
            f'<text x="{LEFT - 4}" y="{BOTTOM}" text-anchor="end">{_fmt(keys[0], lo)}</text>',
            *_dates(history),
        ]
        if floor is not None:
            y = _y(floor, lo, hi)
            body.append(
                f'<line class="gate" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD}" y2="{y:.1f}" stroke="#b91c1c" '
                f'stroke-dasharray="3 2"><title>gate: fails under {_fmt(keys[0], floor)}</title></line>'
            )
        for colour, (key, vs) in zip(COLOURS, series.items(), strict=False):
            body += _series(key, vs, history, (lo, hi), colour)
    caption = " / ".join(f'<span style="color:{c}">{LABELS[k]}</span>' for c, k in zip(COLOURS, keys, strict=False))
    return (
        f'<figure id="trend-{name}"><figcaption>{caption}</figcaption>'
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{name} over the last {len(history)} runs">{"".join(body)}</svg></figure>'
    )


def _y(value: float, lo: float, hi: float) -> float:
    """Where a value sits on a chart's y axis, `hi` at the top, `lo` on the x axis."""
    return PAD + (hi - value) / (hi - lo) * (BOTTOM - PAD)


def _dates(history: list[dict[str, Any]]) -> list[str]:
    """The first and the last run's dates under the x axis (one label when every run is the same day)."""
    days = [str(run.get("date") or "")[:10] for run in history]
    y = BOTTOM + AXIS
    first = f'<text class="date" x="{LEFT}" y="{y}">{html.escape(days[0])}</text>'
    if len(days) == 1 or days[0] == days[-1]:
        return [first]
    return [first, f'<text class="date" x="{WIDTH - PAD}" y="{y}" text-anchor="end">{html.escape(days[-1])}</text>']


def _scale(key: str, values: list[float]) -> tuple[float, float]:
    """The y range: the data's own, widened so a fraction of a point of noise does not look like a cliff."""
    lo, hi = min(values), max(values)
    span = 10.0 if key.endswith("_ms") else 0.05
    if hi - lo < span:
        lo = max(0.0, hi - span)
        hi = lo + span
    return lo, hi


def _series(
    key: str, values: list[Any], history: list[dict[str, Any]], scale: tuple[float, float], colour: str
) -> list[str]:
    """The line and the points of one metric; a None value is skipped, so one run is a single dot."""
    lo, hi = scale
    n = len(values)
    points = []
    for i, value in enumerate(values):
        if isinstance(value, int | float):
            x = LEFT + (WIDTH - PAD - LEFT) * i / (n - 1) if n > 1 else (LEFT + WIDTH - PAD) / 2
            y = _y(value, lo, hi)
            points.append((x, y, i, value))
    out = []
    if len(points) > 1:
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    for x, y, i, value in points:
        run = history[i]
        label = f"{run['date']} · commit {run.get('commit') or 'unknown'}: {_fmt(key, value)}"
        now = ' r="4" class="now"' if i == n - 1 else ' r="2.5"'
        out.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}"{now} fill="{colour}"><title>{html.escape(label)}</title></circle>'
        )
    return out


def _mark(value: Any) -> str:
    return "–" if value is None else "✓" if value else "✗"


def _truncate(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _html_items(items: list[dict[str, Any]]) -> str:
    e = html.escape
    head = "".join(
        f"<th>{h}</th>"
        for h in ("id", "question", "passed", "correct", "faithful", "hit", "cit. prec.", "latency", "answer")
    )
    rows = []
    for item in items:
        answer = item.get("answer") or ""
        link = f'<a href="#fail-{e(item["id"])}">{e(item["id"])}</a>' if not item["passed"] else e(item["id"])
        rows.append(
            f'<tr class="{"pass" if item["passed"] else "fail"}"><td class="id">{link}</td>'
            f"<td>{e(item.get('question') or '')}</td><td>{_mark(item['passed'])}</td>"
            f"<td>{_mark(item.get('correct'))}</td>"
            f'<td class="num">{_fmt("faithfulness", item.get("faithfulness"))}</td><td>{_mark(item.get("hit"))}</td>'
            f'<td class="num">{_fmt("citation_precision", item.get("citation_precision"))}</td>'
            f'<td class="num">{_fmt("latency_ms", item.get("latency_ms"))}</td>'
            f'<td title="{e(answer)}">{e(_truncate(answer))}</td></tr>'
        )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _html_failing(item: dict[str, Any]) -> str:
    """One failing item: its answer, why it failed, and each claim not supported with the evidence checked."""
    e = html.escape
    failures = "".join(f"<li>{e(failure)}</li>" for failure in item["failures"])
    claims = "".join(
        f'<li><span class="verdict">{e(claim["verdict"])}</span>: {e(claim["text"])}<br>reason: {e(claim["reason"])}'
        f"<blockquote>{e(claim['evidence'] or '(no evidence)')}</blockquote></li>"
        for claim in _claims(item)
    )
    reference = f"<p><b>Reference answer:</b> {e(item['reference'])}</p>" if item.get("reference") else ""
    evidence = "".join(
        f"<li>gold evidence ({e(_found(ev))}):<blockquote>{e(ev['quote'])}</blockquote></li>"
        for ev in item.get("evidence") or []
    )
    retrieved = f"<li>retrieved: <code>{e(', '.join(item['retrieved']))}</code></li>" if item.get("retrieved") else ""
    return (
        f'<section id="fail-{e(item["id"])}"><h3>{e(item["id"])}</h3><p><b>Question:</b> {e(item["question"])}</p>'
        f"{reference}<p><b>Answer:</b></p><blockquote>{e(item.get('answer') or '(empty)')}</blockquote>"
        f"<ul>{evidence}{retrieved}</ul><ul>{failures}</ul><ul>{claims}</ul></section>"
    )


def _found(evidence: dict[str, Any]) -> str:
    """Where a gold evidence passage is, and whether retrieval found it."""
    rank, doc = evidence.get("retrieved_rank"), evidence.get("doc_id", "?")
    return f"{doc}, retrieved at rank {rank}" if rank else f"{doc}, NOT retrieved"
