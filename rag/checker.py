"""The learned claim checker: named features of a (claim, evidence) pair, and a model over them.

`analyze` computes every feature by name (figures, months, names, word coverage, negation, cue words,
and optionally the dense cosine of the claim and its best evidence sentence); `Checker` applies the
weights shipped in `rag/data/checker.json` with plain Python: two logistic regressions over standardized
features (supported or not; then contradicted or unsupported), written by `eval/train_checker.py`.
No learning library is imported at run time. The earlier hand-made checker's rules are features here;
only a verbatim quote and a wrong or absent figure keep a fixed verdict (see `guard`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.entailment import Entailment, load_entailment
from rag.text import (
    MONTH_OF,
    MONTHS,
    TRANSLATIONS,
    Quantity,
    fold,
    months_in,
    proper_names,
    quantities,
    same_word,
    squash,
    tokenize,
    word_overlap,
)
from rag.verify import split_sentences

SUPPORTED, UNSUPPORTED, CONTRADICTED = "supported", "unsupported", "contradicted"
NOT_SUPPORTED = "not supported"
LABELS = (SUPPORTED, CONTRADICTED, UNSUPPORTED)
WEIGHTS = Path(__file__).with_name("data") / "checker.json"

# A function from texts to unit vectors (one row per text): the dense feature's encoder.
Encoder = Callable[[Sequence[str]], Any]

NEGATION = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|cannot|without|"
    r"ne|pas|jamais|aucun|aucune|sans|rien|ni|nullement)\b|\w+n't\b|\bn'(?=\w)"
)
# Cue words that change what a claim asserts: in the claim but not in the evidence, they are a warning.
CUES = {
    "only": r"\b(?:only|solely|merely|seul|seule|seuls|seules|seulement|uniquement)\b",
    "all": r"\b(?:all|every|always|tous|toutes|chaque|toujours)\b",
    "never": r"\b(?:never|jamais)\b",
    "more_than": r"\b(?:more than|over|above|at least|plus de|plus que|au moins|superieure? a)\b",
    "less_than": r"\b(?:less than|fewer than|under|below|at most|moins de|moins que|au plus|inferieure? a)\b",
    "first": r"\b(?:first|earliest|premier|premiere|premiers|premieres)\b",
    "superlative": r"\b(?:most|largest|biggest|highest|best|oldest|youngest|le plus|la plus|les plus)\b",
}
ANTONYMS = """
before after | avant apres | increase decrease | increased decreased | rise fall | rose fell | gain loss
win lose | won lost | gagne perdu | victoire defaite | male female | man woman | men women | homme femme
larger smaller | bigger smaller | higher lower | older younger | longer shorter | more less | plus moins
first last | premier dernier | north south | east west | nord sud | born died | alive dead | vivant mort
open closed | start end | begin end | debut fin | accept reject | accepted rejected | true false | vrai faux
legal illegal | possible impossible | always never | toujours jamais | hausse baisse | augmente diminue
above below | inside outside | public private | publique privee | success failure | succes echec
positive negative | positif negatif | majority minority | majorite minorite | early late | rich poor
"""
_ANTONYM: dict[str, set[str]] = {}
for _pair in ANTONYMS.replace("\n", "|").split("|"):
    if len(_words := _pair.split()) == 2:
        _ANTONYM.setdefault(_words[0], set()).add(_words[1])
        _ANTONYM.setdefault(_words[1], set()).add(_words[0])
FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|my|me|we|our|je|j'|moi|mon|ma|mes|nous)\b|\bj'")
CONNECTORS = frozenset("of the and for de la le des du et for of".split())


@dataclass
class Analysis:
    """A pair's features by name, with what a reason needs to name them (figures, names, the sentence)."""

    features: dict[str, float]
    sentence: str = ""
    stated: list[str] = field(default_factory=list)  # claim figures the evidence states
    conflict: tuple[str, str] | None = None  # (the claim's figure, the evidence's figure)
    missing: list[str] = field(default_factory=list)  # claim figures, names and months the evidence lacks
    month_conflict: tuple[str, str] | None = None
    cues: list[str] = field(default_factory=list)
    antonym: tuple[str, str] | None = None
    swap: tuple[str, str] | None = None  # (the claim's name, the other name in the evidence sentence)


# --- the rules of the hand-made checker, kept as features ------------------------------------------------


def _next_words(text: str, at: int) -> list[str]:
    return [w for w in tokenize(text[at : at + 40]) if not w[0].isdigit()][:3]


def _stated(q: Quantity, text: str, found: Sequence[Quantity], evidence: str) -> bool:
    """The evidence states the claim's figure.

    A count in words ("quatre modèles") must count the same thing: the 4 of "llama 4" is not four models.
    """
    same = [f for f in found if q.same(f)]
    if not (q.kind == "number" and q.text.isalpha()):
        return bool(same)
    counted = _next_words(text, q.end)
    return any(not counted or any(same_word(a, b) for a in counted for b in _next_words(evidence, f.end)) for f in same)


def _near_miss(claimed: Quantity, found: Sequence[Quantity]) -> Quantity | None:
    """An evidence figure of the same kind close enough to be the one the claim got wrong."""
    for q in found:
        if q.kind != claimed.kind and "number" not in (q.kind, claimed.kind):
            continue
        if claimed.kind == "year" or q.kind == "year":
            if claimed.kind == q.kind and abs(q.value - claimed.value) <= 5:
                return q
        elif q.value and 0.5 <= claimed.value / q.value <= 2.0:
            return q
    return None


def around(evidence: str, q: Quantity) -> str:
    """The evidence sentence holding figure `q`, or the text around it."""
    for sentence in split_sentences(evidence):
        if q.text in sentence:
            return sentence
    return evidence[max(0, q.start - 80) : q.end + 80]


def best_sentence(claim_tokens: set[str], evidence: str) -> tuple[float, str]:
    """The evidence sentence sharing most of the claim's words, and that share."""
    best = (0.0, "")
    for sentence in split_sentences(evidence):
        overlap = word_overlap(claim_tokens, sentence)
        if overlap > best[0]:
            best = (overlap, sentence)
    return best


# --- names ------------------------------------------------------------------------------------------------


def _initials(evidence: str) -> set[str]:
    """Acronyms that runs of capitalized words in the evidence spell ("Agence France-Presse" -> "afp")."""
    out = set()
    words = re.findall(r"[\w'-]+", evidence)
    for start in range(len(words)):
        letters = ""
        for word in words[start : start + 8]:
            if word[0].isupper():
                letters += "".join(part[0] for part in word.split("-") if part)
                if len(letters) >= 2:
                    out.add(fold(letters))
            elif fold(word) not in CONNECTORS:
                break
    return out


# General words that open a sentence with a capital and are not names.
OPENERS = frozenset(
    "tous toutes tout chaque aucun aucune plusieurs certains certaines nombreux beaucoup selon durant pendant "
    "every several many most some none no yes although though because however despite during until unlike".split()
)


def claim_names(text: str) -> list[str]:
    """The claim's proper names, without months and without an opening word that is not one ("Filming ...")."""
    names = []
    for name in proper_names(text):
        opener = " " not in name and text.lstrip(" «\"'(").startswith(name) and text.count(name) == 1
        common = fold(name) in OPENERS or re.search(r"(?:ing|ed|ly|ment)$", name) is not None
        if fold(name) not in MONTH_OF and not (opener and common and not name.isupper()):
            names.append(name)
    return names


def name_found(name: str, evidence: str, squashed: str, initials: set[str]) -> bool:
    """A proper name of the claim in the evidence: as written, as an acronym, or as the full name of one."""
    if squash(name) in squashed or fold(name) in MONTH_OF:
        return True
    if re.fullmatch(r"[A-Z][A-Z0-9&]{1,7}", name):  # "AFP" for "Agence France-Presse"
        return fold(name) in initials
    spelled = "".join(w[0] for w in re.findall(r"[\w'-]+", name) if w[0].isupper())
    return len(spelled) >= 2 and re.search(rf"\b{re.escape(spelled)}\b", evidence) is not None


# --- the features -----------------------------------------------------------------------------------------


def _found(word: str, tokens: set[str]) -> bool:
    """`word` among `tokens` directly, by stem, or through the lexicon (as `word_overlap` counts it)."""
    if word in tokens or TRANSLATIONS.get(word, set()) & tokens:
        return True
    return not word[0].isdigit() and any(same_word(word, t) for t in tokens if not t[0].isdigit())


def _negations(text: str) -> int:
    return len(NEGATION.findall(fold(text)))


def _cue_hits(claim: str, evidence: str) -> dict[str, float]:
    claim_f, evidence_f = fold(claim), fold(evidence)
    return {
        f"cue_{name}": float(bool(re.search(p, claim_f)) and not re.search(p, evidence_f)) for name, p in CUES.items()
    }


def _antonym(claim_words: set[str], evidence_words: set[str]) -> tuple[str, str] | None:
    for word in sorted(claim_words - evidence_words):
        for other in sorted(_ANTONYM.get(word, ())):
            if other in evidence_words and other not in claim_words:
                return word, other
    return None


def _bigrams(tokens: list[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:], strict=False))


def _figure_features(text: str, evidence: str, a: Analysis) -> dict[str, float]:
    claimed = quantities(text)
    found = quantities(evidence)
    words = {t for t in tokenize(text) if not t[0].isdigit()}
    stated = missing = near_any = 0
    for q in claimed:
        if _stated(q, text, found, evidence):
            stated += 1
            a.stated.append(q.text)
            continue
        near = _near_miss(q, [f for f in found if not q.same(f)])
        if near is not None and a.conflict is None and word_overlap(words, around(evidence, near)) >= 0.3:
            a.conflict = (q.text, near.text)
        elif near is not None:
            near_any += 1
        else:
            missing += 1
            a.missing.append(q.text)
    n = len(claimed)
    return {
        "figures_in_claim": float(min(n, 4)),
        "figures_stated_share": stated / n if n else 0.0,
        "figures_all_stated": float(bool(n) and stated == n),
        "figures_conflict": float(a.conflict is not None),
        "figures_near_miss": float(min(near_any, 3)),
        "figures_missing": float(min(missing, 3)),
        "figures_in_evidence_only": float(not n and bool(found)),
    }


def _month_features(text: str, evidence: str, a: Analysis) -> dict[str, float]:
    claim_months, evidence_months = months_in(text), months_in(evidence)
    missing = claim_months - evidence_months
    if missing and evidence_months:
        a.month_conflict = (MONTHS[min(missing)][0].capitalize(), MONTHS[min(evidence_months)][0].capitalize())
    elif missing:
        a.missing.append(MONTHS[min(missing)][0].capitalize())
    return {
        "months_agree": float(bool(claim_months) and not missing),
        "months_conflict": float(bool(missing) and bool(evidence_months)),
        "months_missing": float(bool(missing) and not evidence_months),
    }


def _name_features(text: str, evidence: str, a: Analysis) -> dict[str, float]:
    names = claim_names(text)
    squashed, initials = squash(evidence), _initials(evidence)
    absent = [n for n in names if not name_found(n, evidence, squashed, initials)]
    a.missing.extend(absent)
    # In the sentence that bears on the claim, another name where the claim's should be: "X left", "Y left".
    sentence = _best_for_names(text, evidence)
    in_sentence, sentence_squashed = set(proper_names(sentence)), squash(sentence)
    not_here = [n for n in names if n not in absent and squash(n) not in sentence_squashed]
    others = [n for n in in_sentence if squash(n) not in squash(text)]
    if not_here and others:
        a.swap = (not_here[0], sorted(others)[0])
    return {
        "names_missing_in_sentence": float(min(len(not_here), 3)),
        "name_swap": float(a.swap is not None),
        "names_in_claim": float(min(len(names), 4)),
        "names_missing": float(min(len(absent), 3)),
        "names_found_share": (len(names) - len(absent)) / len(names) if names else 1.0,
    }


def _best_for_names(text: str, evidence: str) -> str:
    return best_sentence(set(tokenize(text)), evidence)[1]


def _word_features(text: str, evidence: str, a: Analysis) -> dict[str, float]:
    claim_tokens = tokenize(text)
    claim_set = set(claim_tokens)
    overlap, sentence = best_sentence(claim_set, evidence)
    a.sentence = sentence or evidence[:300]
    evidence_tokens = tokenize(evidence)
    sentence_tokens = tokenize(a.sentence)
    names = set(tokenize(" ".join(claim_names(text))))
    rest = claim_set - names
    absent = [t for t in sorted(claim_set) if not _found(t, set(evidence_tokens))]
    claim_bigrams = _bigrams(claim_tokens)
    claim_folded = set(re.findall(r"[a-z]+", fold(text)))
    evidence_folded = set(re.findall(r"[a-z]+", fold(a.sentence)))
    a.antonym = _antonym(claim_folded, evidence_folded)
    return {
        "coverage": word_overlap(claim_set, evidence),
        "coverage_best_sentence": overlap,
        "coverage_other_words": word_overlap(rest, a.sentence) if rest else 1.0,
        "sentence_in_claim": word_overlap(set(sentence_tokens), text) if sentence_tokens else 0.0,
        "absent_words": float(min(len(absent), 8)),
        "bigram_coverage": len(claim_bigrams & _bigrams(evidence_tokens)) / len(claim_bigrams)
        if claim_bigrams
        else 0.0,
        "claim_words": math.log1p(len(claim_tokens)),
        "evidence_words": math.log1p(len(evidence_tokens)),
        "antonym_swap": float(a.antonym is not None),
    }


def _negation_features(text: str, sentence: str) -> dict[str, float]:
    claim_neg, sentence_neg = _negations(text), _negations(sentence)
    return {
        "negation_claim_only": float(claim_neg > 0 and sentence_neg == 0),
        "negation_evidence_only": float(sentence_neg > 0 and claim_neg == 0),
        "negation_count_differs": float(claim_neg != sentence_neg),
    }


def _rules(f: dict[str, float]) -> dict[str, float]:
    """The hand-made checker's verdict from the features it looked at, as two indicator features."""
    if f["figures_conflict"]:
        verdict = CONTRADICTED
    elif f["names_missing"] or f["figures_missing"] or f["figures_near_miss"]:
        verdict = UNSUPPORTED
    elif f["months_conflict"] or f["months_missing"]:
        verdict = CONTRADICTED if f["months_conflict"] else UNSUPPORTED
    elif f["figures_in_claim"] or (f["names_in_claim"] and f["coverage_other_words"] >= 0.34):
        verdict = SUPPORTED
    else:
        verdict = SUPPORTED if f["coverage_best_sentence"] >= 0.5 else UNSUPPORTED
    return {"rules_supported": float(verdict == SUPPORTED), "rules_contradicted": float(verdict == CONTRADICTED)}


def analyze(claim: str, evidence: str, encode: Encoder | None = None, entail: Entailment | None = None) -> Analysis:
    """Every feature of a (claim, evidence) pair, by name.

    `dense_cosine` only when an encoder is given; `nli_supported` and `nli_contradicted` (the entailment
    model's probabilities) only when the model is given.
    """
    a = Analysis({})
    f = a.features
    f["verbatim"] = float(len(claim) > 12 and fold(claim) in fold(evidence))
    f |= _figure_features(claim, evidence, a)
    f |= _month_features(claim, evidence, a)
    f |= _name_features(claim, evidence, a)
    f |= _word_features(claim, evidence, a)
    f |= _negation_features(claim, a.sentence)
    f |= _cue_hits(claim, a.sentence)
    f["first_person"] = float(bool(FIRST_PERSON.search(fold(claim))))
    f["question"] = float(claim.rstrip().endswith("?"))
    f |= _rules(f)
    if encode is not None:
        f["dense_cosine"] = dense_cosine(claim, a.sentence, encode)
    if entail is not None:
        p = entail.probabilities(evidence, claim, a.sentence)
        f["nli_supported"], f["nli_contradicted"] = p[SUPPORTED], p[CONTRADICTED]
    return a


def claim_features(claim: str, evidence: str, encode: Encoder | None = None) -> dict[str, float]:
    """The named feature vector of a (claim, evidence) pair (see `analyze`)."""
    return analyze(claim, evidence, encode).features


def dense_cosine(claim: str, sentence: str, encode: Encoder) -> float:
    """Cosine of the claim and its best evidence sentence, rounded so that it is the same on every run."""
    if not sentence.strip():
        return 0.0
    first, second = encode([claim, sentence])
    return round(float(sum(x * y for x, y in zip(first, second, strict=True))), 4)


def default_encoder() -> Encoder | None:
    """The bundled MiniLM's question graph (ONNX, no torch), obtained once per process; None if unavailable."""
    return _encoder()


@lru_cache(maxsize=1)
def _encoder() -> Encoder | None:
    from rag.embedders import get_embedder
    from rag.embedders.factory import onnx_dir

    embedder = get_embedder("all-MiniLM-L6-v2", 32, "torch", onnx_dir())
    graph = embedder._question_graph() if hasattr(embedder, "_question_graph") else None
    return graph.encode if graph else None


def warm() -> None:
    """Load what checking a claim needs, now.

    Otherwise the first claim that is not a verbatim quote (a French short answer, typically) waits for the
    entailment model (~75 ms) and the encoder.
    """
    checker = load_checker()
    if checker.dense:
        default_encoder()
    if checker.entails:
        entailment()


def entailment() -> Entailment:
    """The shipped entailment model. Raises RagError when this install lacks it."""
    from rag.errors import RagError

    model = load_entailment()
    if model is None:
        raise RagError("the entailment model rag/data/nli.onnx is missing from this install; reinstall rag-assistant")
    return model


# --- the model --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """A logistic regression over standardized named features: one row of weights per label."""

    features: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    labels: tuple[str, ...]
    coefficients: tuple[tuple[float, ...], ...]
    intercepts: tuple[float, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any], features: Sequence[str]) -> Stage:
        """The stage described by one entry of a weights file's "stages"."""
        labels = tuple(data["labels"])
        return cls(
            tuple(features),
            tuple(data["means"]),
            tuple(data["scales"]),
            labels,
            tuple(tuple(data["coefficients"][label]) for label in labels),
            tuple(data["intercepts"][label] for label in labels),
        )

    def contributions(self, features: dict[str, float]) -> dict[str, dict[str, float]]:
        """Each feature's contribution to each label's score (weight times standardized value)."""
        z = [(features.get(n, 0.0) - m) / s for n, m, s in zip(self.features, self.means, self.scales, strict=True)]
        return {
            label: {n: w * v for n, w, v in zip(self.features, row, z, strict=True)}
            for label, row in zip(self.labels, self.coefficients, strict=True)
        }

    def probabilities(self, features: dict[str, float]) -> dict[str, float]:
        """The probability of each label."""
        parts = self.contributions(features)
        scores = {label: b + sum(parts[label].values()) for label, b in zip(self.labels, self.intercepts, strict=True)}
        top = max(scores.values())
        exp = {label: math.exp(s - top) for label, s in scores.items()}
        total = sum(exp.values())
        return {label: e / total for label, e in exp.items()}

    def predict(self, features: dict[str, float]) -> str:
        """The most probable label (a tie goes to the first label in file order)."""
        probs = self.probabilities(features)
        return max(self.labels, key=lambda label: probs[label])


@dataclass(frozen=True)
class Checker:
    """Two stages: is the claim supported; if not, does the evidence contradict it or leave it open."""

    features: tuple[str, ...]
    support: Stage  # supported / not supported
    conflict: Stage  # contradicted / unsupported
    contradiction_above: float = 0.0  # the entailment model's probability from which "contradicted" is said

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checker:
        """The checker described by a weights file's JSON."""
        features = tuple(data["features"])
        stages = data["stages"]
        return cls(
            features,
            Stage.from_json(stages["support"], features),
            Stage.from_json(stages["conflict"], features),
            float(data.get("contradiction_above", 0.0)),
        )

    @property
    def dense(self) -> bool:
        """Whether the model reads the dense cosine (and so needs an encoder)."""
        return "dense_cosine" in self.features

    @property
    def entails(self) -> bool:
        """Whether the model reads the entailment model's probabilities."""
        return "nli_supported" in self.features

    def contradicts(self, features: dict[str, float]) -> bool:
        """The entailment model finds contradiction likely enough to say so (never without the model)."""
        return entailment_contradicts(features, self.contradiction_above)

    def predict(self, features: dict[str, float]) -> str:
        """The verdict of the weights.

        Not supported: with the entailment model, it says contradicted or unsupported (the conflict stage
        learns from two small sources only; the model from all of them), else the conflict stage does.
        """
        if self.support.predict(features) == SUPPORTED:
            return SUPPORTED
        if self.entails:
            return CONTRADICTED if self.contradicts(features) else UNSUPPORTED
        return self.conflict.predict(features)


# --- the reason a user reads ------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def load_checker(path: Path = WEIGHTS) -> Checker:
    """The shipped checker (read once per process)."""
    return Checker.from_json(json.loads(path.read_text(encoding="utf-8")))


SHARES = frozenset({"coverage", "coverage_best_sentence", "coverage_other_words", "bigram_coverage"})


def _phrase(name: str, a: Analysis) -> str | None:
    f = a.features
    phrases: dict[str, Callable[[], str | None]] = {
        "figures_conflict": lambda: f"the evidence says {a.conflict[1]}, not {a.conflict[0]}" if a.conflict else None,
        "months_conflict": lambda: (
            f"the evidence says {a.month_conflict[1]}, not {a.month_conflict[0]}" if a.month_conflict else None
        ),
        "figures_all_stated": lambda: f"figures {', '.join(a.stated)} found" if a.stated else None,
        "figures_stated_share": lambda: f"figures {', '.join(a.stated)} found" if a.stated else None,
        "figures_missing": lambda: _missing(a),
        "figures_near_miss": lambda: "its figures differ from the evidence's",
        "names_missing": lambda: _missing(a),
        "name_swap": lambda: f"the evidence names {a.swap[1]!r} where it says {a.swap[0]!r}" if a.swap else None,
        "names_missing_in_sentence": lambda: "its names are not in the evidence sentence about it",
        "names_found_share": lambda: _missing(a) if f["names_missing"] else "its names are in the evidence",
        "months_missing": lambda: _missing(a),
        "months_agree": lambda: "its months are in the evidence",
        "coverage": lambda: f"{f['coverage']:.0%} of its words in the evidence",
        "coverage_best_sentence": lambda: f"{f['coverage_best_sentence']:.0%} of its words in one evidence sentence",
        "coverage_other_words": lambda: f"{f['coverage_other_words']:.0%} of its words besides names in one sentence",
        "absent_words": lambda: f"{int(f['absent_words'])} of its words not in the evidence",
        "bigram_coverage": lambda: f"{f['bigram_coverage']:.0%} of its word pairs in the evidence",
        "antonym_swap": lambda: (
            f"it says {a.antonym[0]!r} where the evidence says {a.antonym[1]!r}" if a.antonym else None
        ),
        "negation_claim_only": lambda: "it negates what the evidence states",
        "negation_evidence_only": lambda: "the evidence negates it",
        "negation_count_differs": lambda: "its negations differ from the evidence's",
        "first_person": lambda: "it speaks of the writer, not of the evidence",
        "question": lambda: "it is a question",
        "dense_cosine": lambda: f"meaning similarity {f['dense_cosine']:.2f} with the evidence sentence",
        "nli_supported": lambda: f"the entailment model gives support {f['nli_supported']:.0%}",
        "nli_contradicted": lambda: f"the entailment model gives contradiction {f['nli_contradicted']:.0%}",
        "verbatim": lambda: "quoted verbatim from the source",
    }
    if name.startswith("cue_"):
        return f"{name[4:].replace('_', ' ')!r} in the claim, not in the evidence"
    make = phrases.get(name)
    return make() if make else None


def _otherwise(a: Analysis) -> str:
    return f"the entailment model reads the evidence as saying otherwise ({a.features['nli_contradicted']:.0%})"


def _missing(a: Analysis) -> str | None:
    return f"{', '.join(repr(m) for m in a.missing[:2])} not in the evidence" if a.missing else None


FAMILIES = {"figures": "figures_", "names": "name", "negation": "negation_", "cues": "cue_"}
WARNINGS = frozenset(
    {"negation", "cues", "antonym_swap", "first_person", "question", "rules_contradicted", "nli_contradicted"}
)
WORDS = frozenset({*SHARES, "absent_words", "sentence_in_claim"})


def _family(name: str) -> str:
    if name in WORDS:
        return "words"
    return next((family for family, prefix in FAMILIES.items() if name.startswith(prefix)), name)


def reason(checker: Checker, a: Analysis, verdict: str) -> str:
    """The features that decided, in words.

    For a supported claim: its figures, and what the first stage weighed most for it (never a warning
    sign, such as a negation, even when its weight happens to lean that way). Otherwise: what weighed
    most against support, then what weighed most for the verdict over the other one. One phrase per kind
    of feature (figures, names, words, negation, ...). A count or flag that is zero is not named ("its
    negations differ" for a claim without any): it says that a warning is absent, which others put better.
    """
    said: list[str] = []
    families: set[str] = set()
    if verdict == SUPPORTED:
        if a.stated:
            said.append(f"figures {', '.join(a.stated)} found")
            families.add("figures")
        _strongest(checker.support, SUPPORTED, a, said, families | WARNINGS, 2)
    elif verdict == CONTRADICTED and checker.contradicts(a.features):
        _strongest(checker.support, NOT_SUPPORTED, a, said, families | {"nli_contradicted"}, 1)
        said.append(_otherwise(a))
    else:
        _strongest(checker.support, NOT_SUPPORTED, a, said, families, 1)
        _strongest(checker.conflict, verdict, a, said, families, 2)
    return "; ".join(said) or "no single feature decided"


def _strongest(stage: Stage, label: str, a: Analysis, said: list[str], families: set[str], until: int) -> None:
    """Add the phrases of the features that push `stage` most towards `label`, until `said` has `until`."""
    if label not in stage.labels:
        return
    parts = stage.contributions(a.features)
    others = [other for other in stage.labels if other != label]
    margin = {n: parts[label][n] - max(parts[o][n] for o in others) for n in stage.features}
    for name in sorted(margin, key=lambda n: (-margin[n], n)):
        if margin[name] <= 0 or len(said) >= until:
            return
        if _family(name) in families or (not a.features.get(name) and name not in SHARES):
            continue
        if text := _phrase(name, a):
            said.append(text)
            families.add(_family(name))


def trace(claim: str, evidence: str, checker: Checker | None = None) -> list[tuple[str, float, float, float]]:
    """Each feature's value and its pull towards supported and towards contradicted, strongest first (`--trace`)."""
    checker = checker or load_checker()
    features = analyze(claim, evidence, None, entailment() if checker.entails else None).features
    support = checker.support.contributions(features)
    conflict = checker.conflict.contributions(features)
    rows = []
    for name in checker.features:
        towards_support = support[SUPPORTED][name] - support[NOT_SUPPORTED][name]
        towards_conflict = conflict[CONTRADICTED][name] - conflict[UNSUPPORTED][name]
        rows.append((name, features.get(name, 0.0), round(towards_support, 6), round(towards_conflict, 6)))
    return sorted(rows, key=lambda r: (-abs(r[2]), r[0]))


def guard(features: dict[str, float], checker: Checker | None = None) -> str | None:
    """The verdicts that are rules, not weights; None when the model decides.

    A verbatim quote is supported. A figure the evidence states differently in a sentence about the same
    thing, or a month it states differently, is contradicted. A figure or a proper name the evidence never
    states is unsupported (contradicted when the entailment model reads the evidence as saying otherwise).
    These are the product's definition of a wrong figure or a wrong subject (README,
    "How an answer is made"). The public pairs the model learns from rarely turn on figures, and their
    evidence often leaves out the page's own subject, so they weigh both too little; grouped
    cross-validation on the train split prefers the name rule too (eval/train_checker.py).
    """
    if features["verbatim"]:
        return SUPPORTED
    if features["rules_contradicted"]:
        return CONTRADICTED
    if features["figures_missing"] or features["names_missing"]:
        return CONTRADICTED if checker is not None and checker.contradicts(features) else UNSUPPORTED
    return None


def entailment_contradicts(features: dict[str, float], at_least: float) -> bool:
    """Whether the entailment model gives contradiction at least `at_least`, and more than neither.

    False without the model's features.
    """
    if "nli_contradicted" not in features:
        return False
    contradicted = features["nli_contradicted"]
    return contradicted >= at_least and contradicted > 1.0 - features["nli_supported"] - contradicted


def _unspaced(text: str) -> str:
    """Folded text without its spaces: French typography's space before "?", "!", ":" and ";" is not a word."""
    return "".join(fold(text).split())


def check(
    claim: str, evidence: str, checker: Checker | None = None, encode: Encoder | None = None
) -> tuple[str, str, str]:
    """Verdict, reason and the evidence sentence that bears on it, for one claim (without markup) against evidence.

    No evidence is unsupported; otherwise `guard` rules first, and the model decides the rest.
    """
    if not evidence.strip():
        return UNSUPPORTED, "no evidence: nothing cited", ""
    if len(claim) > 12 and _unspaced(claim) in _unspaced(evidence):
        return SUPPORTED, "quoted verbatim from the source", claim
    checker = checker or load_checker()
    if checker.dense and encode is None:
        encode = default_encoder()
    a = analyze(claim, evidence, encode if checker.dense else None, entailment() if checker.entails else None)
    if checker.dense and "dense_cosine" not in a.features:  # no encoder here: the feature says nothing
        a.features["dense_cosine"] = checker.support.means[checker.features.index("dense_cosine")]
    ruled = guard(a.features, checker)
    if ruled == CONTRADICTED and not a.features["rules_contradicted"]:  # a missing name or figure, and the model
        return CONTRADICTED, "; ".join(filter(None, [_missing(a), _otherwise(a)])), a.sentence
    if ruled == CONTRADICTED:
        where = a.sentence
        if a.conflict:
            stated = [q for q in quantities(evidence) if q.text == a.conflict[1]]
            where = around(evidence, stated[0]) if stated else where
        return CONTRADICTED, _phrase("figures_conflict" if a.conflict else "months_conflict", a) or "", where
    if ruled == UNSUPPORTED:
        return UNSUPPORTED, _missing(a) or "a figure is not in the evidence", a.sentence
    verdict = checker.predict(a.features)
    return verdict, reason(checker, a, verdict), a.sentence
