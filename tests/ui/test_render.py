"""The page's HTML: everything from documents escaped, [n] markers linked, unsupported sentences marked."""

from __future__ import annotations

from rag.engine import AnswerResult, Citation
from rag.verify import ClaimCheck
from ui.render import answer_html, error_html, highlight, sources_html, stopped_html, streaming_html

QUOTE = "Meta announced it would pay $14.3 billion for a 49% stake in Scale AI <script>alert(1)</script>."


def result(**changes: object) -> AnswerResult:
    base = AnswerResult(
        question="How much did Meta pay for ScaleAI?",
        standalone_question="How much did Meta pay for ScaleAI?",
        answer="$14.3 billion [2]\nIt was paid in <b>cash</b>. [2]",
        refused=False,
        answerer="openai",
        language="en",
        citations=[Citation(2, "scale-ai-deal", "Scale <AI> deal", "/docs/scale.md", "c1", QUOTE, 57, 159, None)],
        sentences=[
            ClaimCheck("$14.3 billion", "supported", "its figures are in the source", QUOTE, [2]),
            ClaimCheck(
                "It was paid in <b>cash</b>.", "unsupported", 'only 20% of its words are in "a source"', "", [2]
            ),
        ],
        retrieved=[],
        timings_ms={},
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_answer_marks_unsupported_sentences_with_the_reason_on_screen_and_escapes_everything() -> None:
    html = answer_html(result(), turn=3)
    assert '<span class="rag-supported">$14.3 billion <a class="rag-marker" href="#rag-m3-s2">[2]</a></span>' in html
    assert '<span class="rag-reason">only 20% of its words are in &quot;a source&quot;</span>' in html
    assert "It was paid in &lt;b&gt;cash&lt;/b&gt;." in html and "<b>" not in html
    assert html.count("<p>") == 2  # the answer's line break is kept


def test_sentences_of_one_paragraph_stay_on_one_line() -> None:
    checks = [
        ClaimCheck("Meta paid $14.3 billion.", "supported", "", QUOTE, [1]),
        ClaimCheck("It bought 49%.", "supported", "", QUOTE, [1]),
    ]
    html = answer_html(result(answer="Meta paid $14.3 billion. [1] It bought 49%. [1]", sentences=checks))
    assert html.count("<p>") == 1


def test_extractive_answer_reads_as_answer_then_quote() -> None:
    checks = [
        ClaimCheck("$14.3 billion", "supported", "", QUOTE, [2]),
        ClaimCheck(QUOTE, "supported", "", QUOTE, [2]),
    ]
    answer = f"$14.3 billion [2]\n« {QUOTE} » [2]"
    html = answer_html(result(answer=answer, sentences=checks, answerer="extractive"), turn=1)
    assert '<p class="rag-short"><strong>$14.3 billion</strong> <a class="rag-marker" href="#rag-m1-s2">' in html
    said = html.split('<blockquote class="rag-said">')[1].split("</blockquote>")[0]
    assert said.startswith("«\u202fMeta announced") and "\u202f» " in said
    assert '<cite class="rag-said-source">scale.md</cite>' in said


def test_a_name_read_as_the_sources_spell_it_is_said_above_the_answer_or_refusal() -> None:
    note = "Read “Scael <AI>” as “Scale AI”, the sources' spelling."
    html = answer_html(result(note=note), turn=1)
    assert html.startswith('<div class="rag-answer"><p class="rag-read-as">Read “Scael &lt;AI&gt;” as “Scale AI”')
    refused = answer_html(result(refused=True, answer="I couldn't find this in the sources.", note=note))
    assert refused.startswith('<div class="rag-refusal"><p class="rag-read-as">Read “Scael &lt;AI&gt;”')
    assert 'class="rag-read-as"' not in answer_html(result())


def test_refusal_is_styled_as_a_refusal_not_an_error() -> None:
    refused = result(refused=True, answer="I couldn't find this in the sources.", citations=[], sentences=[])
    html = answer_html(refused)
    assert 'class="rag-refusal"' in html and "rag-error" not in html
    assert "Nothing in the indexed documents answers this question." in html
    assert sources_html(refused) == ""
    assert error_html("cannot reach <http://x>") == '<div class="rag-error">error: cannot reach &lt;http://x&gt;</div>'


def test_each_answer_carries_its_sources_escaped_with_the_supporting_words_lit() -> None:
    html = answer_html(result(), turn=5)
    assert '<details class="rag-sources" open><summary class="rag-sources-title">Sources · 1 passage</summary>' in html
    assert '<div class="rag-source" id="rag-m5-s2">' in html
    assert "Scale &lt;AI&gt; deal" in html and "scale.md · characters 57–159" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    sources = sources_html(result(), turn=5)
    # only the supported claim citing [2] lights words up: its figure and its word "billion"
    assert '<mark class="rag-figure">$14.3</mark> <mark class="rag-word">billion</mark>' in sources
    assert "<mark" not in sources.split("billion</mark>")[1]


def test_highlight_matches_figures_across_formats_and_languages() -> None:
    html = highlight("Meta a payé 14,3 milliards de dollars pour 49% de ScaleAI.", ["Meta paid $14.3 billion"])
    assert '<mark class="rag-figure">14,3</mark>' in html and '<mark class="rag-word">milliards</mark>' in html
    assert "<mark" not in html.split("de dollars")[1].split("ScaleAI")[0]


def test_pdf_citations_say_the_page() -> None:
    cited = Citation(1, "r", "Report", "/docs/r.pdf", "c", "Revenue rose 12%.", 4000, 4017, 3)
    html = sources_html(
        result(citations=[cited], sentences=[ClaimCheck("Revenue rose 12%.", "supported", "", "", [1])])
    )
    assert "r.pdf · page 3, characters 4000–4017" in html


def test_a_stopped_answer_says_so() -> None:
    assert stopped_html("") == '<div class="rag-answer rag-stopped"><span class="rag-stopped-note">stopped</span></div>'
    assert stopped_html("Meta <paid>").startswith('<div class="rag-answer rag-stopped">Meta &lt;paid&gt; <span')


def test_streaming_text_is_escaped() -> None:
    assert streaming_html("") == '<span class="rag-searching">Searching your documents…</span>'
    assert streaming_html("a <img src=x onerror=alert(1)>") == (
        '<div class="rag-answer rag-streaming">a &lt;img src=x onerror=alert(1)&gt;</div>'
    )
