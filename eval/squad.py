"""`rag eval --squad`: any SQuAD-format question set through the real system, scored the SQuAD way.

`load_squad` reads the official SQuAD JSON or JSON Lines (one question per line); `run_squad` ingests the
items' articles (one document per title) into a throw-away index, asks every question with the normal
engine and scores each answer: does it state a gold answer (in its short answer line, anywhere), SQuAD's
token F1 of the short answer, refusals, length, whether retrieval found the gold at all, latency.
Nothing goes into the eval history and no gate is applied: this measures, it does not judge.
"""

from __future__ import annotations

import json
import re
import string
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.harness import EvalInputError
from eval.metrics import as_json, mean, percentile
from rag.errors import RagError
from rag.text import guess_language
from rag.verify import split_sentences

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from rag.config import Settings

ARTICLES = {
    "en": frozenset({"a", "an", "the"}),
    "fr": frozenset({"le", "la", "les", "l", "un", "une", "des", "du", "de", "d"}),
}
FRENCH_ELISION = re.compile(r"\b([ld])'")  # l'homme, d'eau: the article stands apart before punctuation goes
MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")  # [1], [1, 2]
QUOTE_OPEN = "«"
FAILING_SHOWN = 1000  # failing items listed in squad.md; squad.json has them all
RATIOS = (
    ("states_gold_short", "states gold (short answer)"),
    ("states_gold_lead", "states gold (first line)"),
    ("states_gold_any", "states gold (anywhere)"),
    ("f1", "F1 (short answer)"),
    ("answerable_refused", "answerable refused"),
    ("unanswerable_refused", "unanswerable refused"),
    ("retrieval_ceiling", "retrieval ceiling"),
)
OTHERS = (
    ("answer_words", "answer words (mean)"),
    ("answer_sentences", "quoted sentences (mean; the short answer line is not one)"),
    ("latency_p50_ms", "latency p50"),
    ("latency_p95_ms", "latency p95"),
    ("items", "items"),
    ("answerable", "answerable items"),
)


@dataclass(frozen=True)
class SquadItem:
    """One question with its paragraph and gold answers; `language` is guessed from the question."""

    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    language: str


# --- loading ------------------------------------------------------------------------------------------------


def load_squad(path: Path) -> list[SquadItem]:
    """Questions of a SQuAD JSON file (`{"data": [...]}`) or a JSON Lines file, in file order.

    Raises EvalInputError naming the file and the line (or the item) at fault.
    """
    path = Path(path)
    if not path.is_file():
        raise EvalInputError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    whole: Any = None
    whole_error: json.JSONDecodeError | None = None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        whole_error = exc
    if isinstance(whole, dict) and "data" in whole:
        items = _from_official(path, whole["data"])
    elif whole is not None and not isinstance(whole, dict):
        raise EvalInputError(
            f'{path}: expected SQuAD JSON ({{"data": [...]}}) or JSON Lines with one question object per line'
        )
    else:
        items = _from_lines(path, text, whole_error)
    if not items:
        raise EvalInputError(f"{path}: no questions")
    return items


def _from_lines(path: Path, text: str, whole_error: json.JSONDecodeError | None) -> list[SquadItem]:
    items: list[SquadItem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            if not items and whole_error is not None and whole_error.lineno > 1:  # one JSON document, broken
                raise EvalInputError(f"{path}:{whole_error.lineno}: not JSON ({whole_error.msg})") from None
            raise EvalInputError(f"{path}:{number}: not JSON ({exc.msg})") from None
        items.append(_item(f"{path}:{number}", f"{path.name}:{number}", row))
    return items


def _from_official(path: Path, data: Any) -> list[SquadItem]:
    if not isinstance(data, list):
        raise EvalInputError(f"{path}: 'data' must be a list of articles")
    items = []
    for a, article in enumerate(data):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise EvalInputError(f"{path}: data[{a}]: missing field 'paragraphs'")
        for p, paragraph in enumerate(paragraphs):
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list):
                raise EvalInputError(f"{path}: data[{a}].paragraphs[{p}]: missing field 'qas'")
            for q, qa in enumerate(qas):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                context = {"context": paragraph["context"]} if "context" in paragraph else {}
                row = {**qa, **context} if isinstance(qa, dict) else qa
                items.append(_item(f"{path}: {where}", f"{path.name}:{where}", row, article.get("title")))
    return items


def _item(where: str, default_id: str, row: Any, title: Any = None) -> SquadItem:
    """One question, checked. `where` names the file and line (or item) in errors."""
    for name in ("question", "context"):
        if not isinstance(row, dict) or name not in row:
            raise EvalInputError(f"{where}: missing field {name!r}")
        if not isinstance(row[name], str) or not any(ch.isalnum() for ch in row[name]):
            raise EvalInputError(f"{where}: {name!r} must be a non-empty string")
    raw = row.get("answers") or []
    answers = [a.get("text") if isinstance(a, dict) else a for a in raw] if isinstance(raw, list) else [None]
    if not all(isinstance(a, str) for a in answers):
        raise EvalInputError(f"{where}: 'answers' must be a list of strings or of {{\"text\": ...}} objects")
    distinct = tuple(dict.fromkeys(str(a) for a in answers if str(a).strip()))
    title = str(title if title is not None else row.get("title") or "")
    answerable = bool(distinct) and not row.get("is_impossible", False)
    return SquadItem(
        str(row.get("id") or default_id),
        title or row["context"][:60],  # no title: the paragraph is its own article
        row["context"],
        row["question"].strip(),
        distinct if answerable else (),
        answerable,
        guess_language(row["question"]),
    )


def articles_of(items: Sequence[SquadItem]) -> dict[str, str]:
    """Article text by title: the distinct contexts of each title, in first-seen order, joined by blank lines."""
    contexts: dict[str, dict[str, None]] = {}
    for item in items:
        contexts.setdefault(item.title, {})[item.context.strip()] = None
    return {title: "\n\n".join(parts) for title, parts in contexts.items()}


def first_questions(items: Sequence[SquadItem], limit: int | None) -> tuple[list[SquadItem], list[SquadItem]]:
    """The first `limit` questions, and the items whose contexts make up their articles (whole articles)."""
    asked = list(items[:limit] if limit else items)
    titles = {item.title for item in asked}
    return asked, [item for item in items if item.title in titles]


# --- SQuAD normalization and scores ---------------------------------------------------------------------------


def normalize_answer(text: str, language: str = "en") -> str:
    """SQuAD's normalization: lower case, punctuation and articles out, spaces squeezed; accents folded too.

    French drops le/la/les/l'/un/une/des/du/de/d'; English a/an/the.
    """
    text = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    if language == "fr":
        text = FRENCH_ELISION.sub(r"\1 ", text)
    text = "".join(ch for ch in text if ch not in string.punctuation and not unicodedata.category(ch).startswith("P"))
    articles = ARTICLES.get(language, ARTICLES["en"])
    return " ".join(word for word in text.split() if word not in articles)


def f1_score(prediction: str, gold: str, language: str = "en") -> float:
    """SQuAD's token F1 of a prediction against one gold answer (both empty after normalization: 1.0)."""
    predicted = normalize_answer(prediction, language).split()
    expected = normalize_answer(gold, language).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Sequence[str], language: str = "en") -> float:
    """The best F1 over the gold answers; a gold that normalizes to nothing (SQuAD has a few ".") is skipped."""
    scorable = [g for g in golds if normalize_answer(g, language)] or list(golds)
    return max((f1_score(prediction, g, language) for g in scorable), default=0.0)


def states(text: str, golds: Sequence[str], language: str = "en") -> bool:
    """True when some gold answer stands, whole words, in the text (both normalized)."""
    padded = f" {normalize_answer(MARKER.sub(' ', text), language)} "
    return any(norm and f" {norm} " in padded for norm in (normalize_answer(g, language) for g in golds))


def short_answer(answer: str) -> str:
    """The answer's first line before its first « quoted » sentence, without [n] markers; '' if it opens with one."""
    head = answer.split(QUOTE_OPEN, 1)[0].strip()
    return " ".join(MARKER.sub(" ", head.split("\n", 1)[0]).split())


def lead_line(answer: str) -> str:
    """The answer's first line, what a reader takes as the answer: its short answer, or its first quote."""
    return answer.lstrip().split("\n", 1)[0]


def answer_sentences(answer: str) -> int:
    """Sentences of an answer after its short answer line (a span of a quote, not a sentence of its own)."""
    first, _, rest = answer.partition("\n")
    quoted_after = short_answer(answer) and rest.lstrip().startswith(QUOTE_OPEN)
    return len(split_sentences(rest if quoted_after else answer))


def answer_words(answer: str) -> int:
    """Words of an answer; [n] markers and quote marks are not words."""
    return sum(any(ch.isalnum() for ch in word) for word in MARKER.sub(" ", answer).split())


# --- the run ---------------------------------------------------------------------------------------------------


def score_row(item: SquadItem, result: Any, latency_ms: float) -> dict[str, Any]:
    """One report item from the engine's result (an `AnswerResult`)."""
    short = "" if result.refused else short_answer(result.answer)
    gold, lang = item.answers, item.language
    retrieved = [r.chunk.text for r in result.retrieved]
    answered = item.answerable and not result.refused
    return {
        "id": item.id,
        "question": item.question,
        "language": lang,
        "answerable": item.answerable,
        "gold": list(gold),
        "answer": result.answer,
        "short_answer": short,
        "refused": result.refused,
        "states_gold_short": answered and states(short, gold, lang) if item.answerable else None,
        "states_gold_lead": answered and states(lead_line(result.answer), gold, lang) if item.answerable else None,
        "states_gold_any": answered and states(result.answer, gold, lang) if item.answerable else None,
        "f1": as_json(best_f1(short, gold, lang) if answered else 0.0) if item.answerable else None,
        "retrieved_has_gold": any(states(t, gold, lang) for t in retrieved) if item.answerable else None,
        "answer_words": None if result.refused else answer_words(result.answer),
        "answer_sentences": None if result.refused else answer_sentences(result.answer),
        "latency_ms": round(latency_ms, 1),
    }


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The metrics of some report items; a metric nothing could measure is None."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    latencies = [r["latency_ms"] for r in rows]
    metrics = {
        "states_gold_short": mean([float(r["states_gold_short"]) for r in answerable]),
        "states_gold_lead": mean([float(r["states_gold_lead"]) for r in answerable]),
        "states_gold_any": mean([float(r["states_gold_any"]) for r in answerable]),
        "f1": mean([r["f1"] for r in answerable]),
        "answerable_refused": mean([float(r["refused"]) for r in answerable]),
        "unanswerable_refused": mean([float(r["refused"]) for r in unanswerable]),
        "retrieval_ceiling": mean([float(r["retrieved_has_gold"]) for r in answerable]),
        "answer_words": mean([r["answer_words"] for r in rows]),  # answers that are not refusals
        "answer_sentences": mean([r["answer_sentences"] for r in rows]),
        "latency_p50_ms": percentile(latencies, 0.5),
        "latency_p95_ms": percentile(latencies, 0.95),
        "items": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
    }
    return {k: as_json(v) for k, v in metrics.items()}


def _ingest_articles(corpus: Sequence[SquadItem], settings: Settings, work: Path, progress: bool) -> IngestReport:
    """Write one Markdown document per article under `work` and ingest them into `settings`' index."""
    import yaml

    from ingest.pipeline import ingest_paths

    folder = work / "articles"
    folder.mkdir(parents=True)
    for n, (title, text) in enumerate(articles_of(corpus).items(), start=1):
        doc_id = f"a{n:05d}-" + (re.sub(r"[^a-z0-9]+", "-", normalize_answer(title, "en")).strip("-")[:40] or "doc")
        # SQuAD titles keep Wikipedia's underscores (Black_Death); BM25 reads the title, so give it words.
        front = yaml.safe_dump({"id": doc_id, "title": title.replace("_", " ")}, allow_unicode=True)
        (folder / f"{doc_id}.md").write_text(f"---\n{front}---\n{text}\n", encoding="utf-8")
    report = ingest_paths([folder], settings, progress=progress, notice=lambda message: None)
    if report.errors:
        raise report.errors[0]
    return report


def run_squad(
    items: Sequence[SquadItem],
    settings: Settings,
    *,
    k: int | None = None,
    answerer: str | None = None,
    progress: bool = False,
    corpus: Sequence[SquadItem] | None = None,
) -> dict[str, Any]:
    """Ask every item in a throw-away index of the articles of `corpus` (default: the items' own).

    The user's index is untouched: the index lives in a temporary home, embedded Chroma, removed after.
    Returns {"run", "metrics", "by_language", "items"}. Raises EvalInputError when there is nothing to ask,
    RagError when ingest or an answerer fails.
    """
    from tqdm import tqdm

    from rag.engine import Engine

    if not items:
        raise EvalInputError("no questions to ask")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rag-squad-") as tmp:
        scratch = settings.model_copy(update={"home": Path(tmp) / "home", "chroma_url": None})
        ingested = _ingest_articles(corpus or items, scratch, Path(tmp), progress)
        engine = Engine(scratch)
        rows = []
        for item in tqdm(items, desc="squad", unit="q", file=sys.stderr, disable=not progress, dynamic_ncols=True):
            asked = time.perf_counter()
            result = engine.ask(item.question, k=k, answerer=answerer)
            rows.append(score_row(item, result, (time.perf_counter() - asked) * 1000))
    languages = sorted({r["language"] for r in rows})
    return {
        "run": {
            "answerer": answerer or settings.answerer,
            "k": k or settings.top_k,
            "articles": len(ingested.changes),
            "chunks": ingested.added,
            "ingest_s": round(ingested.seconds, 2),
            "duration_s": round(time.perf_counter() - started, 2),
        },
        "metrics": summarize(rows),
        "by_language": {lang: summarize([r for r in rows if r["language"] == lang]) for lang in languages}
        if len(languages) > 1
        else {},
        "items": rows,
    }


def evaluate_squad(
    path: Path,
    settings: Settings,
    *,
    limit: int | None = None,
    k: int | None = None,
    answerer: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """`rag eval --squad FILE [--limit N]`: the first `limit` questions of FILE, with their whole articles.

    Raises EvalInputError (bad file: exit 2) or RagError.
    """
    asked, corpus = first_questions(load_squad(path), limit)
    report = run_squad(asked, settings, k=k, answerer=answerer, progress=progress, corpus=corpus)
    report["run"] = {"file": str(path), "limit": limit, **report["run"]}
    return report


# --- reports ---------------------------------------------------------------------------------------------------


def _cell(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name.endswith("_ms"):
        return f"{value:.0f} ms"
    if name in dict(RATIOS):
        return f"{100 * value:.1f}%"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _table(report: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    columns = ["all", *report["by_language"]]
    sets = [report["metrics"], *report["by_language"].values()]
    rows = [[label, *(_cell(name, m.get(name)) for m in sets)] for name, label in (*RATIOS, *OTHERS)]
    return columns, rows


def _run_line(report: dict[str, Any]) -> str:
    run = report["run"]
    return (
        f"{run['articles']} articles, {run['chunks']} chunks ingested in {run['ingest_s']} s; answerer "
        f"{run['answerer']}, k={run['k']}; {run['duration_s']} s in all. Not recorded in the eval history; no gates."
    )


def summary_text(report: dict[str, Any], paths: dict[str, Path] | None = None) -> str:
    """What `rag eval --squad` prints: one row per metric, a column per language when the set mixes them."""
    columns, rows = _table(report)
    lines = [f"{'metric':<28}" + "".join(f"{c:>10}" for c in columns)]
    lines += [f"{label:<28}" + "".join(f"{cell:>10}" for cell in cells) for label, *cells in rows]
    lines.append(_run_line(report))
    lines += [f"report: {p}" for p in (paths or {}).values()]
    return "\n".join(lines)


def failing(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Answerable items whose answer states no gold answer, and unanswerable ones that were answered."""
    return [i for i in report["items"] if (not i["states_gold_any"] if i["answerable"] else not i["refused"])]


def markdown(report: dict[str, Any]) -> str:
    """squad.md: the summary table, then every failing item (question, gold, answer)."""
    columns, rows = _table(report)
    lines = [
        f"# SQuAD-format evaluation: {report['run'].get('file', 'items')}",
        "",
        "| metric | " + " | ".join(columns) + " |",
        "| --- |" + " ---: |" * len(columns),
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    bad = failing(report)
    lines += ["", _run_line(report), "", f"## Failing items ({len(bad)})", ""]
    for item in bad[:FAILING_SHOWN]:
        gold = " / ".join(item["gold"]) or "(unanswerable)"
        lines += [f"### {item['id']}: {item['question']}", "", f"- gold: {gold}", "- answer:", ""]
        lines += [f"  > {line}" for line in item["answer"].splitlines()] + [""]
    if len(bad) > FAILING_SHOWN:
        lines.append(f"... and {len(bad) - FAILING_SHOWN} more: squad.json has every item.")
    return "\n".join(lines).rstrip() + "\n"


def write_squad_reports(report: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write squad.json and squad.md under `out`. Raises RagError when the folder cannot be written."""
    paths = {"json": Path(out) / "squad.json", "md": Path(out) / "squad.md"}
    try:
        Path(out).mkdir(parents=True, exist_ok=True)
        paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        paths["md"].write_text(markdown(report), encoding="utf-8")
    except OSError as exc:
        raise RagError(f"{out}: cannot write the reports ({exc.strerror or exc})") from None
    return paths
