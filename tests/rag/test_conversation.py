from rag.conversation import Conversation, Standalone, Turn


def _after(question: str, answer: str, subject: list[str]) -> Conversation:
    return Conversation([Turn(question, question, answer, subject, question)])


def test_a_follow_up_carries_the_subject_as_data() -> None:
    conversation = _after("Who designed the Eiffel Tower?", "Gustave Eiffel [1]", ["Gustave Eiffel"])
    standalone = conversation.carry_subject("How old was he?")
    assert standalone.own == "How old was he?"
    assert standalone.subject == "Gustave Eiffel; Eiffel Tower; Who designed the Eiffel Tower?"
    assert standalone.text == f"How old was he? ({standalone.subject})"
    assert standalone.base == "How old was he?"


def test_the_year_before_shifts_the_base_question() -> None:
    conversation = _after("What was the budget in 2021?", "$3 million [1]", [])
    standalone = conversation.carry_subject("And the year before?")
    assert standalone == Standalone.alone("What was the budget in 2020?")  # asked as if the user had written it
    conversation.add(Turn("And the year before?", standalone.text, "$2 million [1]", [], standalone.base))
    assert conversation.carry_subject("And the year before?").base == "What was the budget in 2019?"


def test_a_question_that_names_its_subject_stands_alone() -> None:
    conversation = _after("Who designed the Eiffel Tower?", "Gustave Eiffel [1]", ["Gustave Eiffel"])
    # French inversion repeats the question's own subject: it points at no earlier turn.
    assert conversation.carry_subject("Combien Renault a-t-elle vendu de voitures en 2019 ?") == Standalone.alone(
        "Combien Renault a-t-elle vendu de voitures en 2019 ?"
    )


def test_a_first_question_that_leans_on_nothing() -> None:
    fresh = Conversation()
    assert fresh.dangling("How old is he?") == "he"
    assert fresh.dangling("Quel âge a-t-il ?") == "il"
    assert fresh.dangling("Where did she study?") == "she"
    assert fresh.dangling("How old is Ada Lovelace?") == ""  # named
    assert fresh.dangling("Quand la dette est elle dépréciée ?") == ""  # a noun before the pronoun
    assert fresh.dangling("Who wrote the letter that he received from the ministry in 1990?") == ""  # long
    assert _after("Who is Ada?", "A mathematician [1]", []).dangling("How old is she?") == ""  # there is a turn


def test_history_is_counted_as_llama_index_counts_without_importing_it() -> None:
    import subprocess
    import sys

    from llama_index.core.utils import get_tokenizer

    from rag.conversation import count_tokens

    text = "L'été 2025, Meta a payé 14,3 milliards de dollars (14.3bn) pour 49 % de Scale AI. <|endoftext|>"
    assert count_tokens(text) == len(get_tokenizer()(text)) > 20
    # Importing llama-index-core takes about 2 s: a follow-up question's history does not need it.
    code = "import sys, rag.conversation as c; c.count_tokens('x'); print('llama_index.core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_first_question_that_shifts_a_year_no_turn_gave() -> None:
    fresh = Conversation()
    assert fresh.unanchored_year("And the year before?") == "the year before"
    assert fresh.unanchored_year("Et l'année précédente ?") == "l'année précédente"
    assert fresh.unanchored_year("What happened the year after 1990?") == ""  # the year is given
    assert fresh.unanchored_year("What happened next?") == ""
    assert _after("What was the budget in 2021?", "$3 million [1]", []).unanchored_year("And the year before?") == ""
