"""The answerer interface."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rag.conversation import Standalone
from rag.retrieval import Retrieved

REFUSALS = {
    "en": "I couldn't find this in the sources.",
    "fr": "Je n'ai pas trouvé cela dans les sources.",
}


def refusal(language: str, hint: str = "") -> str:
    """The refusal sentence in the question's language, followed by the answerer's hint if it gave one."""
    sentence = REFUSALS.get(language, REFUSALS["en"])
    return f"{sentence} {hint}" if hint else sentence


def is_refusal(text: str) -> bool:
    """The text declines to answer with one of our refusal sentences (in either language)."""
    folded = text.lower().replace("’", "'")
    return any(sentence.lower().rstrip(".") in folded for sentence in REFUSALS.values())


@dataclass(frozen=True)
class Hint:
    """What an answerer that refuses adds to the refusal: sentences, and a question the user could ask instead."""

    text: str = ""
    question: str = ""  # "" when it has none to offer


@dataclass
class AnswerRequest:
    """Everything an answerer may use. Source [n] is `sources[n - 1]`."""

    question: str  # as the user asked it
    standalone: Standalone  # the question made to stand alone (follow-ups); its text is what retrieval searched
    language: str  # "en" or "fr": the answer's language
    sources: Sequence[Retrieved]
    history: Sequence[tuple[str, str]] = field(default_factory=list)  # (question, answer) turns, oldest first
    before: Mapping[str, str] = field(default_factory=dict)  # chunk id -> the document text just before it
    trace: dict[str, Any] = field(default_factory=dict)  # what the answerer decided and why, for --trace
    hint: Hint = field(default_factory=Hint)  # set by an answerer that refuses (its text follows the refusal)
    note: str = ""  # what the answerer tells the user beside its answer: a name it read as the sources spell it


class Answerer(Protocol):
    """Writes the answer as a stream of text pieces; every sentence should end with its [n]."""

    name: str

    def answer(self, request: AnswerRequest) -> Iterator[str]:
        """Yield the answer text piece by piece (a refusal is an answer too)."""
        ...
