"""Settings: one typed place, read from flags, then `RAG_*` environment variables, then `config.toml`.

All state lives under one home directory: `$RAG_HOME`, or the per-user data directory.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from rag.errors import SettingsError
from rag.text import file_slug

ENV_PREFIX = "RAG_"
DEFAULT_EMBED_MODEL = "all-MiniLM-L6-v2"
TOP_K_MAX = 50  # sources per question: more would not fit an LLM's context anyway
CHUNKER_VERSION = "1"  # bump when chunking changes in a way that changes chunk text or offsets


def default_home() -> Path:
    """The per-user data directory (e.g. ~/.local/share/rag-assistant)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("rag-assistant", appauthor=False))


class Settings(BaseModel):
    """Every setting the tool reads. Unknown keys are an error, wherever they come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home, description="data directory (index, sessions, history)")
    embed_model: str = Field(
        DEFAULT_EMBED_MODEL,
        description="sentence-transformers model name or local path; the default ships with the package",
    )
    chunk_size: int = Field(160, ge=32, le=2048, description="target chunk length in tiktoken tokens")
    chunk_overlap: int = Field(32, ge=0, description="tokens shared by neighbouring chunks")
    chroma_url: str | None = Field(None, description="http://HOST:PORT of a Chroma server; unset: embedded")
    collection: str = Field("documents", min_length=3, max_length=512, description="Chroma collection name")
    max_file_mb: float = Field(20.0, gt=0, description="files larger than this are refused")
    embed_batch_size: int = Field(32, ge=1, description="chunks per embedding batch")
    embed_backend: Literal["torch", "onnx-int8"] = Field(
        "torch", description="torch, or onnx-int8: the same model quantized, faster on a CPU (made on first use)"
    )
    answerer: str = Field("extractive", description="extractive (offline, default) or openai (a chat server)")
    top_k: int = Field(5, ge=1, le=TOP_K_MAX, description="sources retrieved per question")
    llm_base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible server for --answerer openai")
    llm_model: str = Field("local", description="model name the server expects")
    llm_api_key: str = Field("not-needed", description="API key for the server (RAG_LLM_API_KEY)")
    llm_context_window: int = Field(8192, ge=512, description="the model's context window in tokens")
    llm_max_tokens: int = Field(512, ge=16, description="longest answer the model may write")
    llm_timeout_s: float = Field(120.0, gt=0, description="seconds to wait for the server")
    ui_auth: str | None = Field(None, repr=False, description="USER:PASSWORD required by the web UI (`rag ui --auth`)")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self

    @property
    def chroma_path(self) -> Path:
        """Where the embedded Chroma keeps its files."""
        return self.home / "chroma"

    @property
    def bm25_snapshot(self) -> Path:
        """Where the BM25 side of this collection is saved between processes (see rag/retrieval.py)."""
        where = hashlib.sha256((self.chroma_url or str(self.chroma_path)).encode()).hexdigest()[:10]
        return self.home / "bm25" / f"{file_slug(self.collection)}-{where}"

    def index_fingerprint(self) -> dict[str, str]:
        """What an index depends on: change any of it and every chunk must be embedded again."""
        fingerprint = {
            "embed_model": self.embed_model,
            "chunk_size": str(self.chunk_size),
            "chunk_overlap": str(self.chunk_overlap),
            "chunker_version": CHUNKER_VERSION,
        }
        if self.embed_backend != "torch":  # indexes made before there was a choice stay valid
            fingerprint["embed_backend"] = self.embed_backend
        return fingerprint


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    known = Settings.model_fields
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in known:
            raise SettingsError(f"unknown setting {key} in the environment; known: {_known_env()}")
        values[name] = value
    return values


def _known_env() -> str:
    return ", ".join(ENV_PREFIX + name.upper() for name in Settings.model_fields)


def _from_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(Settings.model_fields) - {"home"})
    if unknown:
        raise SettingsError(f"{path}: unknown setting {unknown[0]!r}; known: {', '.join(Settings.model_fields)}")
    return data


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Merge config file < environment < overrides (flags) into Settings.

    Raises SettingsError naming the setting at fault.
    """
    env = _from_env(dict(os.environ) if environ is None else environ)
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    home = Path(flags.get("home") or env.get("home") or default_home()).expanduser()
    merged = {**_from_file(home / "config.toml"), **env, **flags, "home": home}
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        raise SettingsError(f"setting {where}: {err['msg']}") from None
    _check_home(home)
    return settings


def _check_home(home: Path) -> None:
    """The data directory exists (made if missing) and is a writable folder. Raises SettingsError if not."""
    try:
        home.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise SettingsError(f"data directory {home} (RAG_HOME or --home) is a file, not a folder") from None
    except OSError as exc:
        raise SettingsError(f"cannot create the data directory {home} ({exc.strerror or exc})") from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise SettingsError(f"data directory {home} (RAG_HOME or --home) is not writable")
