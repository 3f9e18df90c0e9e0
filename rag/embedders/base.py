"""The embedder interface."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

ProgressFn = Callable[[int], None]


class Embedder(Protocol):
    """Turns text into unit vectors, and knows how much text it can read."""

    name: str
    multilingual: bool  # False: a question and a passage in different languages get meaningless similarities

    @property
    def dim(self) -> int:
        """Length of a vector."""
        ...

    @property
    def max_tokens(self) -> int:
        """The model's own word pieces it reads before truncating silently."""
        ...

    def count_tokens(self, text: str) -> int:
        """Word pieces the model spends on `text`, special tokens excluded."""
        ...

    def embed_documents(self, texts: Sequence[str], on_batch: ProgressFn | None = None) -> list[list[float]]:
        """Embed passages; `on_batch(n)` is called after each batch of n texts."""
        ...

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        ...

    def embed_sentences(self, texts: Sequence[str]) -> Any:
        """Embed short texts the way questions are embedded: a numpy array of unit vectors, one row each."""
        ...
