"""The `rag` command. Each subcommand parses, calls one library function, prints.

Exit codes: 0 success; 1 the work failed or partly failed (the message says what); 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import EmptyQuestion, RagError
from rag.text import without_controls

EPILOG = """\
settings come from flags, then RAG_* environment variables, then $RAG_HOME/config.toml:
  RAG_HOME         data directory (default: the per-user data dir)
  RAG_CHROMA_URL   http://HOST:PORT of a Chroma server (default: embedded, under RAG_HOME)
  RAG_EMBED_MODEL  sentence-transformers model name or path (default: all-MiniLM-L6-v2, bundled)
  RAG_CHUNK_SIZE, RAG_CHUNK_OVERLAP, RAG_MAX_FILE_MB, RAG_COLLECTION, RAG_EMBED_BATCH_SIZE
everything runs offline: no model or data is downloaded at run time.
exit codes: 0 ok, 1 failed or partly failed, 2 bad usage."""


def _settings(args: argparse.Namespace) -> Any:
    from rag.config import load_settings

    keys = (
        "home",
        "chroma_url",
        "embed_model",
        "chunk_size",
        "chunk_overlap",
        "max_file_mb",
        "llm_base_url",
        "llm_model",
    )
    return load_settings({k: getattr(args, k, None) for k in keys})


def top_k(value: str) -> int:
    """--k: a whole number within the range the RAG_TOP_K setting accepts."""
    from rag.config import TOP_K_MAX

    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= k <= TOP_K_MAX:
        raise argparse.ArgumentTypeError(f"{k} is out of range: choose 1 to {TOP_K_MAX} sources")
    return k


def _err(message: str) -> None:
    print(f"error: {without_controls(message)}", file=sys.stderr)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest files and folders."""
    from ingest.pipeline import ingest_paths

    quiet = args.quiet or args.json
    report = ingest_paths(
        args.paths,
        _settings(args),
        dry_run=args.dry_run,
        rebuild=args.rebuild,
        progress=not quiet and sys.stderr.isatty(),
        notice=(lambda m: None) if quiet else (lambda m: print(f"notice: {without_controls(m)}", file=sys.stderr)),
    )
    for error in report.errors:
        _err(str(error))
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        if args.dry_run or args.verbose:
            for change in report.changes:
                if change.status != "unchanged" or args.verbose:
                    print(f"{change.status:>9}  {change.doc_id}  +{change.added} ={change.kept} -{change.deleted}")
        print(report.summary())
    if report.others and not quiet:
        print(
            f"notice: the index also holds {report.others} document(s) from other paths, which answers draw on too; "
            "`rag sources` lists them, `rag sources rm ID` removes one",
            file=sys.stderr,
        )
    return 1 if report.errors else 0


def cmd_sources(args: argparse.Namespace) -> int:
    """List indexed documents."""
    from ingest.pipeline import list_documents

    docs = list_documents(_settings(args))
    if args.json:
        rows = [
            {
                "id": d.doc_id,
                "title": d.title,
                "language": d.language,
                "chunks": len(d.chunk_ids),
                "source": d.source,
                "complete": d.complete,
                "untrusted_chunks": d.untrusted,
            }
            for d in docs
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=None if getattr(args, "compact", False) else 2))
        return 0
    if not docs:
        print("the index is empty; add documents with `rag ingest PATH`")
        return 0
    width = max(len(d.doc_id) for d in docs)
    for d in docs:
        title = without_controls(d.title if len(d.title) <= 60 else d.title[:57] + "...")
        marks = "" if d.complete else "  [incomplete: ingest again to finish]"
        if d.untrusted:
            marks += f"  [untrusted: {d.untrusted} chunk(s) address an assistant]"
        line = f"{d.doc_id:<{width}}  {d.language:<2}  {len(d.chunk_ids):>4} chunks  {title}  ({d.source}){marks}"
        print(without_controls(line))
    print(f"{len(docs)} documents, {sum(len(d.chunk_ids) for d in docs)} chunks")
    return 0


def cmd_sources_rm(args: argparse.Namespace) -> int:
    """Remove one document."""
    from ingest.pipeline import remove_document

    change = remove_document(args.id, _settings(args))
    print(f"removed {change.doc_id}: {change.deleted} chunks")
    return 0


def _engine_and_session(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from rag.conversation import Conversation
    from rag.engine import Engine

    settings = _settings(args)
    session = getattr(args, "session", None)
    conversation = Conversation.load(settings.home, session) if session else Conversation()
    engine = Engine(settings)
    # After another machine wrote to a shared index, the new chunks' multilingual vectors are made here:
    # a progress bar rather than a silent wait (nothing to do when the index is as this machine left it).
    engine.retriever.prepare(progress=sys.stderr.isatty())
    return engine, conversation, settings


def _print_result(result: Any, args: argparse.Namespace, streamed: bool) -> None:
    from rag.render import render_answer, render_trace

    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return
    if args.trace:
        print(render_trace(result), file=sys.stderr)
    print(render_answer(result, color=sys.stdout.isatty(), streamed=streamed))


def _ask_once(engine: Any, question: str, conversation: Any, args: argparse.Namespace) -> Any:
    stream = not args.json and (args.answerer or engine.settings.answerer) != "extractive"
    on_text = (lambda piece: print(without_controls(piece), end="", flush=True)) if stream else None
    result = engine.ask(question, conversation, k=args.k, answerer=args.answerer, strict=args.strict, on_text=on_text)
    if stream:
        print()
    _print_result(result, args, streamed=stream)
    return result


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question."""
    engine, conversation, settings = _engine_and_session(args)
    before = list(conversation.turns)
    try:
        _ask_once(engine, args.question, conversation, args)
    finally:  # kept even when printing fails: `rag ask ... | head -1` may close the pipe after one line
        if args.session and conversation.turns != before:
            conversation.save(settings.home, args.session)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation: interactive on a terminal, one question per line otherwise."""
    engine, conversation, settings = _engine_and_session(args)
    interactive = sys.stdin.isatty()
    warming = None
    if interactive:
        # The models load while the user types; the first question waits for what is left of it.
        warming = threading.Thread(target=engine.warm_up, args=(args.answerer,), name="rag-warm-up", daemon=True)
        warming.start()
        print("Ask about your documents. /sources lists them, /reset starts over, /quit leaves.")
    while True:
        try:
            line = input("you> " if interactive else "")
        except EOFError:
            break
        question = line.strip()
        if not question:
            continue
        if question in ("/quit", "/exit"):
            break
        if question == "/reset":
            conversation.turns.clear()
            print(json.dumps({"reset": True}) if args.json else "(conversation cleared)")
            continue
        if question == "/sources":
            cmd_sources(argparse.Namespace(**{**vars(args), "compact": True}))
            continue
        if warming:
            warming.join()  # one thread loading a model, never two
            warming = None
        try:
            _ask_once(engine, question, conversation, args)
        except RagError as exc:
            _err(str(exc))
        finally:
            if args.session:
                conversation.save(settings.home, args.session)
        if interactive:
            print()
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    """Serve the web page until interrupted."""
    from ui.app import launch

    launch(_settings(args), host=args.host, port=args.port, auth=args.auth)
    return 0


def cmd_eval_squad(args: argparse.Namespace) -> int:
    """Run a SQuAD-format question set through the system in a throw-away index; print the scores."""
    from eval.squad import evaluate_squad, summary_text, write_squad_reports

    report = evaluate_squad(
        args.squad,
        _settings(args),
        limit=args.limit,
        k=args.k,
        answerer=args.answerer,
        progress=not args.json and sys.stderr.isatty(),
    )
    paths = write_squad_reports(report, args.out) if args.out else {}
    print(json.dumps(report, ensure_ascii=False) if args.json else summary_text(report, paths))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the system (or given predictions) on a gold set; write reports; exit 1 when a gate fails."""
    if args.squad:
        return cmd_eval_squad(args)
    from eval.report import write_reports
    from eval.run import GATES, Gates, evaluate, summary_text

    gates = Gates.load(args.gates or (GATES if GATES.exists() else None), args.fail_under or [])

    def progress(total: int) -> Callable[[], None]:
        if args.json or not sys.stderr.isatty():
            return lambda: None
        from tqdm import tqdm

        bar = tqdm(total=total, desc="eval", unit="q", file=sys.stderr)
        return lambda: bar.update(1)

    report = evaluate(
        _settings(args),
        gold_path=args.gold,
        predictions=args.predictions,
        answerer=args.answerer,
        k=args.k,
        gates=gates,
        history=not args.no_history,
        progress=progress,
    )
    paths = write_reports(report, args.out) if args.out else {}
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(summary_text(report, paths))
    if not report["gates"]["passed"]:
        _err(f"gate failed: {report['gates']['failed'][0]}")
        return 1
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure ingest, retrieval and answers at each size against the baseline; print the table."""
    from eval.bench import BenchOptions, parse_sizes, run_benchmark
    from eval.bench_report import markdown, write_results

    given = (("seed", args.seed), ("repeats", args.repeats), ("work", args.work), ("encode_sample", args.encode_sample))
    chosen = {k: v for k, v in given if v is not None}
    if args.sizes:
        chosen["sizes"] = parse_sizes(args.sizes)
    chosen["baseline"] = not args.no_baseline
    options = BenchOptions.quick_mode(**chosen) if args.quick else BenchOptions(**chosen)

    def say(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr)

    def checkpoint(partial: dict[str, Any]) -> None:  # a killed run keeps the sizes it finished
        say(f"result so far in {write_results(partial, args.out)['json']}")

    result = run_benchmark(_settings(args), options, progress=say, checkpoint=checkpoint if args.out else None)
    paths = write_results(result, args.out) if args.out else {}
    print(json.dumps(result, ensure_ascii=False) if args.json else markdown(result), end="" if not args.json else "\n")
    for path in paths.values():
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _answer_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=top_k, metavar="N", help="sources to retrieve, 1 to 50 (5)")
    parser.add_argument(
        "--answerer",
        choices=("extractive", "openai"),
        help="extractive (default: offline, quotes the sources) or openai (a chat server)",
    )
    parser.add_argument("--strict", action="store_true", help="drop sentences the sources do not support")
    parser.add_argument("--session", metavar="NAME", help="keep the conversation across invocations")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="print the standalone question, scores of every retrieved chunk and step timings",
    )
    _llm_flags(parser)


def _llm_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--llm-url",
        dest="llm_base_url",
        metavar="URL",
        help="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (env RAG_LLM_BASE_URL)",
    )
    parser.add_argument("--llm-model", metavar="NAME", help="model name for the server (env RAG_LLM_MODEL)")


def _store_flags(parser: argparse.ArgumentParser, json_output: bool = True) -> None:
    parser.add_argument("--home", type=Path, help="data directory (env RAG_HOME)")
    parser.add_argument(
        "--chroma-url", metavar="URL", help="use the Chroma server at http://HOST:PORT (env RAG_CHROMA_URL)"
    )
    if json_output:
        parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Answer questions about your documents, with citations it has checked.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ingest = sub.add_parser(
        "ingest",
        help="chunk and embed documents into the index (incremental)",
        description="Chunk and embed .txt, .md, .html and .pdf files into the index. Folders are walked "
        "recursively. Only new or edited files are embedded; documents whose files were removed from a "
        "folder you ingest again are removed from the index.",
    )
    ingest.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or folders")
    _store_flags(ingest)
    ingest.add_argument("--dry-run", action="store_true", help="print what would be added, changed and removed")
    ingest.add_argument(
        "--rebuild",
        action="store_true",
        help="re-embed everything (PATHs and every source already indexed), e.g. after a model change",
    )
    ingest.add_argument("--embed-model", metavar="NAME", help="sentence-transformers model name or local path")
    ingest.add_argument("--chunk-size", type=int, metavar="TOKENS", help="chunk length in tiktoken tokens (160)")
    ingest.add_argument("--chunk-overlap", type=int, metavar="TOKENS", help="tokens shared by neighbours (32)")
    ingest.add_argument("--max-file-mb", type=float, metavar="MB", help="refuse files larger than this (20)")
    ingest.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notices")
    ingest.add_argument("-v", "--verbose", action="store_true", help="one line per document")
    ingest.set_defaults(func=cmd_ingest)

    ask = sub.add_parser(
        "ask",
        help="answer a question, citing and checking the sources",
        description="Answer a question in English or French. Every sentence cites its source as "
        "[n] and is checked against it; unsupported sentences are marked.",
    )
    ask.add_argument("question", metavar="QUESTION")
    _store_flags(ask)
    _answer_flags(ask)
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="a conversation with follow-up questions (REPL, or one question per line)")
    _store_flags(chat)
    _answer_flags(chat)
    chat.set_defaults(func=cmd_chat)

    sources = sub.add_parser("sources", help="list indexed documents; `sources rm ID` removes one")
    _store_flags(sources)
    sources.set_defaults(func=cmd_sources)
    sources_sub = sources.add_subparsers(dest="action", metavar="ACTION")
    rm = sources_sub.add_parser("rm", help="remove one document's chunks from the index")
    rm.add_argument("id", metavar="ID", help="document id, as `rag sources` shows it")
    _store_flags(rm)
    rm.set_defaults(func=cmd_sources_rm)

    ev = sub.add_parser(
        "eval",
        help="score answers on the gold Q&A set: faithfulness, correctness, retrieval, refusals, latency",
        description="Run the system on a gold set (default: the bundled eval/gold.jsonl) or score answers "
        "made elsewhere (--predictions), compare with the previous run, and write reports. Offline and "
        "deterministic: the same inputs give the same scores.",
        epilog="exit codes: 0 every gate passed; 1 a gate failed (a metric under its floor, a drop of more "
        "than max_drop since the previous run, or a new contradicted claim); 2 bad input.\n"
        "history: one record per run in $RAG_HOME/eval/history.sqlite.\n"
        "--squad FILE: ingest FILE's articles into a throw-away index (your index is untouched), ask every "
        "question\nand report: gold answer stated (short answer line / anywhere), SQuAD F1, refusals, answer "
        "length,\nretrieval ceiling, latency, per language. Not recorded in the history; no gates (exit 0).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("--gold", type=Path, metavar="FILE", help="gold JSONL (default: eval/gold.jsonl)")
    ev.add_argument(
        "--predictions",
        type=Path,
        metavar="FILE",
        help="score these answers instead of running the system (JSONL: id, question, answer, contexts, reference)",
    )
    ev.add_argument(
        "--squad",
        type=Path,
        metavar="FILE",
        help="run a SQuAD-format set (SQuAD JSON, or JSONL: title, context, question, answers, is_impossible)",
    )
    ev.add_argument("--limit", type=int, metavar="N", help="with --squad: the first N questions only")
    ev.add_argument(
        "--out", type=Path, metavar="DIR", help="write report.json, report.md and report.html here (--squad: squad.*)"
    )
    ev.add_argument(
        "--fail-under",
        action="append",
        metavar="METRIC=VALUE",
        help="fail when METRIC is below VALUE (repeatable), e.g. faithfulness=0.95",
    )
    ev.add_argument("--gates", type=Path, metavar="FILE", help="gate thresholds (default: eval/gates.toml)")
    ev.add_argument("--no-history", action="store_true", help="neither compare with nor record in the history")
    ev.add_argument("--k", type=top_k, metavar="N", help="sources to retrieve, 1 to 50 (5)")
    ev.add_argument("--answerer", choices=("extractive", "openai"), help="answerer to evaluate (extractive)")
    _llm_flags(ev)
    _store_flags(ev)
    ev.set_defaults(func=cmd_eval)

    bench = sub.add_parser(
        "bench",
        help="measure ingest, retrieval and answer speed from 1k to 100k chunks, against plain llama-index",
        description="Benchmark on a seeded synthetic FR/EN corpus: ingest throughput against the model's raw "
        "encode speed, no-change re-ingest, dense/BM25/fused retrieval and answer latency, cold `rag ask`, "
        "peak memory, hit@k; the same work by a plain llama-index pipeline; hit@k on the gold set. "
        "Indexes go to a temporary directory (or --work); HOME/bench-cache keeps the vectors of the 100k "
        "corpus, which are encoded once (about an hour on 2 cores) and reused.",
        epilog="time: --quick under two minutes; 10k about an hour with --repeats 3; 100k an hour more the "
        "first time (the vector cache), minutes after.",
    )
    bench.add_argument("--quick", action="store_true", help="1k chunks, one run of each slow step (for CI)")
    bench.add_argument("--sizes", metavar="LIST", help="chunk counts to measure, e.g. 1k,10k,100k (1k)")
    bench.add_argument("--repeats", type=int, metavar="N", help="full ingests and encodes per size (3)")
    bench.add_argument("--seed", type=int, metavar="N", help="seed of the synthetic corpus (0)")
    bench.add_argument(
        "--encode-sample",
        type=int,
        metavar="N",
        help="raw-encode N of the chunks, spread evenly, for the hardware limit (all; --quick: 128)",
    )
    bench.add_argument("--out", type=Path, metavar="DIR", help="write bench.json and bench.md here")
    bench.add_argument("--work", type=Path, metavar="DIR", help="keep corpora and indexes here (default: a temp dir)")
    bench.add_argument("--no-baseline", action="store_true", help="skip the llama-index baseline")
    bench.add_argument("--home", type=Path, help="data directory: settings and bench-cache/ (env RAG_HOME)")
    bench.add_argument("--json", action="store_true", help="print the JSON result instead of the table")
    bench.set_defaults(func=cmd_bench)

    ui = sub.add_parser(
        "ui",
        help="serve the web page: chat with streamed answers and sources, upload and remove documents",
        description="Serve the chat page on http://HOST:PORT (127.0.0.1 by default: this machine only). "
        "Everything stays offline: no fonts, scripts or analytics are fetched.",
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    ui.add_argument("--port", type=int, default=7860, help="port to listen on (7860)")
    ui.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        help="require this login (env RAG_UI_AUTH); strongly advised with any --host but 127.0.0.1",
    )
    _store_flags(ui, json_output=False)
    _llm_flags(ui)
    ui.set_defaults(func=cmd_ui)
    return parser


def _check_eval_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--squad is its own suite: no gold file, no predictions, no gates; --limit only goes with it."""
    if args.squad:
        clash = [f for f, v in (("--gold", args.gold), ("--predictions", args.predictions)) if v]
        clash += [f for f, v in (("--fail-under", args.fail_under), ("--gates", args.gates)) if v]
        if clash:
            parser.error(f"--squad cannot be combined with {clash[0]}")
    elif args.limit is not None:
        parser.error("--limit goes with --squad")
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be at least 1, not {args.limit}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "ingest" and not args.paths and not args.rebuild:
        parser.error("ingest needs at least one PATH (or --rebuild)")
    if args.command == "eval":
        _check_eval_flags(parser, args)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except EmptyQuestion as exc:
        _err(str(exc))
        return 2
    except RagError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted; the index is consistent, run the same command again to finish")
        return 130
    except BrokenPipeError:  # the reader of the output left (`| head -1`): nothing to tell, and no one to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor at exit, when Python flushes
        return 141  # as a process that SIGPIPE stopped
    except OSError as exc:  # the machine's refusal (disk full, permissions) for a path the checks above missed
        where = f"{exc.filename}: " if exc.filename else ""
        _err(f"{where}{exc.strerror or exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
