"""Question analysis, done once per question: what it asks for, its focus words, names, years and figures."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text import MONTH_OF, Quantity, expand, fold, guess_language, proper_names, quantities, tokenize

# Question types. The leading interrogative decides first; keywords decide the rest.
# "which", "on which", "à côté de quels", "dans quelle", ...: a noun follows that says what is asked.
WHICH = (
    r"(?:(?:on|in|at|from|for|with|by|en|dans|chez|pour|sur|de|a cote de|aupres de|avec|par) )?"
    r"(?:which|what|quel|quelle|quels|quelles) "
)
VERB = r"(?:was|is|are|were|did|does|do|has|have|will|est|sont|a|ont|etait)\b"
LEADING: list[tuple[str, str]] = [
    ("age", r"^(?:how old|quel age|a quel age)\b"),
    ("count", r"^(?:how many (?!billions?\b|millions?\b|dollars?\b)|combien d(?:e |')(?!dollars|milliards|millions))"),
    ("amount", r"^(?:how much|how many (?:billions?|millions?|dollars?)|(?:a |de )?combien)\b"),
    ("amount", rf"^{WHICH}(?:price|amount(?! of)|sum|cost|fee|salary|prix|montant|somme|cout|salaire)s?\b"),
    ("date", rf"^(?:when|quand)\b|^{WHICH}(?:year|month|day|date|decade|century|annee|mois|jour|siecle)s?\b"),
    ("person", r"^(?:who|whose|whom|qui|quel (?:cofondateur|fondateur|patron|dirigeant))\b"),
    (
        "person",
        rf"^{WHICH}(?!{VERB})(?:\w+ )?(?:boss|ceo|founder|co-founder|chief|head|executive|scientist|person|researcher"
        r"|dirigeant|fondateur|cofondateur|patron|chercheur)s?\b",
    ),
    (
        "org",
        rf"^{WHICH}(?!{VERB})(?:\w+ ){{0,2}}(?:entreprise|societe|start-?up|company|firm|division|brand|marque"
        r"|site|website|platform|plateforme|models?|modeles?|podcast|fund|lab|labo|name|nom|investor|investisseur)s?\b"
        r"|^what is the name\b|^comment s'appel",
    ),
    ("yesno", r"^(?:is|are|was|were|did|does|do|has|have|can|could|will|est-ce)\b"),
]
KEYWORDS: list[tuple[str, str]] = [
    ("age", r"\bhow old\b|\bquel age\b|\bages?\b"),
    ("percent", r"percent|percentage|\bwhat share\b|\bstake\b|pourcentage|\bquelle part\b|%"),
    ("rank", r"\brank|\bplace\b|\bposition\b|classement|\brang\b"),
    (
        "org",
        r"^where\b|^ou\b|\bwhich (?:company|startup|start-up|firm|division|models?)\b|\bwhat (?:company|startup)\b"
        r"|\bquelle (?:entreprise|start-?up|societe|division)\b|\bquels modeles\b|^name\b",
    ),
    (
        "amount",
        r"\bcost|\bpaid\b|\bpay\b|\bprice|\bworth\b|\bvalu|\binvest|\bspen[dt]|\blos[et]|\bloss"
        r"|\brevenue|\bsales\b|\bbudget|debours|paye|valoris|\bvau[tx]\b|valait|perdu|perte|depens"
        r"|investi|\bgdp\b|\bpib\b|chiffre|\bhow big\b|\bhow large\b",
    ),
    ("date", r"\bwhen\b|\bquand\b|\bwhat (?:year|date|month)\b"),
    ("count", r"\bhow many\b|\bnumber of\b|\bnombre de\b"),
]
TYPED = ("age", "percent", "rank", "date", "count", "amount", "person", "org")  # kinds with an answer span
YEAR = re.compile(r"(?<![\d.,$€£])\b(?:1[0-9]|20)\d\d\b(?![.,]\d)")  # 1000-2099, not "1,843" or "$1843"
COUNTED = re.compile(r"\b(?:how many|number of|combien d(?:e |')|nombre d(?:e |'))\s*([a-z-]+)")


def years_in(text: str) -> frozenset[float]:
    """The years a text mentions (four digits from 1000 to 2099 standing alone)."""
    return frozenset(float(y) for y in YEAR.findall(text))


def written_as(word: str, texts: Sequence[str]) -> bool:
    """Whether the texts hold this word as written, capital and all ("Beyonce"); no texts: assume so.

    A question's first word is capitalized by its place: the sources tell a name ("Beyonce sold ...")
    from a word ("Along with ...": "along", or no "Along" at all, is not a name to demand of the answer).
    """
    pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
    return not texts or any(pattern.search(t) for t in texts)


def question_type(question: str) -> str:
    """What the question asks for: age, percent, rank, date, count, amount, person, org, yesno or description."""
    folded = re.sub(r"^(?:and|so|but|et|alors|mais)\b[\s,]*", "", fold(question).strip())
    for name, pattern in [*LEADING, *KEYWORDS]:
        if re.search(pattern, folded):
            return name
    return "description"


@dataclass(frozen=True)
class Question:
    """What the selector needs to know about a question, worked out once."""

    text: str  # the standalone question, as retrieval saw it
    own: str  # the user's own words (a follow-up without the carried subject)
    language: str
    kind: str  # see question_type
    content: tuple[str, ...]  # search tokens that are not names or figures (all tokens when that leaves none)
    expanded: frozenset[str]  # content tokens and their translations
    names: tuple[str, ...]  # proper names of the question, the carried subject included
    figures: tuple[Quantity, ...]  # figures of the user's own words, years apart
    years: frozenset[float]  # years the user's own words ask about
    counted: tuple[str, ...]  # "how many GPUs" -> the tokens of "gpus" and their translations

    @property
    def typed(self) -> bool:
        """The question asks for a span of a known type (a date, an amount, a person, ...)."""
        return self.kind in TYPED


def analyze(text: str, own: str | None = None, subject: str = "", sources: Sequence[str] = ()) -> Question:
    """The question's analysis.

    `own`: the user's words when `text` was rewritten; `subject`: a carried subject; `sources`: the
    retrieved texts (a capitalized first word they do not hold, capital and all, is no name).
    """
    own = own if own is not None else text
    tokens = list(dict.fromkeys(tokenize(f"{own} {subject}")))
    # A month is capitalized in English, not a name: "in January" is a word to find, as "en janvier" is.
    names = [re.sub(r"['’]s$", "", n) for n in proper_names(f"{own} {subject}") if fold(n) not in MONTH_OF]
    if names and " " not in names[0] and own.lstrip().startswith(names[0]) and not written_as(names[0], sources):
        names.pop(0)  # "Along with ...", "Water ...", "Durant quelle ...": capitalized by its place, not a name
    name_tokens = set(tokenize(" ".join(names)))
    content = [t for t in tokens if t not in name_tokens and not t[0].isdigit()] or tokens
    kind = question_type(own)
    if kind == "description" and subject:
        kind = question_type(subject)
    found = quantities(own)
    years = years_in(own)
    counted = COUNTED.search(fold(own))
    return Question(
        text,
        own,
        guess_language(own),
        kind,
        tuple(content),
        frozenset(t.rstrip("%") for t in expand(content)),
        tuple(dict.fromkeys(n for n in names if len(n) > 2)),
        tuple(q for q in found if q.kind != "year" and q.value not in years),
        years,
        tuple(expand(tokenize(counted.group(1)))) if counted else (),
    )
