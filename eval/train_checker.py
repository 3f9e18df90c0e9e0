"""Train the claim checker's weights from the shared claim-verification pairs, and report on held-out pairs.

    python -m eval.train_checker --data ../shared/claims --out rag/data/checker.json

Pairs are split by `group` (a hash of the group string: 25% dev, never trained on), so no claim or
evidence text is on both sides. The weighting and the regularization are chosen by grouped
cross-validation inside the train split; the dev split and `eval/claims.jsonl` are only reported.
The output file is the same bit for bit on every run over the same data.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.checker import (
    LABELS,
    NOT_SUPPORTED,
    SUPPORTED,
    Checker,
    Encoder,
    analyze,
    default_encoder,
    entailment_contradicts,
    guard,
)
from rag.entailment import Entailment
from rag.verify import strip_markup

FILES = ("en.jsonl", "fr.jsonl")
DEV_PERCENT = 25
STACK = range(25, 45)  # hash buckets of the checker's weights when it reads the entailment model
SPLIT_RULE = f"dev when int(sha256(group)[:8], 16) % 100 < {DEV_PERCENT}, else train"
CLAIMS = Path(__file__).with_name("claims.jsonl")
C_VALUES = (0.01, 0.1, 1.0)
SCHEMES = ("label", "source_label")
FOLDS = 4
PRECISION = 6


def _bucket(group: str) -> int:
    """Where a group falls, 0-99, by a hash of its name."""
    return int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) % 100


def is_dev(group: str) -> bool:
    """The split: a pair is in dev when the hash of its group falls in the first quarter."""
    return _bucket(group) < DEV_PERCENT


def split_of(group: str) -> str:
    """'dev', 'stack' or 'nli' for a pair's group.

    Outside dev, the entailment model (eval/train_nli.py) learns from the 'nli' pairs; the checker's
    weights learn from the 'stack' pairs, where its probabilities are as on pairs it never saw.
    """
    return "dev" if is_dev(group) else "stack" if _bucket(group) in STACK else "nli"


def source_family(source: str) -> str:
    """One name per data set, joining its dev and test files ("fool-me-twice", "BEGIN-dataset/wow", ...)."""
    repo, _, path = source.partition(":")
    name = repo.split("/")[-1]
    return f"{name}/{path.split('/')[0]}" if name == "BEGIN-dataset" else name


def load_pairs(data: Path, files: Sequence[str] = FILES) -> list[dict[str, Any]]:
    """Every pair of the data files, with its language (the file's name) and source family."""
    rows = []
    for name in files:
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["language"] = name.split(".")[0]
                row["family"] = source_family(row["source"])
                rows.append(row)
    return rows


def data_sha256(data: Path, files: Sequence[str] = FILES) -> str:
    """One hash over the data files, in order."""
    digest = hashlib.sha256()
    for name in files:
        digest.update((data / name).read_bytes())
    return digest.hexdigest()


def featurize(
    rows: Sequence[dict[str, Any]],
    claim_key: str,
    evidence_key: str,
    encode: Encoder | None,
    entail: Entailment | None = None,
) -> list:
    """The feature dict of every row, as the run-time checker computes it."""
    from tqdm import tqdm

    shown = tqdm(rows, desc="features", unit="pair", file=sys.stderr, disable=not sys.stderr.isatty())
    return [analyze(strip_markup(r[claim_key]), r[evidence_key], encode, entail).features for r in shown]


def sample_weights(rows: Sequence[dict[str, Any]], labels: Sequence[str], scheme: str) -> list[float]:
    """Per-pair weights: none; each label of a language weighs the same; or each label of a source does."""
    if scheme == "none":
        return [1.0] * len(rows)
    key = "language" if scheme == "label" else "family"
    cells = Counter((r[key], y) for r, y in zip(rows, labels, strict=True))
    sizes = Counter(r[key] for r in rows)
    labels_in = {k: sum(1 for c in cells if c[0] == k) for k in sizes}
    return [sizes[r[key]] / (labels_in[r[key]] * cells[(r[key], y)]) for r, y in zip(rows, labels, strict=True)]


def conflict_sources(rows: Sequence[dict[str, Any]]) -> set[str]:
    """Sources with both contradicted and unsupported pairs: only they can teach the difference.

    Elsewhere the label says which data set a pair comes from (FM2 has no unsupported pair, BEGIN no
    contradicted one), and a model would learn the source's style instead of the relation.
    """
    labels: dict[str, set[str]] = {}
    for r in rows:
        labels.setdefault(r["family"], set()).add(r["label"])
    return {family for family, seen in labels.items() if {"contradicted", "unsupported"} <= seen}


def fit_checker(
    rows: Sequence[dict[str, Any]], matrix: Sequence[list[float]], names: list[str], scheme: str, c: float
) -> dict[str, Any]:
    """Both stages: supported or not on every pair; contradicted or unsupported on the conflict sources."""
    support_y = [SUPPORTED if r["label"] == SUPPORTED else NOT_SUPPORTED for r in rows]
    sources = conflict_sources(rows)
    chosen = [i for i, r in enumerate(rows) if r["family"] in sources and r["label"] != SUPPORTED]
    conflict_rows = [rows[i] for i in chosen]
    conflict_y = [r["label"] for r in conflict_rows]
    return {
        "features": names,
        "stages": {
            "support": fit(list(matrix), support_y, sample_weights(rows, support_y, scheme), c),
            "conflict": fit(
                [matrix[i] for i in chosen], conflict_y, sample_weights(conflict_rows, conflict_y, scheme), c
            ),
        },
    }


def fit(matrix: list[list[float]], labels: list[str], weights: list[float], c: float) -> dict[str, Any]:
    """Standardize, fit a logistic regression, and return its parameters (rounded), one row per label."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one thread: the same sums
        os.environ.setdefault(var, "1")  # (read when numpy loads: the command sets them first, in main)
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array(matrix, dtype=np.float64)
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, tol=1e-8)
    model.fit((x - means) / scales, labels, sample_weight=np.array(weights))
    classes = [str(c) for c in model.classes_]
    if len(classes) == 2:  # one row of weights for the second class; the first class scores 0
        coef = [np.zeros(x.shape[1]), model.coef_[0]]
        intercept = [0.0, model.intercept_[0]]
    else:
        coef, intercept = list(model.coef_), list(model.intercept_)
    return {
        "labels": classes,
        "means": [_round(v) for v in means],
        "scales": [_round(v) for v in scales],
        "coefficients": {label: [_round(v) for v in coef[i]] for i, label in enumerate(classes)},
        "intercepts": {label: _round(intercept[i]) for i, label in enumerate(classes)},
    }


def _round(value: float) -> float:
    return round(float(value), PRECISION) + 0.0  # + 0.0: never "-0.0"


def predict(checker: Checker, features: Sequence[dict[str, float]]) -> list[str]:
    """The run-time verdicts: the rules of `rag.checker.guard` first, the model for the rest."""
    return [guard(f, checker) or checker.predict(f) for f in features]


# --- scores ---------------------------------------------------------------------------------------------


def balanced_supported(gold: Sequence[str], pred: Sequence[str]) -> float | None:
    """Balanced accuracy of supported against not supported; None when one side has no pair."""
    pos = [p == SUPPORTED for g, p in zip(gold, pred, strict=True) if g == SUPPORTED]
    neg = [p != SUPPORTED for g, p in zip(gold, pred, strict=True) if g != SUPPORTED]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(neg) / len(neg)) / 2


def balanced_three(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Mean recall of the labels present (what `rag eval` reports as scorer_balanced_accuracy)."""
    recalls = []
    for label in LABELS:
        chosen = [p == label for g, p in zip(gold, pred, strict=True) if g == label]
        if chosen:
            recalls.append(sum(chosen) / len(chosen))
    return sum(recalls) / len(recalls)


def contradicted_flagged(gold: Sequence[str], pred: Sequence[str]) -> float | None:
    """Share of contradicted pairs the checker calls contradicted."""
    chosen = [p == "contradicted" for g, p in zip(gold, pred, strict=True) if g == "contradicted"]
    return sum(chosen) / len(chosen) if chosen else None


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def confusion(gold: Sequence[str], pred: Sequence[str]) -> list[str]:
    """A 3-way confusion table (rows gold, columns predicted) as text lines."""
    counts = Counter(zip(gold, pred, strict=True))
    lines = ["gold \\ predicted  " + "".join(f"{label:>14}" for label in LABELS)]
    for g in LABELS:
        if any(counts[(g, p)] for p in LABELS):
            lines.append(f"{g:<18}" + "".join(f"{counts[(g, p)]:>14}" for p in LABELS))
    return lines


def report_block(title: str, gold: Sequence[str], pred: Sequence[str]) -> list[str]:
    """Scores and confusion table of one slice."""
    head = (
        f"{title}: n={len(gold)}  balanced acc supported-vs-not {_fmt(balanced_supported(gold, pred))}  "
        f"3-way {balanced_three(gold, pred):.3f}  contradicted flagged {_fmt(contradicted_flagged(gold, pred))}"
    )
    return [head, *("    " + line for line in confusion(gold, pred))]


# --- model selection inside the train split -------------------------------------------------------------


def cross_validate(rows: list[dict[str, Any]], matrix: list[list[float]], names: list[str]) -> tuple[str, float]:
    """The weighting scheme and C with the best grouped cross-validated score on the train split."""
    folds = [int(hashlib.sha256(r["group"].encode()).hexdigest()[8:16], 16) % FOLDS for r in rows]
    best: tuple[float, str, float] = (-1.0, "", 0.0)
    for scheme in SCHEMES:
        for c in C_VALUES:
            gold: list[str] = []
            pred: list[str] = []
            langs: list[str] = []
            for k in range(FOLDS):
                train = [i for i, f in enumerate(folds) if f != k]
                test = [i for i, f in enumerate(folds) if f == k]
                checker = Checker.from_json(
                    fit_checker([rows[i] for i in train], [matrix[i] for i in train], names, scheme, c)
                )
                feats = [dict(zip(names, matrix[i], strict=True)) for i in test]
                pred += predict(checker, feats)
                gold += [rows[i]["label"] for i in test]
                langs += [rows[i]["language"] for i in test]
            score = _selection_score(gold, pred, langs)
            print(f"  cv scheme={scheme:<12} C={c:<5} score {score:.4f}", file=sys.stderr)
            if score > best[0]:
                best = (score, scheme, c)
    return best[1], best[2]


def _selection_score(gold: list[str], pred: list[str], langs: list[str]) -> float:
    """Mean over languages of supported-vs-not balanced accuracy: the decision every answer sentence gets.

    The contradicted share is not in it: the second stage learns only from the conflict sources, so the
    other sources' "contradicted" (often content the evidence lacks) does not measure it.
    """
    parts = []
    for lang in ("en", "fr"):
        g = [x for x, la in zip(gold, langs, strict=True) if la == lang]
        p = [x for x, la in zip(pred, langs, strict=True) if la == lang]
        parts.append(balanced_supported(g, p) or 0.0)
    return sum(parts) / len(parts)


CONTRADICTED_FLAGGED = 0.5  # the share of contradicted training pairs the threshold keeps, in each language


def contradiction_threshold(rows: Sequence[dict[str, Any]], features: Sequence[dict[str, float]]) -> float:
    """The entailment probability from which "contradicted" is said, chosen on `rows`.

    The highest that still flags half of the contradicted pairs in each language: the higher it is, the
    fewer other pairs are called contradicted.
    """
    chosen = 0.5
    for step in range(10, 19):  # 0.50 to 0.90
        at = step / 20
        shares = []
        for lang in sorted({r["language"] for r in rows}):
            flags = [
                entailment_contradicts(f, at)
                for r, f in zip(rows, features, strict=True)
                if r["language"] == lang and r["label"] == "contradicted"
            ]
            shares.append(sum(flags) / len(flags) if flags else 1.0)
        if min(shares) >= CONTRADICTED_FLAGGED:
            chosen = at
    return chosen


# --- the command ------------------------------------------------------------------------------------------


def train(
    data: Path,
    files: Sequence[str] = FILES,
    dense: bool = False,
    select: bool = True,
    entail: Entailment | None = None,
) -> dict[str, Any]:
    """The weights file's content, trained on the train split of `data`'s pairs.

    With the entailment model, only on the pairs it did not learn from (eval/train_nli.py's 'stack' split):
    its probabilities on pairs it was trained on would be overconfident.
    """
    rows = [r for r in load_pairs(data, files) if not is_dev(r["group"])]
    if entail is not None:
        rows = [r for r in rows if split_of(r["group"]) == "stack"]
    weights = weights_for(rows, dense, select, entail)
    weights["training"] |= {"files": list(files), "data_sha256": data_sha256(data, files)}
    if entail is not None:
        weights["training"]["split"] += "; the weights learn from eval/train_nli.py's 'stack' pairs only"
    return weights


def weights_for(
    rows: Sequence[dict[str, Any]], dense: bool = False, select: bool = True, entail: Entailment | None = None
) -> dict[str, Any]:
    """Both stages fitted on `rows` (weighting and C chosen by grouped cross-validation when `select`)."""
    rows = list(rows)
    features = featurize(rows, "claim", "evidence", default_encoder() if dense else None, entail)
    names = sorted(features[0])
    matrix = [[f[n] for n in names] for f in features]
    scheme, c = cross_validate(rows, matrix, names) if select else ("label", 0.01)
    fitted = fit_checker(rows, matrix, names, scheme, c)
    if entail is not None:
        fitted["contradiction_above"] = contradiction_threshold(rows, features)
    return {
        "model": "two logistic regressions over standardized features: supported or not, then contradicted or not",
        **fitted,
        "training": {
            "split": SPLIT_RULE,
            "train_pairs": len(rows),
            "weighting": scheme,
            "C": c,
            "conflict_sources": sorted(conflict_sources(rows)),
            "rules": "rag.checker.guard decides before the model",
        },
    }


def dump(weights: dict[str, Any]) -> str:
    """The weights as the file holds them: sorted keys, fixed indentation, one line per list."""
    return json.dumps(weights, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def report(
    checker: Checker, data: Path, files: Sequence[str] = FILES, dense: bool = False, entail: Entailment | None = None
) -> list[str]:
    """Scores on the dev split (per language and per source) and on `eval/claims.jsonl`."""
    encode = default_encoder() if dense else None
    rows = [r for r in load_pairs(data, files) if is_dev(r["group"])]
    pred = predict(checker, featurize(rows, "claim", "evidence", encode, entail))
    lines = [f"dev split ({SPLIT_RULE}): {len(rows)} pairs"]
    for key in ("language", "family"):
        for value in sorted({r[key] for r in rows}):
            chosen = [i for i, r in enumerate(rows) if r[key] == value]
            lines += report_block(value, [rows[i]["label"] for i in chosen], [pred[i] for i in chosen])
    own = [json.loads(line) for line in CLAIMS.read_text(encoding="utf-8").splitlines() if line.strip()]
    own_pred = predict(checker, featurize(own, "claim", "context", encode, entail))
    lines += report_block("eval/claims.jsonl (never trained on)", [r["label"] for r in own], own_pred)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Train, write the weights file, print the report."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    parser = argparse.ArgumentParser(prog="python -m eval.train_checker", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/claims"), help="folder with en.jsonl, fr.jsonl")
    parser.add_argument("--out", type=Path, default=Path("rag/data/checker.json"), help="the weights file to write")
    parser.add_argument("--dense", action="store_true", help="add the MiniLM cosine feature")
    parser.add_argument("--nli", type=Path, help="add the entailment model's probabilities (this ONNX graph)")
    args = parser.parse_args(argv)
    entail = Entailment.load(args.nli) if args.nli else None
    weights = train(args.data, dense=args.dense, entail=entail)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(dump(weights), encoding="utf-8")
    print(f"wrote {args.out} ({len(weights['features'])} features, weighting {weights['training']['weighting']})")
    for line in report(Checker.from_json(weights), args.data, dense=args.dense, entail=entail):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
