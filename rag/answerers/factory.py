"""Pick an answerer by name."""

from __future__ import annotations

from rag.answerers.base import Answerer
from rag.config import Settings
from rag.embedders import Embedder
from rag.errors import SettingsError

ANSWERERS = ("extractive", "openai")


def get_answerer(name: str, settings: Settings, embedder: Embedder) -> Answerer:
    """The answerer called `name` (the extractive one scores sentences with `embedder`).

    Raises SettingsError for an unknown name or missing configuration.
    """
    if name == "extractive":
        from rag.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(embedder.embed_sentences)
    if name == "openai":
        from rag.answerers.openai import OpenAIAnswerer

        return OpenAIAnswerer(settings)
    raise SettingsError(f"unknown answerer {name!r}; choose one of: {', '.join(ANSWERERS)}")
