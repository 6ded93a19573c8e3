"""The Gradio web chat: `build_app(assistant)` builds the page without launching it; `serve` opens the store
and launches. All rendering is in ui.format; this module wires components to the Assistant.

>>> import tempfile
>>> from rag import Assistant, load_settings
>>> from rag.testing import free_port
>>> assistant = Assistant.open(settings=load_settings(store=tempfile.mkdtemp(), embedding_model="hash"))
>>> app = build_app(assistant)
>>> port = free_port()
>>> launch(app, host="127.0.0.1", port=port, block=False) == f"http://127.0.0.1:{port}/"
True
>>> app.close()  # doctest: +ELLIPSIS
Closing server running on port: ...
"""

from __future__ import annotations

import atexit
import hashlib
import html
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

# Before gradio is imported: it reads this at import time to decide whether to phone home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from rag.errors import NewsdeskError, SettingsError
from rag.types import Answer
from ui import conversation as conv
from ui import format as fmt
from ui import page

if TYPE_CHECKING:
    from rag.assistant import Assistant

log = logging.getLogger("newsdesk.ui")

TITLE = "newsdesk"
SUBTITLE = "Ask questions about the news articles in your store. Every sentence of an answer cites its passage."
# The Assistant is thread-safe but CPU-bound (embedding, BM25, verification): a handful of answers at a time
# keeps each one fast; the queue holds the rest in order.
CONCURRENCY = 6
QUEUE_SIZE = 256
_ANSWER_POOL = "newsdesk-answer"  # chat turns and API calls share one concurrency limit
EMPTY_QUESTION = "Type a question first"
LLM_HINT = ("Answers quote the articles directly. To have a language model write them (still checked against "
            "the articles), set NEWSDESK_LLM_MODEL and NEWSDESK_LLM_BASE_URL or OPENAI_API_KEY, then restart "
            "`newsdesk ui`.")
ANSWERER_CHOICES = [("Quoted from the articles", "extractive"), ("Written by the language model", "openai")]


def _theme() -> Any:
    # System fonts only: the default themes load Google Fonts, which a local or offline deployment may not reach.
    theme = gr.themes.Soft(primary_hue="blue", neutral_hue="slate",
                           font=["Inter", "ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    return theme.set(button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
                     button_primary_text_color="white")


def _header_html(stats: dict[str, Any]) -> str:
    return (f'<div id="nd-header"><div><h1>{TITLE}</h1><p>{html.escape(SUBTITLE)}</p></div>'
            f"{fmt.stats_html(stats)}</div>")


def _safe_stats(assistant: Assistant) -> dict[str, Any]:
    try:
        return dict(assistant.stats())
    except NewsdeskError as exc:
        log.warning("stats failed: %s", exc)
        return {"articles": 0, "chunks": 0}


@dataclass(frozen=True)
class Catalog:
    """What the page offers from the open store: filter choices and example questions."""

    stats: dict[str, Any]
    sources: list[tuple[str, str]]
    authors: list[tuple[str, str]]
    examples: list[str]


def read_catalog(assistant: Any) -> Catalog:
    """Stats, source and author choices and example questions (from the most recent titles) of the open store."""
    stats = _safe_stats(assistant)
    store = getattr(assistant, "store", None)
    try:
        authors = store.authors() if store is not None and stats.get("articles") else []
        titles = [a.get("title") for a in store.list_articles(limit=40)] if store is not None and stats.get(
            "articles") else []
    except NewsdeskError as exc:
        log.warning("reading the catalog failed: %s", exc)
        authors, titles = [], []
    return Catalog(stats, fmt.source_choices(stats), fmt.author_choices(authors), fmt.example_questions(titles))


def llm_configured(assistant: Any) -> bool:
    """Can the openai answerer run with these settings (a model and an endpoint or key)?"""
    settings = getattr(assistant, "settings", None)
    try:
        settings.require_llm()
    except (SettingsError, AttributeError):
        return False
    return True


def _storage_key(assistant: Any) -> str:
    # One list of conversations per store: answers cite articles of the store they were asked of.
    root = str(getattr(getattr(assistant, "settings", None), "store", "")) or "newsdesk"
    return "newsdesk-" + hashlib.sha256(root.encode()).hexdigest()[:12]


Turn = tuple[str, Answer]


@dataclass(frozen=True)
class Step:
    """What one moment of a chat turn shows: the messages, the turns so far, and when done its Answer."""

    phase: Literal["idle", "started", "streaming", "done", "failed"]
    chat: list[fmt.Message]
    turns: list[Turn | None]
    turn: int
    answer: Answer | None = None
    status: str = ""


def run_turn(assistant: Assistant, question: str, chat: list[fmt.Message], turns: list[Turn | None], *,
             filters: dict[str, Any] | None = None, answerer: str | None = None,
             as_of: str | None = None) -> Iterator[Step]:
    """Ask `question` with the conversation so far; yield the chat as the answer streams, then the final Step.

    Errors end the turn as a message in the chat (turns gets None for it), so the conversation goes on. An empty
    question yields one "idle" Step whose status asks for a question.

    >>> import tempfile
    >>> from rag import Assistant, load_settings
    >>> assistant = Assistant.open(settings=load_settings(store=tempfile.mkdtemp(), embedding_model="hash"))
    >>> steps = list(run_turn(assistant, "How long is the bridge?", [], []))
    >>> steps[0].phase, steps[-1].phase, steps[-1].answer.refused  # an empty store refuses
    ('started', 'done', True)
    """
    question = (question or "").strip()
    turn = len(turns)
    if not question:
        yield Step("idle", chat, turns, turn, status=EMPTY_QUESTION)
        return
    chat = [*chat, fmt.user_message(question), fmt.partial_message("")]
    yield Step("started", chat, turns, turn, status="thinking…")
    history = fmt.plain_history(t for t in turns if t is not None)
    final: Answer | None = None
    try:
        for event in assistant.stream(question, history=history, filters=filters, answerer=answerer or None,
                                      as_of=as_of or None):
            if isinstance(event, Answer):
                final = event
            else:
                chat = [*chat[:-1], fmt.partial_message(event.text)]
                yield Step("streaming", chat, turns, turn, status="thinking…")
        if final is None:
            raise NewsdeskError("the assistant returned no answer")
    except NewsdeskError as exc:
        yield Step("failed", [*chat[:-1], fmt.error_message(exc)], [*turns, None], turn)
        return
    except Exception as exc:
        log.exception("answering %r failed", question)
        failed = fmt.error_message(f"internal error ({type(exc).__name__}); see the server log")
        yield Step("failed", [*chat[:-1], failed], [*turns, None], turn)
        return
    message = fmt.answer_message(final, turn, filters=filters, as_of=as_of)
    yield Step("done", [*chat[:-1], message], [*turns, (question, final)], turn, final,
               fmt.filters_text(filters, as_of))


def chat_of(turns: list[Turn | None]) -> list[fmt.Message]:
    """The chat messages of a reopened conversation."""
    out: list[fmt.Message] = []
    for i, entry in enumerate(turns):
        if entry is not None:
            out += [fmt.user_message(entry[0]), fmt.answer_message(entry[1], i)]
    return out


def _last_answer(turns: list[Turn | None]) -> tuple[int, Answer] | None:
    return next(((i, t[1]) for i, t in reversed(list(enumerate(turns))) if t is not None), None)


def build_app(assistant: Assistant) -> gr.Blocks:
    """The web chat over `assistant` (an rag.Assistant), built but not launched; the queue is configured.

    Launch it with `launch(app, ...)` (see the module docstring).
    """
    catalog = read_catalog(assistant)
    llm_ok = llm_configured(assistant)
    default_answerer = getattr(getattr(assistant, "settings", None), "answerer", "extractive")
    if not llm_ok:
        default_answerer = "extractive"
    exports = Path(tempfile.mkdtemp(prefix="newsdesk-export-"))  # Gradio serves copies from its own cache
    atexit.register(shutil.rmtree, exports, ignore_errors=True)

    def export_file(conversation_id: str, turns: list[Turn | None]) -> Any:
        """The Export button, pointing at this conversation as a Markdown file (written per conversation)."""
        if not any(turns):
            return gr.DownloadButton(value=None, interactive=False)
        folder = exports / conversation_id
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.md"):
            old.unlink()
        path = folder / conv.export_filename(conversation_id, turns)
        path.write_text(conv.export_markdown(turns), encoding="utf-8")
        return gr.DownloadButton(value=str(path), interactive=True)

    def history_update(saved: Any, selected: str | None) -> Any:
        items = conv.choices(saved)
        return gr.Radio(choices=items, value=selected if any(v == selected for _, v in items) else None,
                        label=f"Earlier conversations ({len(items)})" if items else "No conversations yet")

    def respond(question: str, chat: list[fmt.Message], turns: list[Turn | None], conversation_id: str | None,
                saved: Any, source: str | None, author: str | None, since: Any, until: Any, as_of: Any,
                answerer: str | None) -> Iterator[tuple[Any, ...]]:
        """One chat turn: stream the answer into the chat, then show its sources and save the conversation."""
        filters = fmt.filters_from_inputs(source, author, since, until)
        day = fmt.date_input(as_of)
        keep = (gr.skip(),) * 4
        for step in run_turn(assistant, question, chat, turns, filters=filters, answerer=answerer, as_of=day):
            if step.phase == "idle":
                hint = fmt.escape_markdown(f"{EMPTY_QUESTION}, e.g. {catalog.examples[0]}" if catalog.examples
                                           else f"{EMPTY_QUESTION} about the articles.")
                yield (gr.skip(),) * 7 + (f'<span class="nd-warn">{hint}</span>',) + keep
            elif step.phase in ("done", "failed"):
                cid = conversation_id or conv.new_id()
                new_saved = conv.upsert(saved, cid, step.turns)
                shown = (fmt.sources_html(step.answer, turn=step.turn), fmt.context_html(None, None),
                         gr.Tabs(selected="sources")) if step.answer is not None else (gr.skip(),) * 3
                yield (gr.skip(), step.chat, step.chat, step.turns, *shown, step.status, new_saved,
                       history_update(new_saved, cid), cid, export_file(cid, step.turns))
            else:
                # The question box empties once the question is in the chat; panels keep the last answer's
                # sources until this one is done.
                yield ("" if step.phase == "started" else gr.skip(), step.chat, step.chat, step.turns,
                       gr.skip(), gr.skip(), gr.skip(), step.status, *keep)

    def pick(turns: list[Turn | None], evt: gr.EventData) -> tuple[Any, ...]:
        """A reference was clicked: mark that citation and show its passage inside the article."""
        data = getattr(evt, "_data", None) or {}
        try:
            turn, n = int(data["turn"]), int(data["n"])
            entry = turns[turn] if turn >= 0 else None
        except (KeyError, TypeError, ValueError, IndexError):
            return gr.skip(), gr.skip(), gr.skip()
        if entry is None:
            return gr.skip(), gr.skip(), gr.skip()
        answer = entry[1]
        citation = next((c for c in answer.citations if c.n == n), None)
        if citation is None:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            article = assistant.store.article(citation.article_id)
        except NewsdeskError:
            article = None
        support = fmt.supporting_sentences(answer).get(n, [])
        return (fmt.sources_html(answer, turn=turn, selected=n),
                fmt.context_html(citation, article, support, turn=turn), gr.Tabs(selected="context"))

    def reset(saved: Any) -> tuple[Any, ...]:
        return ("", [], [], [], fmt.sources_html(None), fmt.context_html(None, None), gr.Tabs(selected="sources"),
                "", history_update(saved, None), None, gr.DownloadButton(value=None, interactive=False))

    def reopen(conversation_id: str | None, saved: Any) -> tuple[Any, ...]:
        """An earlier conversation from the list: its turns back in the chat, its last answer's sources shown."""
        found = conv.find(saved, conversation_id)
        if found is None:
            return (gr.skip(),) * 10
        turns: list[Turn | None] = list(conv.turns_of(found))
        chat = chat_of(turns)
        last = _last_answer(turns)
        sources = fmt.sources_html(last[1], turn=last[0]) if last else fmt.sources_html(None)
        return ("", chat, chat, turns, sources, fmt.context_html(None, None), gr.Tabs(selected="sources"), "",
                found["id"], export_file(found["id"], turns))

    def forget(conversation_id: str | None, saved: Any) -> tuple[Any, ...]:
        new_saved = conv.remove(saved, conversation_id)
        return (new_saved, *reset(new_saved))

    def refresh(saved: Any) -> tuple[Any, ...]:
        # Per page load, so a store filled by `newsdesk ingest` while the server runs shows up on reload.
        fresh = read_catalog(assistant)
        return (_header_html(fresh.stats), gr.Dropdown(choices=fresh.sources), gr.Dropdown(choices=fresh.authors),
                gr.Chatbot(examples=[{"text": q} for q in fresh.examples] or None),
                gr.Textbox(placeholder=fmt.question_placeholder(fresh.stats)), history_update(saved, None))

    def use_example(evt: gr.SelectData) -> str:
        value = evt.value if isinstance(evt.value, dict) else {}
        return str(value.get("text") or "")

    def ask(question: str, filters: dict[str, Any] | None = None, answerer: str | None = None,
            top_k: int | None = None) -> dict[str, Any]:
        """Answer one question; returns the same JSON object as `newsdesk ask --json`.

        filters: {"source", "author", "since", "until"} (any subset); answerer: "extractive" or "openai".
        """
        if filters is not None and not isinstance(filters, dict):
            raise gr.Error('filters must be an object such as {"source": "cnn.com", "since": "2023-01-01"}',
                           print_exception=False)
        try:
            answer = assistant.ask(question, filters=filters or None, answerer=answerer or None,
                                   top_k=int(top_k) if top_k else None)
        except NewsdeskError as exc:
            raise gr.Error(str(exc), print_exception=False) from exc
        return answer.to_dict()

    examples = [{"text": q} for q in catalog.examples] or None
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True, delete_cache=(3600, 86400)) as app:
        # The header is always on the page, so it hosts the page's script: the tab panels below unmount their
        # content while hidden.
        header = gr.HTML(_header_html(catalog.stats), elem_id="nd-header-block", js_on_load=page.JS)
        # In the reader's browser (localStorage, one list per store): the conversations to come back to. The
        # key and its secret are derived from the store, not drawn per start, so the list survives a restart. The
        # browser sends the list with each question so the new turn can be saved; the server keeps no copy.
        key = _storage_key(assistant)
        saved = gr.BrowserState({"version": conv.VERSION, "conversations": []}, storage_key=key,
                                secret=hashlib.sha256(f"{key}-conversations".encode()).hexdigest()[:32])
        # Per browser tab: the messages shown, one (question, Answer) per turn (None: the turn failed), and the id
        # of the conversation it is saved under. The chat is kept here rather than read back from the Chatbot,
        # whose value the frontend may reshape.
        messages = gr.State([])
        turns = gr.State([])
        conversation_id = gr.State(None)
        with gr.Row(equal_height=False, elem_id="nd-main"):
            with gr.Column(scale=3, min_width=420, elem_id="nd-left"):
                chatbot = gr.Chatbot(
                    value=[], elem_id="nd-chat", show_label=False, height="64vh", layout="bubble",
                    # Answers quote article text: fmt escapes it, and the sanitizer stays on as a second wall.
                    sanitize_html=True, render_markdown=True, allow_tags=False, latex_delimiters=[],
                    buttons=["copy"], autoscroll=True, examples=examples,
                    placeholder=("**Ask about the articles in the store.**  \nEvery sentence of an answer cites "
                                 "its article: tap a reference such as [1] to read it there."),
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(placeholder=fmt.question_placeholder(catalog.stats),
                                          show_label=False, scale=8, lines=1, max_lines=4, autofocus=True,
                                          elem_id="nd-question", submit_btn=False, container=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=72, elem_id="nd-send")
                status = gr.Markdown("", elem_id="nd-status")
                with gr.Row(equal_height=True, elem_id="nd-actions"):
                    clear = gr.Button("New conversation", variant="secondary", size="sm", scale=0, min_width=150,
                                      elem_id="nd-reset")
                    export = gr.DownloadButton("Export (Markdown)", value=None, interactive=False, size="sm",
                                               scale=0, min_width=150, elem_id="nd-export", variant="secondary")
                with gr.Accordion("Filters", open=False, elem_id="nd-filters"):
                    gr.Markdown("Applied to the next question. Leave a field empty for “any”.",
                                elem_classes=["nd-hint"])
                    with gr.Row():
                        source = gr.Dropdown(choices=catalog.sources, value="", label="Source",
                                             allow_custom_value=True, filterable=True, elem_id="nd-source")
                        author = gr.Dropdown(choices=catalog.authors, value="", label="Author",
                                             allow_custom_value=True, filterable=True, elem_id="nd-author")
                    with gr.Row():
                        since = gr.DateTime(label="Published since", include_time=False, type="string",
                                            elem_id="nd-since")
                        until = gr.DateTime(label="Published until", include_time=False, type="string",
                                            elem_id="nd-until")
                    as_of = gr.DateTime(label="As of", include_time=False, type="string", elem_id="nd-as-of",
                                        info="The day the question is asked: “this week” or “yesterday” count "
                                             "from it. Empty: today.")
                    answerer = gr.Radio(ANSWERER_CHOICES, value=default_answerer, label="Answers",
                                        visible=llm_ok, elem_id="nd-answerer")
                    gr.Markdown(LLM_HINT, visible=not llm_ok, elem_classes=["nd-hint"], elem_id="nd-llm-hint")
                with gr.Accordion("Your conversations", open=False, elem_id="nd-history"):
                    gr.Markdown("Kept in this browser only; reopen one to go on asking.", elem_classes=["nd-hint"])
                    history = gr.Radio(choices=[], value=None, label="No conversations yet",
                                       elem_id="nd-conversations")
                    delete = gr.Button("Delete the open conversation", size="sm", variant="secondary",
                                       elem_id="nd-delete")
            with gr.Column(scale=2, min_width=340, elem_id="nd-right"), \
                    gr.Tabs(selected="sources", elem_id="nd-tabs") as tabs:
                with gr.Tab("Sources", id="sources"):
                    sources = gr.HTML(fmt.sources_html(None), elem_id="nd-sources", js_on_load=None,
                                      max_height=820)
                with gr.Tab("In the article", id="context"):
                    context = gr.HTML(fmt.context_html(None, None), elem_id="nd-context", js_on_load=None)

        view = [question, chatbot, messages, turns, sources, context, tabs, status]
        inputs = [question, messages, turns, conversation_id, saved, source, author, since, until, as_of, answerer]
        for trigger in (question.submit, send.click):
            trigger(respond, inputs, [*view, saved, history, conversation_id, export], api_visibility="private",
                    show_progress="hidden", concurrency_id=_ANSWER_POOL, concurrency_limit=CONCURRENCY)
        header.click(pick, [turns], [sources, context, tabs], api_visibility="private", show_progress="hidden")
        after_reset = [*view, history, conversation_id, export]
        for trigger in (clear.click, chatbot.clear):
            trigger(reset, [saved], after_reset, api_visibility="private", show_progress="hidden")
        history.input(reopen, [history, saved], [*view, conversation_id, export], api_visibility="private",
                      show_progress="hidden")
        delete.click(forget, [conversation_id, saved], [saved, *after_reset], api_visibility="private",
                     show_progress="hidden")
        chatbot.example_select(use_example, None, [question], api_visibility="private", show_progress="hidden")
        app.load(refresh, [saved], [header, source, author, chatbot, question, history], api_visibility="private",
                 show_progress="hidden")
        gr.api(ask, api_name="ask", concurrency_id=_ANSWER_POOL, concurrency_limit=CONCURRENCY)

    app.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)
    return app


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """settings.ui_auth "user:password" -> ("user", "password"); None when unset.

    >>> parse_auth("ann:s3cret:x")
    ('ann', 's3cret:x')
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise SettingsError("ui_auth (NEWSDESK_UI_AUTH) must look like user:password")
    return user, password


def launch(app: gr.Blocks, *, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True, quiet: bool = True) -> str:
    """Start the server (never a public share link) and return its local URL; `block` waits until Ctrl+C."""
    _, url, _ = app.launch(
        server_name=host, server_port=port, share=False, auth=auth, prevent_thread_lock=True, quiet=quiet,
        inbrowser=False, show_error=False, theme=_theme(), css=page.CSS, footer_links=["api"], ssr_mode=False,
        pwa=False, mcp_server=False, enable_monitoring=False, auth_message="newsdesk: sign in to continue",
    )
    if block:
        app.block_thread()
    return str(url)


def serve(settings: Any, host: str = "127.0.0.1", port: int = 7860) -> None:
    """`newsdesk ui`: open the store named by `settings`, launch the web chat, print its URL, serve until Ctrl+C."""
    from rag.assistant import Assistant

    auth = parse_auth(getattr(settings, "ui_auth", None))  # bad settings fail before the model loads
    assistant = Assistant.open(settings=settings)
    app = build_app(assistant)
    url = launch(app, host=host, port=port, auth=auth, block=False)
    print(f"newsdesk web chat on {url}" + (" (basic auth on)" if auth else "") + " — Ctrl+C to stop", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {host}, reachable from other machines", flush=True)
    app.block_thread()
