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
from rag.chunks import Chunk
from rag.text import (
    DETACHED_SCALE,
    MONTH_OF,
    MONTHS,
    SCALES,
    Quantity,
    expand,
    fold,
    proper_names,
    quantities,
    same_word,
    squash,
    tokenize,
    word_overlap,
)
from rag.verify import split_sentences

# Question types. The leading interrogative decides first; keywords decide the rest.
# "which", "on which", "à côté de quels", "dans quelle", ...: a noun follows that says what is asked.
WHICH = (
    r"(?:(?:on|in|at|from|for|with|by|dans|chez|pour|sur|de|a cote de|aupres de|avec|par) )?"
    r"(?:which|what|quel|quelle|quels|quelles) "
)
VERB = r"(?:was|is|are|were|did|does|do|has|have|will|est|sont|a|ont|etait)\b"
LEADING: list[tuple[str, str]] = [
    ("age", r"^(?:how old|quel age|a quel age)\b"),
    ("count", r"^(?:how many (?!billions?\b|millions?\b|dollars?\b)|combien d(?:e |')(?!dollars|milliards|millions))"),
    ("amount", r"^(?:how much|how many (?:billions?|millions?|dollars?)|(?:a |de )?combien)\b"),
    ("date", r"^(?:when|quand|in what year|what year|which year|en quelle annee|quelle annee|quel mois)\b"),
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
    ("rank", r"\brank|\bplace\b|\bposition\b|classement|\brang\b|\bsits?\b"),
    (
        "org",
        r"^where\b|^ou\b|\bwhich (?:company|startup|start-up|firm"
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
MONTH_WORDS = "|".join([*MONTH_OF, "février", "août", "décembre"])  # French as written, and folded
DATE = re.compile(rf"(?:\b\d{{1,2}}(?:er)?\s)?\b(?:{MONTH_WORDS})\b(?:\s\d{{4}})?|\b(?:19|20)\d\d\b", re.IGNORECASE)
CHANGE = re.compile(
    r"\b(?:recul|baiss|augment|diminu|progress|croiss|chut|fell|fall|rose|rise|grew|grow|shr[ai]nk|contract|declin"
    r"|drop|increas|decreas|evolu|change|chang)\w*"
)
# What a figure measures. A question about one (revenue) is not answered by a figure of another (a loss).
MEASURES = [
    set(tokenize(words))
    for words in (
        "revenue sales affaires turnover",
        "loss losses lost lose perte pertes perdu deficit",
        "valuation valued worth valorisation valorisee evaluee valeur valait vaut",
        "gdp pib output economy",
        "profit benefice earnings",
    )
]
YEAR_ASKED = re.compile(r"\b(?:what|which|in what) year\b|\bquelle annee\b")
MIN_SCORE = 0.9  # below this the best sentence does not answer the question: refuse (calibrated on eval/gold)


def question_type(question: str) -> str:
    """What the question asks for: age, percent, rank, date, count, amount, person, org, yesno or description."""
    folded = re.sub(r"^(?:and|so|but|et|alors|mais)\b[\s,]*", "", fold(question).strip())
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
    spans: tuple[str, ...] = ()  # every answer span in the sentence


def _spans(kind: str, sentence: str, question: str) -> list[str]:
    """Answer spans of the asked kind in a sentence, best first."""
    if kind == "age":
        return [next(g for g in m.groups() if g) for m in AGE.finditer(sentence)]
    if kind == "date":
        return [m.group() for m in DATE.finditer(sentence)]
    if kind in ("person", "org"):
        asked = squash(question)
        sentence = re.sub(r"\[[^\]]*\]", "", sentence)  # "[Photo: Gonzalo Fuentes/Reuters]" names no answer
        asked_words = {fold(w) for w in re.findall(r"[A-Z][\w-]+", question)}
        names = [
            n
            for n in proper_names(sentence)
            if squash(n) not in asked
            and not {fold(w) for w in n.split()} & asked_words  # "Mark Zuckerberg" is asked by "Zuckerberg"
            and not re.fullmatch(r"[A-Z]{2,4}", n)
            and not _not_a_name(n)
            and not (sentence.startswith(n) and COMMON_WORD.fullmatch(n))  # "Composée de trois modèles"
        ]
        if kind == "person":
            names = [n for n in names if _looks_like_person(n)]
        return names
    wanted = {"percent": ("percent",), "rank": ("ordinal",), "amount": ("amount", "number"), "count": ("number",)}.get(
        kind
    )
    if kind == "amount" and CHANGE.search(fold(question)):
        wanted = ("amount", "number", "percent")  # "De combien le PIB a-t-il reculé ?": 0,9 %
    if not wanted:
        return []
    found = [q for q in quantities(sentence) if q.kind in wanted]
    if kind == "amount":
        detached = DETACHED_SCALE.search(sentence)
        found = [
            q for q in found if q.kind in ("amount", "percent") or q.value != q.mantissa or q.value >= 1000 or detached
        ]
    asked_values = {q.value for q in quantities(question)}
    return [q.text for q in found if q.value not in asked_values]


NOT_NAMES = frozenset(
    "french english american chinese european british german francais francaise americain americaine".split()
)
COMMON_WORD = re.compile(r"[A-ZÀ-Ý][a-zà-ÿ]+(?:ée?s?|ed|ing|ly|ment|tion|ait|aient)")
ORG_WORDS = frozenset("labs inc corp ai ia superintelligence meta google openai microsoft amazon nvidia".split())


def _not_a_name(word: str) -> bool:
    """Capitalized but no one's name: 'French' (article), 'Milliards' (5 Milliards), 'August'."""
    return fold(word) in NOT_NAMES or fold(word) in SCALES or bool(MONTH.fullmatch(word))


def _looks_like_person(name: str) -> bool:
    """Two or three capitalized words, none of them a company word: 'Alexandr Wang', not 'Scale AI'."""
    words = name.split()
    return 2 <= len(words) <= 3 and all(
        re.fullmatch(r"[A-ZÀ-Ý][a-zà-ÿ'’]+(?:-[A-ZÀ-Ý]?[a-zà-ÿ]+)*", w) and fold(w) not in ORG_WORDS for w in words
    )


def _about_another(candidate: Candidate, question: str) -> bool:
    """The span's figure belongs to a name the question does not ask about ("$19 billion purchase of WhatsApp")."""
    at = candidate.text.find(candidate.span)
    asked = squash(question)
    asked_words = set(re.findall(r"[a-z0-9]+", fold(question)))
    for name in proper_names(candidate.text):
        where = candidate.text.find(name)
        first = where == 0 and " " not in name  # "Evaluée à $29 Milliards": a capital, not a name
        if first or _not_a_name(name) or squash(name) in asked or asked in squash(name):
            continue
        if any(same_word(w, a) for w in re.findall(r"[a-z0-9]+", fold(name)) for a in asked_words):
            continue  # "Finlande" is the asked "Finland"
        if at >= 0 and abs(where - at) <= 30:
            return True
    return False


def _disagreeing(best: Candidate, ranked: list[Candidate], request: AnswerRequest) -> Candidate | None:
    """A close runner-up from another document giving a different figure for the same question, if any.

    Sources disagree (the article says Llama 4 ranked 24th; LMArena's own board said 32nd): show both.
    """
    doc = request.sources[best.n - 1].chunk.doc_id
    for other in ranked[1:6]:
        if other.score < best.score - 0.15 or other.named < best.named or not other.span:
            continue
        if request.sources[other.n - 1].chunk.doc_id == doc or _about_another(other, request.standalone):
            continue
        mine, theirs = quantities(best.span), quantities(other.span)
        if mine and theirs and not mine[0].same(theirs[0]) and mine[0].kind == theirs[0].kind:
            return other
    return None


def _second_sentence(best: Candidate, ranked: list[Candidate], question: str) -> Candidate | None:
    """A close runner-up that says something the best sentence does not (not a near copy of it).

    Among those within reach, one that brings names neither the question nor the best sentence has
    ("Llama 4 Scout and Llama 4 Maverick") is preferred: it is the one that adds facts.
    """
    known = squash(f"{question} {best.text}")
    said = set(tokenize(best.text))

    def near_copy(other: Candidate) -> bool:
        words = set(tokenize(other.text))
        return len(words & said) >= 0.7 * len(words)

    close = [o for o in ranked[1:8] if o.score >= best.score - 0.45 and not near_copy(o)]
    if not close:
        return None

    def new_names(other: Candidate) -> int:
        names = {squash(n) for n in proper_names(other.text) if len(n) > 2 and not other.text.startswith(n)}
        return len({n for n in names if n not in known})

    news = sorted((o for o in close if new_names(o)), key=lambda o: (-new_names(o), -o.score))
    if news:
        return news[0]
    return close[0] if close[0].score >= best.score - 0.25 else None


def _listed(best: Candidate) -> str:
    """The best name with the names listed beside it: 'Ilya Sutskever, Daniel Gross and Daniel Levy'."""
    located = sorted((best.text.find(s), s) for s in best.spans if best.text.find(s) >= 0)
    runs: list[list[tuple[int, str]]] = []
    for at, name in located:
        if runs and re.fullmatch(
            r"\s*(?:,|and|et|&|, and|, et)\s*", best.text[runs[-1][-1][0] + len(runs[-1][-1][1]) : at]
        ):
            runs[-1].append((at, name))
        else:
            runs.append([(at, name)])
    run = next((r for r in runs if any(name == best.span for _, name in r)), [(0, best.span)])
    return best.text[run[0][0] : run[-1][0] + len(run[-1][1])]


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
    if len(words) >= 3:
        forms.append("".join(w[0] for w in words).lower())
    return forms


def _name_hit(name: str, squashed: str, words: set[str], chunk: str) -> float:
    """1 when the name (or its acronym) is near the sentence, else partial credit.

    Partial: the share of its words that are (x 0.8), or 0.6 when the name is elsewhere in the chunk.
    """
    forms = _name_forms(name)
    if squash(name) in squashed or any(form in words for form in forms[1:]):
        return 1.0
    parts = [fold(w) for w in name.split() if len(w) > 1]
    if _looks_like_person(name) and fold(name.split()[-1]) in words:
        return 0.9  # people are named by their surname: "Droege had been ..."
    found = sum(any(same_word(p, w) for w in words) for p in parts)
    partial = 0.8 * found / len(parts) if parts else 0.0
    return max(partial, 0.6 if squash(name) in chunk else 0.0)


def _distance(span: str, sentence: str, expanded: set[str], names: list[list[str]]) -> int:
    """Characters between a span and the nearest word of the question in the sentence."""
    at = sentence.find(span)
    anchors = [
        m.start()
        for m in re.finditer(r"[\w$%-]+", sentence)
        if {t.rstrip("%") for t in tokenize(m.group())} & expanded
        or (squash(m.group()) and any(squash(m.group()) in n for n in names))
    ]
    return min((abs(a - at) for a in anchors), default=10_000)


SUBORDINATE = re.compile(
    r"\b(?:now that|after|since|because|while|maintenant que|depuis (?:le|la|que)|apres|alors que|parce que)\b"
)
COUNTED = re.compile(r"\b(?:how many|number of|combien d(?:e |')|nombre d(?:e |'))\s*([a-z-]+)")
MONTH = re.compile(rf"\b(?:{MONTH_WORDS})\b", re.IGNORECASE)
POSSESSIVE = re.compile(r"\b([A-Z][\w-]*(?:\s[A-Z][\w-]*)*)['’]s\s(?!own\b)[a-z]")


@dataclass
class _Question:
    """What the scorer needs to know about a question, parsed once."""

    standalone: str
    own: str  # the question without the carried subject of a follow-up
    content: list[str]  # search tokens that are not names or figures
    expanded: set[str]  # the question's words and their translations, without years or months
    names: list[tuple[str, float]]  # name, weight (names in a subordinate clause count less)
    figures: list[Quantity]
    years: list[Quantity]
    months: set[str]
    counted: list[str]  # "how many GPUs" -> the tokens of "gpu" and its translations

    @classmethod
    def parse(cls, standalone: str) -> _Question:
        own = standalone.split(" (")[0]
        tokens = list(dict.fromkeys(tokenize(standalone)))
        all_names = [re.sub(r"['’]s$", "", n) for n in proper_names(standalone)]
        name_tokens = set(tokenize(" ".join(all_names)))
        folded = fold(own)
        clause = SUBORDINATE.search(folded)
        tail = own[clause.start() :] if clause else ""
        carried = standalone[len(own) :].strip(" ()").split("; ")
        subject = carried[0] if len(carried) > 1 else ""  # the earlier answer a follow-up is about

        def weight(name: str) -> float:
            if name in own:
                return 0.4 if tail and name in tail and name not in own[: clause.start()] else 1.0  # type: ignore[union-attr]
            return 1.0 if name == subject else 0.5

        names = [(n, weight(n)) for n in dict.fromkeys(all_names) if len(n) > 2]
        counted = COUNTED.search(folded)
        # Years of the question itself; a follow-up's carried years only when it was rewritten around a
        # year ("And the year before? (How much ... in 2023?)"), not when they name the earlier subject.
        years = [q for q in quantities(own) if q.kind == "year"]
        if not years and "; " not in standalone:
            years = [q for q in quantities(standalone) if q.kind == "year"]
        return cls(
            standalone,
            own,
            [t for t in tokens if t not in name_tokens and not t[0].isdigit()] or tokens,
            {t.rstrip("%") for t in expand(tokens) if not re.fullmatch(r"(?:19|20)\d\d", t) and not MONTH.fullmatch(t)},
            names,
            [q for q in quantities(own) if q.kind != "year"],
            years,
            {fold(m) for m in MONTH.findall(own)},
            expand(tokenize(counted.group(1))) if counted else [],
        )

    def named(self, squashed: str, words: set[str], chunk: str) -> tuple[float, bool]:
        """Weighted share of the question's names found near a sentence (1.0 when it names nothing).

        Also whether a name of the main clause is missing from the sentence, the one before and the title.
        """
        if not self.names:
            return 1.0, False
        total = sum(w for _, w in self.names)
        share = sum(w * _name_hit(n, squashed, words, chunk) for n, w in self.names) / total
        missing = any(w == 1.0 and _name_hit(n, squashed, words, "") < 0.5 for n, w in self.names)
        return share, missing


LIST_ITEM = re.compile(r"\s*(?:[-*•]|\d+[.)])\s")
ROLE_WORDS = "ceo pdg patron boss chief executive head founder fondateur cofondateur directeur president dirige lead"
ROLE = re.compile(
    r"\b(?i:ceo|pdg|patron|boss|chief executive|head|founder|fondateur|cofondateur|co-founder|directeur|president)"
    r"\s(?i:of|de|d'|du)\s?([A-Z][\w-]*(?:\s[A-Z][\w-]*)*)"
)


def _owner(q: _Question, kind: str, sentence: str, span: str) -> float:
    """Whose thing the sentence gives, as a score bonus.

    +0.2 when a role names the asked entity ("patron de Meta" for "Qui dirige Meta ?"); -0.8 when a role
    or owner names another ("CEO of ScaleAI" for the CEO of Google, "Scale AI's revenue" for Meta's).
    """
    if not q.names:
        return 0.0
    asked = [squash(n) for n, _ in q.names]
    acronyms = {"".join(w[0] for w in n.split()).lower() for n, _ in q.names if len(n.split()) >= 2}

    def is_asked(name: str) -> bool:
        return squash(name) in acronyms or any(squash(name) in a or a in squash(name) for a in asked)

    if kind in ("person", "org"):
        if not word_overlap(q.content, ROLE_WORDS):
            return 0.0  # the question asks for no role: whoever's CEO the answer is, it is not a conflict
        roles = [(m.group(1), m.group(0)) for m in ROLE.finditer(sentence)]
    else:
        at = sentence.find(span)
        roles = [(m.group(1), "") for m in POSSESSIVE.finditer(sentence[: max(at, 0)])]
    if not roles:
        return 0.0
    if not any(is_asked(owner) for owner, _ in roles):
        return -0.8
    return 0.2 if any(role and word_overlap(q.content, role) for _, role in roles) else 0.0


def _other_measure(q: _Question, text: str) -> bool:
    """The question asks for one measure (revenue, loss, valuation, ...) and the text names none of it."""
    asked = [m for m in MEASURES if any(same_word(a, b) for a in m for b in q.content)]
    if not asked:
        return False
    words = set(tokenize(text))
    return not any(same_word(a, b) for m in asked for a in m for b in words)


def _counts_the_thing(span: str, sentence: str, counted: list[str]) -> bool:
    """'100 employés' answers 'how many people': the counted noun follows the number closely."""
    at = sentence.find(span)
    after = tokenize(sentence[at + len(span) : at + len(span) + 40]) if at >= 0 else []
    return any(same_word(t, c) for t in after[:3] for c in counted)


def _score(
    q: _Question, kind: str, sentence: str, previous: str, chunk: Chunk
) -> tuple[float, list[str], float, float]:
    """A sentence's score as the answer, its spans (best first), lexical overlap and name share."""
    window = f"{chunk.title} {previous} {sentence}"
    # A follow-up's carried names are not its answer ("Where did he say it? (OpenAI; ...)").
    spans = _spans(kind, sentence, q.standalone if kind in ("person", "org") else q.own)
    if kind == "date" and YEAR_ASKED.search(fold(q.own)):
        spans = [s for s in spans if re.search(r"\b(?:19|20)\d\d\b", s)]
    if kind == "count" and q.counted:
        spans = [s for s in spans if _counts_the_thing(s, sentence, q.counted)]
    names = [[squash(n)] for n, _ in q.names]
    spans.sort(key=lambda span: _distance(span, sentence, q.expanded, names))
    # A list item ("- 2023: $16.12 billion") takes its meaning from the line that introduces it.
    own_overlap = word_overlap(q.content, sentence)
    lexical = max(
        own_overlap,
        0.7 * word_overlap(q.content, f"{previous} {sentence}"),
        0.5 * word_overlap(q.content, f"{chunk.title} {sentence}"),
    )
    named, missing = q.named(squash(window), set(re.findall(r"[a-z0-9]+", fold(window))), squash(chunk.text))
    score = 0.6 * lexical + 0.6 * named
    found = quantities(sentence)
    if _other_measure(q, f"{previous} {sentence}"):
        score -= 0.8  # "Meta's revenue" is not answered by a loss
    if q.figures:
        score += 0.3 * sum(any(f.kind == x.kind and f.same(x) for x in found) for f in q.figures) / len(q.figures)
    if q.years:
        here = {x.value for x in found if x.kind == "year"}
        near = {x.value for x in quantities(previous) if x.kind == "year"}
        score += sum(0.4 if y.value in here else 0.2 if y.value in near else 0.0 for y in q.years) / len(q.years) - 0.2
        if here and not here & {y.value for y in q.years}:
            score -= 0.2  # another year's figure
    if q.months:
        months = {fold(m) for m in MONTH.findall(f"{previous} {sentence}")}
        score += 0.2 if q.months & months else 0.0
    if kind not in ("description", "yesno"):
        score += 0.2 if spans else -0.3
        if spans:
            score += _owner(q, kind, sentence, spans[0])  # -0.8: it answers for someone else
        if kind in ("person", "org") and not own_overlap:
            score -= 0.3  # a name in a sentence about something else ("Among them were Trapit Bansal ...")
        if missing:
            score -= 0.4  # "when did Meta buy WhatsApp?" is not answered by a date of the Scale AI deal
    return score, spans, lexical, named


def candidates(request: AnswerRequest, kind: str, q: _Question | None = None) -> list[Candidate]:
    """Every sentence of every source, scored against the question (parsed here unless given), with its span."""
    q = q or _Question.parse(request.standalone)
    out = []
    for position, source in enumerate(request.sources):
        # A sentence is read with the one before it (across the chunk's start, too); a list item
        # ("- 2023: $16.12 billion") with the line that introduces the list.
        previous = intro = ""
        for sentence in split_sentences(request.before.get(source.chunk.id, "")):
            previous = sentence
            intro = intro if LIST_ITEM.match(sentence) else sentence
        for sentence in split_sentences(source.chunk.text):
            is_item = bool(LIST_ITEM.match(sentence))
            if not sentence.startswith("#"):
                score, spans, lexical, named = _score(q, kind, sentence, intro if is_item else previous, source.chunk)
                score += 0.1 / (position + 1)
                first = spans[0] if spans else ""
                out.append(Candidate(position + 1, sentence, score, first, lexical, named, tuple(spans)))
            previous = sentence
            intro = intro if is_item else sentence
    return sorted(out, key=lambda c: -c.score)


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
    in_sentence = [q for q in quantities(sentence) if sentence[q.start : q.end] == span]
    figure = in_sentence[0] if in_sentence else parsed[0]  # the sentence knows a scale written apart
    detached = DETACHED_SCALE.search(sentence)
    currency = bool(CURRENCY_WORDS.search(span)) or bool(detached and detached.group(2))
    return render_quantity(figure, language, currency=currency)


def _translate_months(text: str, language: str) -> str:
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
        kind = question_type(request.standalone.split(" (")[0])
        if kind == "description" and " (" in request.standalone:  # "And the year before? (How much ...?)"
            kind = question_type(request.standalone.split(" (", 1)[1].split("; ")[-1])
        question = _Question.parse(request.standalone)
        ranked = candidates(request, kind, question)
        floor = MIN_SCORE - 0.1 if kind in ("description", "yesno") else MIN_SCORE  # no span bonus to reach
        if not ranked or ranked[0].score < floor or (kind not in ("description", "yesno") and not ranked[0].span):
            return refusal(request.language)
        if ranked[0].named < (0.8 if len(question.names) <= 1 else 0.5):
            return refusal(request.language)
        if ranked[0].lexical == 0 and kind != "description":
            return refusal(request.language)  # right kind of figure, but nothing of what was asked about
        best = ranked[0]
        lines = []
        if best.span and kind in ("person", "org"):
            answer = _listed(best)
        elif best.span:
            answer = render_span(best.span, kind, request.language, best.text)
            second = _range_end(best.text, best.span, kind, request.standalone)
            if second:
                joiner = " to " if request.language == "en" else " à "
                answer += joiner + render_span(second, kind, request.language, best.text)
        if best.span:
            lines.append(f"{answer} [{best.n}]")
        lines.append(f"« {best.text.strip()} » [{best.n}]")
        if kind in ("description", "yesno"):
            # One sentence rarely settles "is it accurate?" or "what happened?": quote the next best too.
            more = _second_sentence(best, ranked, request.standalone)
            if more is not None:
                lines.append(f"« {more.text.strip()} » [{more.n}]")
            return "\n".join(lines)
        other = _disagreeing(best, ranked, request)
        if other is not None:
            lead = "Another source gives" if request.language == "en" else "Une autre source indique"
            lines.append(f"{lead} {render_span(other.span, kind, request.language, other.text)} [{other.n}]")
            lines.append(f"« {other.text.strip()} » [{other.n}]")
        return "\n".join(lines)
