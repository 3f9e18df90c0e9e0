"""Train the extractive answerer's scorers on public QA data and write rag/data/answer_selector.json.

    python -m eval.train_answerer --data ../shared/qa --out rag/data/answer_selector.json

Data: SQuAD 2.0 (English, with unanswerable questions) and PIAF (French) as JSON Lines (see
../shared/qa/README.md). Split by article title (a hash, so the split never depends on file order):
50% for the reader (eval/train_reader.py), 20% train (the selector's weights), 10% dev (thresholds only),
20% test (reported, never looked at while choosing anything). The refusal threshold is chosen on dev's
questions and train's scored out of fold (each by the scorer fitted on train's other articles).

Each question is treated as the answerer sees it at run time: its article's paragraphs stand for chunks,
the five closest to the question (by the bundled model's cosine; the question's own paragraph always
among them) are the retrieved sources, their sentences the candidates. A candidate is positive when it
contains a gold answer. The same inputs give the same file, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import pickle
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answerers.extractive.answerer import quotes_runner_up, read_best, short_span
from rag.answerers.extractive.features import FEATURES, Candidate, entailed, feature_rows, read_alone
from rag.answerers.extractive.model import (
    ACROSS_UNKNOWN,
    ANSWERABLE_ACROSS_UNKNOWN,
    ANSWERABLE_FEATURES,
    LogisticModel,
    answerable_row,
)
from rag.answerers.extractive.question import Question, analyze
from rag.answerers.extractive.reader import Reader, Reading, load_reader
from rag.text import fold
from rag.verify import split_sentences

SOURCES = 5  # chunks per question, as top_k
TRANSLATIONS = Path(__file__).with_name("translated_questions.jsonl")  # questions asked in the other language
# By the article's hash modulo 10: the reader learns on half the articles, the selector on others (so it
# weighs the reader's scores as they are on unseen text), thresholds are chosen on a third part, and the
# figures reported come from articles nothing was fitted or chosen on.
SPLITS = ((5, "reader"), (7, "train"), (8, "dev"), (10, "test"))
FALSE_REFUSALS = 0.09  # refuse at most this share of answerable questions (dev, train out of fold; target 10%)
SHORT_PRECISION = 0.75  # a short answer leads where the dev span was right this often
MAX_SENTENCES = 1.6  # mean quoted sentences per answer on dev, at most
OUT_OF_SCOPE_EVERY = 4  # this share of questions is also asked of other articles (an unanswerable example)
FOLDS = 6  # the train split's articles of each language, dealt into this many folds (out-of-fold answerability)


def split_of(title: str) -> str:
    """'reader', 'train', 'dev' or 'test' for an article, from a hash of its title."""
    bucket = int(hashlib.sha256(f"answerer:{title}".encode()).hexdigest(), 16) % 10
    return next(name for upper, name in SPLITS if bucket < upper)


@dataclass
class Item:
    """One question of the data, with its article and language."""

    language: str
    title: str
    context: str
    question: str
    answers: list[str]
    original: str = ""  # a translated question: the question as its data wrote it, in the article's language

    @property
    def split(self) -> str:
        """Where its article falls."""
        return split_of(self.title)


def load(folder: Path) -> list[Item]:
    """Both languages' questions, in file order."""
    items = []
    for language in ("en", "fr"):
        with (folder / f"{language}.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                items.append(Item(language, row["title"], row["context"], row["question"], row["answers"]))
    return items


def load_translated(items: Sequence[Item], translations: Path) -> list[Item]:
    """The items with a translated question in `translations`, each asked in the other language.

    `translations` (eval/translated_questions.jsonl): per line the article's language and title, the question
    as the data wrote it, and the question translated into the other language. No public QA data pairs a
    question with a paragraph in the other language; these measure that case (README, "Answer quality").
    """
    translated: dict[tuple[str, str, str], str] = {}
    with translations.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            translated[(row["language"], row["title"], row["question"])] = row["translated"]
    return [
        Item(i.language, i.title, i.context, translated[key], i.answers, original=i.question)
        for i in items
        if (key := (i.language, i.title, i.question)) in translated
    ]


@dataclass
class Embeddings:
    """Unit vectors of texts as the answerer embeds its candidates (embed_sentences), kept in a cache file."""

    cache: Path
    vectors: dict[str, Any] = field(default_factory=dict)

    def fill(self, texts: Iterable[str]) -> None:
        """Embed every text not yet known (one at a time, as the answerer does: the same floats every run)."""
        from tqdm import tqdm

        from rag.embedders.factory import get_embedder, onnx_dir

        if self.cache.is_file() and not self.vectors:
            self.vectors = pickle.loads(self.cache.read_bytes())
        todo = sorted({t for t in texts if _key(t) not in self.vectors})
        if not todo:
            return
        embedder = get_embedder("all-MiniLM-L6-v2", models_dir=onnx_dir())
        for start in tqdm(
            range(0, len(todo), 64), desc="embed", unit="batch", file=sys.stderr, disable=not sys.stderr.isatty()
        ):
            batch = todo[start : start + 64]
            for text, vector in zip(batch, embedder.embed_sentences(batch), strict=True):
                self.vectors[_key(text)] = vector.astype("float32")
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.cache.write_bytes(pickle.dumps(self.vectors))

    def __getitem__(self, text: str) -> Any:
        return self.vectors[_key(text)]


@dataclass
class Readings:
    """The reader's readings of (question, paragraphs), kept in a cache file between runs (they are slow)."""

    reader: Reader
    cache: Path
    known: dict[str, list[Reading]] = field(default_factory=dict)

    def read(self, question: str, passages: list[str]) -> list[Reading]:
        """As Reader.read, from the cache when this question met these passages before."""
        if not self.known and self.cache.is_file():
            self.known = pickle.loads(self.cache.read_bytes())
        key = _key("\0".join([question, *passages]))
        if key not in self.known:
            self.known[key] = self.reader.read(question, passages)
        return self.known[key]

    def save(self) -> None:
        """Write the cache file."""
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.cache.write_bytes(pickle.dumps(self.known))


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class Example:
    """One question as the answerer sees it: candidates, their feature rows and labels."""

    item: Item
    question: Question
    candidates: list[Candidate]
    rows: list[list[float]]
    labels: list[int]
    out_of_scope: bool = False  # asked of other articles' paragraphs (so unanswerable)

    @property
    def answerable(self) -> bool:
        """It has a gold answer."""
        return bool(self.item.answers)


def contains_answer(sentence: str, answers: Sequence[str]) -> bool:
    """The sentence states one of the gold answers (compared folded)."""
    folded = fold(sentence)
    return any(fold(a).strip() and fold(a).strip() in folded for a in answers)


def build_examples(items: Sequence[Item], embeddings: Embeddings, reader: Reader | Readings) -> list[Example]:
    """Candidates and features of every item; its article's other paragraphs compete as retrieved chunks.

    Every OUT_OF_SCOPE_EVERY-th question is also asked a second time of the closest paragraphs of the
    *other* articles of its language and split (its own article left out): an unanswerable example of
    the kind users meet most, a question the documents are not about at all.
    """
    import numpy as np
    from tqdm import tqdm

    paragraphs: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item.context not in paragraphs[item.title]:
            paragraphs[item.title].append(item.context)
    sentences = {p: split_sentences(p) for ps in paragraphs.values() for p in ps}
    embeddings.fill([*(i.question for i in items), *sentences, *(s for ss in sentences.values() for s in ss)])
    language_of = {item.title: item.language for item in items}
    pool = {
        lang: [(t, p) for t, ps in sorted(paragraphs.items()) if language_of[t] == lang for p in ps]
        for lang in ("en", "fr")
    }
    matrix = {lang: np.array([embeddings[p] for _, p in pairs]) for lang, pairs in pool.items() if pairs}
    examples = []
    for n, item in enumerate(tqdm(items, desc="features", unit="q", file=sys.stderr, disable=not sys.stderr.isatty())):
        q_vec = embeddings[item.question]
        ranked = sorted(paragraphs[item.title], key=lambda p: (-float(q_vec @ embeddings[p]), p))[:SOURCES]
        if item.context not in ranked:
            ranked[-1] = item.context
        example = _example(item, [(item.title, p) for p in ranked], sentences, q_vec, embeddings, reader)
        if example:
            examples.append(example)
        others = matrix.get(item.language)
        if n % OUT_OF_SCOPE_EVERY == 0 and others is not None:
            cosines = others @ q_vec
            order = sorted(range(len(cosines)), key=lambda i: (-float(cosines[i]), i))
            elsewhere = [pool[item.language][i] for i in order if pool[item.language][i][0] != item.title][:SOURCES]
            stray = Item(item.language, item.title, item.context, item.question, [])
            example = _example(stray, elsewhere, sentences, q_vec, embeddings, reader, out_of_scope=True)
            if example:
                examples.append(example)
    return examples


def _example(
    item: Item,
    ranked: Sequence[tuple[str, str]],
    sentences: dict[str, list[str]],
    q_vec: Any,
    embeddings: Embeddings,
    reader: Reader | Readings,
    out_of_scope: bool = False,
) -> Example | None:
    """The example of a question whose retrieved chunks are these (article title, paragraph) pairs."""
    # Without `sources`, a capitalized first word stays a name here, as it was at run time before session 30.
    # Retrained with the answerer's own analysis (session 31), dev end to end lost: English stated 86.2% ->
    # 85.7%, answerable refused 9.9% -> 10.6% (426), unanswerable refused 32.4% -> 33.1% (598).
    question = analyze(item.question)
    candidates: list[Candidate] = []
    for n, (title, paragraph) in enumerate(ranked, start=1):
        previous, cursor = "", 0
        for i, sentence in enumerate(sentences[paragraph]):
            at = paragraph.find(sentence, cursor)
            cursor = max(cursor, at)
            candidates.append(Candidate(n, sentence, previous, title.replace("_", " "), item.language, i == 0, at))
            previous = sentence
    if not candidates:
        return None
    cosines = [float(q_vec @ embeddings[c.text]) for c in candidates]
    readings = read_best(reader.read, item.question, [p for _, p in ranked], [True] * len(ranked))  # one language
    rows = feature_rows(question, candidates, cosines, readings)
    labels = [int(contains_answer(c.text, item.answers)) for c in candidates]
    return Example(item, question, candidates, rows, labels, out_of_scope)


def fit(rows: list[list[float]], labels: list[int], names: Sequence[str]) -> dict[str, Any]:
    """A standardized logistic regression, written as plain numbers (rounded: the file is the same every run)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array(rows, dtype=np.float64)
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mean, x)  # unknown (across languages): its mean, as the answerer reads it
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=5000, tol=1e-8)
    model.fit((x - mean) / scale, np.array(labels))
    return {
        "features": list(names),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "weights": [round(float(v), 6) for v in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
    }


def score(examples: Sequence[Example], sentence_model: LogisticModel) -> list[list[float]]:
    """Sentence probabilities for every candidate of every example (the model reads its own features)."""
    return [[sentence_model.probability(sentence_model.own(r, FEATURES)) for r in e.rows] for e in examples]


def fit_without(
    rows: list[list[float]], labels: list[int], names: Sequence[str], unknown: Sequence[str]
) -> dict[str, Any]:
    """`fit` on every feature but the `unknown` ones."""
    keep = [i for i, n in enumerate(names) if n not in unknown]
    return fit([[r[i] for i in keep] for r in rows], labels, [names[i] for i in keep])


def fit_answerable(
    examples: dict[str, list[Example]],
    probabilities: dict[str, list[list[float]]],
    read: Callable[[str, list[str]], list[Reading]],
    unknown: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """The answerability scorer (trained on the train split) and its probability for every example.

    `read` reads each example's best candidate alone (features.read_alone), unless that is `unknown`.
    Besides each split, "train_out_of_fold": each train example scored by the scorer fitted on the other
    folds of the train split (`folds`), as if its article were as new to it as dev's are.
    """
    reads = None if "top_read_alone" in unknown else read
    rows = {k: _answerable_rows(examples[k], probabilities[k], reads, "top_entailed" not in unknown) for k in examples}
    labels = [
        int(e.answerable and _top_right(e, p)) for e, p in zip(examples["train"], probabilities["train"], strict=True)
    ]
    weights = fit_without(rows["train"], labels, ANSWERABLE_FEATURES, unknown)
    model = LogisticModel.from_json(weights)
    scored = {k: [model.probability(model.own(r, ANSWERABLE_FEATURES)) for r in v] for k, v in rows.items()}
    scored["train_out_of_fold"] = [math.nan] * len(examples["train"])
    for rest, held in held_out_folds(examples["train"]):
        if len({labels[i] for i in rest}) < 2:
            continue  # a tiny sample (--limit): this fold stays unscored
        model_k = LogisticModel.from_json(
            fit_without([rows["train"][i] for i in rest], [labels[i] for i in rest], ANSWERABLE_FEATURES, unknown)
        )
        for i in held:
            scored["train_out_of_fold"][i] = model_k.probability(model_k.own(rows["train"][i], ANSWERABLE_FEATURES))
    return weights, scored


def held_out_folds(examples: Sequence[Example]) -> list[tuple[list[int], list[int]]]:
    """Per fold (`folds`): the indexes of the examples outside it, to fit on, and of those in it, to score."""
    fold = folds(examples)
    return [
        ([i for i, f in enumerate(fold) if f != k], [i for i, f in enumerate(fold) if f == k])
        for k in sorted(set(fold))
    ]


def folds(examples: Sequence[Example]) -> list[int]:
    """Each example's fold: its article's, the articles of each language dealt in turn (by a hash of the title)."""
    fold_of: dict[tuple[str, str], int] = {}
    for language in ("en", "fr"):
        titles = sorted(
            {e.item.title for e in examples if e.item.language == language},
            key=lambda t: hashlib.sha256(f"fold:{t}".encode()).hexdigest(),
        )
        fold_of.update({(language, t): i % FOLDS for i, t in enumerate(titles)})
    return [fold_of[(e.item.language, e.item.title)] for e in examples]


def _answerable_rows(
    examples: Sequence[Example],
    probabilities: Sequence[Sequence[float]],
    read: Callable[[str, list[str]], list[Reading]] | None,
    entail: bool = True,
) -> list[list[float]]:
    return [
        answerable_row(
            p,
            e.rows,
            e.question.typed,
            bool(e.question.years),
            _entailed(e, p) if entail else math.nan,
            read_alone(read, e.question, e.item.question, e.candidates[_best(p)]) if read else math.nan,
        )
        for e, p in zip(examples, probabilities, strict=True)
    ]


def _entailed(e: Example, p: Sequence[float]) -> float:
    """features.entailed for the example's best candidate, as the answerer ranks them."""
    return entailed(e.item.question, e.candidates[_best(p)])


def _best(p: Sequence[float]) -> int:
    """The index of the most probable candidate (the first, on a tie)."""
    return max(range(len(p)), key=lambda i: p[i])


def _top_right(e: Example, p: Sequence[float]) -> bool:
    return bool(e.labels[_best(p)])


def _quantile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def choose_thresholds(
    examples: Sequence[Example],
    probabilities: Sequence[Sequence[float]],
    refusal: tuple[Sequence[Example], Sequence[float]],
    shorts: tuple[Sequence[Example], Sequence[Sequence[float]]],
) -> dict[str, Any]:
    """The second-sentence threshold from the dev split; the refusal one from `refusal`, the short one from `shorts`.

    `refusal`: the examples and answerability probabilities the refusal threshold is chosen on; `shorts`:
    the examples and sentence probabilities the short-answer thresholds are chosen on.
    """
    refuse = refuse_threshold(*refusal)
    # A span leads where, from that sentence probability up, the span was a gold answer often enough. Per
    # question language: the same probability does not make a span as often right in both.
    short = {language: short_threshold(*shorts, language) for language in ("en", "fr")}
    # A second sentence is quoted when its probability reaches this; the lowest that keeps answers short.
    second = 1.0
    for candidate in [i / 100 for i in range(100, 0, -1)]:
        seconds = [
            sorted(p, reverse=True)[1] >= candidate if len(p) > 1 else False
            for e, p in zip(examples, probabilities, strict=True)
            if not e.out_of_scope
        ]
        if 1 + sum(seconds) / max(1, len(seconds)) > MAX_SENTENCES:
            break
        second = candidate
    return {"refuse_below": refuse, "short_above": short, "second_above": round(second, 6)}


def short_threshold(examples: Sequence[Example], probabilities: Sequence[Sequence[float]], language: str) -> float:
    """The lowest top probability from which the short answer was right SHORT_PRECISION of the time (1.0: never).

    Chosen on dev's questions and train's scored out of fold (`sentence_out_of_fold`), as the refusal
    threshold is: on dev's three English articles alone the span was right 76% of the time from any
    probability up, so nearly every short answer was shown, and on other articles far less often right.
    """
    spans = sorted(
        (
            (max(p), _span_right(e, p))
            for e, p in zip(examples, probabilities, strict=True)
            if e.answerable and e.item.language == language and not math.isnan(max(p))
        ),
        reverse=True,
    )
    short, right = 1.0, 0
    for count, (top, ok) in enumerate(spans, start=1):
        right += ok
        if right / count >= SHORT_PRECISION:
            short = top
    return round(short, 6)


def refuse_threshold(examples: Sequence[Example], answerable: Sequence[float]) -> float:
    """The answerability under which to refuse: FALSE_REFUSALS of the answerable questions, in each language.

    The questions are dev's and train's, scored out of fold (fit_answerable): nine English articles instead
    of dev's three. A quantile taken on three articles lands wide of its mark on others (README, "Answer
    quality", session 35: nested folds over train and dev).
    """
    per_language = [
        [
            a
            for e, a in zip(examples, answerable, strict=True)
            if e.answerable and e.item.language == lang and not math.isnan(a)
        ]
        for lang in ("en", "fr")
    ]
    return round(min(_quantile(values, FALSE_REFUSALS) for values in per_language if values), 6)


def _out_of_fold(
    examples: dict[str, list[Example]], answerable: dict[str, list[float]]
) -> tuple[list[Example], list[float]]:
    """Dev's questions and train's, each with an answerability from a scorer that never saw its article."""
    return examples["dev"] + examples["train"], answerable["dev"] + answerable["train_out_of_fold"]


def sentence_out_of_fold(examples: Sequence[Example]) -> list[list[float]]:
    """Sentence probabilities of train's examples, each from a scorer fitted on the other folds' articles."""
    scored: list[list[float]] = [[math.nan] * len(e.rows) for e in examples]
    for outside, held in held_out_folds(examples):
        rest = [examples[i] for i in outside if not examples[i].out_of_scope]
        labels = [y for e in rest for y in e.labels]
        if len(set(labels)) < 2:
            continue  # a tiny sample (--limit): this fold stays unscored
        model = LogisticModel.from_json(fit([r for e in rest for r in e.rows], labels, FEATURES))
        for i in held:
            scored[i] = [model.probability(r) for r in examples[i].rows]
    return scored


def _span_right(e: Example, p: Sequence[float]) -> bool:
    """The short answer the answerer would give overlaps a gold answer by at least half (token F1)."""
    span = short_span(e.question, e.candidates[_best(p)])
    return bool(span) and max(_f1(span, a) for a in e.item.answers) >= 0.5


def _f1(prediction: str, gold: str) -> float:
    mine, theirs = fold(prediction).split(), fold(gold).split()
    common = sum(min(mine.count(w), theirs.count(w)) for w in set(mine))
    if not common:
        return 0.0
    precision, recall = common / len(mine), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def report(
    name: str,
    examples: Sequence[Example],
    probabilities: Sequence[Sequence[float]],
    answerable: Sequence[float],
    thresholds: dict[str, Any],
) -> dict[str, Any]:
    """Per language: top-1 / top-2 sentence accuracy, refusals at the threshold, answers stated."""
    out: dict[str, Any] = {}

    def quoting(e: Example) -> tuple[float, float]:
        return thresholds["second_above"], thresholds["short_above"][e.item.language]

    for lang in ("en", "fr"):
        chosen = [
            (e, p, a) for e, p, a in zip(examples, probabilities, answerable, strict=True) if e.item.language == lang
        ]
        answerable_items = [(e, p, a) for e, p, a in chosen if e.answerable]
        impossible = [(e, p, a) for e, p, a in chosen if not e.answerable and not e.out_of_scope]
        elsewhere = [a for e, _, a in chosen if e.out_of_scope]
        if not chosen:
            continue

        def stated(e: Example, p: Sequence[float]) -> bool:
            order = sorted(range(len(p)), key=lambda i: -p[i])
            best = order[0]
            quoted = [best] + [
                i
                for i in order[1:2]
                if quotes_runner_up(e.question, e.candidates[best], e.candidates[i], p[best], p[i], *quoting(e))
            ]
            return any(e.labels[i] for i in quoted)

        kept = [(e, p) for e, p, a in answerable_items if a >= thresholds["refuse_below"]]
        shorts = [
            _span_right(e, p)
            for e, p in kept
            if max(p) >= quoting(e)[1] and short_span(e.question, e.candidates[_best(p)])
        ]
        out[lang] = {
            "questions": len(chosen),
            "answerable": len(answerable_items),
            "top1": _rate(_top_right(e, p) for e, p, _ in answerable_items),
            "top2": _rate(
                any(e.labels[i] for i in sorted(range(len(p)), key=lambda i: -p[i])[:2]) for e, p, _ in answerable_items
            ),
            "states_gold": _rate(a >= thresholds["refuse_below"] and stated(e, p) for e, p, a in answerable_items),
            "states_gold_when_answered": _rate(stated(e, p) for e, p in kept),
            "answerable_refused": _rate(a < thresholds["refuse_below"] for _, _, a in answerable_items),
            "unanswerable_refused": _rate(a < thresholds["refuse_below"] for _, _, a in impossible)
            if impossible
            else None,
            "unanswerable": len(impossible),
            "out_of_scope_refused": _rate(a < thresholds["refuse_below"] for a in elsewhere) if elsewhere else None,
            "out_of_scope": len(elsewhere),
            "short_answers": round(len(shorts) / len(kept), 4) if kept else None,  # answers led by a short span
            "short_right": _rate(shorts) if shorts else None,  # ... that overlaps a gold answer by half (token F1)
        }
    print(f"{name}: {json.dumps(out)}", file=sys.stderr)
    return out


def _rate(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else 0.0


def _reader_digest() -> str:
    from importlib import resources

    return hashlib.sha256(resources.files("rag.data").joinpath("reader.onnx").read_bytes()).hexdigest()[:12]


def train(data: Path, cache: Path, limit: int | None = None) -> dict[str, Any]:
    """Everything the weights file holds, trained from `data` (the first `limit` questions of each split)."""
    items = load(data)
    by_split: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_split[item.split].append(item)
    if limit:
        by_split = {k: v[:limit] for k, v in by_split.items()}
    embeddings = Embeddings(cache)
    readings = Readings(load_reader(), cache.with_name(f"{cache.stem}-readings-{_reader_digest()}.pkl"))
    examples = {k: build_examples(v, embeddings, readings) for k, v in sorted(by_split.items()) if k != "reader"}
    readings.save()
    in_scope = [e for e in examples["train"] if not e.out_of_scope]  # sentences are ranked within an article
    train_rows = [r for e in in_scope for r in e.rows]
    train_labels = [y for e in in_scope for y in e.labels]
    sentence = fit(train_rows, train_labels, FEATURES)
    probabilities = {k: score(v, LogisticModel.from_json(sentence)) for k, v in examples.items()}
    answerable, answerable_p = fit_answerable(examples, probabilities, readings.read)
    shorts = (examples["dev"] + examples["train"], probabilities["dev"] + sentence_out_of_fold(examples["train"]))
    thresholds = choose_thresholds(examples["dev"], probabilities["dev"], _out_of_fold(examples, answerable_p), shorts)
    # The same scorers without what cannot be measured across languages, as if every sentence were in
    # another language than its question (no public data pairs the two; this is the nearest stand-in).
    sentence_across = fit_without(train_rows, train_labels, FEATURES, ACROSS_UNKNOWN)
    across_p = {k: score(v, LogisticModel.from_json(sentence_across)) for k, v in examples.items()}
    answerable_across, answerable_across_p = fit_answerable(
        examples, across_p, readings.read, ANSWERABLE_ACROSS_UNKNOWN
    )
    readings.save()  # with the best candidates read alone
    thresholds["refuse_below_across"] = refuse_threshold(*_out_of_fold(examples, answerable_across_p))
    across_thresholds = {**thresholds, "refuse_below": thresholds["refuse_below_across"]}
    digest = hashlib.sha256()
    for language in ("en", "fr"):
        digest.update((data / f"{language}.jsonl").read_bytes())
    return {
        "sentence": sentence,
        "answerable": answerable,
        "sentence_across": sentence_across,
        "answerable_across": answerable_across,
        "thresholds": thresholds,
        "trained_on": {
            "data": "../shared/qa (SQuAD 2.0 en, PIAF fr)",
            "sha256": digest.hexdigest(),
            "split": (
                "sha256('answerer:' + title) % 10: 0-4 reader, 5-6 train, 7 dev (thresholds), 8-9 test;"
                f" refusal thresholds on dev and on train out of fold ({FOLDS} folds by article)"
            ),
            "questions": {k: len(v) for k, v in examples.items()},
            "candidates": len(train_rows),
            "limit": limit,
            "dev": report("dev", examples["dev"], probabilities["dev"], answerable_p["dev"], thresholds),
            "test": report("test", examples["test"], probabilities["test"], answerable_p["test"], thresholds),
            "dev_without_dense_and_reader": report(
                "dev, across scorers", examples["dev"], across_p["dev"], answerable_across_p["dev"], across_thresholds
            ),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Train and write the weights file; print its training report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "qa")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "rag" / "data" / "answer_selector.json")
    cache = Path.home() / ".cache" / "rag-assistant-train" / "qa-vectors-int8.pkl"
    parser.add_argument("--cache", type=Path, default=cache)
    parser.add_argument("--limit", type=int, help="first N questions of each split (a quick run)")
    parser.add_argument(
        "--write-split", choices=[name for _, name in SPLITS], help="write that split's questions as JSONL"
    )
    parser.add_argument("--split-out", type=Path, help="where --write-split writes")
    parser.add_argument(
        "--across", action="store_true", help="with --write-split: its questions translated (for `rag eval --squad`)"
    )
    parser.add_argument(
        "--translations", type=Path, default=TRANSLATIONS, help="questions translated into the other language"
    )
    args = parser.parse_args(argv)
    if args.write_split and args.across:
        asked = load_translated([i for i in load(args.data) if i.split == args.write_split], args.translations)
        with args.split_out.open("w", encoding="utf-8") as out:
            for i in asked:
                row = {"title": i.title, "context": i.context, "question": i.question, "answers": i.answers}
                out.write(json.dumps({**row, "is_impossible": not i.answers}, ensure_ascii=False) + "\n")
        return 0
    if args.write_split:
        with args.split_out.open("w", encoding="utf-8") as out:
            for line in (args.data / "en.jsonl").read_text(encoding="utf-8").splitlines() + (
                args.data / "fr.jsonl"
            ).read_text(encoding="utf-8").splitlines():
                if split_of(json.loads(line)["title"]) == args.write_split:
                    out.write(line + "\n")
        return 0
    weights = train(args.data, args.cache, args.limit)
    args.out.write_text(json.dumps(weights, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
