"""The default answerer: offline, deterministic, built from the sources' own sentences.

It detects what the question asks for (an amount, a percentage, a date, a person, an age, ...), picks
the source sentence that best answers it, extracts the answer span, and replies with a short answer
line in the question's language followed by the supporting sentence quoted word for word. Every line
carries its [n], so verification can check it like any other answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.answerers.base import AnswerRequest, refusal
from rag.text import Quantity, expand, fold, proper_names, quantities, squash, tokenize, word_overlap
from rag.verify import split_sentences

# Question types. The leading interrogative decides first; keywords decide the rest.
LEADING: list[tuple[str, str]] = [
    ("age", r"^(?:how old|quel age|a quel age)\b"),
    ("count", r"^(?:how many (?!billion|million|dollar)|combien d(?:e |')(?!dollars|milliards|millions))"),
    ("amount", r"^(?:how much|how many (?:billion|million|dollar)|combien)\b"),
    ("date", r"^(?:when|quand|in what year|what year|which year|en quelle annee|quelle annee|quel mois)\b"),
    ("person", r"^(?:who|qui|quel (?:cofondateur|fondateur|patron|dirigeant))\b"),
    ("yesno", r"^(?:is|are|was|were|did|does|do|has|have|can|could|will|est-ce)\b"),
]
KEYWORDS: list[tuple[str, str]] = [
    ("age", r"\bhow old\b|\bquel age\b|\bages?\b"),
    ("percent", r"percent|percentage|\bwhat share\b|\bstake\b|pourcentage|\bquelle part\b|%"),
    ("rank", r"\brank|\bplace\b|\bposition\b|classement|\brang\b|\bsits?\b"),
    (
        "org",
        r"^where (?:did|was|is|were|does)\b|^ou (?:a|est)\b|\bwhich (?:company|startup|start-up|firm"
        r"|acquisition|division|models?)\b|\bwhat (?:company|startup)\b|\bquelle (?:entreprise|start-?up"
        r"|societe|division)\b|\bquels modeles\b|^name\b",
    ),
    (
        "amount",
        r"\bcost|\bpaid\b|\bpay\b|\bprice|\bworth\b|\bvalu|\binvest|\bspen[dt]|\blos[et]|\bloss"
        r"|\brevenue|\bsales\b|\bbudget|debours|paye|valoris|\bvau[tx]\b|valait|perdu|perte|depens"
        r"|investi|capex|\bgdp\b|\bpib\b|chiffre|\bhow big\b|\bhow large\b",
    ),
    ("date", r"\bwhen\b|\bquand\b|\bwhat (?:year|date|month)\b"),
    ("count", r"\bhow many\b|\bnumber of\b|\bnombre de\b"),
]
CURRENCY_WORDS = re.compile(r"\$|dollars?|usd", re.IGNORECASE)
AGE = re.compile(r"(\d{1,3})\s?(?:ans|years? old|-year-old)|(?:aged?|age of|âge de|age de)\s(\d{1,3})|\((\d{2})\)")
MONTH_WORDS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre"
)
DATE = re.compile(rf"(?:\b\d{{1,2}}(?:er)?\s)?\b(?:{MONTH_WORDS})\b(?:\s\d{{4}})?|\b(?:19|20)\d\d\b", re.IGNORECASE)
MIN_SCORE = 1.0  # below this the best sentence does not answer the question: refuse (calibrated on eval/gold)


def question_type(question: str) -> str:
    """What the question asks for: age, percent, rank, date, count, amount, person, org, yesno or description."""
    folded = fold(question).strip()
    for name, pattern in [*LEADING, *KEYWORDS]:
        if re.search(pattern, folded):
            return name
    return "description"


@dataclass
class Candidate:
    """A source sentence considered as the answer."""

    n: int  # the source's number
    text: str
    score: float
    span: str  # the extracted answer, "" when none of the asked type
    lexical: float = 0.0
    named: float = 0.0  # share of the question's names in the sentence or the one before


def _spans(kind: str, sentence: str, question: str) -> list[str]:
    """Answer spans of the asked kind in a sentence, best first."""
    if kind == "age":
        return [next(g for g in m.groups() if g) for m in AGE.finditer(sentence)]
    if kind == "date":
        return [m.group() for m in DATE.finditer(sentence)]
    if kind in ("person", "org"):
        asked = squash(question)
        sentence = re.sub(r"\[[^\]]*\]", "", sentence)  # "[Photo: Gonzalo Fuentes/Reuters]" names no answer
        names = [n for n in proper_names(sentence) if squash(n) not in asked and not re.fullmatch(r"[A-Z]{2,4}", n)]
        if kind == "person":
            names = [n for n in names if _looks_like_person(n)]
        return names
    wanted = {"percent": ("percent",), "rank": ("ordinal",), "amount": ("amount", "number"), "count": ("number",)}.get(
        kind
    )
    if not wanted:
        return []
    found = [q for q in quantities(sentence) if q.kind in wanted]
    if kind == "amount":
        found = [q for q in found if q.kind == "amount" or q.value != q.mantissa or q.value >= 1000]
    asked_values = {q.value for q in quantities(question)}
    return [q.text for q in found if q.value not in asked_values]


ORG_WORDS = frozenset("labs inc corp ai ia superintelligence meta google openai microsoft amazon nvidia".split())


def _looks_like_person(name: str) -> bool:
    """Two or three capitalized words, none of them a company word: 'Alexandr Wang', not 'Scale AI'."""
    words = name.split()
    return 2 <= len(words) <= 3 and all(
        re.fullmatch(r"[A-ZÀ-Ý][a-zà-ÿ'-]+", w) and fold(w) not in ORG_WORDS for w in words
    )


def _disagreeing(best: Candidate, ranked: list[Candidate], request: AnswerRequest) -> Candidate | None:
    """A close runner-up from another document giving a different figure for the same question, if any.

    Sources disagree (the article says Llama 4 ranked 24th; LMArena's own board said 32nd): show both.
    """
    doc = request.sources[best.n - 1].chunk.doc_id
    for other in ranked[1:6]:
        if other.score < best.score - 0.15 or other.named < best.named or not other.span:
            continue
        if request.sources[other.n - 1].chunk.doc_id == doc:
            continue
        mine, theirs = quantities(best.span), quantities(other.span)
        if mine and theirs and not mine[0].same(theirs[0]) and mine[0].kind == theirs[0].kind:
            return other
    return None


def _range_end(sentence: str, span: str, kind: str, question: str) -> str:
    """The other end of a range that starts at `span` ("$60 billion to $65 billion"), or ""."""
    at = sentence.find(span)
    if at < 0 or kind not in ("amount", "count", "percent"):
        return ""
    rest = sentence[at + len(span) :]
    match = re.match(r"\s*(?:to|and|-|–|à|et)\s*", rest)
    if not match:
        return ""
    following = [s for s in _spans(kind, rest[match.end() :], question) if rest[match.end() :].startswith(s)]
    return following[0] if following else ""


def _name_forms(name: str) -> list[str]:
    """A name as it may appear: squashed, and as an acronym ('Meta Superintelligence Labs' -> 'msl')."""
    words = name.split()
    forms = [squash(name)]
    if len(words) >= 2:
        forms.append("".join(w[0] for w in words).lower())
    return forms


def _distance(span: str, sentence: str, expanded: set[str], names: list[list[str]]) -> int:
    """Characters between a span and the nearest word of the question in the sentence."""
    at = sentence.find(span)
    anchors = [
        m.start()
        for m in re.finditer(r"[\w$%-]+", sentence)
        if set(tokenize(m.group())) & expanded or (squash(m.group()) and any(squash(m.group()) in n for n in names))
    ]
    return min((abs(a - at) for a in anchors), default=10_000)


def candidates(request: AnswerRequest, kind: str) -> list[Candidate]:
    """Every sentence of every source, scored against the question, with its answer span."""
    own = request.standalone.split(" (")[0]
    question_tokens = list(dict.fromkeys(tokenize(request.standalone)))
    expanded = set(expand(question_tokens))
    names = [_name_forms(n) for n in proper_names(request.standalone) if len(n) > 2]
    name_tokens = set(tokenize(" ".join(proper_names(request.standalone))))
    content = [t for t in question_tokens if t not in name_tokens and not t[0].isdigit()] or question_tokens
    figures = [q for q in quantities(own) if q.kind != "year"]
    years = [q for q in quantities(request.standalone) if q.kind == "year"]
    sentences = []
    for position, source in enumerate(request.sources):
        previous = ""
        for sentence in split_sentences(source.chunk.text):
            if not sentence.startswith("#"):
                sentences.append((position, sentence, previous, squash(f"{source.chunk.title} {previous} {sentence}")))
            previous = sentence
    out = []
    for position, sentence, previous, window in sentences:
        spans = _spans(kind, sentence, own)
        spans.sort(key=lambda span: _distance(span, sentence, expanded, names))
        # A list item ("- 2023: $16.12 billion") takes its meaning from the line that introduces it.
        lexical = max(word_overlap(content, sentence), 0.7 * word_overlap(content, f"{previous} {sentence}"))
        named = sum(any(form in window for form in forms) for forms in names) / len(names) if names else 1.0
        score = 0.6 * lexical + 0.6 * named + 0.1 / (position + 1)
        if figures:
            found = quantities(sentence)
            score += 0.3 * sum(any(f.same(q) for q in found) for f in figures) / len(figures)
        if years:
            found_years = {q.value for q in quantities(sentence) if q.kind == "year"}
            score += 0.4 * sum(y.value in found_years for y in years) / len(years) - 0.2
        if kind not in ("description", "yesno"):
            score += 0.2 if spans else -0.3
        out.append(Candidate(position + 1, sentence, score, spans[0] if spans else "", lexical, named))
    return sorted(out, key=lambda c: -c.score)


def render_span(span: str, kind: str, language: str, sentence: str) -> str:
    """The answer span in the question's language: '$14.3 Milliards' -> '$14.3 billion' for English."""
    if kind == "age":
        return f"{span} years old" if language == "en" else f"{span} ans"
    if kind == "date":
        return _translate_months(span, language)
    if kind not in ("amount", "count"):
        return span
    parsed = quantities(span)
    if not parsed:
        return span
    return render_quantity(parsed[0], language, currency=bool(CURRENCY_WORDS.search(span)))


def _translate_months(text: str, language: str) -> str:
    from rag.verify import MONTH_OF, MONTHS

    def swap(match: re.Match[str]) -> str:
        number = MONTH_OF.get(fold(match.group()))
        return (
            MONTHS[number][0 if language == "en" else 1].capitalize()
            if number and language == "en"
            else (MONTHS[number][1] if number else match.group())
        )

    return re.sub(rf"\b(?:{MONTH_WORDS})\b", swap, text, flags=re.IGNORECASE)


def render_quantity(q: Quantity, language: str, currency: bool) -> str:
    """A figure written the way a reader of `language` expects."""
    for scale, en, fr in ((1e12, "trillion", "billions"), (1e9, "billion", "milliards"), (1e6, "million", "millions")):
        if q.value >= scale and q.value != q.mantissa:
            number = f"{q.value / scale:g}"
            if language == "fr":
                return f"{number.replace('.', ',')} {fr}" + (" de dollars" if currency else "")
            return ("$" if currency else "") + f"{number} {en}"
    return q.text


class ExtractiveAnswerer:
    """Answers with the sources' own sentences; never writes a fact that is not quoted beside it."""

    name = "extractive"

    def answer(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer line and the quoted supporting sentence, or a refusal."""
        yield self.compose(request)

    def compose(self, request: AnswerRequest) -> str:
        """The whole answer as one text."""
        kind = question_type(request.standalone)
        ranked = candidates(request, kind)
        if not ranked or ranked[0].score < MIN_SCORE or (kind not in ("description", "yesno") and not ranked[0].span):
            return refusal(request.language)
        if ranked[0].named < (1.0 if len(proper_names(request.standalone.split(" (")[0])) <= 1 else 0.5):
            return refusal(request.language)
        if ranked[0].lexical == 0 and kind != "description":
            return refusal(request.language)  # right kind of figure, but nothing of what was asked about
        best = ranked[0]
        lines = []
        if best.span:
            answer = render_span(best.span, kind, request.language, best.text)
            second = _range_end(best.text, best.span, kind, request.standalone)
            if second:
                joiner = " to " if request.language == "en" else " à "
                answer += joiner + render_span(second, kind, request.language, best.text)
            lines.append(f"{answer} [{best.n}]")
        lines.append(f"« {best.text.strip()} » [{best.n}]")
        other = _disagreeing(best, ranked, request)
        if other is not None:
            lead = "Another source gives" if request.language == "en" else "Une autre source indique"
            lines.append(f"{lead} {render_span(other.span, kind, request.language, other.text)} [{other.n}]")
            lines.append(f"« {other.text.strip()} » [{other.n}]")
        return "\n".join(lines)
