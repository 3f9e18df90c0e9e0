"""What a refusal tells the user: a name of the question that no retrieved passage holds, and its near spelling.

"When were the rights to the Primier League sold?" is refused because no passage says "Primier League"
(a question's names are what its answer must hold); the passages say "Premier League". A refusal that names
the missing name and offers the sources' spelling lets the user ask again, instead of guessing why (the
hint carries that question: the UI offers it as a click, the CLI prints it). The answer is not changed: a
near spelling is a suggestion, never read as the name (SQuAD 2.0's unanswerable questions swap names for
near ones too: "Donald Davis" for "Donald Davies").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answerers.base import Hint
from rag.answerers.extractive.features import name_found, name_index
from rag.text import fold

LETTERS_PER_EDIT = 6  # a near spelling differs by at most one edit per this many letters of the name (one at least)
MAX_NAMES = 2  # names a hint speaks of, at most
WORDS = re.compile(r"[^\W_][\w'’\-]*")
MESSAGES = {
    "en": ("No retrieved passage mentions “{name}”.", "No retrieved passage mentions “{name}”: did you mean “{near}”?"),
    "fr": (
        "Aucun passage retrouvé ne mentionne « {name} ».",
        "Aucun passage retrouvé ne mentionne « {name} » : vouliez-vous dire « {near} » ?",
    ),
}


def refusal_hint(question: str, names: Sequence[str], texts: Sequence[str], language: str) -> Hint:
    """Sentences naming the question's names that none of the texts holds, each with its near spelling if any.

    `names` are those of the question as searched; `question` is the user's own words, which the suggested
    question rewrites (a name carried from an earlier turn is not in them, and is not rewritten).
    """
    indexes = [name_index(t) for t in texts]
    unfound = [n for n in names if not any(name_found(n, *index) == 1.0 for index in indexes)]
    plain, offer = MESSAGES.get(language, MESSAGES["en"])
    sentences, asked = [], question
    for name in unfound[:MAX_NAMES]:
        near = near_spelling(name, texts)
        sentences.append((offer if near else plain).format(name=name, near=near))
        if near:
            asked = asked.replace(name, near)
    return Hint(" ".join(sentences), asked if asked != question else "")


def near_spelling(name: str, texts: Sequence[str]) -> str:
    """The run of as many capitalized words in the texts that is spelled most like `name` ("" when none is close).

    Close: at most one edit (a letter added, dropped, changed, or two swapped) per LETTERS_PER_EDIT letters,
    compared without case or accents; the same spelling is not a near one.
    """
    want = fold(name)
    budget = max(1, len(want) // LETTERS_PER_EDIT)
    size = len(name.split())
    runs = set()
    for text in texts:
        tokens = WORDS.findall(text)
        for i in range(len(tokens) - size + 1):
            words = tokens[i : i + size]
            if words[0][0].isupper() and all(w[0].isupper() or w[0].isdigit() for w in words):
                runs.add(" ".join(words))
    best, found = budget + 1, ""
    for run in sorted(runs):
        folded = fold(run)
        if abs(len(folded) - len(want)) >= best:
            continue
        d = edits(folded, want)
        if 0 < d < best:
            best, found = d, run
    return found


def edits(a: str, b: str) -> int:
    """Letters added, dropped, changed or swapped side by side to turn `a` into `b` (optimal string alignment)."""
    before: list[int] = []
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[len(b)]
