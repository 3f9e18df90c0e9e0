"""The real `rag` console script, in a subprocess: exit codes and the exact one-line errors."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import CORPUS, cli_env, free_port, run_cli


def test_help_is_instant_because_heavy_imports_are_lazy() -> None:
    code = (
        "import sys, rag.cli; rag.cli.build_parser().format_help(); "
        "print(sorted(m for m in ('torch', 'chromadb', 'llama_index', 'sentence_transformers', 'gradio') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    help_text = run_cli("ingest", "--help").stdout
    assert "--dry-run" in help_text and "--rebuild" in help_text and "--chroma-url" in help_text
    help_text = run_cli("ui", "--help").stdout
    assert "--host" in help_text and "--auth USER:PASSWORD" in help_text and "--home" in help_text


def test_ingest_twice_then_sources(tmp_path: Path) -> None:
    first = run_cli("ingest", str(CORPUS))
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("8 documents: ") and " 0 unchanged, 0 replaced, 0 removed in " in first.stdout
    again = run_cli("ingest", "--json", str(CORPUS))
    report = json.loads(again.stdout)
    assert report["chunks"]["added"] == 0 and report["chunks"]["unchanged"] > 20
    assert again.stderr == ""
    listed = json.loads(run_cli("sources", "--json").stdout)
    assert len(listed) == 8
    assert {"id": "meta-ai-spending", "language": "fr"}.items() <= listed[3].items()
    text = run_cli("sources").stdout
    assert text.splitlines()[-1] == f"8 documents, {report['chunks']['unchanged']} chunks"
    assert report["other_documents"] == 0
    # One more file from elsewhere: its answers will draw on the 8 already there, and the ingest says so.
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nThe observatory on the ridge opened in 1931 and closed in 1987.\n")
    third = run_cli("ingest", str(notes))
    assert third.returncode == 0 and third.stdout.startswith("1 documents: ")
    assert third.stderr.startswith("notice: the index also holds 8 document(s) from other paths")
    assert json.loads(run_cli("ingest", "--json", str(notes)).stdout)["other_documents"] == 8


def test_bad_paths_give_one_line_and_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("")
    result = run_cli("ingest", str(tmp_path / "nope"), str(empty))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {tmp_path / 'nope'}: no such file or directory",
        f"error: {empty}: empty file",
    ]
    assert result.stdout.strip().startswith("0 documents: 0 chunks added")


def test_usage_errors_exit_2() -> None:
    result = run_cli("ingest")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "rag: error: ingest needs at least one PATH (or --rebuild)"


def test_unknown_setting_and_unknown_document_are_one_line() -> None:
    result = run_cli("sources", env={"RAG_CHUNKSIZE": "10"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown setting RAG_CHUNKSIZE in the environment; known: RAG_HOME, ")
    assert len(result.stderr.splitlines()) == 1
    result = run_cli("sources", "rm", "nope")
    assert (result.returncode, result.stderr) == (
        1,
        "error: no document with id 'nope' in the index; `rag sources` lists them\n",
    )


def test_chroma_server_down_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("ingest", "--chroma-url", url, str(CORPUS))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: cannot reach the Chroma server at {url}: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_server_mode_from_the_cli(chroma_server: str) -> None:
    env = {"RAG_CHROMA_URL": chroma_server, "RAG_COLLECTION": "cli-server-mode"}
    first = run_cli("ingest", str(CORPUS / "related"), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("7 documents: ")
    again = run_cli("ingest", "--dry-run", str(CORPUS / "related"), env=env)
    assert " 0 chunks would be added, " in again.stdout
    assert len(json.loads(run_cli("sources", "--json", env=env).stdout)) == 7


def test_changed_settings_are_refused_with_the_way_out() -> None:
    assert run_cli("ingest", "-q", str(CORPUS / "related")).returncode == 0
    result = run_cli("ingest", "--chunk-size", "100", str(CORPUS / "related"))
    assert result.returncode == 1
    assert result.stderr.endswith("chunk_size=160 (now 100); run `rag ingest --rebuild` to re-embed everything\n")
    rebuilt = run_cli("ingest", "--chunk-size", "100", "--rebuild", "-q")
    assert rebuilt.returncode == 0 and rebuilt.stdout.startswith("7 documents: ")


def test_unchanged_reingest_loads_no_model() -> None:
    assert run_cli("ingest", "-q", str(CORPUS)).returncode == 0
    code = (
        "import sys; from ingest.pipeline import ingest_paths; from rag.config import load_settings; "
        f"r = ingest_paths([{str(CORPUS)!r}], load_settings()); "
        "print(r.added, sorted(m for m in ('torch', 'sentence_transformers', 'llama_index') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0 []"


def test_rag_ui_serves_the_page_and_warns_when_not_bound_to_localhost() -> None:
    port = free_port()
    rag = Path(sys.executable).with_name("rag")
    proc = subprocess.Popen(
        [str(rag), "ui", "--host", "127.0.0.2", "--port", str(port)],  # loopback, but not "this machine only"
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.2:{port}/config", timeout=2) as response:
                    config = json.loads(response.read())
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"rag ui did not serve within 120 s: {proc.communicate(timeout=10)}")
        assert config["title"] == "rag — ask your documents"
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert err.splitlines()[0].startswith("warning: serving on 127.0.0.2 without a login: ")
    assert f"Running on local URL:  http://127.0.0.2:{port}" in out
