"""The running app driven by gradio_client, as a script or a second page would: real engine, real index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AuthenticationError

from tests.conftest import free_port, run_cli
from tests.ui.conftest import MAX_FILE_MB, RunningApp


def ask(
    client: Client, question: str, *, strict: bool = False, k: int = 5
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One question through the page's /ask endpoint: (chat history, answer JSON)."""
    _, history, details = client.predict(question, [], "extractive", k, strict, api_name="/ask")
    return history, details


def message_text(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def documents(client: Client) -> list[str]:
    table, _, _ = client.predict(api_name="/documents")
    return [row[0] for row in table["data"]]


@pytest.fixture
def client(ui_app: RunningApp) -> Client:
    return Client(ui_app.url, verbose=False)


def test_a_question_gets_a_cited_answer_carrying_its_sources(client: Client) -> None:
    history, details = ask(client, "How much did Meta pay for ScaleAI?")
    assert "$14.3 billion" in details["answer"] and not details["refused"]
    assert details["citations"] and all(c["quote"] for c in details["citations"])
    assert any("14.3" in c["quote"] for c in details["citations"])
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = message_text(history[-1])
    assert "$14.3 billion" in reply and 'href="#rag-m1-s' in reply and "rag-unsupported" not in reply
    first = details["citations"][0]
    assert f'id="rag-m1-s{first["n"]}"' in reply and f"characters {first['start']}–{first['end']}" in reply
    assert '<mark class="rag-figure">$14.3</mark>' in reply  # the short answer's words light up in the quote


def test_k_beyond_the_limit_is_an_error_not_a_clamp(client: Client) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Value 51 is greater than maximum value 50"):
        ask(client, "How much did Meta pay for ScaleAI?", k=51)
    with pytest.raises(AppError, match="Value 0 is less than minimum value 1"):
        ask(client, "How much did Meta pay for ScaleAI?", k=0)


def test_follow_ups_use_each_sessions_own_history(ui_app: RunningApp) -> None:
    alice, bob = Client(ui_app.url, verbose=False), Client(ui_app.url, verbose=False)
    _, first = ask(alice, "Who founded ScaleAI?")
    assert "Alexandr Wang" in first["answer"]
    _, strangers = ask(bob, "How old is he?")  # bob has no history: nothing to lean on
    assert strangers["standalone_question"] == "How old is he?"
    _, follow_up = ask(alice, "How old is he?")
    assert "Alexandr Wang" in follow_up["standalone_question"]
    # Answered about him (his age in 2022 or today: the answerer does not weigh dates yet; see the README).
    assert "Wang" in follow_up["answer"] and not follow_up["refused"]
    assert "Wang" not in strangers["answer"]


def test_a_question_with_no_answer_is_a_refusal(client: Client) -> None:
    history, details = ask(client, "What is the capital of Peru?")
    assert details["refused"] and details["citations"] == []
    assert 'class="rag-refusal"' in message_text(history[-1]) and "rag-error" not in message_text(history[-1])
    assert "rag-source" not in message_text(history[-1])


def test_new_conversation_forgets_the_history(client: Client) -> None:
    ask(client, "Who founded ScaleAI?")
    client.predict(api_name="/reset")
    _, details = ask(client, "How old is he?")
    assert details["standalone_question"] == "How old is he?"


def test_an_upload_is_ingested_listed_answered_and_removed(client: Client, ui_app: RunningApp, tmp_path: Path) -> None:
    note = tmp_path / "Zorblat notes é.md"  # the client's name is only a hint: spaces and accents go
    note.write_text(
        "---\ntitle: Zorblat Foundation notes\n---\n"
        "The Zorblat Foundation was created in 2031 by Ada Quintero in Lyon. "
        "It funds research on tidal batteries with 7 million euros a year.\n"
    )
    status, table, _, _, _ = client.predict([handle_file(str(note))], api_name="/upload")
    assert status.startswith("Zorblat_notes_e.md: 1 documents: ") and "error" not in status
    stored = ui_app.settings.home / "uploads" / "Zorblat_notes_e.md"
    assert stored.read_bytes() == note.read_bytes()
    doc_id = next(row[0] for row in table["data"] if row[1] == "Zorblat Foundation notes")
    cell = next(row[4] for row in table["data"] if row[0] == doc_id)
    assert cell == f'<span title="{stored}">Zorblat_notes_e.md</span>'  # the file's name, its path on hover
    _, details = ask(client, "Who created the Zorblat Foundation?")
    assert "Ada Quintero" in details["answer"]
    first = details["sentences"][0]  # the answer's first sentence quotes the upload (a second may quote another)
    assert "Ada Quintero" in first["text"]
    assert [c["doc_id"] for c in details["citations"] if c["n"] in first["citations"]] == [doc_id]

    status, table, _, _ = client.predict(doc_id, api_name="/remove")
    assert status.startswith(f"removed {doc_id}: ")
    assert doc_id not in [row[0] for row in table["data"]] and not stored.exists()


def _bad_files(folder: Path) -> list[Path]:
    folder.mkdir()
    files = {
        "empty.md": b"",
        "dump.txt": b"header\0\0\0binary",
        "broken.pdf": b"%PDF-1.4\nthis is not really a pdf\n",
        "scan.pdf": b"not a pdf at all",
        "huge.txt": b"word " * int(MAX_FILE_MB * 1e6 / 5 + 1000),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def test_bad_uploads_get_the_clis_one_line_errors_and_change_nothing(
    client: Client, ui_app: RunningApp, tmp_path: Path
) -> None:
    bad = _bad_files(tmp_path / "bad")
    before = documents(client)
    uploads = sorted((ui_app.settings.home / "uploads").glob("*"))
    status, table, _, _, _ = client.predict([handle_file(str(p)) for p in bad], api_name="/upload")
    cli = run_cli("ingest", *map(str, bad), env={"RAG_MAX_FILE_MB": str(MAX_FILE_MB)})
    assert cli.returncode == 1
    assert status.splitlines() == [line.replace(f"{bad[0].parent}/", "") for line in cli.stderr.splitlines()]
    assert status.splitlines()[0] == "error: empty.md: empty file"
    assert [row[0] for row in table["data"]] == before == documents(client)
    assert sorted((ui_app.settings.home / "uploads").glob("*")) == uploads


def test_uploads_checked_by_content_not_extension(client: Client, tmp_path: Path) -> None:
    png = tmp_path / "photo.md"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"IHDR" * 10)  # no NUL: the loader alone would read it as text
    plain = tmp_path / "page.html"
    plain.write_text("just some words, no markup at all")
    status, _, _, _, _ = client.predict([handle_file(str(png)), handle_file(str(plain))], api_name="/upload")
    assert status.splitlines() == [
        "error: photo.md: binary file, not text (looks like a PNG image)",
        "error: page.html: not HTML: no HTML tags in the first 8 KB; upload it as .txt instead",
    ]


def test_login_is_required_when_auth_is_set(ui_app: RunningApp) -> None:
    from ui.app import launch

    port = free_port()
    app = launch(ui_app.settings, port=port, auth="ann:s3cret", engine=ui_app.engine, block=False, quiet=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False)
        _, details = ask(Client(url, auth=("ann", "s3cret"), verbose=False), "Who founded ScaleAI?")
        assert "Alexandr Wang" in details["answer"]
    finally:
        app.close()


def test_the_server_listens_on_loopback_only(ui_app: RunningApp) -> None:
    port = int(ui_app.url.rsplit(":", 1)[1].strip("/"))
    listening = [
        line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:] if line.split()[3] == "0A"
    ]
    assert f"0100007F:{port:04X}" in listening and f"00000000:{port:04X}" not in listening


def test_a_second_upload_with_the_same_name_never_replaces_the_first(
    client: Client, ui_app: RunningApp, tmp_path: Path
) -> None:
    from gradio.utils import get_upload_folder

    first, second = tmp_path / "a" / "report-9f3.txt", tmp_path / "b" / "report-9f3.txt"
    for path, text in ((first, "The Quorvex plant opened in 2019."), (second, "The Quorvex plant closed in 2023.")):
        path.parent.mkdir()
        path.write_text(text)
    status_one, _, _, _, _ = client.predict([handle_file(str(first))], api_name="/upload")
    status_two, _, _, _, _ = client.predict([handle_file(str(second))], api_name="/upload")
    again, _, _, _, _ = client.predict([handle_file(str(first))], api_name="/upload")
    assert "1 chunks added" in status_one and "replaced" in status_two and "0 replaced" in status_two
    assert (
        status_two.splitlines()[0]
        == "report-9f3.txt: another document already has this name; stored as report-9f3-2.txt"
    )
    assert "0 chunks added, 1 unchanged" in again  # the same file again is the same document
    uploads = ui_app.settings.home / "uploads"
    assert (uploads / "report-9f3.txt").read_text() == first.read_text()
    assert (uploads / "report-9f3-2.txt").read_text() == second.read_text()
    # Gradio's cached copies are gone once processed: nothing stays downloadable from its cache.
    assert not list(Path(get_upload_folder()).rglob("report-9f3*"))
    rejected = tmp_path / "empty-9f3.md"
    rejected.write_text("")
    client.predict([handle_file(str(rejected))], api_name="/upload")
    assert not list(Path(get_upload_folder()).rglob("empty-9f3*"))
    for name in ("report-9f3.txt", "report-9f3-2.txt"):
        doc = next(row[0] for row in client.predict(api_name="/documents")[0]["data"] if f">{name}<" in row[4])
        client.predict(doc, api_name="/remove")


def test_repeated_wrong_passwords_slow_down(ui_app: RunningApp) -> None:
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    from ui.app import launch
    from ui.security import Throttle

    port = free_port()
    app = launch(ui_app.settings, port=port, auth="ann:s3cret", engine=ui_app.engine, block=False, quiet=True)
    try:

        def login(password: str) -> tuple[int, float]:
            data = urllib.parse.urlencode({"username": "ann", "password": password}).encode()
            started = time.perf_counter()
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", data=data, timeout=30).status
            except urllib.error.HTTPError as exc:
                status = exc.code
            return status, time.perf_counter() - started

        attempts = [login(f"guess{i}") for i in range(Throttle.FREE + 3)]
        assert [status for status, _ in attempts] == [400] * len(attempts)
        waits = [seconds for _, seconds in attempts[Throttle.FREE :]]
        assert waits[0] >= Throttle.FIRST and waits[1] >= 2 * Throttle.FIRST and waits[2] >= 4 * Throttle.FIRST
        assert login("s3cret")[0] == 200  # the right password still gets in, and starts the count over
        assert login("wrong")[1] < Throttle.FIRST
    finally:
        app.close()


def test_login_page_names_the_app_and_log_out_ends_the_session(ui_app: RunningApp) -> None:
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    from ui.app import launch

    port = free_port()
    app = launch(ui_app.settings, port=port, auth="ann:s3cret", engine=ui_app.engine, block=False, quiet=True)
    base = f"http://127.0.0.1:{port}"
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def config() -> tuple[int, str]:
        try:
            response = browser.open(f"{base}/config", timeout=30)
            return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        status, body = config()
        assert status == 401 and "rag — ask your documents: sign in to continue" in body
        form = urllib.parse.urlencode({"username": "ann", "password": "s3cret"}).encode()
        assert browser.open(f"{base}/login", data=form, timeout=30).status == 200
        status, body = config()
        assert status == 200 and "Log out" in body and '"/logout"' in body  # the title bar's button
        browser.open(f"{base}/logout", timeout=30)
        assert config()[0] == 401
    finally:
        app.close()
