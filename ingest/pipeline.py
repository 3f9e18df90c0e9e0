"""Incremental ingest: only what changed is embedded; what disappeared is removed; a kill leaves no harm.

The index itself is the manifest. Every chunk records its document's hash and chunk count, so a
document is unchanged exactly when the store holds all of its chunks and no others. Chunk ids are
derived from content, so re-running after a crash adds only what is missing and never duplicates.
"""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.chunking import chunk_document
from ingest.loaders import SUFFIXES, Notice, SourceDocument, is_document, load_file
from rag.chunks import Chunk
from rag.config import Settings
from rag.errors import DocumentError, IndexMismatchError
from rag.injection import Instruction, instructions
from rag.stores import StoredDocument, VectorStore, open_store
from rag.text import without_controls

WRITE_BATCHES = 32  # embedding batches written together (sorted by length among them); a kill loses at most these


@dataclass
class DocumentChange:
    """What an ingest does to one document."""

    doc_id: str
    title: str
    source: str
    status: str  # new | changed | unchanged | removed
    added: int = 0
    kept: int = 0
    deleted: int = 0


@dataclass
class IngestReport:
    """The outcome of one ingest, per document."""

    changes: list[DocumentChange] = field(default_factory=list)
    errors: list[DocumentError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    untrusted: list[dict[str, object]] = field(default_factory=list)  # lines addressed to an assistant
    others: int = 0  # documents in the index from outside the ingested paths, kept as they are
    seconds: float = 0.0
    dry_run: bool = False
    rebuilt: bool = False

    def _total(self, attr: str, statuses: Iterable[str]) -> int:
        return sum(getattr(c, attr) for c in self.changes if c.status in statuses)

    @property
    def added(self) -> int:
        """Chunks embedded and stored."""
        return self._total("added", ("new", "changed"))

    @property
    def unchanged(self) -> int:
        """Chunks already stored and kept."""
        return self._total("kept", ("changed", "unchanged"))

    @property
    def replaced(self) -> int:
        """Old chunks of edited documents, deleted."""
        return self._total("deleted", ("changed",))

    @property
    def removed(self) -> int:
        """Chunks of documents whose files are gone, deleted."""
        return self._total("deleted", ("removed",))

    def summary(self) -> str:
        """One line: documents, chunks added / unchanged / replaced / removed, seconds."""
        docs = sum(c.status != "removed" for c in self.changes)
        gone = [c.doc_id for c in self.changes if c.status == "removed"]
        verb = "would be " if self.dry_run else ""
        line = (
            f"{docs} documents: {self.added} chunks {verb}added, {self.unchanged} unchanged, "
            f"{self.replaced} {verb}replaced, {self.removed} {verb}removed"
        )
        if gone:
            line += f" (documents {verb}removed: {', '.join(gone)})"
        if self.errors:
            line += f"; {len(self.errors)} file(s) failed"
        return line + f" in {self.seconds:.1f} s" + (" [dry run: nothing written]" if self.dry_run else "")

    def to_json(self) -> dict[str, object]:
        """Everything, for `--json`."""
        return {
            "documents": sum(c.status != "removed" for c in self.changes),
            "chunks": {
                "added": self.added,
                "unchanged": self.unchanged,
                "replaced": self.replaced,
                "removed": self.removed,
            },
            "changes": [asdict(c) for c in self.changes],
            "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "skipped": self.skipped,
            "untrusted": self.untrusted,
            "other_documents": self.others,
            "seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
            "rebuilt": self.rebuilt,
        }


@dataclass
class _Plan:
    report: IngestReport
    to_add: list[Chunk] = field(default_factory=list)
    to_update: list[Chunk] = field(default_factory=list)  # same text, new place or document version
    to_delete: list[str] = field(default_factory=list)


def collect_files(paths: Sequence[Path], notice: Notice) -> tuple[list[Path], list[DocumentError], list[str]]:
    """Files to read under `paths` (folders walked recursively, hidden entries skipped)."""
    files: list[Path] = []
    errors: list[DocumentError] = []
    skipped: list[str] = []
    for path in paths:
        problem = _unreachable(path)
        if problem:
            errors.append(DocumentError(path, problem))
        elif path.is_dir():
            for file in sorted((p for p in path.rglob("*") if p.is_file()), key=str):  # str: Path ordering is slow
                if any(part.startswith(".") for part in file.relative_to(path).parts):
                    continue
                if is_document(file):
                    files.append(file)
                elif not file.name.endswith(".meta.yaml"):
                    skipped.append(str(file))
                    notice(f"skipped {file}: unsupported type {file.suffix or '(none)'!r}")
        elif is_document(path):
            files.append(path)
        else:
            supported = " ".join(SUFFIXES)
            errors.append(DocumentError(path, f"unsupported file type {path.suffix or '(none)'!r}; use {supported}"))
    return files, errors, skipped


def _unreachable(path: Path) -> str:
    """Why `path` cannot be read ("" when it can): missing, a symlink loop, a folder we may not list."""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a symlink loop this way
        return "symlink loop"
    except FileNotFoundError:
        return "no such file or directory"
    except OSError as exc:
        return "symlink loop" if exc.errno == errno.ELOOP else f"cannot open ({exc.strerror or exc})"
    if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
        return "cannot list the folder (permission denied)"
    return ""


def _load_all(files: Sequence[Path], settings: Settings, notice: Notice, report: IngestReport) -> list[SourceDocument]:
    docs: dict[str, SourceDocument] = {}
    seen: set[Path] = set()
    for file in files:
        if file.resolve() in seen:
            continue
        seen.add(file.resolve())
        try:
            doc = load_file(file, int(settings.max_file_mb * 1e6), notice)
        except DocumentError as exc:
            report.errors.append(exc)
            continue
        if doc.doc_id in docs:
            other = docs[doc.doc_id].source
            report.errors.append(DocumentError(file, f"document id {doc.doc_id!r} is already used by {other}"))
            continue
        docs[doc.doc_id] = doc
    return list(docs.values())


def _is_under(source: str, roots: Sequence[Path]) -> bool:
    path = Path(source)
    return any(path == root or root in path.parents for root in roots)


def _plan(
    docs: Sequence[SourceDocument],
    stored: dict[str, StoredDocument],
    roots: Sequence[Path],
    settings: Settings,
    report: IngestReport,
    notice: Notice,
) -> _Plan:
    plan = _Plan(report)
    embedder = None
    for doc in docs:
        old = stored.get(doc.doc_id)
        if old is not None and old.is_complete(doc.doc_hash):
            report.changes.append(
                DocumentChange(doc.doc_id, doc.title, doc.source, "unchanged", kept=len(old.chunk_ids))
            )
            continue
        untrusted = _flag_instructions(doc, report, notice)
        if embedder is None:
            from rag.embedders import embedder_for

            embedder = embedder_for(settings)
        chunks = chunk_document(
            doc, settings.chunk_size, settings.chunk_overlap, embedder.count_tokens, embedder.max_tokens, untrusted
        )
        have = old.chunk_ids if old else set()
        new = [c for c in chunks if c.id not in have]
        stale = sorted(have - {c.id for c in chunks})
        plan.to_add.extend(new)
        plan.to_update.extend(c for c in chunks if c.id in have)
        plan.to_delete.extend(stale)
        report.changes.append(
            DocumentChange(
                doc.doc_id,
                doc.title,
                doc.source,
                "changed" if old else "new",
                added=len(new),
                kept=len(chunks) - len(new),
                deleted=len(stale),
            )
        )
    loaded = {doc.doc_id for doc in docs}
    failed = {os.path.realpath(e.path) for e in report.errors}  # realpath: a symlink loop does not raise
    for old in stored.values():
        if old.doc_id not in loaded and old.source not in failed and _is_under(old.source, roots):
            plan.to_delete.extend(sorted(old.chunk_ids))
            report.changes.append(
                DocumentChange(old.doc_id, old.title, old.source, "removed", deleted=len(old.chunk_ids))
            )
    return plan


def _flag_instructions(doc: SourceDocument, report: IngestReport, notice: Notice) -> list[Instruction]:
    """Say which lines of a new or changed document talk to an assistant (they stay data, never an answer)."""
    untrusted = instructions(doc.text)
    for found in untrusted:
        line = without_controls(doc.text[found.start : found.end].strip())
        report.untrusted.append({"path": doc.source, "line": found.line, "marker": found.marker, "text": line})
        notice(
            f"{doc.source}:{found.line}: reads as instructions to an assistant ({found.marker!r}); "
            "kept as untrusted data, never used as an answer"
        )
    return untrusted


def _write(plan: _Plan, store: VectorStore, settings: Settings, progress: bool) -> None:
    from tqdm import tqdm

    from rag.embedders import embedder_for

    if plan.to_add:
        embedder = embedder_for(settings)
        with tqdm(
            total=len(plan.to_add),
            unit="chunk",
            desc="embedding",
            disable=not progress,
            file=sys.stderr,
            dynamic_ncols=True,
        ) as bar:
            step = settings.embed_batch_size * WRITE_BATCHES
            for start in range(0, len(plan.to_add), step):
                batch = plan.to_add[start : start + step]
                store.add(batch, embedder.embed_documents([c.text for c in batch], on_batch=bar.update))
    store.update_metadata(plan.to_update)
    store.delete(plan.to_delete)


def ingest_paths(
    paths: Sequence[Path | str],
    settings: Settings,
    *,
    dry_run: bool = False,
    rebuild: bool = False,
    progress: bool = False,
    notice: Notice = print,
) -> IngestReport:
    """Bring the index in line with the files under `paths`; see the module docstring.

    Bad files are reported in the result, not raised. Raises StoreUnavailableError when the store
    cannot be reached and IndexMismatchError when the index was built with other settings.
    """
    started = time.perf_counter()
    report = IngestReport(dry_run=dry_run, rebuilt=rebuild)
    files, report.errors, report.skipped = collect_files([Path(p).expanduser() for p in paths], notice)
    failed = {e.path for e in report.errors}
    roots = [Path(p).expanduser().resolve() for p in paths if str(Path(p).expanduser()) not in failed]
    store = open_store(settings)
    stored = store.documents()
    fingerprint = settings.index_fingerprint()
    if rebuild:
        # Rebuild from the given paths plus every source the index already knows, into a side
        # collection that replaces the old one only when complete: a kill leaves the old index intact.
        known = {f.resolve() for f in files}
        files += [Path(d.source) for d in stored.values() if Path(d.source).is_file() and Path(d.source) not in known]
        stored = {}
    elif store.count() and store.fingerprint() not in (None, fingerprint):
        raise IndexMismatchError(_mismatch(store.fingerprint() or {}, fingerprint, store.location))
    plan = _plan(_load_all(files, settings, notice, report), stored, roots, settings, report, notice)
    report.others = len(stored.keys() - {c.doc_id for c in report.changes})
    if not dry_run:
        target = store
        if rebuild:
            target = open_store(settings, f"{settings.collection}-rebuild")
            target.drop()  # a side collection left by a killed rebuild
            target = open_store(settings, f"{settings.collection}-rebuild")
        target.set_fingerprint(fingerprint)
        _write(plan, target, settings, progress)
        if rebuild:
            store.drop()
            target.rename(settings.collection)
        if any(c.status != "unchanged" for c in report.changes):
            _prepare_retrieval(settings, progress)
    report.seconds = time.perf_counter() - started
    return report


def _prepare_retrieval(settings: Settings, progress: bool) -> None:
    """Build the retriever's side of the index now: BM25, multilingual vectors of the new chunks.

    So the first question after an ingest does not wait for it.
    """
    from rag.embedders import embedder_for
    from rag.retrieval import HybridRetriever

    HybridRetriever(open_store(settings), embedder_for(settings), settings.bm25_snapshot).prepare(progress)


def _mismatch(old: dict[str, str], new: dict[str, str], location: str) -> str:
    diffs = ", ".join(f"{k}={old.get(k)!s} (now {new.get(k)!s})" for k in sorted(new) if old.get(k) != new.get(k))
    return f"the index at {location} was built with {diffs}; run `rag ingest --rebuild` to re-embed everything"


def remove_document(doc_id: str, settings: Settings) -> DocumentChange:
    """Delete one document's chunks. Raises UnknownDocumentError when no document has that id."""
    from rag.errors import UnknownDocumentError

    store = open_store(settings)
    doc = store.documents().get(doc_id)
    if doc is None:
        raise UnknownDocumentError(f"no document with id {doc_id!r} in the index; `rag sources` lists them")
    store.delete(sorted(doc.chunk_ids))
    return DocumentChange(doc.doc_id, doc.title, doc.source, "removed", deleted=len(doc.chunk_ids))


def list_documents(settings: Settings) -> list[StoredDocument]:
    """The indexed documents, sorted by id."""
    return sorted(open_store(settings).documents().values(), key=lambda d: d.doc_id)
