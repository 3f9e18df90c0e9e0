"""Typed errors. Library code raises these; only the CLI turns them into one line and an exit code."""

from __future__ import annotations

from pathlib import Path


class RagError(Exception):
    """Base of every error a user can cause or fix; its message is one line, shown as is."""

    exit_code = 1  # what the CLI exits with; 2 for bad usage or input


class SettingsError(RagError):
    """A setting is unknown or has a value that cannot be used."""


class DocumentError(RagError):
    """One input file cannot be ingested; the others still can."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StoreUnavailableError(RagError):
    """The vector store (a Chroma server, or the local index directory) cannot be reached."""


class IndexMismatchError(RagError):
    """The index was built with other embedding or chunk settings than the current ones."""


class UnknownDocumentError(RagError):
    """A document id names nothing in the index."""


class EmptyQuestion(RagError):
    """The question has no words (a usage error)."""


class EmptyIndexError(RagError):
    """Nothing has been ingested yet."""


class AnswererError(RagError):
    """The answerer failed: an LLM server is unreachable or answered with an error."""
