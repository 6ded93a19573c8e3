"""What the browser tests of the web chat share (test_app.py, test_security.py): the real Gradio server over the
module's `assistant` fixture on 127.0.0.1, headless Chromium, and a page with `page.ask(question)` and
`page.last_bot_message()`. Browser tests need /usr/bin/chromium (`make chromium`); without it they skip with that
reason. Every wait is bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.testing import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000  # one answer, including a cold first query; the answers themselves take well under a second


@pytest.fixture(scope="module")
def server(assistant) -> Iterator[str]:
    """The web chat over the test module's `assistant`, launched on a free port of 127.0.0.1."""
    from ui.app import build_app, launch

    app = build_app(assistant)
    url = launch(app, host="127.0.0.1", port=free_port(), block=False)
    assert url.startswith("http://127.0.0.1:"), url
    yield url
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing; install it with `make chromium`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=WAIT_MS)
        yield b
        b.close()


def _ask(page, question: str) -> None:
    """Type a question, send it, and wait until its answer (or error) is final in the chat."""
    finished = "#nd-chat .nd-small, #nd-chat .nd-error"
    before = page.locator(finished).count()
    page.fill("#nd-question textarea", question)
    page.click("#nd-send")
    page.wait_for_function(f"n => document.querySelectorAll({json.dumps(finished)}).length > n", arg=before)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    pg = context.new_page()
    pg.dialogs = []  # every alert/confirm/prompt the page tries to open; an inert page opens none
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.ask = lambda question: _ask(pg, question)
    pg.last_bot_message = lambda: pg.locator("#nd-chat .message.bot, #nd-chat [data-testid='bot']").last
    pg.goto(server, wait_until="domcontentloaded")
    pg.wait_for_selector("#nd-question textarea")
    yield pg
    context.close()
