"""The reader: a span-extraction head on multilingual e5-small (trained by eval/train_reader.py), run by onnxruntime.

For a question and a passage it scores every span of word pieces (start logit + end logit) and the
"no answer" option ([CLS] as start and end, SQuAD 2.0's convention). The answerer reads each retrieved
chunk once and uses, per candidate sentence, the best span inside it and its score, and, per question,
how far the best span beats "no answer". It reads English and French (rag.embedders.e5: the graph takes the
word pieces' vectors, read from the model file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rag.embedders.onnx import session

GRAPH = "reader.onnx"
MAX_PIECES = 256  # question and passage together; the model's window (its training used 192)
MAX_ANSWER_PIECES = 30


@dataclass(frozen=True)
class Span:
    """The best answer span the reader found in a stretch of text."""

    start: int  # character offsets in the passage
    end: int
    score: float  # start logit + end logit


@dataclass
class Reading:
    """One passage read against one question."""

    null: float  # the "no answer" score
    starts: Any  # per piece: start logit (passage pieces only meaningful)
    ends: Any
    offsets: list[tuple[int, int]]  # per piece: characters in the passage, (0, 0) for question and special pieces

    def best(self, begin: int = 0, finish: int | None = None) -> Span | None:
        """The best span lying inside characters [begin, finish) of the passage, or None."""
        import numpy as np

        pieces = [
            i for i, (a, b) in enumerate(self.offsets) if b > a and a >= begin and (finish is None or b <= finish)
        ]
        if not pieces:
            return None
        at = np.array(pieces)
        scores = self.starts[at][:, None] + self.ends[at][None, :]
        gap = at[None, :] - at[:, None]  # end piece minus start piece
        scores = np.where((gap >= 0) & (gap < MAX_ANSWER_PIECES), scores, -np.inf)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        return Span(self.offsets[pieces[i]][0], self.offsets[pieces[j]][1], float(scores[i, j]))


UNREAD = Reading(0.0, (), (), [])  # a passage the reader did not read: no span in it


class Reader:
    """The reader graph, and e5-small's tokenizer and word-piece table."""

    def __init__(self, graph: Path) -> None:
        """Load the int8 graph, the tokenizer and the model file."""
        from rag.embedders import e5

        self._model = e5.load()
        self._tokenizer = e5.tokenizer(self._model)
        self._tokenizer.enable_truncation(MAX_PIECES, strategy="only_second")
        self._tokenizer.enable_padding(pad_id=self._model.config["pad"], pad_token="<pad>")
        self._session = session(graph)

    def read(self, question: str, passages: Sequence[str]) -> list[Reading]:
        """Read every passage against the question, in one batch."""
        if not passages:
            return []
        import numpy as np

        encodings = self._tokenizer.encode_batch([(question, p) for p in passages])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        feeds = {
            "word_vectors": self._model.word_vectors(ids),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        starts, ends = self._session.run(None, feeds)
        out = []
        for k, e in enumerate(encodings):
            offsets = [
                _word(passages[k], o) if s == 1 else (0, 0) for o, s in zip(e.offsets, e.sequence_ids, strict=True)
            ]
            out.append(Reading(float(starts[k][0] + ends[k][0]), starts[k], ends[k], offsets))
        return out


def _word(text: str, offsets: tuple[int, int]) -> tuple[int, int]:
    """A piece's characters without the space a word's first piece stands for ("▁de" -> "de")."""
    start, end = offsets
    return (start + 1, end) if end - start > 1 and text[start].isspace() else (start, end)


@cache
def load_reader() -> Reader:
    """The reader shipped in the package (rag/data/reader.onnx). Raises RagError when this install lacks it."""
    from rag.errors import RagError

    graph = resources.files("rag.data").joinpath(GRAPH)
    if not graph.is_file():
        raise RagError(f"the answer reader {graph} is missing from this install; reinstall rag-assistant")
    return Reader(Path(str(graph)))
