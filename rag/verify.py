"""Claim checking: does the cited text support a sentence? One definition for answers and evals.

Answers are split into sentences; each must cite a retrieved source, and the cited text is checked by
`check_claim`: the learned checker of `rag.checker` (features such as figures, months, names, word
coverage and negation, with weights trained on public claim-verification pairs). A figure stated
differently about the same thing (14.8 vs 14.3, 51% vs 49%) stays a contradiction, and a figure the
evidence never states stays unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rag.chunks import Chunk
from rag.injection import marker, trusted

SUPPORTED, UNSUPPORTED, CONTRADICTED = "supported", "unsupported", "contradicted"
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

TRAILER = re.compile(r"[»\"”)\s]*(?:\[\d+(?:\s*,\s*\d+)*\][\s.]*)+")  # "» [4]" closing a quoted sentence
# A full stop that ends no sentence: a title or a short form ("Dr.", "Op.", "et al.", "av. J.-C."), or
# initials ("John F. Kennedy", "U.S. Army"; not a lone "I.", as in "World War I.").
ABBREVIATIONS = re.compile(
    r"\b(?:M|Mr|Mrs|Ms|Dr|St|vs|etc|e\.g|i\.e|Inc|Corp|Jr|Sr|No|Op|et al|v|ca|cf|Rep|Sen|Gov|Gen|Prof|av|apr)\.$"
    r"|(?:^|[\s(])(?:(?:[A-Z]\.){2,}|[A-HJ-Z]\.)$"
)


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


def check_claim(claim: str, evidence: str) -> tuple[str, str, str]:
    """Verdict, reason and the evidence sentence that bears on it, for one claim against evidence text.

    The learned checker of `rag.checker` (named features, weights in `rag/data/checker.json`) decides;
    a verbatim quote of the evidence is always supported, and a claim with no evidence is unsupported.
    """
    from rag.checker import check  # rag.checker reads this module's sentence splitter

    return check(strip_markup(claim), evidence)


def verify_answer(answer: str, sources: Mapping[int, Chunk]) -> list[ClaimCheck]:
    """Check every sentence of an answer against the sources it cites by number.

    A sentence with no citation, or citing a number that names no retrieved source, is unsupported. Lines of
    a source addressed to an assistant (rag.injection) are not evidence: a claim only they back is unsupported.
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
        raw = "\n".join(sources[n].text for n in cited)
        evidence = trusted(raw)
        if marker(text):
            checks.append(ClaimCheck(text, UNSUPPORTED, "reads as instructions to an assistant, not a fact", "", cited))
            continue
        verdict, reason, where = check_claim(text, evidence)
        if verdict != SUPPORTED and evidence != raw and check_claim(text, raw)[0] == SUPPORTED:
            verdict, reason = UNSUPPORTED, "only text addressed to an assistant (untrusted) backs it"
        checks.append(ClaimCheck(text, verdict, reason, where, cited))
    return checks
