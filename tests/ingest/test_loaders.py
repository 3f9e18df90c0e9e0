from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.loaders import load_file
from rag.errors import DocumentError

LIMIT = 1_000_000


def make_pdf(path: Path, pages: list[str]) -> Path:
    pdf = FPDF()
    pdf.set_title("Test PDF")
    pdf.set_font("helvetica", size=11)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    pdf.output(str(path))
    return path


def test_text_file_keeps_its_text_exactly(tmp_path: Path) -> None:
    text = "Première ligne.\nMeta a acquis 49% de ScaleAI pour $14.3 Milliards."
    path = tmp_path / "note.txt"
    path.write_text(text, encoding="utf-8")
    doc = load_file(path, LIMIT)
    assert doc.text == text
    assert doc.language == "fr"
    assert doc.title == "Première ligne."
    assert doc.doc_id.startswith("note-")


def test_markdown_front_matter_becomes_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "---\nid: my-doc\ntitle: My title\nlanguage: en\ndate: 2025-07-01\nsources:\n  - https://x.example/a\n"
        "---\n# Heading\n\nBody text.\n"
    )
    doc = load_file(path, LIMIT)
    assert (doc.doc_id, doc.title, doc.language) == ("my-doc", "My title", "en")
    assert doc.metadata == {"date": "2025-07-01", "urls": "https://x.example/a"}
    assert doc.text == "# Heading\n\nBody text.\n"


def test_sidecar_metadata_leaves_text_untouched(tmp_path: Path) -> None:
    path = tmp_path / "article.txt"
    path.write_text("Texte de l'article.")
    (tmp_path / "article.txt.meta.yaml").write_text("id: art\ntitle: Article\nlanguage: fr\n")
    doc = load_file(path, LIMIT)
    assert (doc.doc_id, doc.title, doc.text) == ("art", "Article", "Texte de l'article.")


def test_html_keeps_main_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html lang='en'><head><title>Page title</title><style>p{color:red}</style>"
        "<script>var secret = 'tracking';</script></head><body><nav>Home | About</nav>"
        "<main><h1>Scale AI</h1><p>Meta paid $14.3 billion.</p></main><footer>Copyright</footer></body></html>"
    )
    doc = load_file(path, LIMIT)
    assert doc.text == "Scale AI\nMeta paid $14.3 billion."
    assert (doc.title, doc.language) == ("Page title", "en")


def test_pdf_pages_are_kept(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf", ["Page one talks about Scale AI.", "Page two talks about Llama 4."])
    doc = load_file(path, LIMIT)
    assert doc.title == "Test PDF"
    assert [p for p, _ in doc.pages] == [1, 2]
    segments = doc.segments()
    assert "Scale AI" in segments[0][2] and "Llama 4" in segments[1][2]
    for _, start, text in segments:
        assert doc.text[start : start + len(text)] == text


def test_legacy_encoding_is_decoded_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes("Café à 14,3 milliards — déjà.".encode("cp1252"))
    notices: list[str] = []
    doc = load_file(path, LIMIT, notices.append)
    assert doc.text == "Café à 14,3 milliards — déjà."
    assert notices == [f"{path}: not UTF-8; decoded as Windows-1252 (cp1252)"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not text (a NUL byte at offset 8)"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", None),
        ("fake.pdf", b"hello, not a pdf", "corrupt PDF: no %PDF- header"),
        ("bad-front.md", b"---\ntitle: [unclosed\n---\nbody", None),
        ("only-front.md", b"---\ntitle: x\n---\n", "no text found in the file"),
    ],
)
def test_bad_files_raise_one_line_naming_the_file(
    tmp_path: Path, name: str, content: bytes, reason: str | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as info:
        load_file(path, LIMIT)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    if reason:
        assert info.value.reason == reason


def test_corrupt_pdf_and_bad_yaml_say_so(tmp_path: Path) -> None:
    pdf = tmp_path / "broken.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj garbage")
    with pytest.raises(DocumentError, match=r"broken.pdf: (corrupt PDF|PDF has no extractable text)"):
        load_file(pdf, LIMIT)
    md = tmp_path / "bad.md"
    md.write_text("---\ntitle: [unclosed\n---\nbody")
    with pytest.raises(DocumentError, match=r"bad.md: metadata is not valid YAML"):
        load_file(md, LIMIT)


def test_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(DocumentError, match=r"big.txt: file is 0.0 MB, over the 0.001 MB limit \(max_file_mb\)"):
        load_file(path, 1000)
