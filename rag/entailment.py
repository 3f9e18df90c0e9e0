"""The entailment model: whether a passage supports a claim, contradicts it, or leaves it open.

A 3-way classifier head on the bundled MiniLM (trained by eval/train_nli.py on public claim-verification
pairs, English and French), shipped as an int8 ONNX graph and run by onnxruntime. It reads the evidence
and the claim as one pair; its probabilities are two of the claim checker's named features.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rag.embedders.onnx import bundled_tokenizer, feeds, session

GRAPH = "nli.onnx"
LABELS = ("supported", "contradicted", "unsupported")  # the graph's logits, in this order
MAX_PIECES = 256  # evidence and claim together; the evidence is cut when longer
WINDOW = 1200  # characters of evidence around its best sentence, when the evidence is longer


@dataclass(frozen=True)
class Entailment:
    """The graph and the bundled model's tokenizer."""

    session: Any
    tokenizer: Any

    @classmethod
    def load(cls, graph: Path) -> Entailment:
        """Load the int8 graph at `graph` and the bundled model's word-piece tokenizer."""
        from tokenizers import Tokenizer

        words = Tokenizer.from_file(str(bundled_tokenizer()))
        words.enable_truncation(MAX_PIECES, strategy="only_first")
        words.no_padding()
        return cls(session(graph, threads=1), words)  # one claim at a time: a second thread costs more than it gives

    def probabilities(self, evidence: str, claim: str, sentence: str = "") -> dict[str, float]:
        """P(label) for the claim against the evidence; long evidence is read around `sentence` (its best one)."""
        import numpy as np

        encoding = self.tokenizer.encode(window(evidence, sentence), claim)
        logits = self.session.run(None, feeds([encoding]))[0][0].astype("float64")
        exp = np.exp(logits - logits.max())
        return {label: round(float(p), 4) for label, p in zip(LABELS, exp / exp.sum(), strict=True)}


def window(evidence: str, sentence: str) -> str:
    """The evidence, or WINDOW characters of it centred on `sentence` when it is longer."""
    if len(evidence) <= WINDOW:
        return evidence
    at = max(0, evidence.find(sentence)) if sentence else 0
    start = max(0, min(at - (WINDOW - len(sentence)) // 2, len(evidence) - WINDOW))
    return evidence[start : start + WINDOW]


@cache
def load_entailment() -> Entailment | None:
    """The model shipped in the package (rag/data/nli.onnx), or None when this install lacks it."""
    graph = resources.files("rag.data").joinpath(GRAPH)
    if not graph.is_file():
        return None
    return Entailment.load(Path(str(graph)))
