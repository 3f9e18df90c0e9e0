"""Files uploaded through the page: checked, then kept under the data directory with a name we chose.

The client's file name is only a hint: it is reduced to a plain base name, and the bytes must look like the
type the extension claims (a PDF starts with %PDF-, text decodes, HTML has tags) before anything is indexed.
The reasons are the loader's own, so the page shows the same one-line error as `rag ingest`.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import shutil
import unicodedata
from pathlib import Path

from ingest.loaders import SUFFIXES, is_document, load_file
from rag.config import Settings
from rag.errors import DocumentError

# Formats that are never text, whatever the extension says (first bytes of the file).
BINARY_MAGIC = {
    b"%PDF-": "a PDF",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"PK\x03\x04": "a ZIP archive or an Office document",
    b"\x7fELF": "an executable",
    b"\x1f\x8b": "a gzip archive",
}
HTML_TAG = re.compile(rb"<\s*(?:!doctype\s+html|html|head|body|p|div|article|main|h[1-6]|title)\b", re.IGNORECASE)


def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files are kept: `<home>/uploads`."""
    return settings.home / "uploads"


def safe_name(client_name: str) -> str:
    """A plain file name from whatever the client sent: no folders, no hidden files, only [A-Za-z0-9._-]."""
    base = re.split(r"[/\\]", client_name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:80].strip("._-") or "upload"
    return f"{stem}.{suffix.lower()[:10]}" if suffix else stem


def _check_type_and_size(path: Path, name: str, max_bytes: int) -> None:
    suffix = Path(name).suffix.lower()
    if not is_document(Path(name)):
        raise DocumentError(name, f"unsupported file type {suffix or '(none)'!r}; use {' '.join(SUFFIXES)}")
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentError(name, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (max_file_mb)")


def _check_content(path: Path, name: str) -> None:
    """What the loader lets through but an upload must not be: binary formats under a text name, tagless HTML."""
    suffix = Path(name).suffix.lower()
    if suffix == ".pdf":
        return  # the loader has checked the %PDF- header and parsed the file
    with path.open("rb") as f:
        head = f.read(8192)
    for magic, kind in BINARY_MAGIC.items():
        if head.lstrip().startswith(magic):
            raise DocumentError(name, f"binary file, not text (looks like {kind})")
    if suffix in (".html", ".htm") and not HTML_TAG.search(head):
        raise DocumentError(name, "not HTML: no HTML tags in the first 8 KB; upload it as .txt instead")


def store_upload(temp_path: Path, client_name: str, settings: Settings) -> Path:
    """Check an uploaded file and copy it to `<home>/uploads/<safe name>`; return that path.

    Raises DocumentError naming the file (by its safe name) and the reason, worded as `rag ingest` words it
    (empty, binary, corrupt PDF, too large, unsupported type); nothing is kept under the data directory then.
    """
    name = safe_name(client_name)
    max_bytes = int(settings.max_file_mb * 1e6)
    _check_type_and_size(temp_path, name, max_bytes)
    folder = uploads_dir(settings)
    staged = folder / ".staging" / name
    staged.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(temp_path, staged)
    try:
        load_file(staged, max_bytes, notice=lambda message: None)  # the CLI's checks, in the CLI's words
        _check_content(staged, name)
    except DocumentError as exc:
        staged.unlink(missing_ok=True)
        raise DocumentError(name, exc.reason) from None
    target = _free_name(folder, name, staged.read_bytes())
    if target.parent != folder.resolve():  # cannot happen with a safe name; never write outside uploads/
        staged.unlink(missing_ok=True)
        raise DocumentError(name, "refused: the file name points outside the uploads folder")
    staged.replace(target)
    return target


def _free_name(folder: Path, name: str, data: bytes) -> Path:
    """`folder/name`, or `name-2`, `name-3`... : the first path that is free or already holds these very bytes.

    Two different files both called report.txt are two documents; the same file uploaded twice is one.
    """
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in itertools.count(1):
        target = (folder / (name if n == 1 else f"{stem}-{n}{suffix}")).resolve()
        if not target.exists() or target.read_bytes() == data:
            return target
    raise AssertionError("unreachable")


def discard_temp(temp_path: Path) -> None:
    """Delete Gradio's cached copy of an upload once it is processed (kept or refused): nothing stays served.

    Only files inside Gradio's upload cache are touched, with the per-upload folder Gradio made for it.
    """
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder()).resolve()
    path = temp_path.resolve()
    if cache not in path.parents or not path.is_file():
        return
    path.unlink()
    with contextlib.suppress(OSError):  # not empty: another upload of the same bytes is in flight
        if path.parent != cache:
            path.parent.rmdir()


def forget_upload(source: str, settings: Settings) -> bool:
    """Delete the stored copy of an uploaded document (after its chunks were removed); False if not an upload."""
    path = Path(source)
    folder = uploads_dir(settings).resolve()
    if path.parent != folder or not path.is_file():
        return False
    path.unlink()
    return True
