"""The web chat: a real store (real embedding model), the real Gradio server on 127.0.0.1, headless Chromium.

One store and one server per module; every wait is bounded. Browser tests need /usr/bin/chromium
(`make chromium`); without it they skip with that reason.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.errors import LLMError, UserError
from rag.testing import free_port
from rag.types import Answer, Citation, Partial

BRIDGE_Q = "How long will the bridge over the Astarachay river be?"
CARGO_Q = "How much cargo did the Port of Baku handle in 2023?"
REFUSED_Q = "Who won the 2022 football World Cup?"
XSS_TITLE = "<script>alert('title')</script> Port of Baku record <img src=x onerror=alert(1)>"

ARTICLES = [
    {"id": "astarachay-bridge", "title": "Azerbaijan and Iran agree on a bridge over the Astarachay river",
     "text": "Azerbaijan and Iran have agreed to build a new road bridge across the Astarachay river, officials said "
             "on Thursday.\n\nThe bridge will be 100 meters long and 31 meters wide, with two lanes in each "
             "direction.\n\nConstruction is expected to begin next spring and to take about two years.",
     "url": "https://news.example.com/astarachay-bridge", "published": "2023-09-28", "author": "Leyla Mammadova",
     "source": "caspian.example"},
    {"id": "valley-floods", "title": "Heavy rain floods the Kura valley",
     "text": "Heavy rain flooded villages in the Kura valley on Monday.\n\nAbout 300 homes were evacuated and two "
             "roads were closed, the emergency ministry said.",
     "url": "https://news.example.com/valley-floods", "published": "2024-01-15", "author": "Tural Aliyev",
     "source": "caspian.example"},
    {"id": "harbour-xss", "title": XSS_TITLE,
     "text": "The Port of Baku handled a record 7 million tonnes of cargo in 2023 <img src=x onerror=alert(2)>, the "
             "harbour authority said.\n\nIts director called the year <script>alert(3)</script> a "
             "[turning point](javascript:alert(4)) for the port.",
     "url": "javascript:alert(5)", "published": "2024-02-01", "author": "Evil Author", "source": "harbour.example"},
    {"id": "tea-harvest", "title": "Lankaran tea harvest grows",
     "text": "Tea farmers in Lankaran collected 1,200 tonnes of green leaf this season, up from 900 tonnes a year "
             "earlier.", "url": "https://news.example.com/tea", "published": "2023-07-10",
     "author": "Leyla Mammadova", "source": "agro.example"},
]


# -- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    from ingest import ingest_paths
    from rag.settings import load_settings

    root = tmp_path_factory.mktemp("ui-store")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "articles.jsonl").write_text("\n".join(json.dumps(a) for a in ARTICLES) + "\n")
    settings = load_settings(store=root / "store")
    result = ingest_paths([corpus], settings)
    assert result.added == len(ARTICLES) and not result.failed, result.to_dict()
    return settings


@pytest.fixture(scope="module")
def assistant(settings):
    from rag.assistant import Assistant

    return Assistant.open(settings=settings)


# -- without a server ---------------------------------------------------------------------------------------------

class FakeAssistant:
    """Streams a scripted outcome per question; records the history it was given."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.histories = []

    def stream(self, question, *, history=None, filters=None, answerer=None, as_of=None):
        self.histories.append(list(history or []))
        self.as_of = as_of
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            yield Partial("Half an", "Half an")
            raise outcome
        yield Partial(outcome.text[:5], outcome.text[:5])
        yield outcome

    def stats(self):
        return {"articles": 0, "chunks": 0}


def shown(content: str) -> str:
    """Roughly the text a reader sees in a chat message: markdown escapes and entities undone."""
    return html.unescape(content.replace("\\", ""))


def good_answer(question="q"):
    cite = Citation(n=1, article_id="astarachay-bridge", chunk_id="c1", title="Bridge", url=None,
                    published="2023-09-28", source=None, passage="It is 100 meters long.", start=0, end=22, score=0.6)
    return Answer(question=question, text="It is 100 meters long [1].", refused=False, citations=(cite,),
                  timings_ms={"total": 12.0})


@pytest.mark.parametrize("error", [LLMError("the LLM at http://127.0.0.1:9/v1 did not answer (timeout)"),
                                   UserError("since must be a date like 2023-09-28, not 'soon'")])
def test_run_turn__newsdesk_errors_become_chat_messages_and_the_chat_goes_on(error):
    from ui.app import run_turn

    fake = FakeAssistant([error, good_answer("again")])
    steps = list(run_turn(fake, "first?", [], []))
    assert steps[0].phase == "started" and steps[-1].phase == "failed"
    assert str(error) in shown(steps[-1].chat[-1]["content"])
    assert "Could not answer" in steps[-1].chat[-1]["content"] and steps[-1].turns == [None]
    after = list(run_turn(fake, "again?", steps[-1].chat, steps[-1].turns))
    assert after[-1].phase == "done" and after[-1].turn == 1 and len(after[-1].chat) == 4
    assert fake.histories[1] == []  # the failed turn is not part of the conversation


def test_run_turn__unexpected_exception_is_reported_not_raised():
    from ui.app import run_turn

    steps = list(run_turn(FakeAssistant([RuntimeError("boom")]), "q?", [], []))
    assert steps[-1].phase == "failed" and "internal error (RuntimeError)" in shown(steps[-1].chat[-1]["content"])


def test_run_turn__follow_up_gets_the_conversation_as_history():
    from ui.app import run_turn

    fake = FakeAssistant([good_answer("How long is the bridge?"), good_answer("And how wide?")])
    first = list(run_turn(fake, "How long is the bridge?", [], []))[-1]
    list(run_turn(fake, "And how wide?", first.chat, first.turns))
    assert fake.histories[1] == [{"role": "user", "content": "How long is the bridge?"},
                                 {"role": "assistant", "content": "It is 100 meters long [1]."}]


def test_run_turn__empty_question_asks_for_one_and_asks_nothing():
    from ui.app import EMPTY_QUESTION, run_turn

    fake = FakeAssistant([])
    steps = list(run_turn(fake, "   ", [], []))
    assert [s.phase for s in steps] == ["idle"] and steps[0].status == EMPTY_QUESTION and fake.histories == []


def test_run_turn__as_of_reaches_the_assistant_and_the_status_line():
    from ui.app import run_turn

    fake = FakeAssistant([good_answer("q?")])
    last = list(run_turn(fake, "q?", [], [], filters={"source": "cnn.com"}, as_of="2023-06-01"))[-1]
    assert fake.as_of == "2023-06-01"
    assert shown(last.status) == "filtered: source cnn.com · as of 1 June 2023"


def test_chat_of__a_reopened_conversation_shows_every_turn_with_live_references():
    from ui.app import chat_of

    chat = chat_of([("How long?", good_answer("How long?")), None, ("And wide?", good_answer("And wide?"))])
    assert [m["role"] for m in chat] == ["user", "assistant"] * 2
    assert 'href="#nd-cite-0-1"' in chat[1]["content"] and 'href="#nd-cite-2-1"' in chat[3]["content"]


def test_parse_auth__user_password_or_a_settings_error():
    from rag.errors import SettingsError
    from ui.app import parse_auth

    assert parse_auth("ann:pw:with:colons") == ("ann", "pw:with:colons")
    assert parse_auth(None) is None
    with pytest.raises(SettingsError, match="NEWSDESK_UI_AUTH"):
        parse_auth("no-colon")


@pytest.mark.integration
def test_build_app__builds_without_launching_and_names_the_ask_endpoint(assistant):
    import gradio as gr

    from ui.app import build_app

    app = build_app(assistant)
    assert isinstance(app, gr.Blocks) and not app.is_running
    names = {fn.api_name for fn in app.fns.values()}
    assert "ask" in names
    by_id = {getattr(b, "elem_id", None): b for b in app.blocks.values()}
    # Filters come from the catalog; no LLM is configured here, so the answerer choice is hidden behind a hint.
    assert ("caspian.example (2)", "caspian.example") in by_id["nd-source"].choices
    assert ("Leyla Mammadova (2)", "Leyla Mammadova") in by_id["nd-author"].choices
    assert by_id["nd-answerer"].visible is False and by_id["nd-llm-hint"].visible is True
    assert "NEWSDESK_LLM_MODEL" in by_id["nd-llm-hint"].value
    # Example questions from this store's most recent titles (never a fixed sample question).
    newest = sorted(ARTICLES, key=lambda a: a["published"], reverse=True)
    assert [e["text"] for e in by_id["nd-chat"].examples] == [
        f"What do the articles say about “{a['title']}”?" for a in newest]


@pytest.mark.integration
def test_build_app__empty_store_says_how_to_ingest(tmp_path, assistant):
    from rag.assistant import Assistant
    from ui.app import build_app

    empty = Assistant.open(settings=assistant.settings.model_copy(update={"store": tmp_path / "empty"}),
                           embedder=assistant.embedder)
    app = build_app(empty)
    header = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "nd-header-block")
    assert "newsdesk ingest PATH" in header.value


# -- the API ------------------------------------------------------------------------------------------------------

@pytest.mark.integration
def test_api_ask__same_json_as_ask_json(server, assistant):
    from gradio_client import Client

    client = Client(server, verbose=False, download_files=False, analytics_enabled=False)
    got = client.predict(BRIDGE_Q, api_name="/ask")
    want = assistant.ask(BRIDGE_Q).to_dict()
    got.pop("timings_ms"), want.pop("timings_ms")
    assert got == want
    assert not got["refused"] and "100 meters" in got["answer"]
    assert set(got["citations"][0]) == {"n", "article_id", "chunk_id", "title", "url", "published", "source",
                                        "passage", "start", "end", "score", "kind"}

    filtered = client.predict(BRIDGE_Q, {"since": "2024-01-01"}, "extractive", 3, api_name="/ask")
    assert all(c["published"] >= "2024-01-01" for c in filtered["citations"])
    with pytest.raises(Exception, match="since must be a date"):
        client.predict(BRIDGE_Q, {"since": "soon"}, api_name="/ask")


# -- the browser --------------------------------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.browser
def test_browser__streamed_answer_with_references_that_open_the_passage(page, tmp_path):
    page.ask(BRIDGE_Q)
    answer = page.last_bot_message()
    assert "100 meters long" in answer.inner_text()
    refs = page.locator("#nd-chat a.nd-ref")
    assert refs.count() >= 1
    assert "as of 28 September 2023" in answer.inner_text()
    assert answer.inner_text().count("answered in") == 1 and "answered in" not in page.inner_text("#nd-status")

    cards = page.locator("#nd-sources .nd-card")
    assert cards.count() >= 1
    first_card = cards.first.inner_text()
    assert "Astarachay" in first_card and "caspian.example" in first_card and "28 September 2023" in first_card
    assert page.locator("#nd-sources mark.nd-support").count() >= 1
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)

    refs.first.click()
    page.wait_for_selector("#nd-context mark.nd-span", state="visible")
    context = page.inner_text("#nd-context")
    assert "100 meters long and 31 meters wide" in context
    assert "Construction is expected" in context  # the neighbouring paragraph, for context
    assert page.locator("#nd-context mark.nd-support").count() >= 1
    page.screenshot(path=str(tmp_path / "passage.png"), full_page=True)

    # Back on the sources tab, the clicked citation is the selected card.
    page.get_by_role("tab", name="Sources").click()
    page.wait_for_selector("#nd-sources .nd-card.nd-selected", state="visible")
    page.screenshot(path=str(tmp_path / "selected.png"), full_page=True)
    shutil.copy(tmp_path / "selected.png", "/tmp/newsdesk-ui.png")
    assert not page.dialogs


@pytest.mark.integration
@pytest.mark.browser
def test_browser__refusal_shows_a_clear_message_and_no_references(page):
    page.ask(REFUSED_Q)
    text = page.last_bot_message().inner_text()
    assert "The articles don't say." in text and "Try:" in text
    assert page.locator("#nd-chat a.nd-ref").count() == 0
    assert page.locator("#nd-sources .nd-card").count() == 0


@pytest.mark.integration
@pytest.mark.browser
def test_browser__article_with_xss_payload_renders_inert(page, tmp_path):
    page.ask(CARGO_Q)
    answer = page.last_bot_message().inner_text()
    assert "7 million tonnes" in answer
    assert "<img src=x onerror=alert(2)>" in answer  # shown as text
    page.locator("#nd-chat a.nd-ref").first.click()
    page.wait_for_selector("#nd-context mark.nd-span", state="visible")
    context = page.inner_text("#nd-context")
    assert "<script>alert('title')</script>" in context and "<script>alert(3)</script>" in context
    assert "[turning point](javascript:alert(4))" in context
    page.get_by_role("tab", name="Sources").click()
    sources = page.inner_text("#nd-sources")
    assert XSS_TITLE in sources and "javascript:alert(5)" in sources
    time.sleep(0.5)  # give any injected handler (img onerror) the chance to fire
    assert page.dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    # No script element holds a payload (the page's config holds the example questions as escaped JSON data).
    assert page.evaluate("() => [...document.querySelectorAll('script')]"
                         ".every(s => !/^\\s*alert\\(/.test(s.textContent))")
    page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)


def _pick(page, field: str, option: str) -> None:
    page.click(f"{field} input")
    page.get_by_role("option", name=option).click()


def _date(page, field: str, value: str) -> None:
    page.fill(f"{field} input", value)
    page.press(f"{field} input", "Enter")


@pytest.mark.integration
@pytest.mark.browser
def test_browser__catalog_filters_and_dates_then_follow_up_and_reset_work(page):
    page.click("#nd-filters .label-wrap")
    page.wait_for_selector("#nd-llm-hint", state="visible")  # no LLM configured: a hint, not the choice
    assert not page.locator("#nd-answerer").is_visible()
    _pick(page, "#nd-source", "agro.example (1)")
    page.ask(BRIDGE_Q)
    text = page.last_bot_message().inner_text()
    assert "The articles don't say." in text and "Remove or widen the filters (source agro.example)" in text
    assert "filtered: source agro.example" in page.inner_text("#nd-status")

    _pick(page, "#nd-source", "Any source")
    _pick(page, "#nd-author", "Leyla Mammadova (2)")
    _date(page, "#nd-since", "2024-01-01")
    _date(page, "#nd-until", "2023-01-01")
    page.ask(BRIDGE_Q)
    assert "since (2024-01-01) is after until (2023-01-01)" in page.last_bot_message().inner_text()

    _date(page, "#nd-since", "2023-09-01")
    _date(page, "#nd-until", "")
    page.ask(BRIDGE_Q)
    assert "100 meters" in page.last_bot_message().inner_text()
    assert "author Leyla Mammadova · since 1 September 2023" in page.inner_text("#nd-status")
    page.ask("And how wide will it be?")
    assert "31 meters wide" in page.last_bot_message().inner_text()
    # References of an earlier answer stay live, also while the article tab is showing.
    page.locator("#nd-chat a.nd-ref").last.click()
    page.wait_for_selector("#nd-context mark.nd-span", state="visible")
    page.locator("#nd-chat a[href='#nd-cite-2-1']").click()  # turn 1 failed; turn 2 is the first answer
    page.wait_for_selector("#nd-ctx-2-1", state="visible")  # that reference's view is open before going back
    page.get_by_role("tab", name="Sources").click()
    page.wait_for_selector("#nd-card-2-1.nd-selected", state="visible")

    page.click("#nd-reset")
    page.wait_for_function("() => document.querySelectorAll('#nd-chat .nd-small').length === 0")
    assert page.locator("#nd-sources .nd-card").count() == 0


@pytest.mark.integration
def test_launch__basic_auth_keeps_the_page_and_api_closed_without_credentials(assistant):
    import httpx
    from gradio_client import Client

    from ui.app import build_app, launch

    app = build_app(assistant)
    url = launch(app, host="127.0.0.1", port=free_port(), auth=("ann", "s3cret"), block=False)
    try:
        assert httpx.get(f"{url}config", timeout=30).status_code == 401
        client = Client(url, auth=("ann", "s3cret"), verbose=False, download_files=False, analytics_enabled=False)
        assert "refused" in client.predict(REFUSED_Q, api_name="/ask")
    finally:
        app.close()


# -- the reader's flow on a phone and a desktop, light and dark -----------------------------------------------------

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
INTERNAL = re.compile(r"\d\.\d\d|\(\s*<|covers|relevance|verification|retrieved|extractive")

# WCAG contrast of an element's text on what is rendered behind it (backgrounds composited up to an opaque one).
_CONTRAST = """(el) => {
  const rgba = (c) => {
    const p = c.match(/[\\d.]+/g).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, base) => base.map((v, i) => top[i] * top[3] + v * (1 - top[3]));
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = [255, 255, 255];
  for (const c of layers.reverse()) bg = over(c, bg);
  const fg = over(rgba(getComputedStyle(el).color), bg);
  const lum = (rgb) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(rgb[0]) + 0.7152 * f(rgb[1]) + 0.0722 * f(rgb[2]); };
  const [a, b] = [lum(fg), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
_IN_VIEW = """(el) => { const r = el.getBoundingClientRect();
  return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0
    && r.right <= window.innerWidth; }"""


@pytest.fixture(scope="module")
def shots() -> Path:
    """Where the browser tests leave their screenshots (NEWSDESK_UI_SHOTS, default /tmp/newsdesk-ui-shots)."""
    out = Path(os.environ.get("NEWSDESK_UI_SHOTS", "/tmp/newsdesk-ui-shots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _sections(md: str) -> list[tuple[str, list[int], list[int]]]:
    """(question, [n] in the answer, numbers of the listed sources) for each answer of an export."""
    out = []
    for block in md.split("\n## ")[1:]:
        question, _, rest = block.partition("\n")
        body, _, listed = rest.partition("### Sources")
        out.append((question, [int(x) for x in re.findall(r"\[(\d+)\]", body)],
                    [int(x) for x in re.findall(r"^\*\*\[(\d+)\]\*\*", listed, flags=re.MULTILINE)]))
    return out


def _wait_in_view(page, selector: str) -> None:
    page.wait_for_function(f"() => {{ const el = document.querySelector({json.dumps(selector)}); "
                           f"return el && ({_IN_VIEW})(el); }}")


@pytest.mark.integration
@pytest.mark.browser
@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("view", ["phone", "desktop"])
def test_browser__reader_asks_reads_the_passage_exports_and_comes_back(open_page, server, shots, view, theme):
    phone = view == "phone"
    page = open_page(viewport=VIEWPORTS[view], color_scheme=theme, has_touch=phone, is_mobile=phone,
                     accept_downloads=True)
    name = f"{view}-{theme}"
    page.wait_for_selector("#nd-chat button.example")
    assert page.evaluate("() => document.body.classList.contains('dark')") == (theme == "dark")
    examples = page.locator("#nd-chat button.example").all_inner_texts()
    assert any("Kura valley" in e for e in examples) and len(examples) <= 4  # from this store's titles
    header = page.locator("#nd-header").bounding_box()
    assert header["height"] < (60 if phone else 140), header  # a compact header on a phone

    # An empty question gets a message, and nothing is asked.
    page.click("#nd-send")
    page.wait_for_selector("#nd-status .nd-warn")
    assert "Type a question first" in page.inner_text("#nd-status")
    assert page.locator("#nd-chat .message").count() == 0

    page.ask(BRIDGE_Q)
    if phone:  # the answer comes first, then its sources; filters and saved conversations after them
        assert page.locator("#nd-chat").bounding_box()["y"] < page.locator("#nd-tabs").bounding_box()["y"]
        assert page.locator("#nd-tabs").bounding_box()["y"] < page.locator("#nd-filters").bounding_box()["y"]
    page.screenshot(path=str(shots / f"{name}-1-answer.png"))
    ref = page.locator("#nd-chat a.nd-ref").first
    if phone:
        ref.tap()
    else:
        ref.hover()
        page.wait_for_selector("#nd-tip", state="visible")
        assert "100 meters long" in page.inner_text("#nd-tip")  # the preview of the cited sentence
        ref.click()
    target = "#nd-ctx-0-1 .nd-article mark.nd-support"
    page.wait_for_selector(target, state="visible")
    _wait_in_view(page, target)  # the passage is on screen, in its article
    if phone:
        assert "100 meters long" in page.inner_text("#nd-tip")  # the tap's preview
    for selector in (target, "#nd-ctx-0-1 .nd-article mark.nd-span", "#nd-chat a.nd-ref"):
        ratio = page.locator(selector).first.evaluate(_CONTRAST)
        print(f"contrast {name} {selector}: {ratio:.2f}")
        assert ratio >= 4.5, (selector, theme, ratio)
    page.screenshot(path=str(shots / f"{name}-2-passage.png"))
    if phone:  # and back to the answer
        page.click("#nd-ctx-0-1 a.nd-back")
        _wait_in_view(page, "#nd-chat a.nd-ref[href='#nd-cite-0-1']")

    # Export: the answer with its numbered sources, as Markdown.
    page.get_by_role("tab", name="Sources").click()
    cards = page.locator("#nd-sources .nd-card").count()
    with page.expect_download() as download:
        page.click("#nd-export")
    assert download.value.suggested_filename.endswith(".md")
    md = Path(download.value.path()).read_text(encoding="utf-8")
    [(question, markers, listed)] = _sections(md)
    assert question == BRIDGE_Q and sorted(set(markers)) == listed == list(range(1, cards + 1))
    assert "100 meters long" in md

    # A refusal in plain words, with no internal scores.
    page.ask(REFUSED_Q)
    refusal = page.last_bot_message().inner_text()
    assert "The articles don't say." in refusal and "Try:" in refusal
    assert not INTERNAL.search(refusal), refusal
    page.screenshot(path=str(shots / f"{name}-3-refusal.png"))

    # Back later: the conversation is in this browser's list and reopens with its earlier turns.
    page.goto(server, wait_until="domcontentloaded")
    page.wait_for_selector("#nd-question textarea")
    page.click("#nd-history .label-wrap")
    item = page.locator("#nd-conversations label").filter(has_text=BRIDGE_Q).first
    item.click()
    page.wait_for_function("() => document.querySelectorAll('#nd-chat .nd-small').length >= 2")
    chat = page.inner_text("#nd-chat")
    assert BRIDGE_Q in chat and "100 meters long" in chat and REFUSED_Q in chat
    page.locator("#nd-chat a.nd-ref").first.click()
    page.wait_for_selector("#nd-ctx-0-1 .nd-article mark.nd-support", state="visible")
    page.screenshot(path=str(shots / f"{name}-4-reopened.png"), full_page=True)
    assert not page.dialogs
