"""Text normalization shared by retrieval, answering and verification, for French and English.

One place decides what counts as "the same number" or "the same name" across languages and formats:
`14,3 milliards de dollars` = `$14.3 billion` = `14.3 Milliards`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

STOPWORDS = frozenset(
    """
    a an the and or but of to in on at by for with from as is are was were be been being it its this that these
    those there here what which who whom whose when where why how do does did has have had not no yes can could
    would should will shall may might must about into over after before than then so such very more most also
    just only own same other any each few all both some his her their our your my he she they we you i me him
    them us if while during between through up down out off again further once much many old
    le la les l un une des du de d et ou mais donc or ni car en dans sur sous par pour avec sans chez vers est
    sont etait etaient ete etre a ont avait avaient ce cet cette ces ca cela celui celle ceux qui que qu quoi
    dont ou quand comment pourquoi combien quel quelle quels quelles ne pas plus moins tres aussi se sa son ses
    leur leurs notre nos votre vos mon ma mes il elle ils elles on nous vous je tu me te lui y au aux
    s c j m n t fait faire ete avoir
    """.split()
)

ELISION = re.compile(r"\b(?:l|d|qu|j|n|s|c|m|t|jusqu|lorsqu|puisqu)'", re.IGNORECASE)
TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[a-z][a-z0-9]*")


def fold(text: str) -> str:
    """Lowercase, strip accents, unify apostrophes and dashes."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Search tokens: folded, elisions split off, stopwords dropped, numbers whole (`14,3` -> `14.3`)."""
    tokens = []
    for token in TOKEN.findall(ELISION.sub(" ", fold(text))):
        if token[0].isdigit():
            tokens.append(token.replace(",", "."))
        elif token not in STOPWORDS and len(token) > 1:
            tokens.append(token[:-1] if len(token) > 4 and token.endswith("s") else token)
    return tokens


# --- quantities ---------------------------------------------------------------------------------------

SCALES = dict.fromkeys(("thousand", "mille", "k"), 1e3)
SCALES |= dict.fromkeys(("million", "millions", "m", "mn"), 1e6)
SCALES |= dict.fromkeys(("billion", "billions", "milliard", "milliards", "bn", "b"), 1e9)
SCALES |= dict.fromkeys(("trillion", "trillions", "t"), 1e12)
NUMBER = re.compile(
    r"(?P<cur>[$€£])?\s?(?P<num>\d{1,3}(?:[ \u202f\u00a0,]\d{3})+(?![.,]?\d)|\d+(?:[.,]\d+)?)"
    r"(?:\s?(?P<pct>%|percent\b|pour\s?cent\b|pourcent\b))?"
    r"(?:\s?(?P<scale>thousand|mille|millions?|milliards?|billions?|trillions?|bn|mn|[kmbt])\b)?"
    r"(?:\s?(?P<cur2>de dollars|dollars?|usd|d'euros|euros?|€|\$))?"
    r"(?:\s?(?P<ord>st|nd|rd|th|e|eme|ème|er|ere|re)\b)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Quantity:
    """A number as written, reduced to a value and a kind, so that formats and languages compare equal."""

    value: float
    kind: str  # amount | percent | year | ordinal | number
    text: str
    start: int
    end: int

    def same(self, other: Quantity) -> bool:
        """True when both denote the same figure (kinds may differ where a format drops the unit)."""
        if abs(self.value - other.value) > 1e-9 * max(abs(self.value), abs(other.value), 1.0):
            return False
        return self.kind == other.kind or "number" in (self.kind, other.kind)


def _parse_number(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:[ \u202f\u00a0,]\d{3})+", raw):
        return float(re.sub(r"[ \u202f\u00a0,]", "", raw))
    return float(raw.replace(",", "."))


def quantities(text: str) -> list[Quantity]:
    """Every figure in `text`: amounts with their scale, percentages, years, ordinals, plain numbers."""
    found = []
    for match in NUMBER.finditer(text):
        value = _parse_number(match["num"])
        scale = (match["scale"] or "").lower()
        if scale in ("m", "b", "t", "k") and not (match["cur"] or match["cur2"]):
            scale = ""  # a lone letter after a number is a scale only next to a currency ("$14.3B")
        if scale:
            value *= SCALES[scale]
        if match["pct"]:
            kind = "percent"
        elif match["cur"] or match["cur2"]:
            kind = "amount"
        elif match["ord"]:
            kind = "ordinal"
        elif re.fullmatch(r"(19|20)\d\d", match["num"]):
            kind = "year"
        else:
            kind = "number"
        end = match.end() if (match["pct"] or scale or match["cur2"] or match["ord"]) else match.end("num")
        found.append(Quantity(value, kind, text[match.start() : end].strip(), match.start(), end))
    return found


# --- names ----------------------------------------------------------------------------------------------

NAME = re.compile(r"\b[A-Z][\w\-]*(?:\s+(?:[A-Z][\w\-]*|de|du|van|von|al))*(?:\s+[A-Z][\w\-]*)?", re.UNICODE)


def proper_names(sentence: str) -> list[str]:
    """Capitalized words and runs of them (not the sentence's first word unless it is a run)."""
    names = []
    for match in NAME.finditer(sentence):
        words = match.group().split()
        while words and fold(words[-1]) in STOPWORDS:
            words.pop()
        if not words:
            continue
        if match.start() == _first_word_start(sentence) and len(words) == 1 and fold(words[0]) in _COMMON_STARTS:
            continue
        if len(words) == 1 and fold(words[0]) in STOPWORDS:
            continue
        names.append(" ".join(words))
    return names


def _first_word_start(sentence: str) -> int:
    match = re.search(r"\w", sentence)
    return match.start() if match else 0


_COMMON_STARTS = frozenset(
    "the a an it its this that these those there in on at by for with from as but and or so yet after before "
    "since during while when where what which who how why both each some many most all its his her their "
    "le la les un une des ce cette ces il elle ils elles on en dans sur pour avec selon apres avant depuis "
    "mais et ou donc si quand comme plus".split()
)


def squash(text: str) -> str:
    """Folded text without spaces or punctuation, for spacing-insensitive name matching ("ScaleAI")."""
    return re.sub(r"[^a-z0-9]", "", fold(text))
