"""Candidate sentences and their named features: one function computes every feature of every candidate.

The features are plain numbers a reader can check: how close the sentence is to the question (dense cosine,
word overlap, idf-weighted overlap, bigrams), whether it holds a span of the asked type and how near the
question's words it sits, whether the question's names, years and figures are there, where its chunk
ranked, and what the reader (a span-extraction model) finds in it: its best span's score against the
chunk's "no answer" score, and against the best span of any candidate. The bundled model reads one
language at a time: where the question and the sentence are in different languages, its cosine is unknown
(NaN), and the scorer gives it no weight (the reader reads both languages); so are the cosine and the
reader's scores of a chunk the answerer did not read (it reads, and encodes the sentences of, the
best-ranked few). Each similarity also comes as its gap to the best candidate of the same question, so
the model can compare candidates with each other.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.answerers.extractive.question import YEAR, Question, years_in
from rag.answerers.extractive.reader import UNREAD, Reading, Span
from rag.answerers.extractive.spans import distance, spans
from rag.entailment import load_entailment
from rag.text import TRANSLATIONS, fold, quantities, same_word, squash, tokenize, word_overlap

ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]+\b")
GAPS = ("dense_gap", "overlap_gap", "idf_overlap_gap")  # each follows its feature: the gap to the best candidate
FEATURES = (
    "dense",
    "dense_gap",
    "overlap",
    "overlap_gap",
    "idf_overlap",
    "idf_overlap_gap",
    "bigram",
    "context_overlap",
    "typed_span",
    "untyped_question",
    "span_near",
    "names",
    "no_names",
    "figures",
    "year_match",
    "year_other",
    "rank",
    "length",
    "first_in_chunk",
    "reader",
    "reader_gap",
)


@dataclass
class Candidate:
    """A sentence of a retrieved chunk, considered as the answer."""

    n: int  # the source's number ([n]); its chunk's rank
    text: str
    previous: str  # the sentence before it (a list item: the line that introduces the list)
    title: str
    language: str  # its chunk's language
    first: bool  # first sentence of its chunk
    offset: int = -1  # where the sentence starts in its chunk's text (-1: not found)
    spans: list[str] = field(default_factory=list)  # spans of the asked type, in the sentence's order
    tokens: set[str] = field(default_factory=set)
    read: Span | None = None  # the reader's best span inside the sentence (offsets in the sentence)
    null: float = 0.0  # the reader's "no answer" score for the sentence's chunk
    names: float = 1.0  # how much of the question's names it holds, with its title and the sentence before
    item: bool = False  # a list item ("- 2020: 0.4 million"): its words are read after the line before (`said`)

    @property
    def said(self) -> str:
        """What the candidate says: its text, and a list item's introducing line before it."""
        return f"{self.previous} {self.text}" if self.item and self.previous else self.text

    @property
    def years(self) -> frozenset[float]:
        """The years it mentions, read with the sentence before (as the year features read them)."""
        return years_in(f"{self.previous} {self.text}")


def _bigrams(tokens: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:], strict=False))


def name_found(
    name: str,
    squashed: str,
    words: set[str],
    acronyms: set[str],
    initials: frozenset[str] = frozenset(),
    across: bool = False,
) -> float:
    """1 when the name, its acronym or what its acronym stands for is in the text; else the share of its words.

    `squashed`, `words`, `acronyms`, `initials`: the text as `name_index` reads it. In lower case an acronym
    is a word like any other: "Isaac Stern" is not in "the hall, which is 28 metres high". A name written
    in capitals ("AAA") is found where the text spells it out ("the American Automobile Association").
    `across`: the text is in another language than the question, where a name's word may be written as a
    cognate or translated (`found_across`).
    """
    if squash(name) in squashed:
        return 1.0
    if len(name) >= 2 and name.isalpha() and name.isupper() and fold(name) in initials:
        return 1.0
    parts = [fold(w) for w in name.split() if len(w) > 1]
    if len(parts) >= 2 and "".join(p[0] for p in parts) in acronyms:
        return 1.0
    found = sum(found_across(p, words) if across else any(same_word(p, w) for w in words) for p in parts)
    return 0.8 * found / len(parts) if parts else 0.0


def found_across(part: str, words: set[str]) -> bool:
    """A folded word of a name, in the words of a text in the other language.

    English capitalizes what French writes in lower case and spells otherwise ("European" / "européen",
    "Vendean" / "vendéens"), so each piece of the word ("Indo-European": "indo", "european") is found as
    itself, as a cognate (`cognate`) or as one of its lexicon translations. (English questions over French
    paragraphs, dev split: 36 of 295 were refused because such a "name" was in no retrieved sentence.)
    """
    pieces = re.findall(r"[a-z0-9]+", part)
    return bool(pieces) and all(
        any(same_word(x, w) or cognate(x, w) for w in words) or _translated(x, words) for x in pieces
    )


def cognate(a: str, b: str) -> bool:
    """Folded words of two languages that start alike for most of the shorter one ("african" / "africain")."""
    shared = len(os.path.commonprefix([a, b]))
    return shared >= 5 and shared >= 0.7 * min(len(a), len(b))


def acronyms_in(text: str) -> set[str]:
    """The words of the text written in capitals ("NASA", "WHO"), folded: what a name's acronym may be."""
    return {fold(w) for w in ACRONYM.findall(text)}


LINKS = frozenset("of the for de des du la le les".split())  # may stand inside a spelled-out name


def initials_in(text: str) -> frozenset[str]:
    """The initials of each run of capitalized words and of each stretch of it, folded: what an acronym stands for.

    "the American Automobile Association said" gives "aaa" (and "aa"); "Department of Defense" gives "dd":
    a lower-case linking word may stand inside a run and gives no letter. A word in capitals ends a run: it
    is an acronym itself.
    """
    found: set[str] = set()
    run: list[str] = []
    for word in [*re.findall(r"[^\W\d_][\w'’-]*|[^\w\s]", text), "."]:
        if word[0].isupper() and not (len(word) > 1 and word.isupper()):
            run.append(fold(word[0]))
        elif not (run and word in LINKS):
            found.update("".join(run[i:j]) for i in range(len(run)) for j in range(i + 2, len(run) + 1))
            run = []
    return frozenset(found)


ROMAN = "i ii iii iv v vi vii viii ix x xi xii xiii xiv xv xvi xvii xviii xix xx".split()
ARABIC = {numeral: str(n) for n, numeral in enumerate(ROMAN, start=1)}  # "World War I" is "World War 1"


def figure_names_missing(q: Question, candidates: Sequence[Candidate]) -> list[str]:
    """The question's names with a figure ("Windows 11", "Boeing 737") that no candidate holds whole.

    A name's figure is not part of the name as `question.analyze` finds it ("Windows" in "When was Windows
    11 released?"), and `name_found` skips one-letter words, so "Windows 8" would be found in a sentence
    about Windows 7 and the answer would give another version's date. A figure in a name names one thing
    of a series: such a name counts only as written, its words in a row (with the candidate's title and
    the sentence before it, as `name_found` reads them).
    """
    figured = []
    for name in q.names:
        after = re.search(rf"\b{re.escape(name)}(?:[ -](\d[\w.]*))?", q.own or q.text)
        if any(ch.isdigit() for ch in name):
            figured.append(name)
        elif after and after.group(1) and not YEAR.fullmatch(after.group(1)):  # "Apple 2024 revenue": a year
            figured.append(after.group(0).rstrip("."))  # as the question writes it: "Windows-11"
    if not figured:
        return []
    windows = [_words(f"{c.title} {c.previous} {c.text}") for c in candidates]
    return [n for n in figured if not any(_in_a_row(_words(n), w) for w in windows)]


def _words(text: str) -> list[str]:
    """Folded words, a Roman numeral as its figure."""
    return [ARABIC.get(w, w) for w in re.findall(r"[a-z0-9]+", fold(text))]


def _in_a_row(part: list[str], whole: list[str]) -> bool:
    """`part` occurs in `whole` as consecutive items."""
    return any(whole[i : i + len(part)] == part for i in range(len(whole) - len(part) + 1))


def name_index(text: str) -> tuple[str, set[str], set[str], frozenset[str]]:
    """The text as `name_found` reads it: squashed, its folded words, its acronyms, its initials."""
    return squash(text), set(re.findall(r"[a-z0-9]+", fold(text))), acronyms_in(text), initials_in(text)


def feature_rows(
    q: Question, candidates: Sequence[Candidate], cosines: Sequence[float], readings: Sequence[Reading]
) -> list[list[float]]:
    """One row of FEATURES per candidate; `readings[n - 1]` is the reader's reading of source n.

    Fills each candidate's `spans`, `tokens`, `read`, `null` and `names` on the way. The word features read
    what a candidate says (`Candidate.said`): a list item's own words are often only a label and a figure.
    """
    words = [tokenize(c.said) for c in candidates]
    for c, tokens in zip(candidates, words, strict=True):
        c.tokens = set(tokens)
        c.spans = spans(q, c.text) if q.typed else []
        reading = readings[c.n - 1]
        c.null = reading.null
        if c.offset >= 0:
            inside = reading.best(c.offset, c.offset + len(c.text))
            c.read = inside and Span(inside.start - c.offset, inside.end - c.offset, inside.score)
    best_read = max((c.read.score for c in candidates if c.read), default=0.0)
    documents = len(candidates) + 1
    df: dict[str, int] = {}
    for c in candidates:
        for t in c.tokens:
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(documents / (1 + df.get(t, 0))) + 1.0 for t in q.content}
    idf_total = sum(idf.values()) or 1.0
    q_bigrams = _bigrams(q.content)
    raw = []
    for c, cosine, tokens in zip(candidates, cosines, words, strict=True):
        overlap = word_overlap(q.content, c.said)
        matched = [t for t in q.content if t in c.tokens or _translated(t, c.tokens)]
        idf_overlap = sum(idf[t] for t in matched) / idf_total
        window = f"{c.title} {c.previous} {c.text}"
        index = name_index(window)
        across = across_languages(q, c.language)
        names = sum(name_found(n, *index, across) for n in q.names) / len(q.names) if q.names else 1.0
        c.names = names
        found = quantities(f"{c.previous} {c.text}")
        figures = (
            sum(any(f.kind == x.kind and f.same(x) for x in found) for f in q.figures) / len(q.figures)
            if q.figures
            else 0.0
        )
        years = c.years
        near = min((distance(s, c.text, q) for s in c.spans), default=10_000)
        raw.append(
            [
                cosine,
                overlap,
                idf_overlap,
                len(q_bigrams & _bigrams(tokens)) / len(q_bigrams) if q_bigrams else 0.0,
                word_overlap(q.content, window),
                float(bool(c.spans)),
                float(not q.typed),
                1.0 / (1.0 + near / 20.0) if c.spans else 0.0,
                names,
                float(not q.names),
                figures,
                float(bool(q.years & years)),
                float(bool(years) and bool(q.years) and not q.years & years),
                1.0 / c.n,
                math.log1p(len(c.tokens)),
                float(c.first),
                c.read.score - c.null if c.read else NO_SPAN,
                c.read.score - best_read if c.read else NO_SPAN,
            ]
        )
        unread = readings[c.n - 1] is UNREAD
        unknown = NOT_READ if unread else ACROSS_LANGUAGES if across else ()  # NOT_READ holds ACROSS_LANGUAGES
        for i in unknown:
            raw[-1][i] = UNKNOWN
    best = [max((r[i] for r in raw if not math.isnan(r[i])), default=0.0) for i in range(3)]
    return [[r[0], r[0] - best[0], r[1], r[1] - best[1], r[2], r[2] - best[2], *r[3:]] for r in raw]


NO_ANSWER_LEARNED = ("en",)  # languages in which the reader was taught unanswerable questions (SQuAD 2.0)
NO_SPAN = -10.0  # the reader's margin for a sentence it finds no span in
UNKNOWN = math.nan  # a feature that cannot be measured: the model gives it no weight (its training mean)
# Where dense, reader and reader_gap sit in a row before the gaps to the best candidate are put in.
_BEFORE_GAPS = [n for n in FEATURES if n not in GAPS]
ACROSS_LANGUAGES = tuple(i for i, name in enumerate(_BEFORE_GAPS) if name == "dense")  # English-only model
# Chunks left unread: their sentences are not encoded either (answerer.chunks_read).
NOT_READ = tuple(i for i, name in enumerate(_BEFORE_GAPS) if name in ("dense", "reader", "reader_gap"))


def entailed(question: str, c: Candidate) -> float:
    """P(supported) by the entailment model, the question taken as a claim; NaN when the install lacks the model.

    The evidence is the candidate and the sentence before it. A question is not a claim, but how much of it
    the sentence bears out separates SQuAD 2.0's unanswerable questions, which are written to sit next to a
    sentence that almost answers them (qa dev split, 598 unanswerable: refused 26.1% -> 29.6% at the same
    8.9% false refusals of English answerable questions).
    """
    model = load_entailment()
    if model is None:
        return math.nan
    return model.probabilities(f"{c.previous} {c.text}".strip(), question, c.text)["supported"]


def read_alone(read: Callable[[str, list[str]], list[Reading]], q: Question, question: str, c: Candidate) -> float:
    """The reader's margin for the candidate read without the rest of its chunk: best span in it less "no answer".

    The sentence before it is read too (it may hold what "it" or "he" stands for). Within its chunk a
    sentence's span is weighed against every span of the chunk; alone, the reader says whether this sentence
    answers. SQuAD 2.0's unanswerable questions sit beside a sentence that almost answers them, and alone
    the reader sees more of that (qa dev split, 598 unanswerable: refused 29.6% -> 33.1% at the same 8.9%
    false refusals of English answerable questions, as shipped). The reader learned "no answer" from SQuAD
    2.0 alone (PIAF has no unanswerable questions), so for a question in another language the margin is
    unknown (NaN): fitted for French questions too, it refused no more French out-of-scope questions at
    equal French false refusals, and its threshold cost French answers. Across languages it is unknown
    too: the answerer does not read it there (model.ANSWERABLE_ACROSS_UNKNOWN).
    """
    if q.language not in NO_ANSWER_LEARNED:
        return math.nan
    passage = f"{c.previous} {c.text}" if c.previous else c.text
    reading = read(question, [passage])[0]
    span = reading.best(len(passage) - len(c.text), len(passage))
    return span.score - reading.null if span else NO_SPAN


def across_languages(q: Question, language: str) -> bool:
    """The question and a text in `language` are in different languages (both known)."""
    return bool(q.language and language) and q.language != language


def _translated(token: str, tokens: set[str]) -> bool:
    return bool(TRANSLATIONS.get(token, set()) & tokens) or (
        not token[0].isdigit() and len(token) >= 5 and any(same_word(token, t) for t in tokens if len(t) >= 5)
    )
