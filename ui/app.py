"""The web page: an adapter over the engine. `build_app` wires the page, `launch` serves it.

No retrieval or answer logic lives here: questions go to `Engine.ask`, files to `ingest.pipeline`;
this module only streams, renders (`ui.render`) and keeps one conversation per browser session.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import traceback
from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: it reads this at import time

import gradio as gr  # noqa: E402

from ingest.pipeline import ingest_paths, list_documents, remove_document  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.conversation import Conversation  # noqa: E402
from rag.engine import AnswerResult, Engine  # noqa: E402
from rag.errors import DocumentError, RagError  # noqa: E402
from ui.render import (  # noqa: E402
    CSS,
    EMPTY_SOURCES,
    SEARCHING,
    answer_html,
    error_html,
    sources_html,
    streaming_html,
)
from ui.security import bind_warning, login_checker, parse_auth  # noqa: E402
from ui.uploads import discard_temp, forget_upload, safe_name, store_upload  # noqa: E402

EXAMPLES = [
    "How much did Meta pay for ScaleAI?",
    "Who founded ScaleAI?",
    "Where did Llama 4 rank on LMArena?",
    "Combien Meta a-t-elle payé pour ScaleAI ?",
    "Quel âge a Mark Zuckerberg ?",
]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]
# System fonts only: the default theme would fetch Inter from Google Fonts, which fails offline.
SANS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
DOC_HEADERS = ["id", "title", "language", "chunks", "source"]
Message = dict[str, str]


def stream_answer(engine: Engine, question: str, conversation: Conversation, **options: Any) -> Iterator[Any]:
    """Run `engine.ask` in a thread; yield the answer text so far (str), then the AnswerResult or a RagError."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def run() -> None:
        try:
            result = engine.ask(question, conversation, on_text=lambda piece: events.put(("text", piece)), **options)
            events.put(("done", result))
        except RagError as exc:
            events.put(("done", exc))
        except Exception as exc:  # a bug: keep the page alive, put the traceback in the server log
            traceback.print_exc()
            events.put(("done", RagError(f"unexpected {type(exc).__name__}: {exc}")))

    threading.Thread(target=run, name="rag-answer", daemon=True).start()
    text = ""
    while True:
        kind, value = events.get()
        if kind == "done":
            yield value
            return
        text += value
        yield text


def _ask_handler(engine: Engine) -> Any:
    def ask(
        question: str, history: list[Message] | None, answerer: str, k: float, strict: bool, conversation: Any
    ) -> Iterator[tuple[Any, ...]]:
        conversation = conversation if isinstance(conversation, Conversation) else Conversation()
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield "", history, gr.skip(), gr.skip(), conversation
            return
        history += [{"role": "user", "content": escape(question)}, {"role": "assistant", "content": SEARCHING}]
        yield "", history, gr.skip(), gr.skip(), conversation
        options = {"answerer": answerer, "k": int(k), "strict": bool(strict)}
        for event in stream_answer(engine, question, conversation, **options):
            if isinstance(event, str):
                history[-1] = {"role": "assistant", "content": streaming_html(event)}
                yield "", history, gr.skip(), gr.skip(), conversation
            elif isinstance(event, AnswerResult):
                history[-1] = {"role": "assistant", "content": answer_html(event)}
                yield "", history, sources_html(event), event.to_json(), conversation
            else:
                history[-1] = {"role": "assistant", "content": error_html(str(event))}
                yield "", history, EMPTY_SOURCES, {"error": str(event)}, conversation

    return ask


def _documents(settings: Settings) -> tuple[list[list[Any]], Any]:
    docs = list_documents(settings)
    rows = [[d.doc_id, d.title, d.language, len(d.chunk_ids), d.source] for d in docs]
    choices = [(f"{d.doc_id} — {d.title[:60]}", d.doc_id) for d in docs]
    return rows, gr.update(choices=choices, value=None)


def _upload_handler(settings: Settings) -> Any:
    def upload(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008
        lines: list[str] = []
        paths = [Path(f) for f in files or []]
        for i, temp in enumerate(paths):
            name = safe_name(temp.name)
            progress((i, len(paths)), desc=f"indexing {name}", unit="files")
            try:
                stored = store_upload(temp, temp.name, settings)
                report = ingest_paths([stored], settings, notice=lambda message: None)
            except DocumentError as exc:
                lines.append(f"error: {exc}")
                continue
            except RagError as exc:
                lines.append(f"error: {name}: {exc}")
                continue
            finally:
                discard_temp(temp)
            if stored.name != name:
                lines.append(f"{name}: another document already has this name; stored as {stored.name}")
            lines.extend(f"error: {name}: {e.reason}" for e in report.errors)
            lines.extend(
                f"notice: {name}: line {u['line']} reads as instructions to an assistant; kept as untrusted data"
                for u in report.untrusted
            )
            if not report.errors:
                lines.append(f"{name}: {report.summary()}")
        progress((len(paths), len(paths)), desc="done", unit="files")
        rows, choices = _documents(settings)
        return "\n".join(lines) or "choose files first", rows, choices, None

    return upload


def _remove_handler(settings: Settings) -> Any:
    def remove(doc_id: str | None) -> tuple[Any, ...]:
        if not doc_id:
            rows, choices = _documents(settings)
            return "choose a document to remove", rows, choices
        try:
            change = remove_document(doc_id, settings)
            forget_upload(change.source, settings)
            status = f"removed {change.doc_id}: {change.deleted} chunks"
        except RagError as exc:
            status = f"error: {exc}"
        rows, choices = _documents(settings)
        return status, rows, choices

    return remove


def _list_handler(settings: Settings) -> Any:
    def documents() -> tuple[Any, ...]:
        try:
            return _documents(settings)
        except RagError as exc:
            return [[f"error: {exc}", "", "", 0, ""]], gr.update(choices=[])

    return documents


def _answerers(settings: Settings) -> list[str]:
    return ["extractive", "openai"] if settings.llm_base_url else ["extractive"]


def build_app(engine: Engine, settings: Settings) -> gr.Blocks:
    """The page: chat with streamed answers and a sources panel, answer settings, and a documents tab."""
    with gr.Blocks(title="rag — ask your documents", analytics_enabled=False) as app:
        conversation = gr.State(None)  # a rag Conversation per browser session
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Answers cite their sources as [n]; unsupported sentences are flagged",
                    elem_id="rag-chat",
                    height=540,
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder="Ask a question about your documents, in English or French.",
                    latex_delimiters=[],  # "$14.3 billion … $295 billion" is money, not LaTeX
                    feedback_options=None,
                    buttons=["copy"],
                )
                with gr.Row():
                    question = gr.Textbox(
                        show_label=False,
                        placeholder="How much did Meta pay for ScaleAI?",
                        elem_id="rag-question",
                        scale=5,
                        submit_btn="Ask",
                        autofocus=True,
                    )
                    reset = gr.Button("New conversation", scale=1, elem_id="rag-reset")
                with gr.Accordion("Answer settings", open=False):
                    answerer = gr.Dropdown(
                        _answerers(settings),
                        value=settings.answerer,
                        label="Answerer",
                        info=f"extractive quotes the sources offline; openai asks {settings.llm_base_url}",
                    )
                    k = gr.Slider(1, 20, value=settings.top_k, step=1, label="Sources retrieved (k)")
                    strict = gr.Checkbox(False, label="Strict: drop sentences the sources do not support")
            with gr.Column(scale=2):
                sources = gr.HTML(EMPTY_SOURCES, elem_id="rag-sources")
                with gr.Accordion("Answer details (JSON)", open=False):
                    details = gr.JSON(label="as `rag ask --json` prints it")
        with gr.Tab("Documents"):
            with gr.Row():
                files = gr.File(
                    label="Add documents (txt, md, html, pdf)",
                    file_count="multiple",
                    file_types=UPLOAD_TYPES,
                    type="filepath",
                    elem_id="rag-upload",
                )
                with gr.Column():
                    add = gr.Button("Add to the index", variant="primary")
                    status = gr.Textbox(label="Result", lines=4, interactive=False, elem_id="rag-doc-status")
            table = gr.Dataframe(headers=DOC_HEADERS, interactive=False, label="Indexed documents", wrap=True)
            with gr.Row():
                doomed = gr.Dropdown([], label="Document to remove", scale=4)
                drop = gr.Button("Remove", variant="stop", scale=1)

        chat_io = {
            "fn": _ask_handler(engine),
            "inputs": [question, chatbot, answerer, k, strict, conversation],
            "outputs": [question, chatbot, sources, details, conversation],
            "concurrency_id": "index",
            "concurrency_limit": 1,
        }
        question.submit(api_name="ask", **chat_io)
        chatbot.example_select(_example_text, None, question, api_visibility="private").then(
            api_visibility="private", **chat_io
        )
        reset.click(
            lambda: ([], EMPTY_SOURCES, None, Conversation()),
            None,
            [chatbot, sources, details, conversation],
            api_name="reset",
        )
        add.click(
            _upload_handler(settings),
            files,
            [status, table, doomed, files],
            api_name="upload",
            show_progress_on=status,  # one progress bar, where the result will appear
            concurrency_id="index",
            concurrency_limit=1,
        )
        drop.click(
            _remove_handler(settings),
            doomed,
            [status, table, doomed],
            api_name="remove",
            concurrency_id="index",
            concurrency_limit=1,
        )
        app.load(_list_handler(settings), None, [table, doomed], api_name="documents")
    return app


def _example_text(event: gr.SelectData) -> str:
    value = event.value
    return str(value.get("text", "")) if isinstance(value, dict) else str(value)


def launch(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    *,
    engine: Engine | None = None,
    block: bool = True,
    quiet: bool = False,
) -> gr.Blocks:
    """Serve the page on host:port (login when `auth` or settings.ui_auth is USER:PASSWORD); return the app.

    With block=False it returns once the server is up (call `.close()` to stop it).
    Raises SettingsError for a malformed auth pair and RagError when the port cannot be bound.
    """
    credentials = parse_auth(auth if auth is not None else settings.ui_auth)
    warning = bind_warning(host, credentials)
    if warning:
        print(warning, file=sys.stderr)
    engine = engine or Engine(settings)
    app = build_app(engine, settings)
    app.queue(default_concurrency_limit=1)
    try:
        app.launch(
            server_name=host,
            server_port=port,
            auth=login_checker(credentials) if credentials else None,  # type: ignore[arg-type]  # awaited
            prevent_thread_lock=not block,
            share=False,
            ssr_mode=False,
            pwa=False,
            mcp_server=False,
            enable_monitoring=False,
            quiet=quiet,
            # Gradio stops uploads far over the limit at the door; the rest get the CLI's one-line message.
            max_file_size=f"{int(settings.max_file_mb * 2) + 1}mb",
            footer_links=["api", "settings"],
            theme=gr.themes.Default(font=SANS, font_mono=MONO),
            css=CSS,
        )
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port} ({exc}); choose another --port") from None
    return app
