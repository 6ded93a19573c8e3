"""`newsdesk serve`: the real FastAPI app under uvicorn on a free port, over the sample store with the real
embedding model, driven by the official openai client and plain HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from typing import Any

import httpx
import openai
import pytest

from rag.assistant import Assistant
from rag.testing import ErrorReply, FakeOpenAIServer, free_port
from tests.ui.servers import ROOT, newsdesk_env, newsdesk_process, serve_in_thread
from ui.api import ChatIn, build_api, chat_arguments

pytestmark = pytest.mark.integration

BRIDGE_Q = "How long will the Astarachay bridge be?"
OFF_TOPIC_Q = "Who won the 2022 football World Cup?"


@pytest.fixture(scope="module")
def api_url(sample_assistant):
    with serve_in_thread(build_api(sample_assistant)) as url:
        yield url


@pytest.fixture(scope="module")
def client(api_url):
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0, timeout=60)


def post(url: str, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(url, json=body, headers=headers, timeout=60)


# -- the openai client --------------------------------------------------------------------------------------------

def test_chat__openai_client_gets_a_cited_answer(client):
    completion = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": BRIDGE_Q}])
    text = completion.choices[0].message.content
    citations = completion.model_extra["citations"]
    assert completion.model == "newsdesk" and completion.choices[0].finish_reason == "stop"
    assert "100 meters" in text and "[1]" in text
    assert citations and citations[0]["n"] == 1 and "100 meters" in citations[0]["passage"]
    assert {"article_id", "chunk_id", "title", "start", "end", "score", "kind"} <= set(citations[0])
    assert completion.model_extra["refused"] is False
    assert completion.usage.completion_tokens > 0


def test_chat__streaming_sends_the_same_verified_text_then_citations_and_done(client, api_url):
    whole = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": BRIDGE_Q}])
    chunks = list(client.chat.completions.create(model="newsdesk", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": BRIDGE_Q}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 5  # it streams in pieces
    last = [c for c in chunks if c.choices][-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == whole.model_extra["citations"]
    assert chunks[-1].usage.total_tokens > 0 and not chunks[-1].choices
    # On the wire: server-sent events ending with [DONE].
    with httpx.stream("POST", f"{api_url}/v1/chat/completions", timeout=60,
                      json={"model": "newsdesk", "stream": True, "messages": [{"role": "user", "content": BRIDGE_Q}]}
                      ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)


def test_chat__history_and_filters_from_extra_body_and_metadata(client):
    follow_up = client.chat.completions.create(model="newsdesk", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Tell me about the Astarachay bridge."},
        {"role": "assistant", "content": "Iran and Azerbaijan agreed to build it [1]."},
        {"role": "user", "content": "How long will it be?"}])
    assert "100 meters" in follow_up.choices[0].message.content
    assert "bridge" in follow_up.model_extra["query"].lower()  # the follow-up was searched as a standalone question
    for extra in ({"extra_body": {"filters": {"since": "2031-01-01"}}}, {"metadata": {"until": "1990-01-01"}}):
        filtered = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": BRIDGE_Q}],
                                                  **extra)
        assert filtered.model_extra["refused"] is True and filtered.model_extra["citations"] == []


def test_chat__arguments_from_a_request():
    body = ChatIn(messages=[{"role": "user", "content": [{"type": "text", "text": "Who"}, {"type": "image_url"}]}],
                  metadata={"source": "cnn.com", "as_of": "2022-06-17", "top_k": "3"},
                  filters={"until": "2022-06-30"})
    args = chat_arguments(body)
    assert args == {"question": "Who", "history": [], "filters": {"source": "cnn.com", "until": "2022-06-30"},
                    "as_of": "2022-06-17", "top_k": 3}


def test_chat__sources_option_appends_the_list_and_history_drops_it(sample_assistant):
    with serve_in_thread(build_api(sample_assistant, sources=True)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
        reply = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": BRIDGE_Q}])
        text = reply.choices[0].message.content
        answer, _, sources = text.partition("\n\nSources:\n")
        title = reply.model_extra["citations"][0]["title"]
        assert "[1]" in answer and sources.startswith(f"- [1] {title} — 2023-09-28")
        streamed = client.chat.completions.create(model="newsdesk", stream=True,
                                                  messages=[{"role": "user", "content": BRIDGE_Q}])
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text
    body = ChatIn(messages=[{"role": "user", "content": "Tell me about the bridge."},
                            {"role": "assistant", "content": text}, {"role": "user", "content": "How wide?"}])
    assert chat_arguments(body)["history"][1]["content"] == answer


def test_models__lists_newsdesk(client):
    assert [m.id for m in client.models.list()] == ["newsdesk"]
    assert client.models.retrieve("newsdesk").owned_by == "newsdesk"
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.models.retrieve("gpt-4o")


# -- the newsdesk endpoints ---------------------------------------------------------------------------------------

def test_ask_search_article__offsets_point_into_the_article_text(api_url):
    answer = post(f"{api_url}/v1/ask", {"question": BRIDGE_Q, "as_of": "2023-10-01"}).json()
    assert set(answer) >= {"question", "query", "answer", "refused", "citations", "timings_ms", "as_of"}
    citation = answer["citations"][0]
    article = httpx.get(f"{api_url}/v1/articles/{citation['article_id']}", timeout=30).json()
    assert article["text"][citation["start"]:citation["end"]] == citation["passage"]
    assert article["title"] == citation["title"] and article["published"] == "2023-09-28"

    found = post(f"{api_url}/v1/search", {"query": "bridge over the Astarachay river", "top_k": 3}).json()
    passages = found["passages"]
    assert "answer" not in found and len(passages) == 3 and [p["n"] for p in passages] == [1, 2, 3]
    assert citation["chunk_id"] in {p["chunk_id"] for p in passages}
    assert all(isinstance(p["score"], float) for p in passages)


def test_health_and_openapi_page(api_url):
    health = httpx.get(f"{api_url}/healthz").json()
    assert health["status"] == "ok" and health["articles"] > 0
    schema = httpx.get(f"{api_url}/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/ask", "/v1/search", "/v1/articles/{article_id}"} <= set(schema["paths"])
    page = httpx.get(f"{api_url}/docs")
    assert page.status_code == 200 and "/static-offline-docs/swagger-ui-bundle.js" in page.text
    assert httpx.get(f"{api_url}/static-offline-docs/swagger-ui-bundle.js").status_code == 200  # no CDN


# -- errors ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    ({"model": "newsdesk"}, "messages: Field required"),
    ({"model": "newsdesk", "messages": [{"role": "assistant", "content": "Hi"}]}, "the last message must be"),
    ({"model": "newsdesk", "messages": [{"role": "user", "content": "  "}]}, "the question is empty"),
    ({"model": "newsdesk", "messages": [{"role": "user", "content": "x"}], "as_of": "last week"},
     "as_of must be a date"),
    ({"model": "newsdesk", "messages": [{"role": "user", "content": "x"}], "filters": {"colour": "red"}},
     "filters.colour"),
])
def test_errors__bad_chat_input_is_400_with_one_line(api_url, body, message):
    response = post(f"{api_url}/v1/chat/completions", body)
    error = response.json()["error"]
    assert response.status_code == 400 and message in error["message"] and "\n" not in error["message"]
    assert error["type"] == "invalid_request_error"


def test_errors__openai_client_raises_with_the_message(client):
    with pytest.raises(openai.BadRequestError, match="since must be a date"):
        client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": BRIDGE_Q}],
                                       extra_body={"filters": {"since": "yesterday"}})
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": BRIDGE_Q}])


def test_errors__unknown_article_404_and_bad_bodies_400(api_url):
    missing = httpx.get(f"{api_url}/v1/articles/no-such-article")
    assert missing.status_code == 404 and "no article with id 'no-such-article'" in missing.json()["error"]["message"]
    not_json = httpx.post(f"{api_url}/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["error"]["message"]
    form = httpx.post(f"{api_url}/v1/ask", content=b'{"question": "x"}', headers={"content-type": "text/plain"})
    assert form.status_code == 400
    assert post(f"{api_url}/v1/search", {"query": "x", "top_k": 0}).status_code == 400


def test_errors__llm_down_is_503(sample_assistant):
    with FakeOpenAIServer(default=ErrorReply(500)) as llm:
        settings = sample_assistant.settings.model_copy(update={
            "answerer": "openai", "llm_base_url": llm.base_url, "llm_model": "fake-chat", "llm_api_key": "k",
            "llm_max_retries": 0, "llm_timeout": 10})
        assistant = Assistant(settings, sample_assistant.store, sample_assistant.embedder)
        with serve_in_thread(build_api(assistant)) as url:
            response = post(f"{url}/v1/chat/completions", {"model": "newsdesk",
                                                           "messages": [{"role": "user", "content": BRIDGE_Q}]})
    error = response.json()["error"]
    assert response.status_code == 503 and error["code"] == "llm_unavailable" and error["message"]


def test_concurrent_requests__one_assistant_answers_them_all(api_url):
    results: list[Any] = [None] * 8

    def ask(i: int) -> None:
        question = BRIDGE_Q if i % 2 else OFF_TOPIC_Q
        results[i] = post(f"{api_url}/v1/ask", {"question": question}).json()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(r is not None and "answer" in r for r in results), results
    assert {r["answer"] for r in results[1::2]} == {results[1]["answer"]} and not results[1]["refused"]
    assert all(r["refused"] for r in results[0::2])


# -- the command ----------------------------------------------------------------------------------------------------

def test_serve_command__bearer_token_required_when_set(sample_store):
    port = free_port()
    env = newsdesk_env(NEWSDESK_API_TOKEN="s3cret")
    with newsdesk_process(["--store", str(sample_store.store), "serve", "--port", str(port)],
                          f"http://127.0.0.1:{port}/healthz", env=env):
        base = f"http://127.0.0.1:{port}/v1"
        for key in ("wrong", ""):
            with pytest.raises(openai.AuthenticationError, match="bearer token"):
                openai.OpenAI(base_url=base, api_key=key or "-", max_retries=0).models.list()
        bare = httpx.post(f"{base}/ask", json={"question": BRIDGE_Q})
        assert bare.status_code == 401 and bare.headers["www-authenticate"] == "Bearer"
        good = openai.OpenAI(base_url=base, api_key="s3cret", max_retries=0, timeout=60)
        reply = good.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": BRIDGE_Q}])
        assert "[1]" in reply.choices[0].message.content
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").status == 200  # health needs no token


@pytest.mark.parametrize("command", ["serve", "mcp", "ask", "chat", "ui"])
def test_store_trap__missing_or_empty_store_fails_with_the_fix(tmp_path, command):
    args = {"ask": ["ask", BRIDGE_Q]}.get(command, [command])
    empty = tmp_path / "empty"
    (empty).mkdir()
    (empty / "manifest.json").write_text(json.dumps({"version": 1, "embedding_model": "all-MiniLM-L6-v2",
                                                     "dim": 384, "chunker": "v1"}))
    for store in (tmp_path / "missing", empty):
        run = subprocess.run([sys.executable, "-m", "ui.cli", "--store", str(store), *args], cwd=ROOT,
                             env=newsdesk_env(), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert run.returncode == 2, run.stderr
        line = run.stderr.strip()
        assert "\n" not in line and "--store" in line and "NEWSDESK_STORE" in line and "newsdesk ingest" in line


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--http"]])
def test_port_in_use__fails_with_one_line_before_loading_the_model(sample_store, command):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "ui.cli", "--store", str(sample_store.store), *command, "--port",
                              str(port)], cwd=ROOT, env=newsdesk_env(), capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stderr.strip() == \
        f"newsdesk: error: port {port} on 127.0.0.1 is in use; choose another with --port"


def test_errors__status_codes_of_the_failures():
    import sqlite3

    from rag.errors import LLMError, SettingsError, StoreLockedError
    from ui.api import _classify
    from ui.service import ArticleNotFoundError

    cases = {StoreLockedError("another newsdesk ingest is writing"): (503, "store_locked"),
             sqlite3.OperationalError("database is locked"): (503, "store_locked"),
             LLMError("the LLM at http://x timed out"): (503, "llm_unavailable"),
             ArticleNotFoundError("no article"): (404, "article_not_found"),
             SettingsError("the openai answerer needs llm_model"): (400, None)}
    for exc, (status, code) in cases.items():
        error = _classify(exc)
        assert (error.status, error.code) == (status, code), exc
