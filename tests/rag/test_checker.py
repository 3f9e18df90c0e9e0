"""The learned claim checker: each named feature on small pairs, the hard rules, a pinned retrain, floors."""

import json

import pytest

from rag.checker import (
    CONTRADICTED,
    SUPPORTED,
    UNSUPPORTED,
    WEIGHTS,
    analyze,
    check,
    claim_features,
    load_checker,
    trace,
)
from rag.verify import check_claim
from tests.conftest import SHARED, needs_claims

CLAIMS = SHARED / "claims"


def f(claim: str, evidence: str) -> dict[str, float]:
    return claim_features(claim, evidence)


# --- figures, dates, percentages ---------------------------------------------------------------------------


def test_figures_agree_across_formats_and_languages() -> None:
    en = f("The bridge cost $2.5 billion in 1998.", "Le pont a coûté 2,5 milliards de dollars en 1998.")
    assert en["figures_in_claim"] == 2 and en["figures_all_stated"] == 1 and en["figures_stated_share"] == 1
    assert en["figures_conflict"] == 0 and en["figures_missing"] == 0


def test_a_near_miss_figure_about_the_same_thing_is_a_conflict() -> None:
    a = analyze("The party won 51% of the vote.", "The party won 49% of the vote in the election.")
    assert a.features["figures_conflict"] == 1 and a.conflict == ("51%", "49%")
    fr = analyze("La ville compte 12 000 habitants.", "La ville compte 21 000 habitants selon le recensement.")
    assert fr.features["figures_conflict"] == 1


def test_a_figure_the_evidence_never_states_is_missing() -> None:
    feats = f("The museum has 300 paintings.", "The museum opened in the old railway station.")
    assert feats["figures_missing"] == 1 and feats["figures_all_stated"] == 0
    assert f("The museum is old.", "It opened in 1986.")["figures_in_evidence_only"] == 1


# --- months -------------------------------------------------------------------------------------------------


def test_months_agree_conflict_or_are_missing() -> None:
    assert f("The festival starts in July.", "Le festival commence en juillet.")["months_agree"] == 1
    assert f("The festival starts in July.", "The festival starts in June.")["months_conflict"] == 1
    assert f("Le festival commence en mai.", "Le festival commence bientôt.")["months_missing"] == 1


# --- names --------------------------------------------------------------------------------------------------


def test_names_are_found_as_written_or_as_acronyms() -> None:
    assert f("Maria Lopez chairs the board.", "The board is chaired by Maria Lopez.")["names_missing"] == 0
    assert f("Peter Novak chairs the board.", "The board is chaired by Maria Lopez.")["names_missing"] == 1
    acronym = f("The NHS issued a warning.", "The National Health Service issued a warning.")
    assert acronym["names_in_claim"] == 1 and acronym["names_missing"] == 0
    spelled = f("Le Parti Socialiste a protesté.", "Le PS a protesté contre la réforme.")
    assert spelled["names_in_claim"] == 1 and spelled["names_missing"] == 0
    assert f("Tous les ponts sont fermés.", "Deux ponts sont fermés.")["names_in_claim"] == 0


# --- words --------------------------------------------------------------------------------------------------


def test_word_coverage_uses_folding_and_the_lexicon() -> None:
    feats = f("The company announced a loss.", "L'entreprise a annoncé une perte.")
    assert feats["coverage"] == 1.0 and feats["coverage_best_sentence"] == 1.0 and feats["absent_words"] == 0
    partial = f("The river floods the valley every spring.", "The river crosses the valley. It is long.")
    assert partial["coverage_best_sentence"] == pytest.approx(2 / 5) and partial["absent_words"] == 3
    assert partial["bigram_coverage"] == 0
    assert f("The river floods the valley.", "Each spring the river floods the plain.")["bigram_coverage"] == 0.5


def test_negation_in_one_text_only() -> None:
    assert f("The bridge was not rebuilt.", "The bridge was rebuilt in 1950.")["negation_claim_only"] == 1
    assert f("The bridge was rebuilt.", "The bridge was never rebuilt.")["negation_evidence_only"] == 1
    assert f("Le pont n'a pas été reconstruit.", "Le pont a été reconstruit.")["negation_claim_only"] == 1
    assert f("The bridge wasn't rebuilt.", "The bridge was not rebuilt.")["negation_count_differs"] == 0


def test_quantifier_and_antonym_cues() -> None:
    assert f("Only two bridges cross the river.", "Two bridges cross the river.")["cue_only"] == 1
    assert f("Tous les ponts sont fermés.", "Deux ponts sont fermés.")["cue_all"] == 1
    assert f("It has more than ten rooms.", "It has ten rooms.")["cue_more_than"] == 1
    assert f("Il compte moins de dix salles.", "Il compte dix salles.")["cue_less_than"] == 1
    assert f("She was the first mayor.", "She was the second mayor.")["cue_first"] == 1
    a = analyze("The tower was built before the war.", "The tower was built after the war.")
    assert a.features["antonym_swap"] == 1 and a.antonym == ("before", "after")


def test_dense_cosine_only_with_an_encoder() -> None:
    assert "dense_cosine" not in f("A cat sleeps.", "A cat sleeps on the mat.")

    def encode(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts]

    assert claim_features("A cat sleeps.", "A cat sleeps on the mat.", encode)["dense_cosine"] == 1.0


# --- verdicts -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("The bridge was never rebuilt after the war.", "The bridge was never rebuilt after the war. It fell."),
        ("Le musée ferme le lundi", "Horaires. Le musée ferme le lundi. Entrée libre."),
        # A quoted question, its French space before "?" lost on the way: still the source's words.
        ("Le pont tiendra-t-il encore dix ans?", "Tout le monde se le demande. Le pont tiendra-t-il encore dix ans ?"),
    ],
)
def test_a_verbatim_quote_is_always_supported(claim: str, evidence: str) -> None:
    assert check_claim(claim, evidence) == (SUPPORTED, "quoted verbatim from the source", claim)


def test_no_evidence_is_unsupported() -> None:
    assert check("Anything at all here.", "  ")[0] == UNSUPPORTED


def test_a_contradicted_figure_names_both_figures() -> None:
    verdict, reason, where = check_claim(
        "The party won 51% of the vote.", "The party won 49% of the vote in the election. It was close."
    )
    assert verdict == CONTRADICTED and reason == "the evidence says 49%, not 51%"
    assert where == "The party won 49% of the vote in the election."


def test_the_reason_names_the_deciding_features() -> None:
    verdict, reason, _ = check_claim("The bridge cost $2.5 billion.", "The new bridge cost $2.5 billion to build.")
    assert verdict == SUPPORTED and "2.5 billion" in reason


OPTIONAL = {"dense_cosine", "nli_supported", "nli_contradicted"}  # computed only when their model is given


def test_weights_file_matches_the_feature_function() -> None:
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    checker = load_checker()
    assert sorted(f("A b c.", "A b c d.")) == sorted(n for n in checker.features if n not in OPTIONAL)
    assert checker.entails and 0.5 <= data["contradiction_above"] < 1
    assert set(data["stages"]["support"]["coefficients"]) == {SUPPORTED, "not supported"}
    assert set(data["stages"]["conflict"]["coefficients"]) == {CONTRADICTED, UNSUPPORTED}
    assert checker.support.labels == (SUPPORTED, "not supported") or checker.support.labels[1] == SUPPORTED
    assert len(data["training"]["data_sha256"]) == 64 and "sha256(group)" in data["training"]["split"]


def test_dense_cosine_through_the_checker_stays_optional() -> None:
    # The shipped weights do not read the dense cosine (measured: +0.006 English, -0.014 French in
    # cross-validation, for about 24 ms a claim): the checker never loads an embedder.
    assert not load_checker().dense


# --- the training script ------------------------------------------------------------------------------------


@needs_claims
def test_a_retrain_on_a_fixed_sample_gives_the_same_weights_twice() -> None:
    from eval.train_checker import dump, is_dev, load_pairs, weights_for

    rows = [r for r in load_pairs(CLAIMS) if not is_dev(r["group"])][::25]
    first, second = dump(weights_for(rows, select=False)), dump(weights_for(rows, select=False))
    assert first == second
    weights = json.loads(first)
    assert weights["features"] == sorted(claim_features("A b c.", "A b c d."))
    assert set(weights["stages"]) == {"support", "conflict"}


@needs_claims
@pytest.mark.parametrize(
    ("language", "step", "floor", "contradicted_floor"), [("en", 4, 0.64, 0.45), ("fr", 2, 0.68, 0.5)]
)
def test_floor_on_the_dev_split(language: str, step: int, floor: float, contradicted_floor: float) -> None:
    # Pairs never trained on (dev: a hash of the group). Measured with the shipped weights and entailment
    # model: supported-vs-not 0.668 on 396 English pairs, 0.709 on 193 French pairs; the floor is 0.03 under.
    from eval.train_checker import balanced_supported, contradicted_flagged, featurize, is_dev, load_pairs, predict
    from rag.checker import entailment

    rows = [r for r in load_pairs(CLAIMS) if is_dev(r["group"]) and r["language"] == language][::step]
    pred = predict(load_checker(), featurize(rows, "claim", "evidence", None, entailment()))
    gold = [r["label"] for r in rows]
    assert (balanced_supported(gold, pred) or 0.0) >= floor
    assert (contradicted_flagged(gold, pred) or 0.0) >= contradicted_floor


def test_floor_on_the_projects_own_claims() -> None:
    # eval/claims.jsonl is never trained on: supported against not supported measured 0.919 (3-way: 0.896,
    # pinned in tests/eval/test_metrics.py).
    from eval.train_checker import CLAIMS, balanced_supported

    rows = [json.loads(line) for line in CLAIMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    pred = [check_claim(r["claim"], r["context"])[0] for r in rows]
    assert (balanced_supported([r["label"] for r in rows], pred) or 0.0) >= 0.89


def test_trace_shows_every_feature_and_its_pull() -> None:
    rows = trace("The bridge was not rebuilt.", "The bridge was rebuilt in 1950.")
    pulls = [abs(r[2]) for r in rows]
    assert pulls == sorted(pulls, reverse=True) and len(rows) == len(load_checker().features)
    negation = next(r for r in rows if r[0] == "negation_claim_only")
    assert negation[1] == 1 and negation[2] < 0  # a negation the evidence lacks pulls away from supported
