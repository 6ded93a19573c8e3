"""LLM faults seen from the Assistant and from `newsdesk ask`: every failure of the openai answerer ends in a
retried success, a clear one-line error, or (with fallback = extractive) the extractive answer marked as such,
and never takes longer than the LLM timeout plus a generous margin.

Client-level behaviour (retry rules, Retry-After parsing, stream stalls) is in test_llm.py and the happy paths in
test_answer_openai.py; this module runs each fault through the whole answer path, with and without fallback.
Times are hang guards, not benchmarks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.sync import ingest_paths
from rag.assistant import Assistant
from rag.errors import LLMError, SettingsError
from rag.models.chat import OpenAIChat
from rag.settings import load_settings
from rag.testing import ErrorReply, FakeClock, FakeOpenAIServer, HashEmbedder, MalformedReply, NoChoicesReply, TextReply
from rag.text.markers import MARKER, parse_markers

TIMEOUT = 2.0  # NEWSDESK_LLM_TIMEOUT in these tests
QUESTION = "How long will the Astarachay bridge be?"
ARTICLES = [
    {"id": "bridge", "title": "Border bridge agreed", "published": "2023-09-28", "source": "caliber.az",
     "text": "Iran and Azerbaijan agreed to build a bridge on the Astarachay River. The bridge will be about "
             "100 meters long with a width of 31 meters. Construction starts next spring."},
    {"id": "trade", "title": "Trade grows", "published": "2023-06-01", "source": "caliber.az",
     "text": "Bilateral trade grew from $608 million to $688 million in the period March 2022-March 2023."},
    {"id": "rail", "title": "Rail link", "published": "2023-05-17", "source": "example.com",
     "text": "Russia and Iran signed an agreement to build a 170-kilometre railway from Astara to Rasht."},
]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("llm-faults")
    (root / "corpus").mkdir()
    (root / "corpus" / "a.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    settings = load_settings(store=root / "store", embedding_model="hash")
    ingest_paths([root / "corpus"], settings, embedder=HashEmbedder())
    return settings


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def assistant(store, base_url: str, clock: FakeClock | None = None, **overrides) -> Assistant:
    """An openai-answerer Assistant on `base_url`; its LLM client measures deadlines and backoff on `clock`."""
    settings = store.model_copy(update={"answerer": "openai", "llm_base_url": base_url, "llm_model": "fake-chat",
                                        "llm_timeout": TIMEOUT, "llm_max_retries": 2, **overrides})
    chat = OpenAIChat.from_settings(settings, clock=clock or FakeClock())
    return Assistant.open(settings=settings, embedder=HashEmbedder(), chat=chat)


def passage_number(server: FakeOpenAIServer, needle: str) -> int:
    """The [n] the prompt gave to the passage containing `needle`."""
    prompt = server.chat_requests[-1].messages[-1]["content"]
    for block in prompt.split("\n\n["):
        if needle in block:
            return int(block.lstrip("[").split("]")[0])
    raise AssertionError(f"{needle!r} not in the prompt")


def good_reply(server: FakeOpenAIServer):
    return lambda request: f"The bridge will be about 100 meters long [{passage_number(server, '100 meters')}]."


# Every way the endpoint can fail, as (name, what the fake server does, part of the one-line error).
FAULTS = {
    "connection-refused": (None, "NEWSDESK_LLM_BASE_URL"),
    "timeout": (TextReply("late", delay=30), "NEWSDESK_LLM_TIMEOUT"),
    "stalls-mid-stream": (TextReply("The bridge will be about 100 meters", stall_after=2), "NEWSDESK_LLM_TIMEOUT"),
    "slow-trickle": (TextReply("The bridge will be about 100 meters long with a width of 31 meters [1].",
                               piece_delay=0.6), "NEWSDESK_LLM_TIMEOUT"),
    "429-forever": (ErrorReply(429, headers={"Retry-After": "0"}), "rate-limiting (429)"),
    "429-asks-too-long": (ErrorReply(429, headers={"Retry-After": "120"}), "asks to wait 120 s"),
    "500": (ErrorReply(500), "server failed (500)"),
    "malformed-json": (MalformedReply(), "malformed reply"),
    "empty-choices": (NoChoicesReply(), "no choices"),
    "401-bad-key": (ErrorReply(401), "NEWSDESK_LLM_API_KEY"),
}


def _base_url(server: FakeOpenAIServer, fault) -> str:
    return f"http://127.0.0.1:{closed_port()}/v1" if fault is None else server.base_url


def _timeout(name: str) -> float:
    # Faults that are retried with backoff (0.5 s, then 1 s) get room for all three attempts: within 2 s a loaded
    # machine may hit the deadline first, and the message then (rightly) names the timeout instead of the cause.
    return 8.0 if name in ("connection-refused", "refused", "500", "429-forever", "transient") else TIMEOUT


@pytest.mark.parametrize("name", FAULTS)
def test_fault__ends_in_one_clear_error_within_the_timeout(store, server, name):
    fault, names = FAULTS[name]
    server.default = fault
    clock = FakeClock()
    a = assistant(store, _base_url(server, fault), clock, llm_timeout=_timeout(name))
    with pytest.raises(LLMError) as err:
        a.ask(QUESTION)
    message = str(err.value)
    assert names in message and "\n" not in message and len(message) < 300, message
    assert clock.elapsed <= _timeout(name)  # every attempt, backoff and wait inside the one deadline


@pytest.mark.parametrize("name", FAULTS)
def test_fault__with_fallback_the_extractive_answer_is_given_and_marked(store, server, name):
    fault, names = FAULTS[name]
    server.default = fault
    clock = FakeClock()
    answer = assistant(store, _base_url(server, fault), clock, fallback="extractive",
                       llm_timeout=_timeout(name)).ask(QUESTION)
    assert clock.elapsed <= _timeout(name)
    assert answer.answerer == "extractive (fallback)"
    assert not answer.refused and "100 meters" in answer.text and answer.citations
    note = next(n for n in answer.notes if n.startswith("the LLM failed"))
    assert names in note and note.endswith("this is the extractive answer instead")


def test_fault__stream_shows_the_partial_text_then_fails_in_time(store, server):
    server.default = TextReply("The bridge will be about 100 meters", stall_after=3)
    events, clock = [], FakeClock()
    with pytest.raises(LLMError, match="stopped sending mid-answer"):
        for event in assistant(store, server.base_url, clock).stream(QUESTION):
            events.append(event)
    assert clock.elapsed <= TIMEOUT
    assert events and events[-1].text == "The bridge will"  # the three pieces sent before the stall


@pytest.mark.parametrize("first", [ErrorReply(500), ErrorReply(502), ErrorReply(503, headers={"Retry-After": "0"}),
                                   ErrorReply(429, headers={"retry-after-ms": "10"})],
                         ids=["500", "502", "503", "429-ms"])
def test_fault__transient_error_then_success_is_a_normal_answer(store, server, first):
    server.push(first, good_reply(server))
    answer = assistant(store, server.base_url, llm_timeout=_timeout("transient")).ask(QUESTION)
    assert answer.answerer == "openai" and not answer.refused
    assert answer.text == "The bridge will be about 100 meters long [1]."
    assert len(server.chat_requests) == 2


@pytest.mark.parametrize("markers", ["[0]", "[4]", "[9]", "[99]", "[0][7]", "[1234]", "[2, 9]"])
def test_citations__to_passages_that_do_not_exist_never_reach_the_answer(store, server, markers):
    # The model cites numbers outside the prompt's passages: every marker left in the answer is one of its
    # citations, and every citation is a retrieved passage.
    server.push(lambda r: f"The bridge will be about 100 meters long {markers}.")
    answer = assistant(store, server.base_url).ask(QUESTION)
    numbers = parse_markers(answer.text)
    assert sorted(set(numbers)) == [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    prompt = server.chat_requests[-1].messages[-1]["content"]
    for c in answer.citations:
        assert c.passage in prompt  # the passage the prompt showed, not an invented one
    if not answer.refused:
        assert [c.article_id for c in answer.citations] == ["bridge"]
        assert "[9]" not in answer.text and "[0]" not in answer.text and "[99]" not in answer.text
    assert all(m.group(1).isdigit() for m in MARKER.finditer(answer.text))


def test_missing_key__is_a_settings_error_before_any_request(store, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = store.model_copy(update={"answerer": "openai", "llm_model": "gpt-x", "llm_base_url": None,
                                        "llm_api_key": None})
    with pytest.raises(SettingsError, match="NEWSDESK_LLM_API_KEY") as err:
        Assistant.open(settings=settings, embedder=HashEmbedder()).ask(QUESTION)
    assert "\n" not in str(err.value)


def test_missing_key__fallback_does_not_hide_a_settings_error(store, monkeypatch):
    # Fallback covers a failing endpoint, not a missing configuration: that must be fixed, so it is reported.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = store.model_copy(update={"answerer": "openai", "llm_model": "gpt-x", "llm_base_url": None,
                                        "llm_api_key": None, "fallback": "extractive"})
    with pytest.raises(SettingsError):
        Assistant.open(settings=settings, embedder=HashEmbedder()).ask(QUESTION)


# -- the command line ---------------------------------------------------------------------------------------------

def run_ask(store, server_url: str | None, *extra: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "OPENAI_"))}
    env |= {"NEWSDESK_STORE": str(store.store), "NEWSDESK_EMBEDDING_MODEL": "hash", "NEWSDESK_LLM_MODEL": "fake-chat",
            "NEWSDESK_LLM_TIMEOUT": str(TIMEOUT), "NEWSDESK_LLM_MAX_RETRIES": "1"}
    if server_url:
        env["NEWSDESK_LLM_BASE_URL"] = server_url
    env |= env_extra
    return subprocess.run([str(Path(sys.executable).with_name("newsdesk")), "ask", QUESTION, "--answerer", "openai",
                           *extra], env=env, capture_output=True, text=True, timeout=120, cwd=Path(store.store).parent)


CLI_CASES = {
    "stall": (TextReply("The bridge will be about", stall_after=1), 1, "NEWSDESK_LLM_TIMEOUT"),
    "refused": (None, 1, "NEWSDESK_LLM_BASE_URL"),
}


@pytest.mark.integration
@pytest.mark.parametrize("name", CLI_CASES)
def test_cli__llm_failure_is_exit_1_and_one_stderr_line(store, server, name):
    fault, code, text = CLI_CASES[name]
    server.default = fault
    run = run_ask(store, _base_url(server, fault), NEWSDESK_LLM_TIMEOUT=str(_timeout(name)))  # 120 s: a hang guard
    assert run.returncode == code, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsdesk: error: ") and text in lines[0], run.stderr
    assert run.stdout == ""


@pytest.mark.integration
def test_cli__missing_key_is_exit_2_naming_the_variable(store):
    run = run_ask(store, None)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "NEWSDESK_LLM_API_KEY" in lines[0], run.stderr


@pytest.mark.integration
def test_cli__fallback_prints_the_extractive_answer_with_a_note(store, server):
    server.default = ErrorReply(500)
    run = run_ask(store, server.base_url, NEWSDESK_FALLBACK="extractive", NEWSDESK_LLM_TIMEOUT=str(_timeout("500")))
    assert run.returncode == 0, run.stderr
    assert "100 meters" in run.stdout and "[1]" in run.stdout
    assert "note: the LLM failed (the LLM server failed (500)); this is the extractive answer instead" in run.stdout
