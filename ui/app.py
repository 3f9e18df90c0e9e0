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
from starlette.middleware import Middleware  # noqa: E402

from ingest.pipeline import ingest_paths, list_documents, remove_document  # noqa: E402
from rag.config import TOP_K_MAX, Settings  # noqa: E402
from rag.conversation import Conversation  # noqa: E402
from rag.engine import AnswerResult, Engine  # noqa: E402
from rag.errors import DocumentError, RagError  # noqa: E402
from ui.render import (  # noqa: E402
    CSS,
    PAGE_JS,
    SEARCHING,
    answer_html,
    error_html,
    stopped_html,
    streaming_html,
    title_html,
)
from ui.security import KeepLoginName, bind_warning, login_checker, parse_auth  # noqa: E402
from ui.uploads import discard_temp, forget_upload, safe_name, store_upload  # noqa: E402

EXAMPLES = [
    "How much did Meta pay for ScaleAI?",
    "Who founded ScaleAI?",
    "Where did Llama 4 rank on LMArena?",
    "Combien Meta a-t-elle payé pour ScaleAI ?",
    "Combien d'employés ont été licenciés ?",
]
UPLOAD_TYPES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf"]
# System fonts only: the default theme would fetch Inter from Google Fonts, which fails offline.
SANS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
DOC_HEADERS = ["id", "title", "language", "chunks", "file"]
APP_NAME = "rag — ask your documents"
Message = dict[str, Any]


class Stopped(Exception):
    """The user pressed Stop: the answer is abandoned (and with it the LLM server's stream)."""

    def __init__(self, partial: str = "") -> None:
        super().__init__("stopped")
        self.partial = partial  # the text that had arrived


def stream_answer(
    engine: Engine, question: str, conversation: Conversation, stop: threading.Event | None = None, **options: Any
) -> Iterator[Any]:
    """Run `engine.ask` in a thread; yield the answer text so far (str), then the AnswerResult or a RagError.

    Setting `stop` (the Stop button does) ends it: the next streamed piece raises in the worker, which ends
    the request to the LLM server, and the generator yields `Stopped(text so far)`; the conversation gets no
    turn. Closing the generator does the same.
    """
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = stop or threading.Event()

    def on_text(piece: str) -> None:
        if stop.is_set():
            raise Stopped
        events.put(("text", piece))

    def run() -> None:
        try:
            result = engine.ask(question, conversation, on_text=on_text, **options)
            events.put(("done", result))
        except Stopped:
            events.put(("done", Stopped()))
        except RagError as exc:
            events.put(("done", exc))
        except Exception as exc:  # a bug: keep the page alive, put the traceback in the server log
            traceback.print_exc()
            events.put(("done", RagError(f"unexpected {type(exc).__name__}: {exc}")))

    threading.Thread(target=run, name="rag-answer", daemon=True).start()
    text = ""
    try:
        while True:
            try:
                kind, value = events.get(timeout=0.1)
            except queue.Empty:
                if stop.is_set():  # the answer is abandoned here, whatever the worker is doing
                    yield Stopped(text)
                    return
                continue
            if kind == "done":
                yield Stopped(text) if stop.is_set() and not isinstance(value, AnswerResult) else value
                return
            text += value
            yield text
    finally:
        stop.set()


def _busy() -> Any:
    """The question box while an answer is made: empty, closed to new questions, with a Stop button."""
    return gr.update(value="", interactive=False, submit_btn=False, stop_btn="Stop")


def _ready() -> Any:
    """The question box ready for the next question."""
    return gr.update(interactive=True, submit_btn="Ask", stop_btn=False)


def _ask_handler(engine: Engine) -> Any:
    def ask(
        question: str,
        history: list[Message] | None,
        answerer: str,
        k: float,
        strict: bool,
        conversation: Any,
    ) -> Iterator[tuple[Any, ...]]:
        conversation = conversation if isinstance(conversation, Conversation) else Conversation()
        stopper = threading.Event()  # the Stop button sets it through the session's state
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield _ready(), history, gr.skip(), conversation, stopper
            return
        turn = len(history) + 1  # the answer's index in the chat: its sources' ids are unique to it
        history += [{"role": "user", "content": escape(question)}, {"role": "assistant", "content": SEARCHING}]
        yield _busy(), history, gr.skip(), conversation, stopper
        options = {"answerer": answerer, "k": int(k), "strict": bool(strict)}
        for event in stream_answer(engine, question, conversation, stopper, **options):
            if isinstance(event, str):
                history[-1] = {"role": "assistant", "content": streaming_html(event)}
                yield _busy(), history, gr.skip(), conversation, stopper
            elif isinstance(event, AnswerResult):
                history[-1] = {"role": "assistant", "content": answer_html(event, turn)}
                if event.suggestion:  # a click asks it (option_select below)
                    history[-1]["options"] = [{"value": event.suggestion, "label": event.suggestion}]
                yield _ready(), history, event.to_json(), conversation, stopper
            elif isinstance(event, Stopped):
                history[-1] = {"role": "assistant", "content": stopped_html(event.partial)}
                yield _ready(), history, {"stopped": True}, conversation, stopper
            else:
                history[-1] = {"role": "assistant", "content": error_html(str(event))}
                yield _ready(), history, {"error": str(event)}, conversation, stopper

    return ask


def _fresh() -> tuple[Any, ...]:
    """One reset, wherever it is pressed: no messages, no details, no memory of earlier turns."""
    return [], None, Conversation()


def _stop(stopper: Any) -> None:
    """The Stop button: tell the running answer to end (it marks itself "stopped" and reopens the box)."""
    if isinstance(stopper, threading.Event):
        stopper.set()


def _documents(settings: Settings) -> tuple[Any, Any, str]:
    """The documents table (file name shown, full path on hover), the remove choices and the title bar."""
    docs = list_documents(settings)
    rows = [[d.doc_id, d.title, d.language, len(d.chunk_ids), _file_cell(d.source)] for d in docs]
    choices = [(f"{d.doc_id} — {d.title[:60]}", d.doc_id) for d in docs]
    return rows, gr.update(choices=choices, value=None), title_html(docs)


def _file_cell(source: str) -> str:
    return f'<span title="{escape(source)}">{escape(Path(source).name)}</span>'


def _status(lines: list[str]) -> str:
    """The Documents tab's result box (the page paints it red when a line starts with "error:")."""
    return "\n".join(lines)


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
        return _status(lines or ["choose files first"]), *_documents(settings), None

    return upload


def _remove_handler(settings: Settings) -> Any:
    def remove(doc_id: str | None) -> tuple[Any, ...]:
        if not doc_id:  # none chosen, or the page's confirm() said no
            lines = ["nothing removed"]
        else:
            try:
                change = remove_document(doc_id, settings)
                forget_upload(change.source, settings)
                lines = [f"removed {change.doc_id}: {change.deleted} chunks"]
            except RagError as exc:
                lines = [f"error: {exc}"]
        return _status(lines), *_documents(settings)

    return remove


def _list_handler(settings: Settings) -> Any:
    def documents() -> tuple[Any, ...]:
        try:
            return _documents(settings)
        except RagError as exc:
            return [[f"error: {exc}", "", "", 0, ""]], gr.update(choices=[]), title_html(None)

    return documents


def _answerers(settings: Settings) -> list[str]:
    return ["extractive", "openai"] if settings.llm_base_url else ["extractive"]


def build_app(engine: Engine, settings: Settings, *, logout: bool = False) -> gr.Blocks:
    """The page: a title bar, the chat (each answer with its own sources) and a documents tab."""
    with gr.Blocks(title=APP_NAME, analytics_enabled=False) as app:
        conversation = gr.State(None)  # a rag Conversation per browser session
        stopper = gr.State(None)  # the running answer's stop flag (a threading.Event), for the Stop button
        with gr.Row(elem_id="rag-titlebar"):
            title = gr.HTML(title_html(None), elem_id="rag-title")
            if logout:
                gr.Button("Log out", link="/logout", size="sm", scale=0, elem_id="rag-logout")
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(
                label="Conversation",
                show_label=False,
                elem_id="rag-chat",
                height="62vh",
                examples=[{"text": q} for q in EXAMPLES],
                placeholder="Ask a question about your documents, in English or French. Every answer cites "
                "the passages it comes from; click a [n] to see one.",
                latex_delimiters=[],  # "$14.3 billion … $295 billion" is money, not LaTeX
                feedback_options=None,
                buttons=["copy"],
            )
            with gr.Row():
                question = gr.Textbox(
                    show_label=False,
                    placeholder="Ask about your documents…",
                    elem_id="rag-question",
                    scale=5,
                    submit_btn="Ask",
                    stop_btn=False,
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
                k = gr.Slider(1, TOP_K_MAX, value=settings.top_k, step=1, label="Sources retrieved (k)")
                strict = gr.Checkbox(False, label="Strict: drop sentences the sources do not support")
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
            table = gr.Dataframe(
                headers=DOC_HEADERS,
                datatype=["str", "str", "str", "number", "html"],
                interactive=False,
                label="Indexed documents",
                wrap=True,
                elem_id="rag-documents",
            )
            with gr.Row():
                doomed = gr.Dropdown([], label="Document to remove", scale=4, elem_id="rag-doomed")
                drop = gr.Button("Remove", variant="stop", scale=1)

        chat_io = {
            "fn": _ask_handler(engine),
            "inputs": [question, chatbot, answerer, k, strict, conversation],
            "outputs": [question, chatbot, details, conversation, stopper],
            "concurrency_id": "index",
            "concurrency_limit": 1,
        }
        question.submit(api_name="ask", **chat_io)
        for clicked in (chatbot.example_select, chatbot.option_select):  # an example, or a refusal's suggestion
            clicked(_example_text, None, question, api_visibility="private").then(api_visibility="private", **chat_io)
        question.stop(_stop, stopper, None, queue=False, api_visibility="private")
        cleared = [chatbot, details, conversation]
        reset.click(_fresh, None, cleared, api_name="reset", js="() => { window.scrollTo({top: 0}); }")
        chatbot.clear(_fresh, None, cleared, api_visibility="private")  # the trash icon: the same one reset
        listing = [table, doomed, title]
        add.click(lambda: _status([]), None, status, queue=False, api_visibility="private").then(
            _upload_handler(settings),
            files,
            [status, *listing, files],
            api_name="upload",
            show_progress_on=status,  # one progress bar, where the result will appear
            concurrency_id="index",
            concurrency_limit=1,
        )
        drop.click(
            _remove_handler(settings),
            doomed,
            [status, *listing],
            api_name="remove",
            js="(d) => (d && confirm(`Remove ${d} from the index?`)) ? d : null",
            concurrency_id="index",
            concurrency_limit=1,
        )
        app.load(_list_handler(settings), None, listing, api_name="documents")
    return app


def _example_text(event: gr.SelectData) -> str:
    """The question of a clicked example, or of a refusal's suggested question."""
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
    # The models load while the page opens, so that the first upload or question does not wait for them.
    threading.Thread(target=engine.warm_up, name="rag-warm-up", daemon=True).start()
    app = build_app(engine, settings, logout=credentials is not None)
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
            js=PAGE_JS,
            app_kwargs={"middleware": [Middleware(KeepLoginName)]} if credentials else None,
            auth_message=f"{APP_NAME}: sign in to continue",
        )
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port} ({exc}); choose another --port") from None
    return app
