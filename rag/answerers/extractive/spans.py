"""Answer spans of an asked type in a sentence (an amount, a date, a person, ...), and how they are written back."""

from __future__ import annotations

import re

from rag.answerers.extractive.question import Question
from rag.text import (
    DETACHED_SCALE,
    MONTH_OF,
    MONTHS,
    SCALES,
    Quantity,
    fold,
    proper_names,
    quantities,
    same_word,
    squash,
    tokenize,
)

CURRENCY_WORDS = re.compile(r"\$|€|£|dollars?|euros?|usd|eur", re.IGNORECASE)
# Each currency as a reader of each language writes it: (before the number in English, after it in French).
CURRENCIES = (
    (re.compile(r"€|\beuros?\b|\beur\b", re.IGNORECASE), "€", " d'euros"),
    (re.compile(r"£|\bpounds?\b|\blivres?\b|\bgbp\b", re.IGNORECASE), "£", " de livres"),
    (re.compile(r"\$|\bdollars?\b|\busd\b", re.IGNORECASE), "$", " de dollars"),
)
AGE = re.compile(r"(\d{1,3})\s?(?:ans|years? old|-year-old)|(?:aged?|age of|âge de|age de)\s(\d{1,3})|\((\d{2})\)")
MONTH_WORDS = "|".join([*MONTH_OF, "février", "août", "décembre"])  # French as written, and folded
MONTH = re.compile(rf"\b(?:{MONTH_WORDS})\b", re.IGNORECASE)
# A date as either language writes it: "18 janvier 1974", "12 June 2025", "January 18, 1974", "November 22",
# "March 1932", or a year alone. The day after the month is one or two digits that are not part of a figure.
DATE = re.compile(
    rf"(?:\b\d{{1,2}}(?:er)?\s)?\b(?:{MONTH_WORDS})\b(?:\s\d{{1,2}}(?:st|nd|rd|th)?\b(?![\d,.]\d))?(?:,?\s\d{{4}}\b)?"
    r"|\b(?:1[0-9]|20)\d\d\b",
    re.IGNORECASE,
)
CHANGE = re.compile(
    r"\b(?:recul|baiss|augment|diminu|progress|croiss|chut|fell|fall|rose|rise|grew|grow|shr[ai]nk|contract|declin"
    r"|drop|increas|decreas|evolu|change|chang)\w*"
)
NOT_NAMES = frozenset(
    "french english american chinese european british german francais francaise americain americaine".split()
)
COMMON_WORD = re.compile(r"[A-ZÀ-Ý][a-zà-ÿ]+(?:ée?s?|ed|ing|ly|ment|tion|ait|aient)")
# Words that make a name an organisation's, not a person's ("Acme Labs", "Foo Inc", "Bar AI").
ORG_WORDS = frozenset(
    "labs lab inc corp corporation ltd llc plc gmbh sa sas group groupe company compagnie university universite "
    "institute institut bank banque ai ia foundation fondation".split()
)
WANTED = {"percent": ("percent",), "rank": ("ordinal",), "amount": ("amount", "number"), "count": ("number",)}


def not_a_name(word: str) -> bool:
    """Capitalized but no one's name: 'French' (article), 'Milliards' (5 Milliards), 'August'."""
    return fold(word) in NOT_NAMES or fold(word) in SCALES or bool(MONTH.fullmatch(word))


def looks_like_person(name: str) -> bool:
    """Two or three capitalized words, none of them an organisation word: 'Ada Lovelace', not 'Acme Labs'."""
    words = name.split()
    return 2 <= len(words) <= 3 and all(
        re.fullmatch(r"[A-ZÀ-Ý][a-zà-ÿ'’]+(?:-[A-ZÀ-Ý]?[a-zà-ÿ]+)*", w) and fold(w) not in ORG_WORDS for w in words
    )


def _names(q: Question, sentence: str, person: bool) -> list[str]:
    asked = squash(q.text)
    sentence = re.sub(r"\[[^\]]*\]", "", sentence)  # "[Photo: Jane Doe/Reuters]" names no answer
    asked_words = {fold(w) for w in re.findall(r"[A-Z][\w-]+", q.text)}
    names = [
        n
        for n in proper_names(sentence)
        if squash(n) not in asked
        and not {fold(w) for w in n.split()} & asked_words  # "Ada Lovelace" is asked by "Lovelace"
        and not re.fullmatch(r"[A-Z]{2,4}", n)
        and not not_a_name(n)
        and not (sentence.startswith(n) and COMMON_WORD.fullmatch(n))  # "Composée de trois modèles"
    ]
    return [n for n in names if looks_like_person(n)] if person else names


def _counts_the_thing(span: str, sentence: str, counted: tuple[str, ...]) -> bool:
    """'100 employés' answers 'how many people': the counted noun follows the number closely."""
    at = sentence.find(span)
    after = tokenize(sentence[at + len(span) : at + len(span) + 40]) if at >= 0 else []
    return any(same_word(t, c) for t in after[:3] for c in counted)


def spans(q: Question, sentence: str) -> list[str]:
    """Answer spans of the asked type in a sentence, in the sentence's order."""
    kind = q.kind
    if kind == "age":
        return [next(g for g in m.groups() if g) for m in AGE.finditer(sentence)]
    if kind == "date":
        dates = [m.group() for m in DATE.finditer(sentence)]
        if re.search(r"\byear\b|\bannee\b", fold(q.own)):  # "in what year": 1971, not "August 15, 1971"
            return [y.group() for y in (re.search(r"\d{4}", s) for s in dates) if y]
        return dates
    if kind in ("person", "org"):
        return _names(q, sentence, kind == "person")
    wanted = WANTED.get(kind)
    if kind == "amount" and CHANGE.search(fold(q.own)):
        wanted = ("amount", "number", "percent")  # "De combien le PIB a-t-il reculé ?": 0,9 %
    if not wanted:
        return []
    found = [x for x in quantities(sentence) if x.kind in wanted]
    if kind == "amount":
        detached = DETACHED_SCALE.search(sentence)
        found = [
            x for x in found if x.kind in ("amount", "percent") or x.value != x.mantissa or x.value >= 1000 or detached
        ]
    asked = {f.value for f in q.figures}
    out = [x.text for x in found if x.value not in asked]
    if kind == "count" and q.counted:
        out = [s for s in out if _counts_the_thing(s, sentence, q.counted)]
    return out


def distance(span: str, sentence: str, q: Question) -> int:
    """Characters between a span and the nearest word of the question in the sentence (10,000: none)."""
    at = sentence.find(span)
    names = [squash(n) for n in q.names]
    anchors = [
        m.start()
        for m in re.finditer(r"[\w$%-]+", sentence)
        if {t.rstrip("%") for t in tokenize(m.group())} & q.expanded
        or (squash(m.group()) and any(squash(m.group()) in n for n in names))
    ]
    return min((abs(a - at) for a in anchors), default=10_000)


def best_span(q: Question, sentence: str) -> str:
    """The span of the asked type nearest to the question's words, or ''."""
    found = spans(q, sentence)
    return min(found, key=lambda s: distance(s, sentence, q)) if found else ""


def listed(sentence: str, span: str, found: list[str]) -> str:
    """The span with the names listed beside it: 'Ada Lovelace, Alan Turing and Grace Hopper'."""
    located = sorted((sentence.find(s), s) for s in found if sentence.find(s) >= 0)
    runs: list[list[tuple[int, str]]] = []
    for at, name in located:
        if runs and re.fullmatch(
            r"\s*(?:,|and|et|&|, and|, et)\s*", sentence[runs[-1][-1][0] + len(runs[-1][-1][1]) : at]
        ):
            runs[-1].append((at, name))
        else:
            runs.append([(at, name)])
    run = next((r for r in runs if any(name == span for _, name in r)), [(0, span)])
    return sentence[run[0][0] : run[-1][0] + len(run[-1][1])]


def range_end(q: Question, sentence: str, span: str) -> str:
    """The other end of a range that starts at `span` ("$60 billion to $65 billion"), or ''."""
    at = sentence.find(span)
    if at < 0 or q.kind not in ("amount", "count", "percent"):
        return ""
    rest = sentence[at + len(span) :]
    match = re.match(r"\s*(?:to|and|-|–|à|et)\s*", rest)
    if not match:
        return ""
    following = [s for s in spans(q, rest[match.end() :]) if rest[match.end() :].startswith(s)]
    return following[0] if following else ""


def render_span(span: str, kind: str, language: str, sentence: str) -> str:
    """The answer span in the question's language: '$14.3 Milliards' -> '$14.3 billion' for English."""
    if kind == "age":
        return f"{span} years old" if language == "en" else f"{span} ans"
    if kind == "date":
        return _translate_months(span, language)
    if kind == "percent" or (kind == "amount" and span.endswith("%")):
        return span.replace(".", ",") if language == "fr" else span.replace(",", ".")
    if kind not in ("amount", "count"):
        return span
    parsed = quantities(span)
    if not parsed:
        return span
    in_sentence = [x for x in quantities(sentence) if sentence[x.start : x.end] == span]
    figure = in_sentence[0] if in_sentence else parsed[0]  # the sentence knows a scale written apart
    detached = DETACHED_SCALE.search(sentence)
    unit = span if CURRENCY_WORDS.search(span) else (detached and detached.group(2)) or ""
    currency = next(((en, fr) for pattern, en, fr in CURRENCIES if pattern.search(unit)), None)
    return render_quantity(figure, language, currency)


def _translate_months(text: str, language: str) -> str:
    def swap(match: re.Match[str]) -> str:
        number = MONTH_OF.get(fold(match.group()))
        if not number:
            return match.group()
        return MONTHS[number][0].capitalize() if language == "en" else MONTHS[number][1]

    return MONTH.sub(swap, text)


def render_quantity(q: Quantity, language: str, currency: tuple[str, str] | None) -> str:
    """A figure written the way a reader of `language` expects; `currency` as CURRENCIES writes it."""
    before, after = currency or ("", "")
    for scale, en, fr in ((1e12, "trillion", "billions"), (1e9, "billion", "milliards"), (1e6, "million", "millions")):
        if q.value >= scale and q.value != q.mantissa:
            number = f"{q.value / scale:g}"
            if language == "fr":
                return f"{number.replace('.', ',')} {fr}{after}"
            return f"{before}{number} {en}"
    return q.text
