"""Pick an answerer by name."""

from __future__ import annotations

from rag.answerers.base import Answerer
from rag.config import Settings
from rag.errors import SettingsError

ANSWERERS = ("extractive", "openai")


def get_answerer(name: str, settings: Settings) -> Answerer:
    """The answerer called `name`. Raises SettingsError for an unknown name or missing configuration."""
    if name == "extractive":
        from rag.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    if name == "openai":
        from rag.answerers.openai import OpenAIAnswerer

        return OpenAIAnswerer(settings)
    raise SettingsError(f"unknown answerer {name!r}; choose one of: {', '.join(ANSWERERS)}")
