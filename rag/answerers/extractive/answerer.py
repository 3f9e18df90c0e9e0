"""The default answerer: offline, deterministic, built from the sources' own sentences.

The pipeline, each step in its own module:
question analysis (question.py) -> candidate sentences of the retrieved chunks -> named features
(features.py) -> learned scorers (model.py, weights trained on public QA data by eval/train_answerer.py)
-> a short answer and the quoted sentence, or a refusal. Every line carries its [n], so verification
checks it like any other answer; every extractive line is a verbatim quote or a span of one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from rag.answerers.base import AnswerRequest, refusal
from rag.answerers.extractive.features import (
    FEATURES,
    Candidate,
    across_languages,
    entailed,
    feature_rows,
    figure_names_missing,
    read_alone,
)
from rag.answerers.extractive.hints import read_as_note, refusal_hint, respelled
from rag.answerers.extractive.model import ANSWERABLE_FEATURES, Selector, answerable_row, load_selector
from rag.answerers.extractive.question import Question, analyze
from rag.answerers.extractive.reader import UNREAD, Reader, Reading, load_reader
from rag.answerers.extractive.spans import distance, listed, range_end, render_span
from rag.chunks import Chunk
from rag.entailment import load_entailment
from rag.injection import chunk_instructions
from rag.text import fold, quantities, tokenize
from rag.verify import split_sentences

LIST_ITEM = re.compile(r"\s*(?:[-*•]|\d+[.)])\s")
SAME_LANGUAGE_SHARE = 0.8  # a sentence in the question's language this close to the best one is quoted first
READ_CHUNKS = 3  # the reader reads this many chunks in the question's language, the best ranked
READ_AT_MOST = 4  # and no more chunks than this in all (chunks_read)
MAX_SHORT_WORDS = 12  # a longer span is a clause, not a short answer: the quote says it better
LIKELY = 0.5  # a runner-up answers the question too only when the scorer finds it more likely than not
Encode = Callable[[Sequence[str]], Any]  # texts -> numpy array of unit vectors


@dataclass
class Choice:
    """What the selector decided, and why (for --trace)."""

    question: Question
    candidates: list[Candidate]
    rows: list[list[float]]
    probabilities: list[float]
    answerable: float  # probability that the best candidate answers the question
    refuse_below: float = 0.0  # the threshold it was compared with (the scorer that fits the best's language)
    refused: str = ""  # why it refused, "" when it answers
    order: list[int] = field(default_factory=list)  # candidates by probability, best first
    answerable_row: list[float] = field(default_factory=list)  # ANSWERABLE_FEATURES of the question
    across: bool = False  # the best candidate is in another language than the question
    read_as: list[tuple[str, str]] = field(default_factory=list)  # (the question's name, the sources' spelling)
    unwritten: list[str] = field(default_factory=list)  # its names with a figure no candidate holds as written


def candidates_of(request: AnswerRequest) -> list[Candidate]:
    """Every sentence of every retrieved chunk, read with the sentence before it (across the chunk's start).

    Lines addressed to an assistant ("ignore previous instructions...") are never candidates.

    A list item ("- 2023: $16.12 billion") is read with the line that introduces the list.
    """
    out = []
    for n, source in enumerate(request.sources, start=1):
        previous = intro = ""
        for sentence in split_sentences(request.before.get(source.chunk.id, "")):
            previous = sentence
            intro = intro if LIST_ITEM.match(sentence) else sentence
        first, cursor = True, 0
        untrusted = [(i.start, i.end) for i in chunk_instructions(source.chunk.text)]
        for sentence in split_sentences(source.chunk.text):
            is_item = bool(LIST_ITEM.match(sentence))
            at = source.chunk.text.find(sentence, cursor)
            cursor = max(cursor, at)
            if any(start <= at < end for start, end in untrusted):
                continue  # text addressed to an assistant is data, never an answer (rag.injection)
            if not sentence.startswith("#"):
                context = intro if is_item else previous
                language = source.chunk.language
                out.append(Candidate(n, sentence, context, source.chunk.title, language, first, at, item=is_item))
                first = False
            previous = sentence
            intro = intro if is_item else sentence
    return out


class ExtractiveAnswerer:
    """Answers with the sources' own sentences; never writes a fact that is not quoted beside it."""

    name = "extractive"

    def __init__(self, encode: Encode, selector: Selector | None = None, reader: Reader | None = None) -> None:
        """`encode` embeds the question and the candidate sentences (the embedder's `embed_sentences`).

        Its model is loaded now, with the reader's and the entailment model's, so that the first answer does
        not wait for them.
        """
        self.encode = encode
        self.selector = selector or load_selector()
        self.reader = reader or load_reader()
        load_entailment()
        encode(["warm up"])

    def answer(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer (short answer and quoted sentence), or a refusal."""
        yield self.compose(request)

    def choose(self, request: AnswerRequest) -> Choice:
        """Score every candidate sentence and decide whether to answer."""
        standalone = request.standalone
        texts = [r.chunk.text for r in request.sources]
        question = analyze(standalone.text, standalone.own, standalone.subject, texts)
        text, read_as = respelled(standalone.text, question.names, titled_texts(request))
        if read_as:  # a name the sources spell nearly the same is read as theirs (hints.py)
            own = standalone.own
            for name, near in read_as:
                own = own.replace(name, near)
            standalone = replace(standalone, text=text, own=own)
            question = analyze(standalone.text, standalone.own, standalone.subject, texts)
        candidates = candidates_of(request)
        if not candidates:
            return Choice(question, [], [], [], 0.0, refused="no sentence was retrieved", read_as=read_as)
        # The sentences are encoded while the reader reads: each takes one core (synthetic bench, 1k chunks,
        # 50 questions: whole `ask` p95 125 / 162 ms against 186 / 156 ms one after the other, two runs each).
        read = chunks_read(question, [r.chunk for r in request.sources])
        with ThreadPoolExecutor(1) as encoding:
            cosines = encoding.submit(self._cosines, question, standalone.text, candidates, read)
            readings = read_best(self.reader.read, standalone.text, texts, read, limit=len(texts))
        rows = feature_rows(question, candidates, cosines.result(), readings)
        across = [across_languages(question, c.language) for c in candidates]
        probabilities = [self.selector.sentence_probability(r, a) for r, a in zip(rows, across, strict=True)]
        asks_year = bool(question.years)
        ranked = sorted(range(len(candidates)), key=lambda i: (-probabilities[i], i))
        top = ranked[0]
        entails, alone = math.nan, math.nan
        if not across[top]:  # the entailment model (one thread) runs beside the reader's second look
            with ThreadPoolExecutor(1) as checking:
                entailing = checking.submit(entailed, standalone.text, candidates[top])
                alone = read_alone(self.reader.read, question, standalone.text, candidates[top])
                entails = entailing.result()
        answerable = answerable_row(probabilities, rows, question.typed, asks_year, entails, alone)
        p, refuse_below = self.selector.answerable_probability(answerable, across[top])
        order = _prefer_language(ranked, candidates, probabilities, question)
        unwritten = figure_names_missing(question, candidates)
        why = ""
        if p < refuse_below:
            why = f"answerability {p:.2f} < {refuse_below:.2f}"
        elif answerable[ANSWERABLE_FEATURES.index("year_missing")]:
            why = "the asked year is in no retrieved sentence"
        elif answerable[ANSWERABLE_FEATURES.index("names_missing")]:
            why = "the question's names are in no retrieved sentence"
        elif unwritten:
            why = f"no retrieved sentence names {unwritten[0]} as written"
        return Choice(
            question,
            candidates,
            rows,
            probabilities,
            p,
            refuse_below,
            why,
            order,
            answerable,
            across[top],
            read_as,
            unwritten,
        )

    def _cosines(
        self, question: Question, text: str, candidates: Sequence[Candidate], read: Sequence[bool]
    ) -> list[float]:
        """The bundled model's cosine of the question and each candidate in its language, in a `read` chunk.

        Across languages the English-only model's cosine means little, and the selector takes it as unknown:
        those sentences are not encoded at all. Nor are those of a chunk the reader skips, whose cosine the
        selector takes as unknown too (features.NOT_READ): encoding them one by one took as long as reading.
        Elsewhere the cosine is NaN.
        """
        same = [i for i, c in enumerate(candidates) if read[c.n - 1] and not across_languages(question, c.language)]
        cosines = [math.nan] * len(candidates)
        if same:
            vectors = self.encode([text, *(candidates[i].said for i in same)])
            for i, cosine in zip(same, vectors[1:] @ vectors[0], strict=True):
                cosines[i] = float(cosine)
        return cosines

    def compose(self, request: AnswerRequest) -> str:
        """The whole answer as one text; fills request.trace with the choice."""
        choice = self.choose(request)
        request.trace["selector"] = explain(choice, self.selector)
        request.note = read_as_note(choice.read_as, request.language)
        if choice.refused:
            names = choice.question.names
            texts = titled_texts(request)
            request.hint = refusal_hint(request.question, names, texts, request.language, choice.unwritten)
            return refusal(request.language, request.hint.text)
        q, ranked = choice.question, [choice.candidates[i] for i in choice.order]
        best, p_best = ranked[0], choice.probabilities[choice.order[0]]
        lines = []
        # Across languages no public data measures how often the span is right: the quote speaks alone.
        short_above = self.selector.short_from(q.language)
        sure = p_best >= short_above and not across_languages(q, best.language)
        short = short_answer(q, best, request.language) if sure else ""
        if short:
            lines.append(f"{short} [{best.n}]")
        lines.extend(quotes(best))
        p_second = choice.probabilities[choice.order[1]] if len(ranked) > 1 else 0.0
        sel = self.selector
        if len(ranked) > 1 and quotes_runner_up(q, best, ranked[1], p_best, p_second, sel.second_above, short_above):
            second = ranked[1]
            sure = p_second >= max(short_above, LIKELY)  # both sentences confidently answer the question
            if not lines[0].startswith("«") and sure and _disagrees(q, best, second, request):
                lead = "Another source gives" if request.language == "en" else "Une autre source indique"
                lines.append(f"{lead} {short_answer(q, second, request.language)} [{second.n}]")
            lines.extend(line for line in quotes(second) if line not in lines)  # one list's heading once
        return "\n".join(lines)


def quotes(c: Candidate) -> list[str]:
    """The candidate's quoted lines: a list item comes under the line that introduces its list.

    "« - 2020: 0.4 million »" alone does not say what the figure counts; the line above the list ending in
    a colon does ("The yearly passenger numbers were as follows:"). Each line is quoted as the source
    writes it, so each is verified as a verbatim quote.
    """
    lines = [c.previous, c.text] if c.item and c.previous.rstrip().endswith(":") else [c.text]
    return [f"« {line.strip()} » [{c.n}]" for line in lines]


def titled_texts(request: AnswerRequest) -> list[str]:
    """Each retrieved chunk's title and text, where a question's names are looked for (hints.py)."""
    return [f"{r.chunk.title}\n{r.chunk.text}" for r in request.sources]


def read_best(
    read: Callable[[str, list[str]], list[Reading]],
    text: str,
    passages: Sequence[str],
    readable: Sequence[bool],
    limit: int = READ_CHUNKS,
) -> list[Reading]:
    """`read`'s readings of the first `limit` readable passages, UNREAD for every other one.

    The answerer and its training script (eval/train_answerer.py) read through this, so the selector learns
    the reader's scores where, and only where, it will have them.
    """
    chosen = [i for i, ok in enumerate(readable) if ok][:limit]
    readings = [UNREAD] * len(passages)
    for i, reading in zip(chosen, read(text, [passages[i] for i in chosen]), strict=True):
        readings[i] = reading
    return readings


def chunks_read(question: Question, chunks: Sequence[Chunk]) -> list[bool]:
    """Which chunks the reader reads (and whose sentences the bundled model encodes).

    The best READ_CHUNKS chunks in the question's language, and others among the best READ_CHUNKS of all
    (the reader is multilingual), best first, up to READ_AT_MOST in all: reading and encoding are most of
    an answer's time, and answers rarely come from lower chunks. The selector takes an unread chunk's
    dense and reader scores as unknown. (Bench 1k index, 80 questions: the 10 that read five chunks took
    147–152 ms at the median against 109–112 for four.)
    """
    same = [i for i, c in enumerate(chunks) if not across_languages(question, c.language)][:READ_CHUNKS]
    others = [i for i in range(min(READ_CHUNKS, len(chunks))) if i not in same][: max(0, READ_AT_MOST - len(same))]
    chosen = set(same) | set(others)
    return [i in chosen for i in range(len(chunks))]


def _prefer_language(
    order: list[int], candidates: Sequence[Candidate], probabilities: Sequence[float], q: Question
) -> list[int]:
    """Put first a sentence in the question's language that scores nearly as well as the best one.

    The training data never pairs a question with text in another language, so the scorer cannot learn
    this preference; when two sources say the same thing, the reader of an English question gets the
    English quote. Only a sentence likely to answer on its own (LIKELY) comes first: without that floor a
    French question over English articles led with off-topic French sentences whenever all scored low (dev
    questions across languages, 1,319: 14 answers led by one, the gold answer in the first line of 169
    French answers of 426 against 177 with the floor).
    """
    best = order[0]
    if candidates[best].language in (q.language, ""):
        return order
    for i in order[1:]:
        if probabilities[i] < SAME_LANGUAGE_SHARE * probabilities[best]:
            break
        if candidates[i].language == q.language and probabilities[i] >= LIKELY:
            return [i, *(j for j in order if j != i)]
    return order


def short_span(q: Question, c: Candidate) -> str:
    """The answer inside the sentence, or "" when there is none worth stating apart from the quote.

    The reader's span, when it is short; for a question of a known type (an amount, a date, a person, ...)
    the span of that type it overlaps, so the answer is written as one (a typed span the reader did not
    pick is a different fact). Without a reading, the typed span nearest to the question's words.
    """
    if c.read is None:
        return min(c.spans, key=lambda s: distance(s, c.text, q)) if q.typed and c.spans else ""
    if q.typed:
        for span in c.spans:
            at = c.text.find(span)
            if at < c.read.end and at + len(span) > c.read.start:
                return span
    read = c.text[c.read.start : c.read.end].strip(" ,;:.")
    return read if len(read.split()) <= MAX_SHORT_WORDS else ""


def short_answer(q: Question, c: Candidate, language: str) -> str:
    """The short answer line's text, written for the question's language ("" when there is none to give)."""
    span = short_span(q, c)
    if not span or span not in c.spans:
        return span
    if q.kind in ("person", "org"):
        return listed(c.text, span, c.spans)
    text = render_span(span, q.kind, language, c.text)
    end = range_end(q, c.text, span)
    if end:
        text += (" to " if language == "en" else " à ") + render_span(end, q.kind, language, c.text)
    return text


def quotes_runner_up(
    q: Question,
    best: Candidate,
    second: Candidate,
    p_best: float,
    p_second: float,
    second_above: float,
    short_above: float,
) -> bool:
    """Whether the runner-up sentence is quoted after the best one.

    It is when it scores at least `second_above` and is not a near copy of the best sentence, unless the
    best one leads with a confident short answer (`short_above`) and the runner-up, less sure (under
    `short_above` and LIKELY: the short-answer threshold says how often the best sentence's span is right,
    not that a runner-up answers too) or lacking some of the question's names the best one holds, gives
    another value of the asked type: quoted there it reads as a second answer to the question. (Session 21,
    end to end: SQuAD 2.0 test, first 1,123 questions, stated 80.8% -> 80.4%, quoted sentences per answer
    1.38 -> 1.35; off-topic "Another source gives" lines gone from the held-out set.) Under a confident
    short answer, nor is a runner-up giving a value for another year than the one asked, which the best
    sentence holds (`_another_year`): "What was Norway's GDP in 2023?" answered "Another source gives"
    and the 2022 figure.
    """
    if p_second < second_above or _near_copy(second, best):
        return False
    if p_best >= short_above and _another_year(q, best, second) and short_span(q, second):
        return False  # however alike the two sentences, another year's value is no disagreement
    unsure = p_second < max(short_above, LIKELY) or second.names < best.names  # or about something else
    return not (p_best >= short_above and unsure and _competes(q, best, second))


def _another_year(q: Question, best: Candidate, other: Candidate) -> bool:
    """The best sentence holds the year the question asks about, the other only other years.

    Read with the sentence before, as the year features are. On public QA (`../shared/qa`, the training
    script's pose), of the questions asking a year whose best sentence holds it and runner-up only others
    (train 20, dev 10, test 35), the best sentence answered 64 of 65 and the runner-up none of the rest;
    but end to end the runner-up can name what the best sentence only points at ("destituée par le
    président en 1996" beside "Farooq Leghari est élu président" in 1993), so it goes only under a
    confident short answer, beside which its value reads as a second answer.
    """
    return bool(q.years & best.years) and bool(other.years) and not q.years & other.years


def _competes(q: Question, best: Candidate, other: Candidate) -> bool:
    """The other sentence gives another value of the asked type, about something else.

    Worded like the best sentence, another figure is a disagreement about the same thing, to be shown.
    """
    mine, theirs = short_span(q, best), short_span(q, other)
    if not (q.typed and mine and theirs) or _alike(other, best):
        return False
    a, b = quantities(mine), quantities(theirs)
    return not a[0].same(b[0]) if a and b else fold(mine) != fold(theirs)


def _disagrees(q: Question, best: Candidate, other: Candidate, request: AnswerRequest) -> bool:
    """Another document gives a different value of the same kind for the same asked thing.

    The same thing: both sentences (with their titles and the sentences before) hold all the question's
    names, and the same of the years it asks about. "How much did Vale pay for Inco?": "Vale agreed to pay
    $3.2 billion for a stake in Simandou" gives another price, of something else; a year's figure is no
    disagreement with a total over years.
    """
    if not (other.spans and q.kind in ("amount", "percent", "count", "rank", "date")):
        return False
    if min(best.names, other.names) < 1.0:
        return False
    if request.sources[best.n - 1].chunk.doc_id == request.sources[other.n - 1].chunk.doc_id:
        return False
    if q.years & best.years != q.years & other.years:
        return False  # not the same period of those asked: "in 2024" against "between 2019 and 2024"
    mine, theirs = quantities(short_span(q, best)), quantities(short_span(q, other))
    return bool(mine and theirs and mine[0].kind == theirs[0].kind and not mine[0].same(theirs[0]))


def _near_copy(other: Candidate, best: Candidate) -> bool:
    """Mostly the same words and no figure of its own: quoting it would say the same thing twice.

    A sentence worded like the best one but with another figure is a disagreement, not a copy.
    """
    figures = quantities(best.text)
    if any(not any(mine.same(theirs) for mine in figures) for theirs in quantities(other.text)):
        return False
    return _alike(other, best)


def _alike(other: Candidate, best: Candidate) -> bool:
    """Most of the other sentence's words are the best one's."""
    words, said = set(tokenize(other.text)), set(tokenize(best.text))
    return len(words & said) >= 0.7 * max(1, len(words))


def explain(choice: Choice, selector: Selector, top: int = 3) -> dict[str, Any]:
    """The top candidates with each feature's value and contribution, for --trace."""
    out: dict[str, Any] = {
        "kind": choice.question.kind,
        "answerable": round(choice.answerable, 3),
        "refuse_below": choice.refuse_below,
        "refused": choice.refused,
        "read_as": choice.read_as,
        "answerable_features": {},
        "candidates": [],
    }
    if choice.answerable_row:
        scorer = selector.answerable_scorer(choice.across)
        values = scorer.own(choice.answerable_row, ANSWERABLE_FEATURES)
        out["answerable_features"] = {
            name: [round(value, 3), round(part, 3)]
            for name, value, part in zip(scorer.names, values, scorer.contributions(values), strict=True)
            if not math.isnan(value)
        }
    for i in choice.order[:top]:
        model = selector.sentence_scorer(across_languages(choice.question, choice.candidates[i].language))
        values = model.own(choice.rows[i], FEATURES)
        out["candidates"].append(
            {
                "n": choice.candidates[i].n,
                "text": choice.candidates[i].text,
                "probability": round(choice.probabilities[i], 3),
                "features": {
                    name: [round(value, 3), round(part, 3)]
                    for name, value, part in zip(model.names, values, model.contributions(values), strict=True)
                },
            }
        )
    return out
