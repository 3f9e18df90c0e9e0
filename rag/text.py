"""Text normalization shared by retrieval, answering and verification, for French and English.

One place decides what counts as "the same number" or "the same name" across languages and formats:
`14,3 milliards de dollars` = `$14.3 billion` = `14.3 Milliards`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

STOPWORDS = frozenset(
    """
    a an the and or but of to in on at by for with from as is are was were be been being it its this that these
    those there here what which who whom whose when where why how do does did has have had not no yes can could
    would should will shall may might must about into over after before than then so such very more most also
    just only own same other any each few all both some his her their our your my he she they we you i me him
    them us if while during between through up down out off again further once much many
    le la les l un une des du de d et ou mais donc or ni car en dans sur sous par pour avec sans chez vers est
    sont etait etaient ete etre a ont avait avaient ce cet cette ces ca cela celui celle ceux qui que qu quoi
    dont ou quand comment pourquoi combien quel quelle quels quelles ne pas plus moins tres aussi se sa son ses
    leur leurs notre nos votre vos mon ma mes il elle ils elles on nous vous je tu me te lui y au aux
    s c j m n t fait faire ete avoir
    """.split()
)

MONTHS = {  # number: (English, French folded)
    1: ("january", "janvier"),
    2: ("february", "fevrier"),
    3: ("march", "mars"),
    4: ("april", "avril"),
    5: ("may", "mai"),
    6: ("june", "juin"),
    7: ("july", "juillet"),
    8: ("august", "aout"),
    9: ("september", "septembre"),
    10: ("october", "octobre"),
    11: ("november", "novembre"),
    12: ("december", "decembre"),
}
MONTH_OF = {name: number for number, names in MONTHS.items() for name in names}


def months_in(text: str) -> set[int]:
    """The numbers of the months the text names, in English or French."""
    return {MONTH_OF[w] for w in re.findall(r"[a-z]+", fold(text)) if w in MONTH_OF}


ELISION = re.compile(r"\b(?:l|d|qu|j|n|s|c|m|t|jusqu|lorsqu|puisqu)'", re.IGNORECASE)
TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[a-z][a-z0-9]*")


def file_slug(name: str, limit: int = 60) -> str:
    """`name` (a model name or path) as a safe piece of a file name: at most `limit` characters, never empty."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[-limit:] or "model"


# An answer folds and tokenizes the same words and sentences again and again (its features, spans and
# names; bench 1k index, 50 questions: 2,100 folds each); remembered, they cost a dict lookup.
REMEMBERED = 16384


@lru_cache(maxsize=REMEMBERED)
def fold(text: str) -> str:
    """Lowercase, strip accents, unify apostrophes and dashes."""
    if text.isascii():  # most words and many sentences: nothing to decompose
        return text.lower()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u2013", "-").replace("\u2014", "-")
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokenize(text: str) -> list[str]:
    """Search tokens: folded, elisions split off, stopwords dropped, numbers whole (`14,3` -> `14.3`)."""
    return list(_tokens(text))


@lru_cache(maxsize=REMEMBERED)
def _tokens(text: str) -> tuple[str, ...]:
    tokens = []
    for token in TOKEN.findall(ELISION.sub(" ", fold(text))):
        if token[0].isdigit():
            tokens.append(token.replace(",", "."))
        elif token not in STOPWORDS and len(token) > 1:
            tokens.append(token[:-1] if len(token) > 4 and token.endswith("s") else token)
    return tuple(tokens)


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
    mantissa: float = 0.0  # the figure before its scale word: 14.3 in "14.3 milliards"

    def same(self, other: Quantity) -> bool:
        """True when both denote the same figure (kinds may differ where a format drops the unit).

        A scale written once for two numbers is read by `quantities` ("65 – c'est le nombre de
        milliards", "de 64 à 72 milliards"), so a bare 29 never matches "$29 Milliards" here.
        """
        if "number" not in (self.kind, other.kind) and self.kind != other.kind:
            return False
        return _close(self.value, other.value)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
}
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "premier": 1,
    "premiere": 1,
    "deuxieme": 2,
    "seconde": 2,
    "troisieme": 3,
    "quatrieme": 4,
    "cinquieme": 5,
}
WORD = re.compile(r"[^\W\d_]+")


def _parse_number(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:[ \u202f\u00a0,]\d{3})+", raw):
        return float(re.sub(r"[ \u202f\u00a0,]", "", raw))
    return float(raw.replace(",", "."))


def quantities(text: str) -> list[Quantity]:
    """Every figure in `text`: amounts with their scale, percentages, years, ordinals, plain numbers."""
    found = []
    for match in NUMBER.finditer(text):
        before = text[max(0, match.start("num") - 24) : match.start("num")]
        name = re.search(r"(?:^|[\s(])([A-Z][\w]*)[ -]$", before)
        if (
            name
            and not match["cur"]
            and re.fullmatch(r"\d{1,2}", match["num"])
            and not match["ord"]
            and fold(name.group(1)) not in _NOT_NAMES
        ):
            continue  # part of a name: "Llama 4", "GPT-4", "Series 2"
        value = mantissa = _parse_number(match["num"])
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
        found.append(Quantity(value, kind, text[match.start() : end].strip(), match.start(), end, mantissa))
    for match in WORD.finditer(text):
        word = fold(match.group())
        if word in NUMBER_WORDS:
            number = float(NUMBER_WORDS[word])
            found.append(Quantity(number, "number", match.group(), match.start(), match.end(), number))
        elif word in ORDINAL_WORDS:
            number = float(ORDINAL_WORDS[word])
            found.append(Quantity(number, "ordinal", match.group(), match.start(), match.end(), number))
    return _shared_scales(text, sorted(found, key=lambda q: q.start))


# A scale written apart from its number: "65 – c'est le nombre de milliards de dollars", "the number of billions".
DETACHED_SCALE = re.compile(
    r"\b(?:nombre de|number of)\s(milliards|millions|billions|millions)\b(\sde dollars|\sof dollars)?", re.IGNORECASE
)
RANGE_JOIN = re.compile(r"\s*(?:to|and|-|–|à|a|et)\s*$", re.IGNORECASE)


def _shared_scales(text: str, found: list[Quantity]) -> list[Quantity]:
    """Give bare numbers the scale written once for them: range starts and detached scales."""
    out = []
    for i, q in enumerate(found):
        bare = q.kind == "number" and q.value == q.mantissa and q.value < 1000
        following = found[i + 1] if i + 1 < len(found) else None
        detached = DETACHED_SCALE.search(text, q.end, q.end + 60) if bare else None
        if (
            bare
            and following
            and following.value != following.mantissa
            and RANGE_JOIN.fullmatch(text[q.end : following.start])
        ):  # "de 64 à 72 milliards": 64 is in milliards too
            scale = following.value / following.mantissa
            q = Quantity(q.value * scale, following.kind, q.text, q.start, q.end, q.mantissa)
        elif detached and not re.search(r"[.!?]\s", text[q.end : detached.start()]):
            kind = "amount" if detached.group(2) else "number"
            q = Quantity(q.value * SCALES[detached.group(1).lower()], kind, q.text, q.start, q.end, q.mantissa)
        out.append(q)
    return out


# --- names ----------------------------------------------------------------------------------------------

NAME = re.compile(r"\b[A-Z][\w\-]*(?:\s+[A-Z][\w\-]*)*", re.UNICODE)
TITLES = frozenset("ceo pdg cto cfo coo ia ai pib gdp according selon".split())
_MONTH_NAMES = frozenset(MONTH_OF)


def proper_names(sentence: str) -> list[str]:
    """Capitalized words and runs of them (not the sentence's first word unless it is a run)."""
    names = []
    for match in NAME.finditer(sentence):
        words = match.group().split()
        while words and (fold(words[0]) in _COMMON_STARTS or fold(words[0]) in TITLES):
            words.pop(0)
        while words and fold(words[-1]) in STOPWORDS:
            words.pop()
        if not words:
            continue
        if len(words) == 1 and fold(words[0]) in STOPWORDS:
            continue
        if len(words) == 1 and match.start() == 0 and re.search(r"(?:ly|ment)$", words[0]):
            continue  # "Roughly how much ...", "Actuellement, ..."
        names.append(" ".join(words))
    return names


_COMMON_STARTS = frozenset(
    "the a an it its this that these those there in on at by for with from as but and or so yet after before "
    "since during while when where what which who how why both each some many most all its his her their "
    "le la les un une des ce cette ces il elle ils elles on en dans sur pour avec selon apres avant depuis "
    "mais et ou donc si quand comme plus fin debut mi vers environ pres combien quel quelle quels quelles qui "
    "comment pourquoi how what who whom whose where which why did does do is are was were name est-ce another".split()
)
_NOT_NAMES = STOPWORDS | _COMMON_STARTS | _MONTH_NAMES  # a capitalized word before a figure that names nothing


@lru_cache(maxsize=REMEMBERED)
def squash(text: str) -> str:
    """Folded text without spaces or punctuation, for spacing-insensitive name matching ("ScaleAI")."""
    return re.sub(r"[^a-z0-9]", "", fold(text))


# --- language ---------------------------------------------------------------------------------------------

FRENCH = frozenset(
    "le la les des du et est une dans pour qui que pas sur au avec quel quelle quels quelles combien quand "
    "comment pourquoi il elle a-t-il a-t-elle est-ce ce cette ont sont son sa ses leur aux".split()
)
ENGLISH = frozenset(
    "the and is of to in that for with was on are by it as at how what who when which did does do much many "
    "he she his her its their has have were".split()
)


def guess_language(text: str) -> str:
    """'fr' or 'en' by counting common function words (accents break ties); 'en' when unsure."""
    sample = text[:20000].lower().replace("\u2019", "'")
    words = re.findall(r"[a-zà-ÿ]+(?:-[a-zà-ÿ]+)*", sample)
    fr = sum(w in FRENCH for w in words)
    en = sum(w in ENGLISH for w in words)
    if fr == en:
        return "fr" if re.search(r"[éèêàçùâîô]|\b(?:l|d|qu)'", sample) else "en"
    return "fr" if fr > en else "en"


# --- a small bilingual lexicon (rag/data/lexicon.txt): English and French search tokens for the same idea -----

_GROUPS = [
    line
    for line in resources.files("rag.data").joinpath("lexicon.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]
TRANSLATIONS: dict[str, set[str]] = {}
for _line in _GROUPS:
    _words = {t for w in _line.split() for t in (tokenize(w) or [w])}
    for _word in _words:
        TRANSLATIONS.setdefault(_word, set()).update(_words - {_word})


def same_word(a: str, b: str) -> bool:
    """Folded words equal up to a plural or a long shared stem ('gpu'/'gpus', 'finland'/'finlande')."""
    if a == b or a + "s" == b or b + "s" == a:
        return True
    return min(len(a), len(b)) >= 5 and (a.startswith(b) or b.startswith(a))


def word_overlap(words: Collection[str], text: str) -> float:
    """Share of `words` (search tokens) found in `text`, directly, by stem, or through the lexicon's translations."""
    tokens = set(tokenize(text))

    def found(word: str) -> bool:
        if word in tokens or TRANSLATIONS.get(word, set()) & tokens:
            return True
        return not word[0].isdigit() and any(same_word(word, t) for t in tokens if not t[0].isdigit())

    hits = sum(1 for t in words if found(t))
    return hits / len(words) if words else 0.0


def expand(tokens: list[str]) -> list[str]:
    """Tokens plus their synonyms and translations from the lexicon (search tokens, as `tokenize` makes them)."""
    out = list(tokens)
    for token in tokens:
        out.extend(sorted(TRANSLATIONS.get(token, ())))
    return out


# Terminal escape sequences (CSI "ESC [ ... letter", OSC "ESC ] ... BEL or ESC \", two-byte "ESC x") and the
# remaining control characters (C0 but tab and newlines, DEL, C1): what a document must not send to a terminal.
ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]"
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def without_controls(text: str) -> str:
    """`text` without terminal escape sequences and control characters (tabs and newlines stay)."""
    if text.isprintable():
        return text
    return CONTROL.sub("", ESCAPE_SEQUENCE.sub("", text))
