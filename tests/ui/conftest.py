"""One running app for the UI tests: the bundled corpus indexed with the real model, served on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rag.config import Settings
from tests.conftest import CORPUS, free_port, guard_network

MAX_FILE_MB = 1.0  # small, so that the "too large" upload is quick to make


@dataclass
class RunningApp:
    url: str
    settings: Settings
    app: Any  # gradio.Blocks
    engine: Any  # rag.engine.Engine


@pytest.fixture(scope="package")
def ui_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The real app (ui.app.launch) over an index of corpus/, shared by every UI test."""
    from ingest.pipeline import ingest_paths
    from rag.engine import Engine
    from ui.app import launch

    with pytest.MonkeyPatch.context() as patch:
        guard_network(patch)  # launching must not reach outside either
        settings = Settings(home=tmp_path_factory.mktemp("ui-home"), max_file_mb=MAX_FILE_MB)
        report = ingest_paths([CORPUS], settings, notice=lambda message: None)
        assert not report.errors and report.added > 30
        engine = Engine(settings)
        port = free_port()
        app = launch(settings, port=port, engine=engine, block=False, quiet=True)
        try:
            yield RunningApp(f"http://127.0.0.1:{port}/", settings, app, engine)
        finally:
            app.close()


@pytest.fixture(scope="package")
def artifacts() -> Path:
    """Where the browser test leaves its screenshot and timings (git-ignored)."""
    path = Path(__file__).resolve().parent.parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path
