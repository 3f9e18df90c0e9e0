"""Human-readable answers for the terminal: [n] markers, unsupported sentences marked, then the sources."""

from __future__ import annotations

from typing import Any

from rag.engine import AnswerResult
from rag.text import without_controls as clean

YELLOW, DIM, RESET = "\033[33m", "\033[2m", "\033[0m"


def _short_source(source: str) -> str:
    from pathlib import Path

    try:
        return str(Path(source).relative_to(Path.cwd()))
    except ValueError:
        return source


def render_answer(result: AnswerResult, color: bool = False, streamed: bool = False) -> str:
    """The answer (unless it was already streamed), its unsupported sentences marked, then 'Sources'."""
    warn = (lambda s: f"{YELLOW}{s}{RESET}") if color else (lambda s: s)
    dim = (lambda s: f"{DIM}{s}{RESET}") if color else (lambda s: s)
    lines: list[str] = [clean(result.note)] if result.note and not streamed else []
    if not streamed:
        if result.refused or not result.sentences:
            lines.append(clean(result.answer))
        for check in [] if result.refused else result.sentences:
            marks = "".join(f"[{n}]" for n in check.citations)
            text = f"{clean(check.text)} {marks}".strip()
            lines.append(text if check.supported else warn(f"⚠ {text}  (unsupported: {check.reason})"))
    else:
        bad = [c for c in result.sentences if not c.supported]
        if bad:
            lines.append("")
            lines.extend(warn(f"⚠ unsupported: {clean(c.text)}  ({c.reason})") for c in bad)
        if result.unverified_answer:
            lines.append(warn(f"⚠ no sentence was supported by the sources; answer withheld: {clean(result.answer)}"))
    if result.note and streamed:  # the answer is on the screen already: the note follows it
        lines.append(clean(result.note))
    if result.suggestion:
        lines.append(f"Ask instead: {clean(result.suggestion)}")
    for text in result.removed:
        lines.append(dim(f"(removed by --strict: {clean(text)})"))
    if result.citations:
        lines.append("")
        lines.append("Sources")
        for c in result.citations:
            where = f"page {c.page}, " if c.page else ""
            quote = clean(c.quote if len(c.quote) <= 300 else c.quote[:297] + "...")
            source = clean(_short_source(c.source))
            lines.append(f"[{c.n}] {clean(c.title)} — {source} ({where}characters {c.start}–{c.end})")
            lines.append(dim(f"    “{quote}”"))
    return "\n".join(lines)


def render_trace(result: AnswerResult) -> str:
    """What --trace prints: the standalone question, every retrieved chunk with its scores, step timings."""
    lines = [f"standalone question: {clean(result.standalone_question)}", "retrieved:"]
    for n, r in enumerate(result.retrieved, start=1):
        dense = "-" if r.dense is None else f"{r.dense:.3f} (#{r.dense_rank})"
        bm25 = "-" if r.bm25 is None else f"{r.bm25:.2f} (#{r.bm25_rank})"
        model = " multilingual" if r.dense_model == "multilingual" else ""
        e5 = "" if r.e5_rank is None else f"  e5 #{r.e5_rank}"
        lines.append(f"  [{n}] {r.chunk.id}  fused {r.score:.4f}  dense{model} {dense}{e5}  bm25 {bm25}")
        lines.append(f"      {r.chunk.text[:100]!r}")
    lines.extend(_selector_trace(result.trace.get("selector")))
    timings = "  ".join(f"{k} {v:.0f} ms" for k, v in result.timings_ms.items())
    lines.append(f"timings: {timings}")
    return "\n".join(lines)


def _selector_trace(selector: dict[str, Any] | None) -> list[str]:
    """The extractive answerer's choice: answerability, then the top sentences with each feature's share."""
    if not selector:
        return []
    verdict = f"refused: {selector['refused']}" if selector["refused"] else "answered"
    lines = [
        f"selector: asks for {selector['kind']}; answerability {selector['answerable']:.3f} "
        f"(refuses below {selector['refuse_below']:.3f}); {verdict}"
    ]
    parts = sorted(selector.get("answerable_features", {}).items(), key=lambda kv: -abs(kv[1][1]))
    if parts:
        lines.append("  answerability: " + "  ".join(f"{n}={value:g} ({part:+.2f})" for n, (value, part) in parts))
    for c in selector["candidates"]:
        lines.append(f"  p={c['probability']:.3f} [{c['n']}] {c['text'][:100]!r}")
        parts = sorted(c["features"].items(), key=lambda kv: -abs(kv[1][1]))
        lines.append("      " + "  ".join(f"{name}={value:g} ({part:+.2f})" for name, (value, part) in parts))
    return lines
