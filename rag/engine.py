"""The answer chain: question -> standalone question -> hybrid retrieval -> answer -> verification."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.answerers import Answerer, AnswerRequest, get_answerer, is_refusal, refusal
from rag.config import Settings
from rag.conversation import Conversation, Standalone, Turn
from rag.errors import EmptyQuestion
from rag.retrieval import HybridRetriever, Retrieved
from rag.text import guess_language, proper_names
from rag.verify import ClaimCheck, split_sentences, verify_answer

HISTORY_TOKENS = 1500  # conversation history handed to an LLM answerer


@dataclass
class Citation:
    """A numbered source the answer cites, with the exact passage quoted."""

    n: int
    doc_id: str
    title: str
    source: str
    chunk_id: str
    quote: str
    start: int  # character offsets of `quote` in the document text
    end: int
    page: int | None

    def to_json(self) -> dict[str, Any]:
        """As in `--json`."""
        return dict(self.__dict__)


@dataclass
class AnswerResult:
    """Everything about one answer; `to_json()` is the contract documented in the README."""

    question: str
    standalone_question: str
    answer: str
    refused: bool
    answerer: str
    language: str
    citations: list[Citation]
    sentences: list[ClaimCheck]
    retrieved: list[Retrieved]
    timings_ms: dict[str, float]
    unverified_answer: str | None = None  # the answerer's text when verification replaced it
    removed: list[str] = field(default_factory=list)  # sentences --strict took out
    suggestion: str = ""  # with a refusal: a question the user could ask instead ("" when none)
    note: str = ""  # the answerer's word beside its answer: a name read as the sources spell it ("" when none)
    trace: dict[str, Any] = field(default_factory=dict)  # the answerer's reasons (--trace), not in the JSON

    def to_json(self) -> dict[str, Any]:
        """One JSON object per answer."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "answer": self.answer,
            "refused": self.refused,
            "answerer": self.answerer,
            "language": self.language,
            "citations": [c.to_json() for c in self.citations],
            "sentences": [s.to_json() for s in self.sentences],
            "retrieved": [r.to_json() for r in self.retrieved],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "unverified_answer": self.unverified_answer,
            "removed": self.removed,
            "suggestion": self.suggestion or None,
            "note": self.note or None,
        }


class Engine:
    """Owns the store, the embedder and the retriever for a process; answers questions."""

    def __init__(self, settings: Settings) -> None:
        from rag.embedders import embedder_for
        from rag.stores import open_store

        self.settings = settings
        self.embedder = embedder_for(settings)
        self.retriever = HybridRetriever(open_store(settings), self.embedder, snapshot=settings.bm25_snapshot)
        self._answerers: dict[str, Answerer] = {}
        self._making = threading.Lock()

    def _answerer(self, name: str) -> Answerer:
        """The answerer called `name`, made once for the engine's life (one client per answerer).

        A question asked while `warm_up` is still making it waits for that one instead of making a second.
        """
        with self._making:
            if name not in self._answerers:
                self._answerers[name] = get_answerer(name, self.settings, self.embedder)
                from rag.checker import warm  # every answer is checked: the checker's models load with the answerer's

                warm()
            return self._answerers[name]

    def warm_up(self, answerer: str | None = None) -> None:
        """Load now what the first answer would wait for: about 2 s on 2 cores.

        That is the embedder, the models of `answerer` (default: the settings' one) and the checker's,
        the multilingual encoders that rank French questions, and the tokenizer that counts the history.
        It is for callers with idle time: the chat while its user types, the web page while it opens. A
        problem, such as a model missing from this install, is left for the first question to report in
        its own words.
        """
        from rag.conversation import count_tokens
        from rag.embedders.e5_encoder import graph_made, load_e5_encoder
        from rag.embedders.multilingual import load_multilingual

        try:
            self.embedder.embed_query("warm up")
            self._answerer(answerer or self.settings.answerer)
            load_multilingual()
            if graph_made():  # not made here: an index all in English never needs it (rag.retrieval)
                load_e5_encoder()
            count_tokens("warm up")  # a follow-up's history is counted in tokens
        except Exception:
            return

    def ask(
        self,
        question: str,
        conversation: Conversation | None = None,
        *,
        k: int | None = None,
        answerer: str | None = None,
        strict: bool = False,
        on_text: Callable[[str], None] | None = None,
    ) -> AnswerResult:
        """Answer one question (a follow-up of `conversation` if given), streaming text to `on_text`.

        Raises EmptyQuestion, EmptyIndexError, SettingsError, or AnswererError (server unreachable).
        """
        started = time.perf_counter()
        question = question.strip()
        if not question or not any(ch.isalnum() for ch in question):
            raise EmptyQuestion('the question is empty; usage: rag ask "QUESTION"')
        conversation = conversation if conversation is not None else Conversation()
        name = answerer or self.settings.answerer
        chosen = self._answerer(name)
        language = guess_language(question)
        pronoun = conversation.dangling(question)
        shift = "" if pronoun else conversation.unanchored_year(question)
        if pronoun or shift:
            return _clarify(question, pronoun or shift, language, name, started, CLARIFY_YEAR if shift else CLARIFY)
        standalone = self._standalone(question, conversation, chosen)
        t0 = time.perf_counter()
        sources = self.retriever.retrieve(standalone.text, k or self.settings.top_k)
        t1 = time.perf_counter()
        before = {r.chunk.id: self.retriever.text_before(r.chunk) for r in sources}
        request = AnswerRequest(question, standalone, language, sources, conversation.history(HISTORY_TOKENS), before)
        pieces = []
        for piece in chosen.answer(request):
            pieces.append(piece)
            if on_text:
                on_text(piece)
        raw = "".join(pieces).strip()
        t2 = time.perf_counter()
        result = self._verified(raw, request, chosen.name, strict)
        result.trace = request.trace
        t3 = time.perf_counter()
        result.timings_ms = {
            "retrieve": (t1 - t0) * 1000,
            "answer": (t2 - t1) * 1000,
            "verify": (t3 - t2) * 1000,
            "total": (t3 - started) * 1000,
        }
        subject = [] if result.refused else proper_names(result.answer.split("\n")[0])
        conversation.add(Turn(question, standalone.text, result.answer, subject, standalone.base))
        return result

    def _standalone(self, question: str, conversation: Conversation, answerer: Any) -> Standalone:
        condense = getattr(answerer, "condense", None)
        if condense is not None and conversation.is_follow_up(question):
            rewritten = str(condense(question, conversation.history(HISTORY_TOKENS)))
            return Standalone(rewritten, question, "", rewritten)
        return conversation.carry_subject(question)

    def _verified(self, raw: str, request: AnswerRequest, answerer: str, strict: bool) -> AnswerResult:
        by_number = {n: r.chunk for n, r in enumerate(request.sources, start=1)}
        refused_text = refusal(request.language)
        if not raw or raw == refused_text or is_refusal(raw):
            return AnswerResult(
                request.question,
                request.standalone.text,
                refusal(request.language, request.hint.text),
                True,
                answerer,
                request.language,
                [],
                [],
                list(request.sources),
                {},
                suggestion=request.hint.question,
                note=request.note,
            )
        checks = verify_answer(raw, by_number)
        answer, removed, unverified = raw, [], None
        if strict:
            removed = [c.text for c in checks if not c.supported]
            kept = [s for s, c in zip(split_sentences(raw), checks, strict=True) if c.supported]
            checks = [c for c in checks if c.supported]
            answer = "\n".join(kept)
        if not any(c.supported for c in checks):
            unverified, answer = raw, refused_text
        refused = answer == refused_text
        citations = [] if refused else _citations(checks, request.sources)
        return AnswerResult(
            request.question,
            request.standalone.text,
            answer,
            refused,
            answerer,
            request.language,
            citations,
            checks,
            list(request.sources),
            {},
            unverified,
            removed,
            note=request.note,
        )


CLARIFY = {
    "en": "Who or what do you mean by “{words}”? Ask again with the name.",
    "fr": "Qui ou quoi désignez-vous par « {words} » ? Reposez la question avec le nom.",
}
CLARIFY_YEAR = {
    "en": "Which year do you mean by “{words}”? Ask again with the year.",
    "fr": "Quelle année désignez-vous par « {words} » ? Reposez la question avec l'année.",
}


def _clarify(
    question: str, words: str, language: str, answerer: str, started: float, messages: dict[str, str]
) -> AnswerResult:
    """The answer to a first question that leans on an earlier turn there is none of: ask what is meant."""
    text = messages.get(language, messages["en"]).format(words=words)
    total = (time.perf_counter() - started) * 1000
    return AnswerResult(question, question, text, True, answerer, language, [], [], [], {"total": total})


def _citations(checks: list[ClaimCheck], sources: Sequence[Retrieved]) -> list[Citation]:
    """One entry per cited source, quoting the passage the verification matched (or the whole chunk)."""
    out: dict[int, Citation] = {}
    for check in sorted(checks, key=lambda c: -len(c.evidence)):  # the fullest passage quoted for each source
        for n in check.citations:
            if n in out or not 1 <= n <= len(sources):
                continue
            chunk = sources[n - 1].chunk
            quote = check.evidence if check.evidence and check.evidence in chunk.text else chunk.text
            at = chunk.text.find(quote)
            out[n] = Citation(
                n,
                chunk.doc_id,
                chunk.title,
                chunk.source,
                chunk.id,
                quote,
                chunk.start + at,
                chunk.start + at + len(quote),
                chunk.page or None,
            )
    return [out[n] for n in sorted(out)]
