"""HTML for the web page: answers with their [n] markers and unsupported sentences marked, and the sources panel.

Everything that comes from a document or a user is escaped here; nothing else in `ui/` builds HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

from rag.engine import AnswerResult, Citation
from rag.stores import StoredDocument
from rag.text import expand, squash, tokenize
from rag.verify import CITATION

# A word as the highlighter sees it: a figure ($14.3, 14,3, 49%) or a run of letters (with an elision).
WORD = re.compile(r"[$€£]?\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)?")
QUOTE_CHARS = 600  # longer passages are cut in the panel (the whole quote is in the JSON details)

SEARCHING = '<span class="rag-searching">Searching your documents…</span>'


def _markers(numbers: Iterable[int], turn: int) -> str:
    return "".join(f'<a class="rag-marker" href="#rag-m{turn}-s{n}">[{n}]</a>' for n in numbers)


def streaming_html(text: str) -> str:
    """The answer as it arrives, before verification: plain escaped text."""
    return f'<div class="rag-answer rag-streaming">{escape(text)}</div>' if text.strip() else SEARCHING


def stopped_html(partial: str) -> str:
    """An answer the user stopped: what had arrived, marked as stopped and unverified."""
    kept = f"{escape(partial)} " if partial.strip() else ""
    return f'<div class="rag-answer rag-stopped">{kept}<span class="rag-stopped-note">stopped</span></div>'


def answer_html(result: AnswerResult, turn: int = 0) -> str:
    """The chat message for a finished answer, carrying its own sources.

    A refusal reads as one. Otherwise: the short answer in bold, quoted sentences as quotes with their source's
    name, unsupported sentences with their reason on screen, and below, the passages this message cites (ids
    unique to the message, so a [n] in an old answer opens that answer's passage, not the latest one's).
    """
    if result.refused:
        return _refusal_html(result)
    names = {c.n: Path(c.source).name for c in result.citations}
    blocks: list[str] = []
    line: list[str] = []  # sentences of the current paragraph

    def end_line() -> None:
        if line:
            blocks.append("<p>" + " ".join(line) + "</p>")
            line.clear()

    first_line, more = (result.answer.split("\n", 1) + [""])[:2]
    # The extractive answerer's short answer ("$14.3 billion [1]") is a line of its own above its quotes.
    short = result.answerer == "extractive" and more.strip() != "" and "«" not in first_line
    at = 0
    for i, check in enumerate(result.sentences):
        found = result.answer.find(check.text[:40], at)
        if found > at and "\n" in result.answer[at:found]:  # keep the answer's line breaks
            end_line()
        quoted = found > 0 and result.answer[max(0, found - 2) : found].strip() == "«"
        at = max(at, found + len(check.text)) if found >= 0 else at
        marks = _markers(check.citations, turn)
        if not check.supported:
            line.append(
                f'<span class="rag-unsupported"><span class="rag-badge">⚠ unsupported</span> {escape(check.text)} '
                f'{marks} <span class="rag-reason">{escape(check.reason)}</span></span>'
            )
        elif quoted:
            end_line()
            cite = ", ".join(dict.fromkeys(names[n] for n in check.citations if n in names))
            blocks.append(
                f'<blockquote class="rag-said">«\u202f{escape(check.text)}\u202f» {marks}'
                f'<cite class="rag-said-source">{escape(cite)}</cite></blockquote>'
            )
        elif i == 0 and short:
            blocks.append(f'<p class="rag-short"><strong>{escape(check.text)}</strong> {marks}</p>')
        else:
            line.append(f'<span class="rag-supported">{escape(check.text)} {marks}</span>')
    end_line()
    parts = _note_html(result) + (blocks or [f"<p>{escape(result.answer)}</p>"])
    removed = "".join(
        f'<div class="rag-removed">removed by strict mode: {escape(text)}</div>' for text in result.removed
    )
    return '<div class="rag-answer">' + "".join(parts) + removed + "</div>" + sources_html(result, turn)


def _note_html(result: AnswerResult) -> list[str]:
    """The answerer's note above its answer (a name it read as the sources spell it), if it has one."""
    return [f'<p class="rag-read-as">{escape(result.note)}</p>'] if result.note else []


def _refusal_html(result: AnswerResult) -> str:
    note = (
        "Rien dans les documents indexés ne répond à cette question."
        if result.language == "fr"
        else "Nothing in the indexed documents answers this question."
    )
    withheld = ""
    if result.unverified_answer:
        withheld = (
            '<div class="rag-withheld">An answer was written but no sentence of it is supported by the sources, '
            f"so it is withheld: <q>{escape(result.unverified_answer)}</q></div>"
        )
    return (
        f'<div class="rag-refusal">{"".join(_note_html(result))}<span class="rag-refusal-icon">∅</span> '
        f"{escape(result.answer)}"
        f'<div class="rag-refusal-note">{note}</div>{withheld}</div>'
    )


def title_html(docs: Sequence[StoredDocument] | None) -> str:
    """The title bar: the app's name and the size of the index."""
    size = ""
    if docs is not None:
        chunks = sum(len(d.chunk_ids) for d in docs)
        size = f'<span class="rag-index-size">{len(docs)} documents · {chunks} chunks indexed</span>'
    return f'<div class="rag-title"><span class="rag-app-name">rag</span> — ask your documents {size}</div>'


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


def sources_html(result: AnswerResult, turn: int = 0) -> str:
    """The passages one answer cites, each with its document, location and highlighted words (open by default)."""
    if not result.citations:
        return ""
    cards = []
    for citation in result.citations:
        claims = _telling_claims(result, citation)
        quote = citation.quote
        cut = len(quote) > QUOTE_CHARS
        quote = quote[:QUOTE_CHARS]
        name = Path(citation.source).name
        cards.append(
            f'<div class="rag-source" id="rag-m{turn}-s{citation.n}">'
            f'<div class="rag-source-head"><span class="rag-source-n">[{citation.n}]</span> '
            f'<span class="rag-source-title">{escape(citation.title)}</span></div>'
            f'<div class="rag-source-where" title="{escape(citation.source)}">{escape(name)} · '
            f"{escape(location(citation))}</div>"
            f'<blockquote class="rag-quote">{highlight(quote, claims)}{"…" if cut else ""}</blockquote>'
            "</div>"
        )
    count = f"{len(cards)} passage{'s' if len(cards) > 1 else ''}"
    return (
        f'<details class="rag-sources" open><summary class="rag-sources-title">Sources · {count}</summary>'
        + "".join(cards)
        + "</details>"
    )


# Runs in the page: a [n] in any answer opens and highlights that answer's own passage; each bot message's
# accessible label is its text (Gradio puts the message's HTML there).
PAGE_JS = """() => {
document.addEventListener('click', (event) => {
  const marker = event.target.closest && event.target.closest('a.rag-marker');
  if (!marker) return;
  const card = document.getElementById(marker.getAttribute('href').slice(1));
  if (!card) return;
  event.preventDefault();
  const box = card.closest('details');
  if (box) box.open = true;
  document.querySelectorAll('.rag-source.rag-active').forEach((c) => c.classList.remove('rag-active'));
  card.classList.add('rag-active');
  card.scrollIntoView({block: 'nearest'});
}, true);
new MutationObserver(() => {
  const said = "'s message: ";
  document.querySelectorAll(`[aria-label*="${said}"]`).forEach((el) => {
    const label = el.getAttribute('aria-label');
    if (label === el.dataset.ragLabel || !label.includes('<')) return;
    const text = label.split(said)[0] + said + el.innerText.replace(/\\s+/g, ' ').trim();
    el.dataset.ragLabel = text;
    el.setAttribute('aria-label', text);
  });
}).observe(document.documentElement, {subtree: true, childList: true, attributes: true,
                                       attributeFilter: ['aria-label']});
setInterval(() => {  // an error in the Documents tab's result box looks like one
  const box = document.querySelector('#rag-doc-status');
  const text = box && box.querySelector('textarea');
  if (text) box.classList.toggle('rag-status-error', /^error:/m.test(text.value));
}, 250);
}"""

CSS = """
.rag-searching { color: var(--body-text-color-subdued); font-style: italic; }
.rag-marker { text-decoration: none; font-size: 0.85em; vertical-align: super; margin-left: 1px; }
.rag-unsupported { color: var(--body-text-color-subdued); text-decoration: underline dotted; cursor: help; }
.rag-badge { display: inline-block; font-size: 0.75em; padding: 0 6px; border-radius: 8px;
  background: #fef3c7; color: #92400e; border: 1px solid #f59e0b; margin-right: 4px; }
.rag-refusal { border-left: 4px solid #6b7280; padding: 4px 10px; color: var(--body-text-color); }
.rag-refusal-icon { font-weight: bold; color: #6b7280; }
.rag-refusal-note, .rag-withheld, .rag-removed { font-size: 0.85em; color: var(--body-text-color-subdued); }
.rag-read-as { font-size: 0.85em; font-style: italic; color: var(--body-text-color-subdued); }
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
.rag-answer p { margin: 0 0 6px 0; }
.rag-short strong { font-size: 1.1em; }
.rag-said { margin: 4px 0 6px 0; padding: 2px 0 2px 10px; border-left: 3px solid var(--color-accent);
  font-style: italic; }
.rag-said-source { display: block; font-style: normal; font-size: 0.8em; color: var(--body-text-color-subdued); }
.rag-said-source::before { content: "— "; }
.rag-reason { font-size: 0.85em; color: #92400e; }
.rag-reason::before { content: "unsupported: "; font-weight: 600; }
.rag-stopped-note { font-size: 0.8em; padding: 0 6px; border-radius: 8px; border: 1px solid #9ca3af;
  color: #4b5563; }
details.rag-sources { margin-top: 8px; }
details.rag-sources > summary { cursor: pointer; }
.rag-source.rag-active, .rag-source:target { outline: 2px solid var(--color-accent); }
#rag-titlebar { align-items: center; }
.rag-title { font-size: 1.25em; }
.rag-app-name { font-weight: 700; }
.rag-index-size { font-size: 0.7em; color: var(--body-text-color-subdued); margin-left: 8px; white-space: nowrap; }
#rag-doc-status.rag-status-error textarea { color: #b91c1c; border-left: 4px solid #dc2626; }
#rag-documents th, #rag-documents td { word-break: normal; overflow-wrap: anywhere; }
#rag-documents th { white-space: nowrap; }
@media (max-width: 640px) {
  .rag-title { font-size: 1.05em; }
  .rag-index-size { display: block; margin-left: 0; }
}
"""
