"""A question's names no text holds (rag.answerers.extractive.hints): read as spelt there, or named in a refusal.

On text not from the corpus.
"""

import pytest

from rag.answerers.base import Hint
from rag.answerers.extractive.hints import edits, near_spelling, read_as_note, refusal_hint, respelled

STADIUM = "Borussia Dortmund plays at Signal Iduna Park. The Bundesliga season opened in August."


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("telnet", "telenet", 1), ("nfs", "nsf", 1), ("kitten", "sitting", 3), ("same", "same", 0), ("", "abc", 3)],
)
def test_edits_count_added_dropped_changed_and_swapped_letters(a: str, b: str, expected: int) -> None:
    assert edits(a, b) == expected


def test_a_misspelled_name_finds_the_spelling_of_the_text() -> None:
    assert near_spelling("Bundesilga", [STADIUM]) == "Bundesliga"
    assert near_spelling("Signal Iduna Prak", [STADIUM]) == "Signal Iduna Park"
    assert near_spelling("Borusia Dortmund", [STADIUM]) == "Borussia Dortmund"


def test_no_near_spelling_for_a_far_name_the_same_name_or_a_run_of_lowercase_words() -> None:
    assert near_spelling("Schalke", [STADIUM]) == ""
    assert near_spelling("Bundesliga", [STADIUM]) == ""  # the same spelling is not a suggestion
    # "Michigan in" is one letter from "Michigan Inc" but not a name.
    assert near_spelling("Michigan Inc", ["It opened in Michigan in 1971."]) == ""


def test_a_misspelled_name_is_read_as_the_texts_spell_it_and_the_note_says_so() -> None:
    asked, read = respelled("Did Dortmund win the Bundesilga?", ["Dortmund", "Bundesilga"], [STADIUM])
    assert asked == "Did Dortmund win the Bundesliga?" and read == [("Bundesilga", "Bundesliga")]
    assert read_as_note(read, "en") == "Read “Bundesilga” as “Bundesliga”, the sources' spelling."
    assert read_as_note(read, "fr") == "« Bundesilga » lu comme « Bundesliga », l'orthographe des sources."
    assert read_as_note([], "en") == ""


def test_a_name_with_figures_a_short_acronym_or_a_far_name_is_not_respelled() -> None:
    text = ["MPEG-2 boxes decode it. The NSF funded the network. Schalke 04 lost."]
    for name in ("MPEG-3", "NFS", "Schalke 05", "Dortmund"):  # another thing, or no near spelling at all
        assert respelled(f"What is {name}?", [name], text) == (f"What is {name}?", [])
    # A name carried from an earlier turn is not in the words asked: nothing to respell.
    assert respelled("When did it open?", ["Bundesilga"], [STADIUM]) == ("When did it open?", [])


def test_a_refusal_names_the_names_no_text_holds_with_their_near_spelling() -> None:
    asked = "Did Schalke or Dortmund win the Bundesilga?"
    hint = refusal_hint(asked, ["Bundesilga", "Schalke", "Dortmund"], [STADIUM], "en")
    assert hint.text == (
        "No retrieved passage mentions “Bundesilga”: did you mean “Bundesliga”? "
        "No retrieved passage mentions “Schalke”."
    )
    assert hint.question == "Did Schalke or Dortmund win the Bundesliga?"  # the offered spelling, in the user's words
    french = refusal_hint("Qui joue au Signal Iduna Prak ?", ["Signal Iduna Prak"], [STADIUM], "fr")
    assert french.text == (
        "Aucun passage retrouvé ne mentionne « Signal Iduna Prak » : vouliez-vous dire « Signal Iduna Park » ?"
    )
    assert french.question == "Qui joue au Signal Iduna Park ?"


def test_no_question_is_suggested_without_a_near_spelling_of_a_name_the_user_wrote() -> None:
    assert refusal_hint("Where does Schalke play?", ["Schalke"], [STADIUM], "en") == Hint(
        "No retrieved passage mentions “Schalke”.", ""
    )
    # "Bundesilga" came from an earlier turn, not from these words: there is nothing of theirs to respell.
    assert refusal_hint("When did it open?", ["Bundesilga"], [STADIUM], "en").question == ""


def test_a_name_with_a_figure_no_text_holds_as_written_is_named_first_with_its_neighbour() -> None:
    text = ["Windows 10 shipped in 2015. Windows and Office sell well."]
    hint = refusal_hint("When was Windows 12 released?", ["Windows"], text, "en", ["Windows 12"])
    assert hint == Hint(
        "No retrieved passage mentions “Windows 12”: did you mean “Windows 10”?", "When was Windows 10 released?"
    )
    # A name with figures of its own ("Windows-12") is one of the question's names too: named once.
    hint = refusal_hint("Is Windows-12 out?", ["Windows-12"], text, "en", ["Windows-12"])
    assert hint == Hint("No retrieved passage mentions “Windows-12”.", "")
    # As the user wrote it: "Windows-12" is one word, which the texts do not nearly spell.
    hint = refusal_hint("Quand Windows-12 sort-il ?", ["Windows"], text, "fr", ["Windows-12"])
    assert hint == Hint("Aucun passage retrouvé ne mentionne « Windows-12 ».", "")


def test_a_name_the_texts_hold_as_written_or_as_an_acronym_needs_no_hint() -> None:
    assert refusal_hint("", ["Signal Iduna Park", "Borussia Dortmund"], [STADIUM], "en") == Hint()
    assert refusal_hint("", ["World Health Organization"], ["The WHO said so."], "en") == Hint()
    assert refusal_hint("", [], [STADIUM], "en") == Hint()
