"""Prompts are data: one text file each, with {placeholders}."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def prompt(name: str) -> str:
    """The text of prompts/NAME.txt."""
    return files("rag.prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8")
