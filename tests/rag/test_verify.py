import pytest

from rag.chunks import Chunk
from rag.verify import CONTRADICTED, SUPPORTED, UNSUPPORTED, check_claim, split_sentences, verify_answer

ARTICLE = (
    "Entre les bonus de signature atteignant 100 millions de dollars, les soupçons de triche de leur dernier "
    "modèle et la récente acquisition de 49% de ScaleAI pour $14.3 Milliards, Meta sort le chèque."
)
RELATED = "Meta announced on Thursday, 12 June 2025, that it would pay $14.3 billion for a 49% stake in Scale AI."


def chunk(text: str) -> Chunk:
    return Chunk(id="d:1", doc_id="d", text=text, start=0, end=len(text), position=0, doc_hash="h", n_chunks=1)


@pytest.mark.parametrize(
    ("claim", "evidence", "verdict"),
    [
        ("Meta paid $14.3 billion for 49% of ScaleAI.", ARTICLE, SUPPORTED),
        ("Meta a payé 14,3 milliards de dollars pour 49 % de Scale AI.", RELATED, SUPPORTED),
        ("Meta paid $14.8 billion for 49% of ScaleAI.", ARTICLE, CONTRADICTED),
        ("Meta a acquis 51 % de Scale AI.", RELATED, CONTRADICTED),
        ("The deal was announced in July 2025.", RELATED, CONTRADICTED),
        ("Scale AI's revenue was $870 million.", RELATED, UNSUPPORTED),
        ("Google invested in Scale AI.", RELATED, UNSUPPORTED),
        # A count in words counts things: the 4 of "llama 4" is not four models.
        (
            "La génération Llama 4 se compose de quatre modèles de tailles différentes.",
            "Le lancement de llama 4 en avril. Composée de trois modèles de tailles différentes, cette génération.",
            CONTRADICTED,
        ),
        (
            "Only two Llama 4 models were released.",
            "Two models shipped at launch, Llama 4 Scout and Maverick.",
            SUPPORTED,
        ),
    ],
)
def test_claims_in_both_languages(claim: str, evidence: str, verdict: str) -> None:
    assert check_claim(claim, evidence)[0] == verdict


def test_every_sentence_needs_a_citation_to_a_retrieved_source() -> None:
    sources = {1: chunk(ARTICLE), 2: chunk(RELATED)}
    checks = verify_answer(
        "Meta paid $14.3 billion [2]. It bought 49% of ScaleAI [1]. It was a good deal. Wang is 28 [7].", sources
    )
    # The learned checker names the features that decided (was: "its figures and names are in the source").
    assert [(c.verdict, c.reason) for c in checks] == [
        (SUPPORTED, "figures $14.3 billion found; 100% of its words in the evidence"),
        (SUPPORTED, "figures 49% found; 100% of its words in the evidence"),
        (UNSUPPORTED, "no citation"),
        (UNSUPPORTED, "cites [7], which is not a retrieved source"),
    ]
    assert [c.citations for c in checks] == [[2], [1], [], [7]]


def test_quoted_sentences_keep_their_marker() -> None:
    text = "$14.3 billion [1]\n« Meta sort le chèque. » [1]\nM. Zuckerberg a 41 ans [2]."
    assert split_sentences(text) == ["$14.3 billion [1]", "« Meta sort le chèque. » [1]", "M. Zuckerberg a 41 ans [2]."]


def test_initials_and_short_forms_end_no_sentence() -> None:
    text = (
        "The U.S. Navy hired John F. Smith in 1990. He cites Jones et al. in his thesis. "
        "The ruling in Brown v. Board came later. The fort dates from 1100 av. J.-C. Il fut détruit. "
        "The war was World War I. Then peace came."
    )
    assert split_sentences(text) == [
        "The U.S. Navy hired John F. Smith in 1990.",
        "He cites Jones et al. in his thesis.",
        "The ruling in Brown v. Board came later.",
        "The fort dates from 1100 av. J.-C.",
        "Il fut détruit.",
        "The war was World War I.",
        "Then peace came.",
    ]
