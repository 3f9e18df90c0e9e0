import pytest

from rag.text import guess_language, proper_names, quantities, tokenize


def test_bm25_tokens_fold_case_accents_and_elisions_and_keep_numbers_whole() -> None:
    assert tokenize("L'échec de Llama 4 qu'on a vu : 14,3 milliards et 49% d'IA") == [
        "echec",
        "llama",
        "4",
        "vu",
        "14.3",
        "milliard",
        "49%",
        "ia",
    ]
    assert tokenize("Meta paid $14.3 billion for 49% of SCALE AI") == [
        "meta",
        "paid",
        "14.3",
        "billion",
        "49%",
        "scale",
        "ai",
    ]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("$14.3 Milliards", "$14.3 billion"),
        ("14,3 milliards de dollars", "$14.3 billion"),
        ("14.3 milliards", "$14.3 billion"),
        ("49%", "49 %"),
        ("32nd", "32ème"),
        ("troisième", "third"),
        ("$300.19 billion", "300,19 milliards de dollars"),
        ("1.3 million", "1,3 million"),
    ],
)
def test_the_same_figure_in_any_format_or_language(a: str, b: str) -> None:
    (qa,), (qb,) = quantities(a), quantities(b)
    assert qa.same(qb) and qb.same(qa)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("$14.3 billion", "$14.8 billion"),
        ("49%", "51%"),
        ("24th", "32nd"),
        ("$14.3 billion", "14.3%"),
        ("28 ans", "29 ans"),
    ],
)
def test_near_misses_differ(a: str, b: str) -> None:
    assert not quantities(a)[0].same(quantities(b)[0])


def test_model_names_are_not_figures_but_years_are() -> None:
    assert [q.text for q in quantities("Llama 4 shipped in April 2025 with GPT-4 rivals; En 2025 Amazon")] == [
        "2025",
        "2025",
    ]


def test_names_skip_sentence_starts_and_question_words() -> None:
    assert proper_names("According to Sam Altman, Meta made offers.") == ["Sam Altman", "Meta"]
    assert proper_names("Combien Meta a-t-il payé pour ScaleAI ?") == ["Meta", "ScaleAI"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How old is he?", "en"),
        ("Et quel âge a-t-il ?", "fr"),
        ("Qui dirige Meta ?", "fr"),
        ("Who is the CEO of Google?", "en"),
    ],
)
def test_question_language(text: str, language: str) -> None:
    assert guess_language(text) == language
