"""Claim checking: does the cited text support a sentence? One definition for answers and evals.

A claim is checked against evidence text (the chunks it cites). Its checkable content must be there:
every figure (after normalization across French and English formats), every month, every proper name.
A figure that is absent while the evidence holds a near miss of the same kind (14.8 vs 14.3, 51% vs
49%, 2023 vs 2024) makes the claim *contradicted*; otherwise missing content makes it *unsupported*.
A claim with nothing checkable must share enough of its words with one evidence sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.chunks import Chunk
from rag.text import (
    MONTH_OF,
    MONTHS,
    Quantity,
    fold,
    proper_names,
    quantities,
    same_word,
    squash,
    tokenize,
    word_overlap,
)

SUPPORTED, UNSUPPORTED, CONTRADICTED = "supported", "unsupported", "contradicted"
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
MIN_OVERLAP = 0.5  # share of a claim's content words found in one evidence sentence

TRAILER = re.compile(r"[»\"”)\s]*(?:\[\d+(?:\s*,\s*\d+)*\][\s.]*)+")  # "» [4]" closing a quoted sentence
ABBREVIATIONS = re.compile(r"\b(?:M|Mr|Mrs|Ms|Dr|St|vs|etc|e\.g|i\.e|Inc|Corp|Jr|Sr|No)\.$")


@dataclass
class ClaimCheck:
    """The verdict on one claim, with the reason and the evidence it was checked against."""

    text: str
    verdict: str
    reason: str
    evidence: str = ""
    citations: list[int] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        """True when the evidence backs the claim."""
        return self.verdict == SUPPORTED

    def to_json(self) -> dict[str, Any]:
        """As in `--json` output and eval reports."""
        return {
            "text": self.text,
            "citations": self.citations,
            "supported": self.supported,
            "verdict": self.verdict,
            "reason": self.reason,
            "evidence": self.evidence,
        }


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (FR/EN), keeping trailing citation markers with their sentence."""
    out: list[str] = []
    for line in text.splitlines():
        buffer = ""
        for piece in re.split(r"(?<=[.!?…»\]])(\s+)", line):
            buffer += piece
            stripped = buffer.strip()
            if not stripped or piece.isspace():
                continue
            if re.search(r"[.!?…]\s*(\[\d+(?:\s*,\s*\d+)*\]\s*)*$|\]$", stripped) and not ABBREVIATIONS.search(
                stripped
            ):
                out.append(stripped)
                buffer = ""
        if buffer.strip():
            out.append(buffer.strip())
    # A marker standing alone after its sentence's full stop belongs to that sentence.
    merged: list[str] = []
    for sentence in out:
        if merged and TRAILER.fullmatch(sentence):
            merged[-1] += " " + sentence
        else:
            merged.append(sentence)
    return [s for s in merged if re.search(r"\w", s)]


def citations_of(sentence: str) -> list[int]:
    """The [n] markers of a sentence, in order, without repeats."""
    numbers: list[int] = []
    for group in CITATION.findall(sentence):
        for n in group.split(","):
            if int(n) not in numbers:
                numbers.append(int(n))
    return numbers


def strip_markup(sentence: str) -> str:
    """The claim without citation markers, quote marks and list or quote prefixes."""
    text = CITATION.sub("", sentence)
    text = re.sub(r"^\s*(?:[>*\-•]\s*|\d+[.)]\s+)", "", text)  # not the "0." of "0.9%"
    text = text.strip().strip('«»"“”').strip().rstrip(":").strip()
    return re.sub(r"\s+([.!?…])$", r"\1", text)  # "Wang leads MSL [2]." -> "Wang leads MSL."


def _months(text: str) -> set[int]:
    return {MONTH_OF[w] for w in re.findall(r"[a-z]+", fold(text)) if w in MONTH_OF}


def _stated(q: Quantity, text: str, found: Sequence[Quantity], evidence: str) -> bool:
    """The evidence states the claim's figure.

    A count in words ("quatre modèles") must count the same thing: the 4 of "llama 4" is not four models.
    """
    same = [f for f in found if q.same(f)]
    if not (q.kind == "number" and q.text.isalpha()):
        return bool(same)
    counted = _next_words(text, q.end)
    return any(not counted or any(same_word(a, b) for a in counted for b in _next_words(evidence, f.end)) for f in same)


def _next_words(text: str, at: int) -> list[str]:
    return [w for w in tokenize(text[at : at + 40]) if not w[0].isdigit()][:3]


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


def _best_sentence(claim_tokens: set[str], evidence: str) -> tuple[float, str]:
    best = (0.0, "")
    for sentence in split_sentences(evidence):
        overlap = word_overlap(claim_tokens, sentence)
        if overlap > best[0]:
            best = (overlap, sentence)
    return best


def _conflict(
    text: str, claimed: list[Quantity], evidence: str, found: list[Quantity]
) -> tuple[Quantity, Quantity] | None:
    """A figure of the claim that the evidence states differently, in a sentence about the same thing."""
    words = {t for t in tokenize(text) if not t[0].isdigit()}
    for q in claimed:
        if _stated(q, text, found, evidence):
            continue
        near = _near_miss(q, [f for f in found if not q.same(f)])
        if near is not None and word_overlap(words, _around(evidence, near)) >= 0.3:
            return q, near
    return None


def check_claim(claim: str, evidence: str) -> tuple[str, str, str]:
    """Verdict, reason and the evidence sentence that bears on it, for one claim against evidence text."""
    text = strip_markup(claim)
    if not evidence.strip():
        return UNSUPPORTED, "no evidence: nothing cited", ""
    if len(text) > 12 and fold(text) in fold(evidence):
        return SUPPORTED, "quoted verbatim from the source", text
    claim_tokens = set(tokenize(text))
    overlap, sentence = _best_sentence(claim_tokens, evidence)
    claimed = quantities(text)
    found = quantities(evidence)
    # A figure stated differently in a sentence about the same thing is a contradiction, whatever else differs.
    conflict = _conflict(text, claimed, evidence, found)
    if conflict:
        q, near = conflict
        return CONTRADICTED, f"{q.text!r} conflicts with {near.text!r} in the source", _around(evidence, near)
    # Names next: a claim about someone or something the source never names is about something else.
    squashed = squash(evidence)
    names = proper_names(text)
    for name in names:
        if squash(name) not in squashed and fold(name) not in MONTH_OF:
            return UNSUPPORTED, f"{name!r} is not in the cited source", sentence
    for q in claimed:
        if not _stated(q, text, found, evidence):
            return UNSUPPORTED, f"{q.text!r} is not in the cited source", sentence
    missing_months = _months(text) - _months(evidence)
    if missing_months:
        month = MONTHS[min(missing_months)][0].capitalize()
        return (CONTRADICTED if _months(evidence) else UNSUPPORTED), f"{month} is not in the cited source", sentence
    if claimed:
        return SUPPORTED, "its figures and names are in the source", sentence
    # Nothing checkable but names: the words around them must be there too.
    name_tokens = set(tokenize(" ".join(names)))
    rest = claim_tokens - name_tokens
    rest_overlap, rest_sentence = _best_sentence(rest, evidence) if rest else (1.0, sentence)
    if names and rest_overlap >= 0.34:
        return SUPPORTED, f"its names and {rest_overlap:.0%} of its other words are in the source", rest_sentence
    if overlap >= MIN_OVERLAP:
        return SUPPORTED, f"{overlap:.0%} of its words are in one source sentence", sentence
    return UNSUPPORTED, f"only {overlap:.0%} of its words are in any source sentence", sentence


def _around(evidence: str, q: Quantity) -> str:
    for sentence in split_sentences(evidence):
        if q.text in sentence:
            return sentence
    return evidence[max(0, q.start - 80) : q.end + 80]


def verify_answer(answer: str, sources: Mapping[int, Chunk]) -> list[ClaimCheck]:
    """Check every sentence of an answer against the sources it cites by number.

    A sentence with no citation, or citing a number that names no retrieved source, is unsupported.
    """
    checks = []
    for sentence in split_sentences(answer):
        cited = citations_of(sentence)
        text = strip_markup(sentence)
        if not cited:
            checks.append(ClaimCheck(text, UNSUPPORTED, "no citation", "", cited))
            continue
        unknown = [n for n in cited if n not in sources]
        if unknown:
            checks.append(
                ClaimCheck(text, UNSUPPORTED, f"cites [{unknown[0]}], which is not a retrieved source", "", cited)
            )
            continue
        evidence = "\n".join(sources[n].text for n in cited)
        verdict, reason, where = check_claim(text, evidence)
        checks.append(ClaimCheck(text, verdict, reason, where, cited))
    return checks
