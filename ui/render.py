"""HTML for the web page: answers with their [n] markers and unsupported sentences marked, and the sources panel.

Everything that comes from a document or a user is escaped here; nothing else in `ui/` builds HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape
from pathlib import Path

from rag.engine import AnswerResult, Citation
from rag.text import expand, squash, tokenize
from rag.verify import CITATION

# A word as the highlighter sees it: a figure ($14.3, 14,3, 49%) or a run of letters (with an elision).
WORD = re.compile(r"[$€£]?\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)?")
QUOTE_CHARS = 600  # longer passages are cut in the panel (the whole quote is in the JSON details)

SEARCHING = '<span class="rag-searching">Searching your documents…</span>'
EMPTY_SOURCES = (
    '<div class="rag-sources rag-empty">Sources appear here: for each passage an answer cites, '
    "the document, where it is, and the quoted words.</div>"
)


def _markers(numbers: Iterable[int]) -> str:
    return "".join(f'<a class="rag-marker" href="#rag-source-{n}">[{n}]</a>' for n in numbers)


def _with_links(text: str) -> str:
    """Escape a sentence and make its [n] markers link to the sources panel."""
    out, last = [], 0
    for match in CITATION.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(_markers(int(n) for n in match.group(1).split(",")))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def streaming_html(text: str) -> str:
    """The answer as it arrives, before verification: plain escaped text."""
    return f'<div class="rag-answer rag-streaming">{escape(text)}</div>' if text.strip() else SEARCHING


def answer_html(result: AnswerResult) -> str:
    """The chat message for a finished answer: refusal, or sentences with markers and unsupported ones flagged."""
    if result.refused:
        note = (
            "Rien dans les documents indexés ne répond à cette question."
            if result.language == "fr"
            else "Nothing in the indexed documents answers this question."
        )
        withheld = ""
        if result.unverified_answer:
            withheld = (
                f'<div class="rag-withheld" title="{escape(result.unverified_answer)}">'
                "An answer was written but no sentence of it is supported by the sources, so it is withheld.</div>"
            )
        return (
            f'<div class="rag-refusal"><span class="rag-refusal-icon">∅</span> {escape(result.answer)}'
            f'<div class="rag-refusal-note">{note}</div>{withheld}</div>'
        )
    if not result.sentences:
        return f'<div class="rag-answer">{_with_links(result.answer)}</div>'
    parts: list[str] = []
    at = 0
    for check in result.sentences:
        found = result.answer.find(check.text[:40], at)
        if parts:  # keep the answer's line breaks between sentences
            parts.append("<br>" if found > at and "\n" in result.answer[at:found] else " ")
        at = max(at, found + len(check.text)) if found >= 0 else at
        marks = _markers(check.citations)
        if check.supported:
            parts.append(f'<span class="rag-supported">{escape(check.text)} {marks}</span>')
        else:
            parts.append(
                f'<span class="rag-unsupported" title="unsupported: {escape(check.reason)}">'
                f'<span class="rag-badge">⚠ unsupported</span> {escape(check.text)} {marks}</span>'
            )
    removed = "".join(
        f'<div class="rag-removed" title="removed by strict mode">removed: {escape(text)}</div>'
        for text in result.removed
    )
    return '<div class="rag-answer">' + "".join(parts) + removed + "</div>"


def error_html(message: str) -> str:
    """A failure (server unreachable, empty index): one line, styled apart from refusals."""
    return f'<div class="rag-error">error: {escape(message)}</div>'


def _tokens(text: str) -> set[str]:
    return set(expand(tokenize(text)))


def highlight(passage: str, claims: Iterable[str]) -> str:
    """Escape `passage` and wrap in <mark> the words it shares with `claims` (folded, FR/EN, figures by value)."""
    wanted: set[str] = set()
    for claim in claims:
        wanted |= _tokens(CITATION.sub("", claim))
    out, last = [], 0
    for match in WORD.finditer(passage):
        out.append(escape(passage[last : match.start()]))
        word = match.group(0)
        hit = wanted & set(tokenize(word))
        if hit:
            kind = "rag-figure" if any(ch.isdigit() for ch in word) else "rag-word"
            out.append(f'<mark class="{kind}">{escape(word)}</mark>')
        else:
            out.append(escape(word))
        last = match.end()
    out.append(escape(passage[last:]))
    return "".join(out)


def _telling_claims(result: AnswerResult, citation: Citation) -> list[str]:
    """The supported claims citing this source whose words should light up in its quote.

    A claim that merely repeats the quote would light up all of it, so when there are others (such as the
    short answer "$14.3 billion") they decide.
    """
    claims = [c.text for c in result.sentences if citation.n in c.citations and c.supported]
    quote = squash(citation.quote)
    telling = [c for c in claims if not (squash(c) in quote and len(squash(c)) >= 0.8 * len(quote))]
    return telling or claims


def location(citation: Citation) -> str:
    """Where the passage is: page (PDFs) and character offsets in the document text."""
    where = f"page {citation.page}, " if citation.page else ""
    return f"{where}characters {citation.start}–{citation.end}"


def sources_html(result: AnswerResult) -> str:
    """The sources panel for one answer: each cited passage with its document, location and highlighted words."""
    if result.refused:
        return '<div class="rag-sources rag-empty">No source supports an answer to this question.</div>'
    if not result.citations:
        return '<div class="rag-sources rag-empty">This answer cites no source.</div>'
    cards = []
    for citation in result.citations:
        claims = _telling_claims(result, citation)
        quote = citation.quote
        cut = len(quote) > QUOTE_CHARS
        quote = quote[:QUOTE_CHARS]
        name = Path(citation.source).name
        cards.append(
            f'<div class="rag-source" id="rag-source-{citation.n}">'
            f'<div class="rag-source-head"><span class="rag-source-n">[{citation.n}]</span> '
            f'<span class="rag-source-title">{escape(citation.title)}</span></div>'
            f'<div class="rag-source-where" title="{escape(citation.source)}">{escape(name)} · '
            f"{escape(location(citation))}</div>"
            f'<blockquote class="rag-quote">{highlight(quote, claims)}{"…" if cut else ""}</blockquote>'
            "</div>"
        )
    return '<div class="rag-sources"><div class="rag-sources-title">Sources</div>' + "".join(cards) + "</div>"


CSS = """
.rag-searching { color: var(--body-text-color-subdued); font-style: italic; }
.rag-marker { text-decoration: none; font-size: 0.85em; vertical-align: super; margin-left: 1px; }
.rag-unsupported { color: var(--body-text-color-subdued); text-decoration: underline dotted; cursor: help; }
.rag-badge { display: inline-block; font-size: 0.75em; padding: 0 6px; border-radius: 8px;
  background: #fef3c7; color: #92400e; border: 1px solid #f59e0b; margin-right: 4px; }
.rag-refusal { border-left: 4px solid #6b7280; padding: 4px 10px; color: var(--body-text-color); }
.rag-refusal-icon { font-weight: bold; color: #6b7280; }
.rag-refusal-note, .rag-withheld, .rag-removed { font-size: 0.85em; color: var(--body-text-color-subdued); }
.rag-error { border-left: 4px solid #dc2626; padding: 4px 10px; color: #b91c1c; font-family: monospace; }
.rag-sources-title { font-weight: 600; margin-bottom: 6px; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px;
  margin-bottom: 8px; }
.rag-source-n { font-weight: 600; }
.rag-source-where { font-size: 0.8em; color: var(--body-text-color-subdued); }
.rag-quote { margin: 6px 0 0 0; padding-left: 8px; border-left: 3px solid var(--border-color-accent); }
.rag-quote mark { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.rag-quote mark.rag-figure { background: #fbbf24; font-weight: 600; }
.rag-empty { color: var(--body-text-color-subdued); font-style: italic; }
"""
