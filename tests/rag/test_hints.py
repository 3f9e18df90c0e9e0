"""What a refusal says about the question's names (rag.answerers.extractive.hints), on text not from the corpus."""

import pytest

from rag.answerers.extractive.hints import edits, near_spelling, refusal_hint

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


def test_a_refusal_names_the_names_no_text_holds_with_their_near_spelling() -> None:
    hint = refusal_hint(["Bundesilga", "Schalke", "Dortmund"], [STADIUM], "en")
    assert hint == (
        "No retrieved passage mentions “Bundesilga”: did you mean “Bundesliga”? "
        "No retrieved passage mentions “Schalke”."
    )
    assert refusal_hint(["Signal Iduna Prak"], [STADIUM], "fr") == (
        "Aucun passage retrouvé ne mentionne « Signal Iduna Prak » : vouliez-vous dire « Signal Iduna Park » ?"
    )


def test_a_name_the_texts_hold_as_written_or_as_an_acronym_needs_no_hint() -> None:
    assert refusal_hint(["Signal Iduna Park", "Borussia Dortmund"], [STADIUM], "en") == ""
    assert refusal_hint(["World Health Organization"], ["The WHO said so."], "en") == ""
    assert refusal_hint([], [STADIUM], "en") == ""
