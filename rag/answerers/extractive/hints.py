"""A question's name that no retrieved passage holds: read with the passages' near spelling, or named in the refusal.

"When were the rights to the Primier League sold?": no passage says "Primier League", and a question's names
are what its answer must hold, so it was refused; the passages say "Premier League". A name the passages
spell nearly the same (at most one edit per six letters) is now read as their spelling, and the answer says
so first ("Read “Primier League” as “Premier League”, the sources' spelling."), so a reader who meant
another name sees it at once. Not a name with figures ("MPEG-3" is not "MPEG-2") nor an acronym of four
letters or fewer ("NFS" is not "NSF"): those differ by what they name, not by a slip. (Dev split end to end:
English answerable stated 85.9% -> 87.1%, refused 10.3% -> 9.2% of 426; SQuAD 2.0's unanswerable questions,
which swap names for near ones too, "Donald Davis" for "Donald Davies", refused 30.8% -> 30.4% of 598;
French stated 73.1% -> 73.8% of 294.)

A refusal still names each name no passage holds, with the near spelling it was not read as (a figure or a
short acronym), and the question asked that way: the UI offers it as a click, the CLI prints it.
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
READ_AS = {
    "en": "Read “{name}” as “{near}”, the sources' spelling.",
    "fr": "« {name} » lu comme « {near} », l'orthographe des sources.",
}
MESSAGES = {
    "en": ("No retrieved passage mentions “{name}”.", "No retrieved passage mentions “{name}”: did you mean “{near}”?"),
    "fr": (
        "Aucun passage retrouvé ne mentionne « {name} ».",
        "Aucun passage retrouvé ne mentionne « {name} » : vouliez-vous dire « {near} » ?",
    ),
}


def refusal_hint(
    question: str, names: Sequence[str], texts: Sequence[str], language: str, unwritten: Sequence[str] = ()
) -> Hint:
    """Sentences naming the question's names that none of the texts holds, each with its near spelling if any.

    `names` are those of the question as searched; `question` is the user's own words, which the suggested
    question rewrites (a name carried from an earlier turn is not in them, and is not rewritten). `unwritten`
    are its names with a figure that no text holds as written ("Windows 12" where the texts say "Windows 11",
    features.figure_names_missing): they come first, as `names` holds them without their figure.
    """
    indexes = [name_index(t) for t in texts]
    unfound = [n for n in names if not _held(n, indexes)]
    unfound = list(dict.fromkeys([*unwritten, *unfound]))  # a name with figures of its own is in both
    plain, offer = MESSAGES.get(language, MESSAGES["en"])
    sentences, asked = [], question
    for name in unfound[:MAX_NAMES]:
        near = near_spelling(name, texts)
        sentences.append((offer if near else plain).format(name=name, near=near))
        if near:
            asked = asked.replace(name, near)
    return Hint(" ".join(sentences), asked if asked != question else "")


def respelled(question: str, names: Sequence[str], texts: Sequence[str]) -> tuple[str, list[tuple[str, str]]]:
    """The question with each name none of the texts holds written as the texts nearly spell it, and the pairs.

    Each pair is (the question's name, the texts' spelling). Left alone: a name the texts hold, one with
    figures, an acronym of four letters or fewer, one with no near spelling, one not in `question` as written.
    """
    indexes = [name_index(t) for t in texts]
    read = []
    for name in names:
        if any(ch.isdigit() for ch in name) or (name.isupper() and len(name) <= 4) or name not in question:
            continue
        if _held(name, indexes):
            continue
        near = near_spelling(name, texts)
        if near:
            question = question.replace(name, near)
            read.append((name, near))
    return question, read


def _held(name: str, indexes: Sequence[tuple[str, set[str], set[str], frozenset[str]]]) -> bool:
    """Some text holds the whole name (texts as `name_index` reads them)."""
    return any(name_found(name, *index) == 1.0 for index in indexes)


def read_as_note(read: Sequence[tuple[str, str]], language: str) -> str:
    """What the answer says first when it read names with the sources' spelling ("" when it read none)."""
    message = READ_AS.get(language, READ_AS["en"])
    return " ".join(message.format(name=name, near=near) for name, near in read)


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
