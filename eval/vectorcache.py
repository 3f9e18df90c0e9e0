"""Embeddings computed once and kept on disk, keyed by corpus seed and model, looked up by chunk text.

Encoding the 100k-chunk corpus takes about an hour on two cores; the seeded corpus gives the same chunk
texts every time, hence the same vectors. One file per (seed, model) serves every corpus size and chunk
setting, because a vector is found by the hash of the exact text it embeds.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.text import file_slug

KEY_CHARS = 32  # of the SHA-256 hex digest: no collision in any corpus this will see


class VectorCacheError(RagError):
    """A cache file that cannot be read or belongs to another seed or model."""


def text_key(text: str) -> str:
    """The cache key of a chunk text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_CHARS]


def cache_path(directory: Path, seed: int, model: str) -> Path:
    """The cache file of one corpus seed and model."""
    return directory / f"vectors-{file_slug(model)}-seed{seed}.npz"


class VectorCache:
    """Unit vectors by chunk text, for one corpus seed and one model, in one .npz file."""

    def __init__(self, directory: Path, seed: int, model: str) -> None:
        import numpy as np

        self.path = cache_path(directory, seed, model)
        self.seed = seed
        self.model = model
        self._index: dict[str, int] = {}
        self._blocks: list[Any] = []  # float32 arrays, concatenated on save
        self._rows = 0
        self._dirty = False
        if self.path.is_file():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
                    seed_, model_ = int(data["seed"]), str(data["model"])
            except (OSError, KeyError, ValueError) as exc:
                raise VectorCacheError(f"{self.path}: unreadable vector cache ({exc}); delete it to rebuild") from None
            if (seed_, model_) != (seed, model):
                raise VectorCacheError(f"{self.path} holds seed {seed_} / {model_!r}, not seed {seed} / {model!r}")
            self._index = {str(k): i for i, k in enumerate(keys)}
            self._blocks = [vectors.astype(np.float32, copy=False)]
            self._rows = len(keys)

    def __len__(self) -> int:
        return self._rows

    def _matrix(self) -> Any:
        import numpy as np

        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        return self._blocks[0] if self._blocks else np.zeros((0, 0), dtype=np.float32)

    def get(self, texts: Sequence[str]) -> tuple[dict[int, Any], list[int]]:
        """The vectors found, by position in `texts`, and the positions of the texts not in the cache."""
        matrix = self._matrix()
        found, missing = {}, []
        for i, text in enumerate(texts):
            row = self._index.get(text_key(text))
            if row is None:
                missing.append(i)
            else:
                found[i] = matrix[row]
        return found, missing

    def put(self, texts: Sequence[str], vectors: Any) -> None:
        """Remember `vectors` (one row per text); texts already cached are left as they are."""
        import numpy as np

        vectors = np.asarray(vectors, dtype=np.float32)
        fresh: list[int] = []
        for i, text in enumerate(texts):
            key = text_key(text)
            if key not in self._index:
                self._index[key] = self._rows + len(fresh)
                fresh.append(i)
        if fresh:
            self._blocks.append(vectors[fresh])
            self._rows += len(fresh)
            self._dirty = True

    def vectors(self, texts: Sequence[str], encode: Callable[[list[str]], Any]) -> Any:
        """A float32 matrix, one row per text: cached rows, the others encoded now and remembered."""
        import numpy as np

        found, missing = self.get(texts)
        if missing:
            fresh = np.asarray(encode([texts[i] for i in missing]), dtype=np.float32)
            self.put([texts[i] for i in missing], fresh)
            found.update(zip(missing, fresh, strict=True))
        return np.stack([found[i] for i in range(len(texts))]) if texts else np.zeros((0, 0), dtype=np.float32)

    def save(self) -> None:
        """Write the cache if it changed; atomic (a kill leaves the previous file whole)."""
        import numpy as np

        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._index, key=self._index.__getitem__), dtype=f"<U{KEY_CHARS}")
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, keys=keys, vectors=self._matrix(), seed=np.int64(self.seed), model=np.str_(self.model))
        os.replace(tmp, self.path)
        self._dirty = False
