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

import html
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

# Before gradio is imported: it reads this at import time to decide whether to phone home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from rag.errors import NewsdeskError, SettingsError
from rag.types import Answer
from ui import format as fmt

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

# Clicks on a reference (in the chat or in a source card) select a citation. The chat's sanitizer strips
# data-* attributes, so the turn and the citation number travel in the href ("#nd-cite-<turn>-<n>").
# One capture-phase listener on the document sees the click before the browser follows the anchor.
_REFS_JS = """
window.__ndTrigger = trigger;
if (!window.__ndRefs) {
  window.__ndRefs = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.nd-ref');
    if (!link) return;
    const m = (link.getAttribute('href') || '').match(/^#nd-cite-(\\d+)-(\\d+)$/);
    if (!m) return;
    event.preventDefault();
    event.stopPropagation();
    window.__ndTrigger('click', {turn: parseInt(m[1], 10), n: parseInt(m[2], 10)});
  }, true);
}
"""

CSS = """
.gradio-container { width: 100% !important; max-width: 1400px !important; margin: 0 auto !important; }
#nd-header { padding: 4px 2px 12px; border-bottom: 1px solid var(--border-color-primary); margin-bottom: 4px; }
#nd-header h1 { font-size: 1.9rem; font-weight: 700; letter-spacing: -0.02em; margin: 0; line-height: 1.2; }
#nd-header p { margin: 2px 0 8px; color: var(--body-text-color-subdued); font-size: 0.95rem; }
.nd-stats { font-size: 0.82rem; color: var(--body-text-color-subdued); }
.nd-stats b { color: var(--body-text-color); }
.nd-stats code { font-size: 0.78rem; }
.nd-stats.nd-empty { color: #b45309; font-weight: 600; padding: 0; }
.nd-panel-title { font-weight: 600; font-size: 0.95rem; margin: 4px 0 6px; }
.nd-sup { font-size: 0.72em; line-height: 0; margin-left: 1px; }
a.nd-ref { text-decoration: none !important; cursor: pointer; font-weight: 600;
  color: var(--color-accent) !important; }
a.nd-ref:hover { text-decoration: underline !important; }
.nd-small { font-size: 0.78rem; color: var(--body-text-color-subdued); }
.nd-note { font-size: 0.8rem; color: #92400e; }
.nd-hint { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.nd-refusal { font-weight: 600; }
.nd-error { color: #b91c1c; font-weight: 600; }
.nd-sources, .nd-context { display: flex; flex-direction: column; gap: 10px; }
.nd-sources-head { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.nd-empty { color: var(--body-text-color-subdued); font-size: 0.9rem; padding: 18px 4px; }
.nd-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;
  background: var(--background-fill-primary); }
.nd-card.nd-selected { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.nd-card-head, .nd-context-head { display: flex; gap: 8px; align-items: baseline; }
.nd-num { display: inline-flex; min-width: 1.5em; height: 1.5em; align-items: center; justify-content: center;
  border-radius: 999px; background: var(--color-accent-soft); color: var(--color-accent) !important;
  font-size: 0.8rem; font-weight: 700; flex: none; }
.nd-title { font-weight: 600; line-height: 1.3; }
.nd-card-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 3px 0 2px; }
.nd-card-url { font-size: 0.8rem; overflow-wrap: anywhere; }
.nd-url-text { color: var(--body-text-color-subdued); }
blockquote.nd-passage { margin: 8px 0 6px; padding: 2px 0 2px 10px; border-left: 3px solid var(--border-color-primary);
  font-size: 0.88rem; color: var(--body-text-color); }
blockquote.nd-passage p, .nd-article p { margin: 0 0 6px; }
a.nd-open { font-size: 0.8rem; font-weight: 500; }
mark.nd-support { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
mark.nd-span { background: #e0ecff; color: inherit; }
.nd-article { font-size: 0.92rem; line-height: 1.55; max-height: 60vh; overflow-y: auto; padding-right: 4px; }
.nd-gap { color: var(--body-text-color-subdued); }
#nd-status, #nd-status * { font-size: 0.82rem !important; color: var(--body-text-color-subdued); }
.nd-card a, .nd-context a { padding: 0 !important; margin: 0 !important; }
#nd-chat { border: 1px solid var(--border-color-primary); border-radius: 12px; }
#nd-question textarea { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--background-fill-primary); box-shadow: var(--shadow-drop); }
#nd-question textarea:focus { border-color: var(--color-accent); }
.nd-legend { font-size: 0.78rem; color: var(--body-text-color-subdued); display: flex; gap: 8px; }
"""


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
             filters: dict[str, Any] | None = None, answerer: str | None = None) -> Iterator[Step]:
    """Ask `question` with the conversation so far; yield the chat as the answer streams, then the final Step.

    Errors end the turn as a message in the chat (turns gets None for it), so the conversation goes on.

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
        yield Step("idle", chat, turns, turn)
        return
    chat = [*chat, fmt.user_message(question), fmt.partial_message("")]
    yield Step("started", chat, turns, turn, status="thinking…")
    history = fmt.plain_history(t for t in turns if t is not None)
    final: Answer | None = None
    try:
        for event in assistant.stream(question, history=history, filters=filters, answerer=answerer or None):
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
    yield Step("done", [*chat[:-1], fmt.answer_message(final, turn)], [*turns, (question, final)], turn, final,
               fmt.latency_text(final))


def build_app(assistant: Assistant) -> gr.Blocks:
    """The web chat over `assistant` (an rag.Assistant), built but not launched; the queue is configured.

    Launch it with `launch(app, ...)` (see the module docstring).
    """
    stats = _safe_stats(assistant)
    default_answerer = getattr(getattr(assistant, "settings", None), "answerer", "extractive")

    def respond(question: str, chat: list[fmt.Message], turns: list[Turn | None], source: str | None,
                author: str | None, since: str | None, until: str | None, answerer: str | None
                ) -> Iterator[tuple[Any, ...]]:
        """One chat turn: stream the answer into the chat, then show its sources."""
        filters = fmt.filters_from_inputs(source, author, since, until)
        for step in run_turn(assistant, question, chat, turns, filters=filters, answerer=answerer):
            if step.phase == "idle":
                yield (gr.skip(),) * 8
            elif step.phase == "done":
                assert step.answer is not None
                yield (gr.skip(), step.chat, step.chat, step.turns, fmt.sources_html(step.answer, turn=step.turn),
                       fmt.context_html(None, None), gr.Tabs(selected="sources"),
                       fmt.status_text(step.answer, filters))
            else:
                # The question box empties once the question is in the chat; panels keep the last answer's
                # sources until this one is done.
                yield ("" if step.phase == "started" else gr.skip(), step.chat, step.chat, step.turns,
                       gr.skip(), gr.skip(), gr.skip(), step.status)

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
        return (fmt.sources_html(answer, turn=turn, selected=n), fmt.context_html(citation, article, support),
                gr.Tabs(selected="context"))

    def reset() -> tuple[Any, ...]:
        return "", [], [], [], fmt.sources_html(None), fmt.context_html(None, None), gr.Tabs(selected="sources"), ""

    def refresh() -> tuple[Any, ...]:
        # Per page load, so a store filled by `newsdesk ingest` while the server runs shows up on reload.
        fresh = _safe_stats(assistant)
        return _header_html(fresh), gr.Dropdown(choices=fmt.source_choices(fresh))

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

    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        # The header is always on the page, so it hosts the reference-click listener: the tab panels below
        # unmount their content while hidden.
        header = gr.HTML(_header_html(stats), elem_id="nd-header-block", js_on_load=_REFS_JS)
        # Per browser session: the messages shown, and one (question, Answer) per turn (None: the turn failed).
        # The chat is kept here rather than read back from the Chatbot, whose value the frontend may reshape.
        messages = gr.State([])
        turns = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    value=[], elem_id="nd-chat", show_label=False, height="64vh", layout="bubble",
                    # Answers quote article text: fmt escapes it, and the sanitizer stays on as a second wall.
                    sanitize_html=True, render_markdown=True, allow_tags=False, latex_delimiters=[],
                    buttons=["copy"], autoscroll=True,
                    placeholder=("**Ask about the articles in the store.**  \nAnswers stream in; click a "
                                 "reference such as [1] to read its passage in the article."),
                )
                with gr.Row(equal_height=True):
                    question = gr.Textbox(placeholder="Ask a question, e.g. “How long will the bridge be?”",
                                          show_label=False, scale=8, lines=1, max_lines=4, autofocus=True,
                                          elem_id="nd-question", submit_btn=False, container=False)
                    send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="nd-send")
                with gr.Row(equal_height=True):
                    status = gr.Markdown("", elem_id="nd-status")
                    clear = gr.Button("New conversation", variant="secondary", size="sm", scale=0,
                                      min_width=150, elem_id="nd-reset")
                with gr.Accordion("Filters and answerer", open=False, elem_id="nd-filters"):
                    gr.Markdown("Applied to the next question. Leave a field empty for “any”.",
                                elem_classes=["nd-hint"])
                    with gr.Row():
                        source = gr.Dropdown(choices=fmt.source_choices(stats), value=None, label="Source",
                                             allow_custom_value=True, elem_id="nd-source")
                        author = gr.Textbox(label="Author", elem_id="nd-author")
                    with gr.Row():
                        since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", elem_id="nd-since")
                        until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", elem_id="nd-until")
                    answerer = gr.Radio(["extractive", "openai"], value=default_answerer, label="Answerer",
                                        info="openai needs NEWSDESK_LLM_MODEL and an endpoint or API key",
                                        elem_id="nd-answerer")
            with gr.Column(scale=2, min_width=340), gr.Tabs(selected="sources", elem_id="nd-tabs") as tabs:
                with gr.Tab("Sources", id="sources"):
                    sources = gr.HTML(fmt.sources_html(None), elem_id="nd-sources", js_on_load=None,
                                      max_height=820)
                with gr.Tab("In the article", id="context"):
                    context = gr.HTML(fmt.context_html(None, None), elem_id="nd-context", js_on_load=None)

        outputs = [question, chatbot, messages, turns, sources, context, tabs, status]
        inputs = [question, messages, turns, source, author, since, until, answerer]
        for trigger in (question.submit, send.click):
            trigger(respond, inputs, outputs, api_visibility="private", show_progress="hidden",
                    concurrency_id=_ANSWER_POOL, concurrency_limit=CONCURRENCY)
        header.click(pick, [turns], [sources, context, tabs], api_visibility="private", show_progress="hidden")
        for trigger in (clear.click, chatbot.clear):
            trigger(reset, None, outputs, api_visibility="private", show_progress="hidden")
        app.load(refresh, None, [header, source], api_visibility="private", show_progress="hidden")
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
        inbrowser=False, show_error=False, theme=_theme(), css=CSS, footer_links=["api"], ssr_mode=False,
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
