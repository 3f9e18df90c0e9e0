"""Broken and hostile inputs through the real `rag` command: one line naming the culprit, the rest still works."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.stores import open_store
from tests.conftest import CORPUS, run_cli

# As root, drop the capability to bypass file permissions, so that `chmod 000` means what it means for a user.
AS_USER = (
    ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search", "--"]
    if os.geteuid() == 0
    else []
)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(CORPUS / "related" / "finland-gdp.md", folder)
    return folder


def errors_of(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="root without setpriv")
def test_an_unreadable_file_is_one_line_and_the_others_are_ingested(docs: Path, settings: Settings) -> None:
    locked = docs / "locked.txt"
    locked.write_text("Nobody may read this.")
    locked.chmod(0)
    out = run_cli("ingest", str(docs), prefix=AS_USER)
    assert out.returncode == 1
    assert errors_of(out.stderr) == [f"error: {locked}: cannot read the file (Permission denied)"]
    assert [d.source for d in open_store(settings).documents().values()] == [str(docs / "finland-gdp.md")]


def test_a_sidecar_that_is_not_utf8_is_one_line(docs: Path, settings: Settings) -> None:
    (docs / "note.txt").write_text("A note about budgets.")
    (docs / "note.txt.meta.yaml").write_bytes(b"title: caf\xe9\n")
    out = run_cli("ingest", str(docs))
    assert out.returncode == 1
    assert errors_of(out.stderr) == [f"error: {docs / 'note.txt.meta.yaml'}: metadata is not UTF-8 text (byte 10)"]
    assert len(open_store(settings).documents()) == 1


def test_a_symlink_loop_is_one_line(docs: Path, tmp_path: Path, settings: Settings) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop")
    out = run_cli("ingest", str(loop), str(docs))
    assert out.returncode == 1
    assert errors_of(out.stderr) == [f"error: {loop}: symlink loop"]
    assert len(open_store(settings).documents()) == 1


@pytest.mark.parametrize(
    ("name", "front"),
    [
        (
            "bomb.md",
            "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\ntitle: *b\n---\n",
        ),
        ("bomb.txt.meta.yaml", "a: &a [x, x]\ntitle: *a\n"),
    ],
)
def test_yaml_aliases_are_refused(docs: Path, settings: Settings, name: str, front: str) -> None:
    if name.endswith(".md"):
        (docs / name).write_text(front + "Body text.\n")
        culprit = docs / name
    else:
        (docs / "bomb.txt").write_text("Body text.\n")
        (docs / name).write_text(front)
        culprit = docs / name
    out = run_cli("ingest", str(docs))
    assert out.returncode == 1
    expected = f"error: {culprit}: metadata uses a YAML alias (*name); write the value out instead"
    assert errors_of(out.stderr) == [expected]
    assert len(open_store(settings).documents()) == 1


def test_a_nul_byte_anywhere_refuses_the_file(docs: Path, settings: Settings) -> None:
    (docs / "late-nul.txt").write_bytes(b"plain words. " * 1000 + b"\0 and more")
    out = run_cli("ingest", str(docs))
    assert errors_of(out.stderr) == [
        f"error: {docs / 'late-nul.txt'}: binary file, not text (a NUL byte at offset 13000)"
    ]


def test_control_characters_never_reach_the_terminal(docs: Path, settings: Settings) -> None:
    evil = "\x1b]0;pwned\x07Finland\x1b[2J report\x85"
    (docs / "latin.txt").write_bytes("Finland report\x85\n\nThe GDP of Finland was large.".encode("latin-1"))
    (docs / "escape.md").write_text(f"# {evil}\n\nThe \x1b[2Jeconomy of Finland \x1b]0;x\x07grew in 2024.\n")
    assert run_cli("ingest", str(docs)).returncode == 0
    titles = {d.title for d in open_store(settings).documents().values()}
    assert "Finland report" in titles  # the C1 control of the Latin-1 title is dropped
    assert all(ch.isprintable() for title in titles for ch in title)
    stored = next(c.text for c in open_store(settings).chunks() if "economy" in c.text)
    assert "\x1b[2J" in stored  # the index keeps the document as it is
    for args in (("sources",), ("ask", "How did the economy of Finland grow?"), ("ask", "--trace", "Finland economy")):
        out = run_cli(*args)
        assert out.returncode == 0, out.stderr
        assert not any(ch in out.stdout + out.stderr for ch in "\x1b\x07\x85\x9b"), (args, out.stdout)


def test_sources_marks_a_document_whose_ingest_was_cut_short(docs: Path, settings: Settings) -> None:
    (docs / "long.md").write_text("\n\n".join(f"Paragraph {i} talks about budgets at length." * 8 for i in range(12)))
    assert run_cli("ingest", str(docs)).returncode == 0
    store = open_store(settings)
    long = next(d for d in store.documents().values() if d.source.endswith("long.md"))
    store.delete(sorted(long.chunk_ids)[:1])  # what a kill between two write batches leaves
    marked = {
        line.split()[0]: line.endswith("[incomplete: ingest again to finish]")
        for line in run_cli("sources").stdout.splitlines()[:-1]
    }
    assert marked == {d.doc_id: d.doc_id == long.doc_id for d in store.documents().values()}
    rows = json.loads(run_cli("sources", "--json").stdout)
    assert sorted(r["complete"] for r in rows) == [False, True]


def test_an_unusable_data_directory_is_one_line(tmp_path: Path) -> None:
    home = tmp_path / "file-home"
    home.write_text("not a folder")
    out = run_cli("sources", env={"RAG_HOME": str(home)})
    assert (out.returncode, out.stderr) == (
        1,
        f"error: data directory {home} (RAG_HOME or --home) is a file, not a folder\n",
    )
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o555)
    if AS_USER or os.geteuid() != 0:
        out = run_cli("sources", env={"RAG_HOME": str(readonly)}, prefix=AS_USER)
        assert (out.returncode, out.stderr) == (
            1,
            f"error: data directory {readonly} (RAG_HOME or --home) is not writable\n",
        )


@pytest.mark.parametrize(
    ("k", "message"),
    [
        ("0", "0 is out of range"),
        ("-1", "-1 is out of range"),
        ("100000", "100000 is out of range"),
        ("x", "'x' is not a whole number"),
    ],
)
def test_k_out_of_range_is_a_usage_error(k: str, message: str) -> None:
    out = run_cli("ask", f"--k={k}", "anything")
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == f"rag ask: error: argument --k: {message}" + (
        ": choose 1 to 50 sources" if "range" in message else ""
    )


def test_chat_json_prints_only_json(docs: Path) -> None:
    assert run_cli("ingest", str(docs)).returncode == 0
    lines = "What was Finland's GDP?\n/sources\n/reset\nCombien était le PIB de la Finlande ?\n"
    out = run_cli("chat", "--json", stdin=lines)
    assert out.returncode == 0, out.stderr
    printed = [json.loads(line) for line in out.stdout.splitlines()]
    assert [type(p).__name__ for p in printed] == ["dict", "list", "dict", "dict"]
    assert (
        printed[2] == {"reset": True} and printed[3]["standalone_question"] == "Combien était le PIB de la Finlande ?"
    )
