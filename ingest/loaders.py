"""Read .txt, .md, .html and .pdf files into documents, with metadata and exact text.

Metadata comes from YAML front matter (.md) or a sidecar `FILE.meta.yaml` (any format), so that the
text itself stays untouched.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag.chunks import content_hash
from rag.errors import DocumentError
from rag.text import guess_language, without_controls

SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
SIDECAR = ".meta.yaml"
# libyaml's safe loader when PyYAML's wheel has it: a no-change re-ingest of 3k files spent 2.5 s in pure-Python YAML.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PAGE_SEPARATOR = "\n\n"
MAX_METADATA_CHARS = 64_000  # front matter or sidecar; titles and tags, not documents
Notice = Callable[[str], None]


@dataclass
class SourceDocument:
    """One file's text and metadata. PDF pages are joined by a blank line; `pages` says where each starts."""

    doc_id: str
    text: str
    source: str
    title: str
    language: str
    metadata: dict[str, str] = field(default_factory=dict)
    pages: list[tuple[int, int]] = field(default_factory=list)  # (page number, start offset in text)

    @property
    def doc_hash(self) -> str:
        """Changes when the text or the metadata changes."""
        meta = json.dumps([self.title, self.language, self.source, self.metadata], sort_keys=True)
        return content_hash(meta + "\0" + self.text)

    def segments(self) -> list[tuple[int, int, str]]:
        """(page, start offset, text) of each page; a document without pages is one segment, page 0."""
        if not self.pages:
            return [(0, 0, self.text)]
        bounds = [start for _, start in self.pages[1:]] + [len(self.text) + len(PAGE_SEPARATOR)]
        return [
            (page, start, self.text[start : end - len(PAGE_SEPARATOR)])
            for (page, start), end in zip(self.pages, bounds, strict=True)
        ]


def is_document(path: Path) -> bool:
    """True for files this tool reads (sidecar metadata files are not documents)."""
    return path.suffix.lower() in SUFFIXES and not path.name.endswith(SIDECAR)


def load_file(path: Path, max_bytes: int, notice: Notice = print) -> SourceDocument:
    """Read one file. Raises DocumentError naming the file and what is wrong with it."""
    if not path.exists():
        raise DocumentError(path, "no such file or directory")
    if not path.is_file():
        raise DocumentError(path, "not a regular file")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(
                path, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB limit (max_file_mb)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise DocumentError(path, "empty file")
    meta = _sidecar(path)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text, pages, found = _read_pdf(path, data)
    else:
        raw = _decode(path, data, notice)
        if suffix in (".md", ".markdown"):
            front, raw = _split_front_matter(path, raw)
            meta = {**front, **meta}
        text, found = _read_html(raw) if suffix in (".html", ".htm") else (raw, {})
        pages = []
    if not text.strip():
        raise DocumentError(path, "no text found in the file")
    return _document(path, text, pages, {**found, **meta})


def _document(path: Path, text: str, pages: list[tuple[int, int]], meta: dict[str, Any]) -> SourceDocument:
    title = without_controls(str(meta.pop("title", "") or _first_line(text) or path.stem))
    language = str(meta.pop("language", "") or guess_language(text))
    doc_id = str(meta.pop("id", "") or _default_id(path))
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", doc_id):
        raise DocumentError(path, f"document id {doc_id!r} may hold only letters, digits, '.', '_' and '-'")
    sources = meta.pop("sources", None)
    flat = {k: without_controls(str(v)) for k, v in meta.items() if isinstance(v, str | int | float | bool)}
    if isinstance(sources, list):
        flat["urls"] = " ".join(str(s) for s in sources)
    if "date" in meta:
        flat["date"] = str(meta["date"])
    return SourceDocument(doc_id, text, str(path.resolve()), title, language, flat, pages)


def _default_id(path: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")[:48] or "doc"
    return f"{slug}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:6]}"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 150 else ""
    return ""


def _decode(path: Path, data: bytes, notice: Notice) -> str:
    nul = data.find(b"\0")
    if nul >= 0:
        raise DocumentError(path, f"binary file, not text (a NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
        notice(f"{path}: not UTF-8; decoded as Windows-1252 (cp1252)")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        notice(f"{path}: not UTF-8; decoded as Latin-1")
    return text


def _sidecar(path: Path) -> dict[str, Any]:
    meta_path = path.with_name(path.name + SIDECAR)
    if not meta_path.is_file():
        return {}
    try:
        data = meta_path.read_bytes()
    except OSError as exc:
        raise DocumentError(meta_path, f"cannot read the metadata file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(meta_path, f"metadata is not UTF-8 text (byte {exc.start})") from None
    return _parse_yaml(meta_path, text)


def _parse_yaml(path: Path, text: str) -> dict[str, Any]:
    """A YAML mapping from front matter or a sidecar, at most MAX_METADATA_CHARS long.

    Aliases are refused: nested ones turn a few hundred bytes into millions of characters.
    """
    if len(text) > MAX_METADATA_CHARS:
        raise DocumentError(path, f"metadata is {len(text)} characters, over the {MAX_METADATA_CHARS} limit")
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, Loader=SAFE_LOADER)):
            raise DocumentError(path, "metadata uses a YAML alias (*name); write the value out instead")
        data = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise DocumentError(path, f"metadata is not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DocumentError(path, "metadata must be a YAML mapping of key: value")
    return data


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    match = re.match(r"\A---[ \t]*\r?\n(.*?\r?\n)---[ \t]*(\r?\n|\Z)", text, flags=re.S)
    if not match:
        return {}, text
    return _parse_yaml(path, match.group(1)), text[match.end() :]


def _read_html(raw: str) -> tuple[str, dict[str, Any]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    meta: dict[str, Any] = {}
    if soup.title and soup.title.get_text(strip=True):
        meta["title"] = soup.title.get_text(strip=True)
    html_tag = soup.find("html")
    lang = html_tag.get("lang") if html_tag else None
    if isinstance(lang, str) and lang:
        meta["language"] = lang.split("-")[0].lower()
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "template"]):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in root.get_text("\n").splitlines())
    return "\n".join(line for line in lines if line), meta


def _read_pdf(path: Path, data: bytes) -> tuple[str, list[tuple[int, int]], dict[str, Any]]:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if not data.lstrip()[:5] == b"%PDF-":
        raise DocumentError(path, "corrupt PDF: no %PDF- header")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DocumentError(path, f"corrupt PDF: {exc}") from None
    if not any(page_texts):
        raise DocumentError(path, "PDF has no extractable text (scanned images need OCR first)")
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    offset = 0
    for number, page_text in enumerate(page_texts, start=1):
        if not page_text:
            continue
        pages.append((number, offset))
        parts.append(page_text)
        offset += len(page_text) + len(PAGE_SEPARATOR)
    meta: dict[str, Any] = {}
    if info and info.title:
        meta["title"] = str(info.title)
    return PAGE_SEPARATOR.join(parts), pages, meta
