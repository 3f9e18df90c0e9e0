"""Conversations: follow-ups rewritten to stand alone, history bounded by a token budget, sessions on disk."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.text import fold, proper_names

FOLLOW_UP = re.compile(
    r"\b(?:he|she|it|they|him|his|her|its|their|them|this|that|these|those|the same|the company|the startup"
    r"|the year before|the previous year|the year after|the smaller one|the larger one"
    r"|il|elle|ils|elles|lui|son|sa|ses|leur|leurs|cette|cet|celle|celui|la societe|l'entreprise|y"
    r"|en (?:est|etait|sont|a|ont|devient|fut))\b"
    r"|^(?:and|et|what about|et pour|and for|also)\b",
    re.IGNORECASE,
)
# "a-t-elle", "est-il": French inversion repeats the question's own subject; it points at no earlier turn.
INVERSION = re.compile(r"-(?:t-)?(?:il|elle|ils|elles|on)\b")
DANGLING = re.compile(r"\b(?:he|she|him|his|her|il|elle|lui)\b")  # one person, named nowhere in the question
DANGLING_WORDS = 6  # a longer question names what it is about, even without a capital letter
YEAR = re.compile(r"\b(?:19|20)\d\d\b")
YEAR_SHIFT = [
    (re.compile(r"year before|previous year|annee precedente|annee d'avant|l'annee avant"), -1),
    (re.compile(r"year after|following year|next year|annee suivante|annee d'apres"), 1),
]
SESSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Standalone:
    """A question made to stand alone: what retrieval searches, and the parts it was made of."""

    text: str  # what retrieval searches: the user's words, plus the carried subject of a follow-up
    own: str  # the user's own words
    subject: str = ""  # what a follow-up carries from the last turn (its names and question), "" when nothing
    base: str = ""  # the self-contained question this one stands for ("... in 2023?" for "And the year before?")

    @classmethod
    def alone(cls, question: str) -> Standalone:
        """A question that needs nothing from earlier turns."""
        return cls(question, question, "", question)


@dataclass
class Turn:
    """One question and its answer."""

    question: str
    standalone: str
    answer: str
    subject: list[str] = field(default_factory=list)  # names the answer was about, carried into follow-ups
    base: str = ""  # the self-contained question (see Standalone.base); "" in sessions saved before it existed


def count_tokens(text: str) -> int:
    """Tokens as tiktoken counts them, as llama-index's `get_tokenizer()` does (gpt-3.5-turbo's encoding)."""
    return len(_encoding().encode(text, allowed_special="all"))


@cache
def _encoding() -> Any:
    """The encoding tiktoken counts with, read from the BPE files llama-index-core ships (no download).

    The files are found without importing llama-index-core. That import took 2.2 s of a first follow-up
    question, and the history only needs a count.
    """
    import tiktoken

    core = importlib.util.find_spec("llama_index.core")
    assert core is not None and core.submodule_search_locations, "llama-index-core is a dependency"
    files = Path(core.submodule_search_locations[0]) / "_static" / "tiktoken_cache"
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = before or str(files)  # as get_tokenizer(): only while loading
    try:
        return tiktoken.encoding_for_model("gpt-3.5-turbo")
    finally:
        if before is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]


@dataclass
class Conversation:
    """The turns so far; the oldest are dropped first when the history outgrows its token budget."""

    turns: list[Turn] = field(default_factory=list)

    def is_follow_up(self, question: str) -> bool:
        """True when the question leans on an earlier turn (pronouns, 'and ...?', no names of its own)."""
        if not self.turns:
            return False
        folded = INVERSION.sub("", fold(question))
        return bool(FOLLOW_UP.search(folded)) or (not proper_names(question) and len(folded.split()) <= 4)

    def carry_subject(self, question: str) -> Standalone:
        """Rewrite a follow-up for retrieval without an LLM: bring the last turn's subject along."""
        if not self.is_follow_up(question):
            return Standalone.alone(question)
        last = self.turns[-1]
        base = last.base or last.question
        folded = fold(question)
        for pattern, delta in YEAR_SHIFT:
            years = YEAR.findall(base)
            if pattern.search(folded) and years:
                year = int(years[-1])
                # The shifted question says all the user means: it is searched and answered as if asked.
                # ("And the year before? (... in 2023?)" read as one question left the asked year out of
                # the answer's constraints, and its "year before" words in.)
                return Standalone.alone(base.replace(str(year), str(year + delta)))
        terms: list[str] = []
        for term in [*last.subject, *proper_names(base)]:
            if term not in terms and fold(term) not in fold(question):
                terms.append(term)
        subject = "; ".join([*terms, base])
        return Standalone(f"{question} ({subject})", question, subject, question)

    def dangling(self, question: str) -> str:
        """The pronoun of a first question that can only point at an earlier turn ("How old is he?"), or "".

        Not when the question names its subject: a proper name, or a noun before the pronoun ("Quand la
        dette est-elle dépréciée ?"), or more words than a question about "him" needs.
        """
        if self.turns or proper_names(question) or len(re.findall(r"\w+", question)) > DANGLING_WORDS:
            return ""
        folded = fold(question).replace("-", " ")
        match = DANGLING.search(folded)
        if not match or re.search(r"\b(?:le|la|les|l'|the|ce|cette)\s?\w", folded[: match.start()]):
            return ""
        return match.group()

    def unanchored_year(self, question: str) -> str:
        """The words of a first question that shift a year no earlier turn gave ("And the year before?"), or ""."""
        if self.turns or YEAR.search(question):
            return ""
        folded = fold(question)
        for pattern, _ in YEAR_SHIFT:
            match = re.search(rf"(?:\bthe |\bl')?(?:{pattern.pattern})", folded)
            if match:  # in the user's spelling when folding kept every character in place
                return question[match.start() : match.end()] if len(folded) == len(question) else match.group()
        return ""

    def history(self, budget_tokens: int) -> list[tuple[str, str]]:
        """(question, answer) pairs, newest kept, fitting in `budget_tokens`."""
        kept: list[tuple[str, str]] = []
        used = 0
        for turn in reversed(self.turns):
            cost = count_tokens(turn.question) + count_tokens(turn.answer)
            if used + cost > budget_tokens:
                break
            kept.insert(0, (turn.question, turn.answer))
            used += cost
        return kept

    def add(self, turn: Turn, keep: int = 50) -> None:
        """Append a turn (only the last `keep` are kept at all)."""
        self.turns = [*self.turns, turn][-keep:]

    # --- sessions on disk ---------------------------------------------------------------------------------

    @staticmethod
    def path(home: Path, name: str) -> Path:
        """Where session `name` lives. Raises RagError for a name that is not a plain word."""
        if not SESSION_NAME.fullmatch(name):
            raise RagError(f"session name {name!r} may hold only letters, digits, '.', '_' and '-'")
        return home / "sessions" / f"{name}.json"

    @classmethod
    def load(cls, home: Path, name: str) -> Conversation:
        """The saved session, or a new one."""
        path = cls.path(home, name)
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls([Turn(**t) for t in data["turns"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise RagError(f"{path}: not a session file ({exc}); delete it to start over") from None

    def save(self, home: Path, name: str) -> None:
        """Write the session atomically."""
        path = self.path(home, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"turns": [asdict(t) for t in self.turns]}, ensure_ascii=False, indent=1))
        tmp.replace(path)
