"""The web chat: a real store (real embedding model), the real Gradio server on 127.0.0.1, headless Chromium.

One store and one server per module; every wait is bounded. Browser tests need /usr/bin/chromium
(`make chromium`); without it they skip with that reason.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import time

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag.errors import LLMError, UserError
from rag.testing import free_port
from rag.types import Answer, Partial

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

    def stream(self, question, *, history=None, filters=None, answerer=None):
        self.histories.append(list(history or []))
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
    return Answer(question=question, text="It is 100 meters long [1].", refused=False, timings_ms={"total": 12.0})


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


def test_run_turn__empty_question_does_nothing():
    from ui.app import run_turn

    assert [s.phase for s in run_turn(FakeAssistant([]), "   ", [], [])] == ["idle"]


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
    assert "answered in" in page.inner_text("#nd-status")

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
    assert "don't say" in text or "do not say" in text
    assert "no sources are shown" in text
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
    assert page.evaluate("() => [...document.querySelectorAll('script')].every(s => !/alert/.test(s.textContent))")
    page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)


@pytest.mark.integration
@pytest.mark.browser
def test_browser__bad_filter_is_a_chat_message_then_follow_up_and_reset_work(page):
    page.click("#nd-filters button, #nd-filters .label-wrap")
    page.fill("#nd-since input, #nd-since textarea", "not-a-date")
    page.ask(BRIDGE_Q)
    assert "since must be a date" in page.last_bot_message().inner_text()

    page.fill("#nd-since input, #nd-since textarea", "")
    page.ask(BRIDGE_Q)
    assert "100 meters" in page.last_bot_message().inner_text()
    page.ask("And how wide will it be?")
    assert "31 meters wide" in page.last_bot_message().inner_text()
    # References of an earlier answer stay live, also while the article tab is showing.
    page.locator("#nd-chat a.nd-ref").last.click()
    page.wait_for_selector("#nd-context mark.nd-span", state="visible")
    page.locator("#nd-chat a[href='#nd-cite-1-1']").click()  # turn 0 failed; turn 1 is the first answer
    page.get_by_role("tab", name="Sources").click()
    page.wait_for_selector("#nd-card-1-1.nd-selected", state="visible")

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
