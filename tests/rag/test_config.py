from pathlib import Path

import pytest

from rag.config import load_settings
from rag.errors import SettingsError


def test_flags_beat_environment_beat_file(rag_home: Path) -> None:
    rag_home.mkdir(parents=True)
    (rag_home / "config.toml").write_text("chunk_size = 100\nchunk_overlap = 10\n")
    assert load_settings().chunk_size == 100
    env = {"RAG_HOME": str(rag_home), "RAG_CHUNK_SIZE": "120"}
    assert load_settings(environ=env).chunk_size == 120
    assert load_settings({"chunk_size": 140}, environ=env).chunk_size == 140
    assert load_settings(environ=env).chunk_overlap == 10


def test_unknown_environment_setting_is_an_error() -> None:
    with pytest.raises(SettingsError, match=r"^unknown setting RAG_CHUNKSIZE in the environment; known: RAG_HOME"):
        load_settings(environ={"RAG_CHUNKSIZE": "100"})


def test_unknown_config_file_key_is_an_error(rag_home: Path) -> None:
    rag_home.mkdir(parents=True)
    (rag_home / "config.toml").write_text('embed_modle = "x"\n')
    with pytest.raises(SettingsError, match=r"config.toml: unknown setting 'embed_modle'"):
        load_settings()


def test_bad_values_name_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"^setting chunk_size: Input should be a valid integer"):
        load_settings(environ={"RAG_CHUNK_SIZE": "big"})
    with pytest.raises(SettingsError, match=r"chunk_overlap \(200\) must be smaller than chunk_size \(100\)"):
        load_settings({"chunk_size": 100, "chunk_overlap": 200})


def test_home_defaults_to_a_per_user_directory() -> None:
    home = load_settings(environ={}).home
    assert home.name == "rag-assistant"
