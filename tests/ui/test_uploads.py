"""Uploads: names never trusted, content checked, stored under the data directory; login and bind rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import DocumentError, SettingsError
from ui.security import bind_warning, parse_auth
from ui.uploads import forget_upload, safe_name, store_upload


@pytest.mark.parametrize(
    ("client_name", "stored"),
    [
        ("notes.md", "notes.md"),
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\me\\..\\Évian report (v2).PDF", "Evian_report_v2.pdf"),
        (".bashrc.txt", "bashrc.txt"),
        ("...", "upload"),
        ("<script>.html", "script.html"),
        ("a" * 300 + ".txt", "a" * 80 + ".txt"),
    ],
)
def test_safe_name(client_name: str, stored: str) -> None:
    assert safe_name(client_name) == stored


def test_a_good_upload_is_copied_under_home_uploads(settings: Settings, tmp_path: Path) -> None:
    temp = tmp_path / "whatever"
    temp.write_text("<html><body><p>Hello from an upload.</p></body></html>")
    stored = store_upload(temp, "../../evil/Page One.html", settings)
    assert stored == (settings.home / "uploads" / "Page_One.html").resolve()
    assert stored.read_bytes() == temp.read_bytes()
    assert not any((settings.home / "uploads" / ".staging").iterdir())
    assert forget_upload(str(stored), settings) and not stored.exists()
    assert not forget_upload(str(temp), settings) and temp.exists()  # never deletes outside uploads/


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"  \n", "empty file"),
        ("dump.txt", b"abc\0def", "binary file, not text (a NUL byte at offset 3)"),
        ("fake.pdf", b"hello", "corrupt PDF: no %PDF- header"),
        (
            "zip.md",
            b"PK\x03\x04 not text at all",
            "binary file, not text (looks like a ZIP archive or an Office document)",
        ),
        ("doc.txt", b"%PDF-1.7 header, but named .txt", "binary file, not text (looks like a PDF)"),
        ("page.htm", b"plain words", "not HTML: no HTML tags in the first 8 KB; upload it as .txt instead"),
        ("tool.exe", b"MZ", "unsupported file type '.exe'; use .txt .md .markdown .html .htm .pdf"),
        ("big.txt", b"x" * 1_100_000, "file is 1.1 MB, over the 1 MB limit (max_file_mb)"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(name: str, data: bytes, reason: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", max_file_mb=1)
    temp = tmp_path / "upload"
    temp.write_bytes(data)
    with pytest.raises(DocumentError) as caught:
        store_upload(temp, name, settings)
    assert str(caught.value) == f"{name}: {reason}"
    uploads = settings.home / "uploads"
    assert not uploads.exists() or [p for p in uploads.rglob("*") if p.is_file()] == []


def test_auth_pairs() -> None:
    assert parse_auth(None) is None and parse_auth("") is None
    assert parse_auth("ann:pa:ss") == ("ann", "pa:ss")
    for bad in ("ann", "ann:", ":secret"):
        with pytest.raises(SettingsError, match=r"^--auth \(or RAG_UI_AUTH\) must be USER:PASSWORD"):
            parse_auth(bad)


def test_serving_beyond_this_machine_without_login_warns() -> None:
    assert bind_warning("127.0.0.1", None) is None and bind_warning("localhost", None) is None
    assert bind_warning("0.0.0.0", ("ann", "x")) is None
    warning = bind_warning("0.0.0.0", None)
    assert warning is not None and warning.startswith("warning: serving on 0.0.0.0 without a login")


def test_throttle_waits_double_after_the_free_failures() -> None:
    from ui.security import Throttle

    throttle, now = Throttle(), 1000.0
    waits = []
    for _ in range(8):
        waits.append(throttle.delay(now))
        throttle.record(False, now)
    assert waits == [0, 0, 0, 0.5, 1.0, 2.0, 4.0, 5.0]
    assert throttle.delay(now + Throttle.QUIET + 1) == 0  # a quiet spell forgives
    throttle.record(False, now)
    throttle.record(True, now)
    assert throttle.delay(now) == 0
