"""The extractive answerer's parts on text that is not from the bundled corpus: analysis, spans, features, model."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from rag.answerers.extractive.features import (
    FEATURES,
    Candidate,
    acronyms_in,
    entailed,
    feature_rows,
    figure_names_missing,
    initials_in,
    name_found,
    name_index,
    read_alone,
)
from rag.answerers.extractive.model import (
    ACROSS_UNKNOWN,
    ANSWERABLE_ACROSS_UNKNOWN,
    ANSWERABLE_FEATURES,
    LogisticModel,
    answerable_row,
    load_selector,
)
from rag.answerers.extractive.question import analyze, question_type
from rag.answerers.extractive.reader import Reading, Span, load_reader
from rag.answerers.extractive.spans import best_span, render_span, spans
from tests.conftest import SHARED, needs_qa


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Norman conquest of England begin?", "date"),
        ("En quelle année la tour Eiffel a-t-elle été achevée ?", "date"),
        ("How many moons does Jupiter have?", "count"),
        ("Combien de ponts traversent la Seine à Paris ?", "count"),
        ("How much did the city spend on the new bridge?", "amount"),
        ("Who painted the ceiling of the Sistine Chapel?", "person"),
        ("Qui a écrit Les Misérables ?", "person"),
        ("What percentage of the land is covered by forest?", "percent"),
        ("How old was Mozart when he died?", "age"),
        ("Is the river navigable in winter?", "yesno"),
        ("Why did the empire decline?", "description"),
        # The noun after "which"/"what" decides before any keyword of the rest of the question.
        ("In what month did the railway buy its stake in the port?", "date"),
        ("By which year had the canal been widened?", "date"),
        ("De quelle année date la constitution du pays ?", "date"),
        ("What price did the museum pay for the painting?", "amount"),
        ("What amount of the harvest is exported?", "description"),
    ],
)
def test_question_type(question: str, kind: str) -> None:
    assert question_type(question) == kind


def test_analysis_separates_names_years_and_content() -> None:
    q = analyze("What did Ada Lovelace publish in 1843?")
    assert q.kind == "description" and q.language == "en"
    assert q.names == ("Ada Lovelace",)
    assert q.years == frozenset({1843.0})
    assert "publish" in q.content and "ada" not in q.content
    fr = analyze("Combien d'habitants compte la ville de Lyon ?")
    assert (fr.kind, fr.language, fr.names) == ("count", "fr", ("Lyon",))
    assert fr.counted and "habitant" in " ".join(fr.counted)


def test_a_month_is_a_word_of_the_question_not_a_name() -> None:
    # Capitalized in English, lower case in French: either way a word to find, not a name every answer must hold.
    en = analyze("How much did the Louvre spend in March 2024?")
    assert en.names == ("Louvre",) and "march" in en.content and en.years == {2024.0}
    assert "mars" in analyze("Combien le Louvre a-t-il dépensé en mars 2024 ?").content


def test_a_capitalized_first_word_the_sources_do_not_hold_is_no_name() -> None:
    # Its place capitalizes it; only the retrieved text tells "Along" (a word) from "Tesla" (a name).
    sources = ["By 1930, gas turbines replaced steam engines along with diesel engines.", "Tesla was sold."]
    assert analyze("Along with diesel engines, what replaced steam engines?", sources=sources).names == ()
    assert analyze("Along with diesel engines, what replaced steam engines?").names == ("Along",)
    assert analyze("Tesla was sold to whom?", sources=sources).names == ("Tesla",)
    assert analyze("Contre qui Tesla joue-t-il ?", sources=["Tesla joue contre Ford."]).names == ("Tesla",)
    assert analyze("Durant quelle année Ford a-t-il vendu ?", sources=["En 1950, Ford a vendu"]).names == ("Ford",)


def test_follow_up_subject_counts_as_the_questions_own() -> None:
    q = analyze("How old is he? (Grace Hopper; Who wrote the first compiler?)", "How old is he?", "Grace Hopper")
    assert q.kind == "age" and q.names == ("Grace Hopper",) and q.own == "How old is he?"


def test_spans_of_the_asked_type() -> None:
    sentence = "The bridge opened in March 1932 and cost $4.2 million, twice the 1929 estimate."
    assert spans(analyze("When did the bridge open?"), sentence) == ["March 1932", "1929"]
    assert best_span(analyze("When did the bridge open?"), sentence) == "March 1932"
    # A date written month first is one span, not a bare month and a year: "January" answers no "when".
    us = "The treaty was signed on January 18, 1974, and ratified on November 22 after 1,200 amendments."
    assert spans(analyze("When was the treaty signed?"), us) == ["January 18, 1974", "November 22"]
    assert spans(analyze("In what year was the treaty signed?"), us) == ["1974"]
    assert spans(analyze("When did it open?"), "In May 2,500 visitors came to the opening.") == ["May"]
    assert spans(analyze("How much did the bridge cost?"), sentence) == ["$4.2 million"]
    person = "The mission was led by Katherine Johnson, a NASA mathematician, with Acme Labs."
    assert spans(analyze("Who led the mission?"), person) == ["Katherine Johnson"]
    assert render_span("$4.2 million", "amount", "fr", sentence) == "4,2 millions de dollars"
    # The currency is the sentence's own, in either language: euros and pounds never become dollars.
    assert render_span("420 millions d'euros", "amount", "en", "") == "€420 million"
    assert render_span("€1.5 billion", "amount", "fr", "") == "1,5 milliards d'euros"
    assert render_span("£3 million", "amount", "fr", "") == "3 millions de livres"
    assert render_span("2,5 milliards de dollars", "amount", "en", "") == "$2.5 billion"
    assert render_span("12 mars 1932", "date", "en", "") == "12 March 1932"


def _candidates() -> list[Candidate]:
    return [
        Candidate(1, "The observatory was founded in 1675 by royal decree.", "", "Greenwich", "en", True),
        Candidate(1, "Its telescope was replaced in 1893.", "The observatory was founded.", "Greenwich", "en", False),
        Candidate(2, "L'observatoire a été fondé en 1667.", "", "Paris", "fr", True),
    ]


def _readings(candidates: list[Candidate]) -> list[Reading]:
    """A reader that likes the first piece of every sentence ("The", "Its", "L'"): scores 1, 2, 3 by piece."""
    texts: dict[int, str] = {}
    for c in candidates:
        c.offset = len(texts.get(c.n, "")) + (1 if c.n in texts else 0)
        texts[c.n] = f"{texts[c.n]} {c.text}" if c.n in texts else c.text
    out = []
    for n in sorted(texts):
        offsets = [(m.start(), m.end()) for m in re.finditer(r"\w+", texts[n])]
        scores = np.array([3.0 if any(c.n == n and c.offset == a for c in candidates) else 0.0 for a, _ in offsets])
        out.append(Reading(1.0, scores, scores, offsets))
    return out


def test_reading_finds_the_best_span_inside_a_stretch() -> None:
    reading = Reading(
        0.5, np.array([0.0, 2.0, 0.0, 1.0]), np.array([0.0, 0.0, 3.0, 0.5]), [(0, 0), (0, 3), (4, 9), (10, 12)]
    )
    assert reading.best() == Span(0, 9, 5.0)
    assert reading.best(4, 12) == Span(4, 9, 3.0)  # the best start before the stretch is out
    assert reading.best(13) is None


def test_features_read_the_question_against_each_sentence() -> None:
    q = analyze("When was the Greenwich observatory founded in 1675?")
    candidates = _candidates()
    rows = feature_rows(q, candidates, [0.8, 0.5, 0.3], _readings(candidates))
    assert all(len(r) == len(FEATURES) for r in rows)
    f = [dict(zip(FEATURES, r, strict=True)) for r in rows]
    assert f[0]["dense_gap"] == 0.0 and f[1]["dense_gap"] == pytest.approx(-0.3)
    assert f[0]["year_match"] == 1.0 and f[1]["year_other"] == 1.0 and f[0]["year_other"] == 0.0
    assert f[0]["typed_span"] == 1.0 and f[0]["untyped_question"] == 0.0
    assert f[0]["overlap"] > f[1]["overlap"] and f[0]["idf_overlap"] > f[1]["idf_overlap"]
    assert f[0]["names"] == 1.0  # "Greenwich" is the chunk's title
    # The English-only model cannot compare the French sentence with an English question; the reader can.
    assert [math.isnan(f[2][n]) for n in ("dense", "reader", "reader_gap")] == [True, False, False]
    assert not math.isnan(f[0]["dense"]) and f[2]["overlap"] >= 0.0
    assert (f[0]["rank"], f[2]["rank"]) == (1.0, 0.5)
    assert f[0]["first_in_chunk"] == 1.0 and f[1]["first_in_chunk"] == 0.0
    assert f[0]["reader"] == 5.0 and f[0]["reader_gap"] == 0.0  # 3 + 3 against a "no answer" of 1
    assert candidates[0].read == Span(0, 3, 6.0)  # "The", in the sentence's own offsets


def test_a_chunk_left_unread_has_unknown_dense_and_reader_scores_not_bad_ones() -> None:
    from rag.answerers.extractive.reader import UNREAD

    q = analyze("When was the Greenwich observatory founded?")
    candidates = _candidates()[:2]
    candidates[1].n = 2  # the second sentence is now the second chunk, which the answerer did not read
    rows = feature_rows(q, candidates, [0.8, 0.5], [*_readings(candidates)[:1], UNREAD])
    f = [dict(zip(FEATURES, r, strict=True)) for r in rows]
    assert [math.isnan(f[1][n]) for n in ("dense", "dense_gap", "reader", "reader_gap")] == [True] * 4
    assert f[0]["reader"] == 5.0 and f[0]["dense"] == 0.8 and f[0]["dense_gap"] == 0.0
    # Unread in the other language: unknown too, not "the reader found no span" (-10), as the scorers learned it.
    french = _candidates()[2]
    rows = feature_rows(q, [*candidates, french], [0.8, 0.5, math.nan], [*_readings(candidates)[:1], UNREAD])
    assert math.isnan(dict(zip(FEATURES, rows[2], strict=True))["reader"])


def test_answerability_does_not_depend_on_the_order_of_unknown_reader_scores() -> None:
    q = analyze("When was the Greenwich observatory founded?")
    candidates = _candidates()  # the third, French, has unknown reader scores
    rows = feature_rows(q, candidates, [0.8, 0.5, 0.3], _readings(candidates))
    at = ANSWERABLE_FEATURES.index("reader_margin")
    forward = answerable_row([0.3, 0.2, 0.1], rows, q.typed, False)
    backward = answerable_row([0.1, 0.2, 0.3], rows[::-1], q.typed, False)
    assert forward[at] == backward[at] == 5.0


def test_answerability_flags_a_missing_year_and_missing_names() -> None:
    q = analyze("What happened at the Greenwich observatory in 1990?")
    candidates = _candidates()
    rows = feature_rows(q, candidates, [0.6, 0.5, 0.3], _readings(candidates))
    row = dict(zip(ANSWERABLE_FEATURES, answerable_row([0.3, 0.2, 0.1], rows, q.typed, bool(q.years)), strict=True))
    assert row["year_missing"] == 1.0 and row["names_missing"] == 0.0 and row["top_gap"] == pytest.approx(0.1)
    other = analyze("Who built the Zorblax Tower?")
    candidates = _candidates()
    rows = feature_rows(other, candidates, [0.1, 0.1, 0.1], _readings(candidates))
    row = dict(zip(ANSWERABLE_FEATURES, answerable_row([0.1, 0.1, 0.1], rows, True, False), strict=True))
    assert row["names_missing"] == 1.0 and row["year_missing"] == 0.0


def test_an_acronym_counts_only_written_in_capitals() -> None:
    """A two-word name's initials are a common word in lower case: "Isaac Stern" is not "is"."""
    assert name_found("Isaac Stern", *name_index("The hall, which is 28 metres high.")) == 0.0
    assert name_found("Isaac Stern", *name_index("The IS group met in Paris.")) == 1.0
    assert acronyms_in("NASA's JPL and ESA, not Airbus AI's X") == {"nasa", "jpl", "esa", "ai"}


def test_a_name_in_capitals_is_found_spelled_out() -> None:
    """A question's "AAA" is in a text that writes "the American Automobile Association", and only there."""
    text = "According to the American Automobile Association, stations in the Bank of Canada region ran dry."
    assert name_found("AAA", *name_index(text)) == 1.0
    assert name_found("BC", *name_index(text)) == 1.0  # "of" links a spelled-out name
    assert name_found("ACR", *name_index(text)) == 0.0  # "According ... ran": not a run of capitalized words
    assert name_found("AAA", *name_index("An American automobile association.")) == 0.0  # in lower case: words
    assert initials_in("The US Senate and the United Nations") == frozenset({"un"})  # "US" is an acronym itself


def test_a_name_with_a_figure_counts_only_with_its_figure() -> None:
    """Windows 11 is not in a sentence about Windows 10; World War 1 is World War I; a year is not a name's figure."""
    texts = ["Microsoft released Windows 10 on 29 July 2015.", "Le Boeing 747 a volé en 1969. World War I ended."]
    candidates = [Candidate(1, t, "", "t", "en", True) for t in texts]
    assert figure_names_missing(analyze("When was Windows 11 released?"), candidates) == ["Windows 11"]
    assert figure_names_missing(analyze("When was Windows-10 released?"), candidates) == []
    assert figure_names_missing(analyze("When was Windows-11 released?"), candidates) == ["Windows-11"]
    assert figure_names_missing(analyze("Quand le Boeing 737 a-t-il volé ?"), candidates) == ["Boeing 737"]
    assert figure_names_missing(analyze("When did World War 1 end?"), candidates) == []
    assert figure_names_missing(analyze("When did World War 2 end?"), candidates) == ["World War 2"]
    assert figure_names_missing(analyze("What did Microsoft release in 2015?"), candidates) == []
    assert figure_names_missing(analyze("What did Microsoft 2015 plans say?"), candidates) == []  # a year


def test_a_name_in_a_text_of_the_other_language_is_found_as_a_cognate_or_a_translation() -> None:
    """English capitalizes what French writes in lower case, and spells otherwise: "Vendean" / "vendéens"."""
    text = "Les insurgés vendéens et leurs alliés indo-européens gagnent les ports américains et les villes africaines."
    index = name_index(text)
    for name in ("Vendean", "Indo-European", "American", "Africans"):
        assert name_found(name, *index) == 0.0, name  # in the same language these are other words
        assert name_found(name, *index, across=True) == 0.8, name  # one word found, not the name as written
    assert name_found("Canada", *name_index("Le canal de Suez."), across=True) == 0.0  # "cana": too short a start
    assert name_found("Quarvex", *index, across=True) == 0.0
    assert name_found("Indo-Quarvex", *index, across=True) == 0.0  # each piece must be there


def test_answerability_flags_a_typed_answer_about_someone_else() -> None:
    """The best sentence has a date, but of another observatory than the one asked about: flagged."""
    candidates = _candidates()
    top = {}
    for question in ("When was the Greenwich observatory founded?", "When was the Arecibo observatory founded?"):
        q = analyze(question)
        rows = feature_rows(q, candidates, [0.8, 0.5, 0.3], _readings(candidates))
        row = dict(zip(ANSWERABLE_FEATURES, answerable_row([0.6, 0.2, 0.1], rows, q.typed, False), strict=True))
        top[question.split()[3]] = row["top_typed_no_names"]
    assert top == {"Greenwich": 0.0, "Arecibo": 1.0}


NEAR_MISSES = [
    (
        "Who designed the cathedral's dome?",
        "The cathedral's dome was designed by the architect Anna Berg.",
        "The cathedral's organ was built by the architect Anna Berg.",
    ),
    (
        "How many people live in the valley?",
        "About 12,000 people live in the valley today.",
        "About 12,000 sheep graze in the valley today.",
    ),
    (
        "In what year was the bridge opened?",
        "The bridge was opened to traffic in 1932.",
        "The tunnel was opened to traffic in 1932.",
    ),
]


@pytest.mark.parametrize(("question", "answering", "near_miss"), NEAR_MISSES[:2])
def test_entailment_tells_an_answering_sentence_from_a_near_miss(question: str, answering: str, near_miss: str) -> None:
    """SQuAD 2.0's unanswerable questions sit next to a sentence about something else: the real model sees it."""
    scores = [entailed(question, Candidate(1, text, "", "t", "en", True)) for text in (answering, near_miss)]
    assert 0.0 <= scores[1] < scores[0] <= 1.0


@pytest.mark.parametrize(("question", "answering", "near_miss"), NEAR_MISSES)
def test_the_reader_alone_tells_an_answering_sentence_from_a_near_miss(
    question: str, answering: str, near_miss: str
) -> None:
    """Read without its chunk, the sentence either answers or it does not: the real reader's margin says which.

    English only: the reader learned "no answer" from SQuAD 2.0, and PIAF has no unanswerable questions (in
    French it gives the bridge and the tunnel the same margin).
    """
    reader = load_reader()
    q = analyze(question)
    scores = [
        read_alone(reader.read, q, question, Candidate(1, t, "", "t", "en", True)) for t in (answering, near_miss)
    ]
    assert scores[1] < scores[0]


def test_the_reader_alone_finds_the_span_in_the_sentence_not_in_the_one_before() -> None:
    reader = load_reader()
    question = "Who designed the cathedral's dome?"
    before = "The cathedral's dome was designed by the architect Anna Berg."
    after = Candidate(1, "Its bells were cast in 1890.", before, "t", "en", True)
    answering = Candidate(1, before, "", "t", "en", True)
    q = analyze(question)
    assert read_alone(reader.read, q, question, after) < read_alone(reader.read, q, question, answering)


def test_the_reading_alone_is_unknown_for_a_question_in_french() -> None:
    """The reader was taught unanswerable questions in English only (in French it tells the bridge from the
    tunnel no better than chance: "Le pont a été ouvert en 1932" and "Le tunnel ..." get the same margin)."""
    question = "En quelle année le pont a-t-il été ouvert ?"
    c = Candidate(1, "Le pont a été ouvert à la circulation en 1932.", "", "t", "fr", True)
    assert math.isnan(read_alone(load_reader().read, analyze(question), question, c))


def test_answerability_takes_the_entailment_and_the_reading_alone_last_unknown_by_default() -> None:
    candidates = _candidates()
    q = analyze("When was the Greenwich observatory founded?")
    rows = feature_rows(q, candidates, [0.8, 0.5, 0.3], _readings(candidates))
    assert all(math.isnan(v) for v in answerable_row([0.3, 0.2, 0.1], rows, q.typed, False)[-2:])
    assert answerable_row([0.3, 0.2, 0.1], rows, q.typed, False, 0.7, 2.5)[-2:] == [0.7, 2.5]
    assert ANSWERABLE_FEATURES[-2:] == ("top_entailed", "top_read_alone")
    assert {"top_entailed", "top_read_alone"} <= set(ANSWERABLE_ACROSS_UNKNOWN)


def test_logistic_model_is_its_contributions() -> None:
    model = LogisticModel(("a", "b"), (1.0, 0.0), (2.0, 1.0), (0.5, -1.0), 0.25)
    assert model.contributions([3.0, 2.0]) == [0.5, -2.0]
    assert model.probability([3.0, 2.0]) == pytest.approx(1 / (1 + 2.718281828459045**1.25))


def test_shipped_weights_name_the_features_the_code_computes() -> None:
    selector = load_selector()
    assert selector.sentence.names == FEATURES and selector.answerable.names == ANSWERABLE_FEATURES
    assert set(selector.sentence_across.names) == set(FEATURES) - set(ACROSS_UNKNOWN)
    assert set(selector.answerable_across.names) == set(ANSWERABLE_FEATURES) - set(ANSWERABLE_ACROSS_UNKNOWN)
    assert 0.0 < selector.refuse_below_across < 1.0
    assert 0.0 < selector.refuse_below < 1.0 and all(0.0 < s <= 1.0 for s in selector.short_above.values())
    assert selector.trained_on["split"].startswith("sha256")


FLOORS = (("en", 0.81), ("fr", 0.57))  # top-1 sentence holds the answer: measured 128/150, 91/150, minus 0.03+
OUT_OF_SCOPE_FLOOR = 0.79  # out-of-scope questions refused: measured 64/75 (session 36), minus 0.06
SHORT_FLOOR = 0.72  # English short answers shown that overlap a gold answer by half: measured 0.77, minus 0.05


@needs_qa
def test_retraining_on_a_fixed_sample_gives_the_same_weights(tmp_path: Path) -> None:
    from eval.train_answerer import train

    first = train(SHARED / "qa", tmp_path / "a.pkl", limit=30)
    second = train(SHARED / "qa", tmp_path / "b.pkl", limit=30)  # embeddings made again, not read back
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["sentence"]["features"] == list(FEATURES)


@needs_qa
def test_every_translated_question_is_a_question_of_the_data() -> None:
    """eval/translated_questions.jsonl joins ../shared/qa line for line: no translation is lost or misfiled."""
    from eval.train_answerer import TRANSLATIONS, load, load_translated

    items = load(SHARED / "qa")
    asked = load_translated(items, TRANSLATIONS)
    lines = TRANSLATIONS.read_text(encoding="utf-8").splitlines()
    assert len({(i.language, i.title, i.original) for i in asked}) == len(lines) == 5037
    assert {i.split for i in asked} == {"train", "dev", "test"}
    assert sum(i.question != i.original for i in asked) >= 0.99 * len(asked)  # a few read the same in both


def test_folds_keep_each_article_whole_and_deal_each_language_across_all() -> None:
    """The refusal threshold reads train scored out of fold: no fold may hold part of an article."""
    from eval.train_answerer import FOLDS, Example, Item, folds

    def example(language: str, title: str) -> Example:
        item = Item(language, title, "Some text.", "What?", [])
        return Example(item, analyze("What?"), [], [], [])

    titles = {"en": [f"Article {i}" for i in range(FOLDS)], "fr": [f"Article {i}" for i in range(2 * FOLDS)]}
    examples = [example(lang, t) for lang, ts in titles.items() for t in ts for _ in range(3)]
    fold = folds(examples)
    by_article: dict[tuple[str, str], set[int]] = {}
    for e, f in zip(examples, fold, strict=True):
        by_article.setdefault((e.item.language, e.item.title), set()).add(f)
    assert all(len(v) == 1 for v in by_article.values())  # an article's questions share one fold
    # The same title in two languages is two articles, each language dealt over every fold, evenly.
    for language, ts in titles.items():
        used = [next(iter(by_article[(language, t)])) for t in ts]
        assert sorted(used) == sorted(list(range(FOLDS)) * (len(ts) // FOLDS))


@needs_qa
def test_selector_floor_on_test_articles(tmp_path: Path) -> None:
    """Sentence choice on articles the weights never saw (the test split), with the shipped weights."""
    from eval.train_answerer import Embeddings, _answerable_rows, _best, _span_right, build_examples, load
    from rag.answerers.extractive.answerer import short_span

    selector = load_selector()
    items = [i for i in load(SHARED / "qa") if i.split == "test"]
    sample = [i for i in items if i.language == "en" and i.answers][:150] + [i for i in items if i.language == "fr"][
        :150
    ]
    examples = build_examples(sample, Embeddings(tmp_path / "v.pkl"), load_reader())
    for language, floor in FLOORS:
        chosen = [e for e in examples if e.item.language == language and not e.out_of_scope]
        right = 0
        for e in chosen:
            p = [selector.sentence.probability(r) for r in e.rows]
            right += e.labels[_best(p)]
        assert right / len(chosen) >= floor, (language, right, len(chosen))
    # A short answer leads where its sentence scores above the shipped threshold: as often right on these
    # articles as on those it was chosen on: 77 of 100 (chosen on dev's three English articles alone, at 0.17,
    # the threshold showed 122 here, 87 of them right).
    english = [e for e in examples if e.item.language == "en" and not e.out_of_scope]
    shown = []
    for e in english:
        p = [selector.sentence.probability(r) for r in e.rows]
        if max(p) >= selector.short_from("en") and short_span(e.question, e.candidates[_best(p)]):
            shown.append(_span_right(e, p))
    assert sum(shown) / len(shown) >= SHORT_FLOOR, (sum(shown), len(shown))
    # Every fourth question asked again of other articles' paragraphs only: it must be refused. Its best
    # sentence is read alone and checked by the entailment model, as the answerer does.
    elsewhere = [e for e in examples if e.out_of_scope]
    probabilities = [[selector.sentence.probability(r) for r in e.rows] for e in elsewhere]
    rows = _answerable_rows(elsewhere, probabilities, load_reader().read)
    refused = sum(selector.answerable.probability(row) < selector.refuse_below for row in rows)
    assert refused / len(elsewhere) >= OUT_OF_SCOPE_FLOOR, (refused, len(elsewhere))


def test_the_reader_reads_the_best_chunks_in_either_language() -> None:
    from rag.answerers.extractive.answerer import (
        READ_AT_MOST,
        READ_CHUNKS,
        ExtractiveAnswerer,
        chunks_read,
        read_best,
    )
    from rag.chunks import Chunk

    def chunk(n: int, text: str, language: str) -> Chunk:
        return Chunk(f"d:{n}", "d", text, 0, len(text), n, "h", 3, "Title", "", language)

    chunks = [
        chunk(0, "Le pont a ouvert en 1932 et a coûté 13 millions de livres.", "fr"),
        chunk(1, "Its arch spans 503 metres.", "en"),
    ]
    answerer = ExtractiveAnswerer(lambda texts: np.zeros((len(texts), 384)))
    question = analyze("When did the bridge open?")
    read = chunks_read(question, chunks)
    readings = read_best(answerer.reader.read, "When did the bridge open?", [c.text for c in chunks], read, 2)
    span = readings[0].best()  # an English question, the French chunk: read, and the year found
    assert read == [True, True] and span is not None and "1932" in chunks[0].text[span.start : span.end]
    # The best READ_CHUNKS in the question's language are read, and any other among the best READ_CHUNKS.
    many = [chunk(n, f"The bridge's pier number {n} was built in {1900 + n}.", "en") for n in range(READ_CHUNKS + 2)]
    french = [chunk(9, "Le pont est en granit.", "fr")]
    read = chunks_read(question, [chunks[0], *many[:2], *french, *many[2:]])
    assert read == [True, True, True, False, *[True] * (READ_CHUNKS - 2), *[False] * (len(many) - READ_CHUNKS)]
    # Never more than READ_AT_MOST: the best READ_CHUNKS in the question's language, then the best others.
    ranked = [*french * READ_CHUNKS, *many]
    others = READ_AT_MOST - READ_CHUNKS
    read = chunks_read(question, ranked)
    assert read == [*[True] * others, *[False] * (READ_CHUNKS - others), *[True] * READ_CHUNKS, False, False]


def test_only_the_sentences_of_chunks_read_in_the_questions_language_are_encoded() -> None:
    from rag.answerers.extractive.answerer import ExtractiveAnswerer

    encoded: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        encoded.extend(texts)
        return np.ones((len(texts), 4)) / 2.0

    answerer = ExtractiveAnswerer(encode)
    encoded.clear()
    candidates = _candidates()  # chunk 1: two English sentences; chunk 2: a French one
    question = "When was the Greenwich observatory founded?"
    cosines = answerer._cosines(analyze(question), question, candidates, [True, True])
    assert encoded == [question, candidates[0].text, candidates[1].text]  # not the French sentence
    assert cosines[:2] == [1.0, 1.0] and math.isnan(cosines[2])
    encoded.clear()
    candidates[1].n = 3  # the second sentence now sits in a third chunk, left unread
    cosines = answerer._cosines(analyze(question), question, candidates, [True, True, False])
    assert encoded == [question, candidates[0].text] and math.isnan(cosines[1])


def _compose(question: str, documents: dict[str, str]) -> tuple[str, dict[str, float]]:
    """The extractive answer to `question` over one English chunk per document (ranked in order), and the
    selector's probability of each traced candidate (by its first 20 characters)."""
    from rag.answerers.base import AnswerRequest
    from rag.answerers.extractive.answerer import ExtractiveAnswerer
    from rag.chunks import Chunk
    from rag.config import Settings
    from rag.conversation import Standalone
    from rag.embedders.factory import embedder_for
    from rag.retrieval import Retrieved

    sources = [
        Retrieved(Chunk(f"{doc}:0", doc, text, 0, len(text), 0, "h", 3, doc, "", "en"), 0.03)
        for doc, text in documents.items()
    ]
    request = AnswerRequest(question, Standalone(question, question), "en", sources)
    answer = ExtractiveAnswerer(embedder_for(Settings()).embed_sentences).compose(request)
    return answer, {c["text"][:20]: c["probability"] for c in request.trace["selector"]["candidates"]}


def test_a_source_giving_another_figure_in_the_same_words_is_quoted_too() -> None:
    """Two documents word the same fact alike with different figures: the runner-up is no copy to drop."""
    answer, _ = _compose(
        "What was Norway's GDP in 2023?",
        {
            "national": "Statistics Norway puts the country's gross domestic product in 2023 at $485 billion.",
            "bank": "The World Bank puts Norway's gross domestic product in 2023 at $470 billion.",
        },
    )
    assert "$485 billion" in answer and "$470 billion" in answer, answer
    assert "[1]" in answer and "[2]" in answer


def test_a_list_item_is_quoted_under_the_line_that_introduces_its_list() -> None:
    from rag.answerers.extractive.answerer import quotes

    intro = "The yearly passenger numbers of the ferry line were as follows:"
    item = Candidate(2, "- 2020: 0.4 million", intro, "Tidewater", "en", False, item=True)
    assert quotes(item) == [f"« {intro} » [2]", "« - 2020: 0.4 million » [2]"]
    # A line that does not end in a colon introduces no list ("Trioxygen (O" before "3) is known as ozone").
    broken = Candidate(1, "3) is usually known as ozone.", "Trioxygen (O", "Oxygen", "en", False, item=True)
    assert quotes(broken) == ["« 3) is usually known as ozone. » [1]"]
    assert quotes(Candidate(1, "It sails daily.", "It began.", "Tidewater", "en", False)) == ["« It sails daily. » [1]"]
    answer, _ = _compose(
        "How many passengers did the ferry line carry in 2020?",
        {"Tidewater": f"{intro}\n\n- 2019: 1.2 million\n- 2020: 0.4 million\n- 2021: 0.9 million\n"},
    )
    assert f"« {intro} » [1]\n« - 2020: 0.4 million » [1]" in answer, answer
    assert answer.count(intro) == 1, answer  # a runner-up of the same list does not repeat its heading


def test_a_runner_up_about_another_year_than_the_one_asked_is_not_quoted() -> None:
    question = "What was Norway's GDP in 2023?"
    answer, scored = _compose(
        question,
        {
            "national": "Statistics Norway puts the country's gross domestic product in 2023 at $485 billion.",
            "older": "The country's gross domestic product in 2022 was $579 billion, Statistics Norway said.",
        },
    )
    assert scored["The country's gross "] >= load_selector().second_above  # scored enough to be quoted, but
    assert "$485 billion" in answer and "2022" not in answer, answer
    # Asked about no year, both are quoted.
    answer, _ = _compose(
        "What was Norway's GDP?",
        {"national": "Norway's GDP in 2023 was $485 billion.", "older": "Norway's GDP in 2022 was $579 billion."},
    )
    assert "$485 billion" in answer and "$579 billion" in answer, answer


def test_a_years_figure_is_no_disagreement_with_a_total_over_years() -> None:
    answer, _ = _compose(
        "How much did Norway earn from oil between 2019 and 2023?",
        {
            "yearly": "Norway earned $90 billion from oil in 2023, the state oil fund said.",
            "total": "Between 2019 and 2023, Norway earned $400 billion from oil, the state oil fund said.",
        },
    )
    assert "$90 billion" in answer and "$400 billion" in answer, answer
    assert "Another source gives" not in answer, answer  # the two figures are of different periods


def test_another_amount_about_something_else_is_no_disagreement() -> None:
    """A confident runner-up from another document gives another price, but not of what was asked."""
    from rag.answerers.extractive.answerer import LIKELY

    answer, scored = _compose(
        "How much did Vale pay for Inco?",
        {
            "inco": "The purchase is Vale's second-largest ever, behind only its $17.6 billion purchase of Inco.",
            "simandou": "Vale agreed to pay $3.2 billion for a 40% stake in the Simandou project.",
        },
    )
    assert answer.startswith("$17.6 billion [1]"), answer
    assert scored["Vale agreed to pay $"] >= max(load_selector().short_from("en"), LIKELY), scored  # sure, but
    assert "$3.2 billion" not in answer, answer  # not of Inco: neither quoted nor called a disagreement
    # Both documents naming what was asked, the other figure is a disagreement (as for Norway's GDP above).
    answer, _ = _compose(
        "How much did Vale pay for Inco?",
        {
            "inco": "The purchase is Vale's second-largest ever, behind only its $17.6 billion purchase of Inco.",
            "press": "Vale agreed to pay $19.9 billion for Inco, the Canadian nickel miner, a newspaper said.",
        },
    )
    assert "Another source gives $" in answer and "$19.9 billion" in answer and "$17.6 billion" in answer, answer


def test_a_less_sure_sentence_giving_another_amount_is_not_quoted_under_a_confident_answer() -> None:
    """The runner-up scores enough to be quoted, but it gives another amount about something else."""
    from rag.answerers.extractive.answerer import LIKELY

    answer, scored = _compose(
        "How much did Norsk Hydro pay for the Alunorte refinery?",
        {
            "deal": "Norsk Hydro agreed to pay $4.9 billion for the Alunorte refinery in 2010.",
            "staff": "Some managers at Norsk Hydro were paid bonuses of up to $2 million.",
        },
    )
    selector = load_selector()
    assert scored["Norsk Hydro agreed t"] >= selector.short_from("en")
    assert scored["Some managers at Nor"] < max(selector.short_from("en"), LIKELY)
    assert scored["Some managers at Nor"] >= selector.second_above  # enough to be quoted, were it not for this
    assert answer.startswith("$4.9 billion [1]") and "$2 million" not in answer, answer


def test_a_sentence_in_another_language_is_scored_without_what_cannot_be_measured_across() -> None:
    """An English question over French text: the scorer trained without the English-only cosine decides.

    With the full scorer and the cosine features at their means, the French sentence scored 0.27 (session 19).
    """
    from rag.answerers.base import AnswerRequest
    from rag.answerers.extractive.answerer import ExtractiveAnswerer
    from rag.chunks import Chunk
    from rag.config import Settings
    from rag.conversation import Standalone
    from rag.embedders.factory import embedder_for
    from rag.retrieval import Retrieved

    text = (
        "La société Quarvex a été fondée à Lyon en 1987 par Hélène Marchetti. "
        "Elle fabrique des pompes hydrauliques pour l'industrie navale. "
        "En 2019, Quarvex a racheté son concurrent Dolmaren pour 420 millions d'euros."
    )
    question = "How much did Quarvex pay for Dolmaren?"
    sources = [Retrieved(Chunk("q:0", "q", text, 0, len(text), 0, "h", 3, "Quarvex", "", "fr"), 0.03)]
    request = AnswerRequest(question, Standalone(question, question), "en", sources)
    answer = ExtractiveAnswerer(embedder_for(Settings()).embed_sentences).compose(request)
    assert "420 millions d'euros" in answer, answer
    assert answer.startswith("«"), answer  # no short answer line from a sentence in another language
    traced = request.trace["selector"]["candidates"][0]
    assert traced["text"].startswith("En 2019") and traced["probability"] >= 0.5, traced
    assert "dense" not in traced["features"] and "reader" in traced["features"]  # the reader reads French
    assert "names" in traced["features"]


def test_a_list_item_is_read_with_the_line_that_introduces_it() -> None:
    """A list item's own words are a label and a figure; the question's words are in the line above the list."""
    intro = "The ferry line's yearly passenger numbers were:"
    item = Candidate(1, "- 2020: 0.4 million", intro, "Tidewater", "en", False, item=True)
    assert item.said == f"{intro} - 2020: 0.4 million"
    prose = Candidate(1, "In 2022 it grew.", "It began.", "Tidewater", "en", False)
    assert prose.said == "In 2022 it grew."  # a sentence says only itself
    bare = Candidate(1, "- 2020: 0.4 million", intro, "Tidewater", "en", False)  # the same words, not an item
    q = analyze("How many passengers did the ferry line have in 2020?")
    candidates = [item, prose, bare]
    rows = [dict(zip(FEATURES, r, strict=True)) for r in feature_rows(q, candidates, [0.5] * 3, _readings(candidates))]
    assert rows[0]["overlap"] == 1.0 and rows[0]["idf_overlap"] == 1.0
    assert rows[2]["overlap"] == 0.0 and rows[2]["idf_overlap"] == 0.0


def test_the_short_answer_is_the_readers_span_written_as_the_asked_type() -> None:
    from rag.answerers.extractive.answerer import short_span

    text = "The bridge opened in March 1932 and cost $4.2 million, twice the 1929 estimate."
    when, why = analyze("When did the bridge open?"), analyze("Why was the bridge built?")
    c = Candidate(1, text, "", "Bridge", "en", True)
    c.spans = spans(when, text)
    at = text.index("1929")
    c.read = Span(at - 4, at + 4, 5.0)  # "the 1929": overlaps the second date, not the nearest to "opened"
    assert short_span(when, c) == "1929"
    later = Candidate(1, "It opened in the spring after the 1929 flood.", "", "Bridge", "en", False)
    later.spans = spans(when, later.text)
    later.read = Span(later.text.index("the spring"), later.text.index(" after"), 5.0)  # no date inside
    assert short_span(when, later) == "the spring"  # the reader's own words
    signed = Candidate(1, "The treaty was signed on January 18, 1974, in Geneva.", "", "Treaty", "en", True)
    signed.spans = spans(when, signed.text)
    start = signed.text.index("January")
    signed.read = Span(start, start + len("January 18, 1974"), 5.0)
    assert short_span(when, signed) == "January 18, 1974"  # the whole date, not "January" (the first span it overlaps)
    c.read = None  # not read: the date nearest to the question's words
    assert short_span(when, c) == "March 1932"
    c.read = Span(0, len(text) - 1, 5.0)  # a whole clause is no short answer
    assert not why.typed and short_span(why, c) == ""


def test_a_sentence_in_the_questions_language_comes_first_only_when_it_likely_answers() -> None:
    from rag.answerers.extractive.answerer import LIKELY, SAME_LANGUAGE_SHARE, _prefer_language

    q = analyze("When did the observatory open?")
    french = Candidate(1, "L'observatoire a ouvert en 1667.", "", "Paris", "fr", True)
    english = Candidate(2, "The choir sang at the opening of the museum.", "", "Museum", "en", True)
    candidates = [french, english]
    # All scores low: the English sentence is close to the best one but no likelier to answer; it stays second.
    low = [0.40, SAME_LANGUAGE_SHARE * 0.40 + 0.01]
    assert low[1] < LIKELY
    assert _prefer_language([0, 1], candidates, low, q) == [0, 1]
    # Both likely to answer: the one in the question's language is quoted first.
    high = [0.80, max(LIKELY, SAME_LANGUAGE_SHARE * 0.80) + 0.01]
    assert _prefer_language([0, 1], candidates, high, q) == [1, 0]
    # A likely one too far below the best stays second.
    assert _prefer_language([0, 1], candidates, [0.95, 0.60], q) == [0, 1]
