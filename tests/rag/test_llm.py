"""OpenAIChat and OpenAIEmbedder against FakeOpenAIServer over real HTTP (the client is never patched).

Elapsed times are measured only as hang guards: an upper bound with a generous margin.
"""

import socket

import numpy as np
import pytest

from rag.errors import LLMError, SettingsError
from rag.models.chat import PLACEHOLDER_API_KEY, ChatModel, OpenAIChat
from rag.models.embedding import Embedder, make_embedder
from rag.models.openai_embed import OpenAIEmbedder
from rag.settings import Settings
from rag.testing import (
    ErrorReply,
    FakeClock,
    FakeOpenAIServer,
    HashEmbedder,
    MalformedReply,
    NoChoicesReply,
    TextReply,
)

MESSAGES = [
    {"role": "system", "content": "Answer from the passages only."},
    {"role": "user", "content": "How long will the Astarachay bridge be?"},
]


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


def make_chat(server: FakeOpenAIServer, **kwargs) -> OpenAIChat:
    kwargs.setdefault("timeout", 10.0)
    kwargs.setdefault("backoff", 0.01)  # keep retry tests fast; the backoff rule itself is not what they check
    kwargs.setdefault("clock", FakeClock())  # deadlines and backoff are measured on it, not on the wall clock
    return OpenAIChat("fake-chat", base_url=server.base_url, api_key=None, **kwargs)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- replies ---------------------------------------------------------------------------------------------------


def test_complete__returns_the_reply_text(server):
    server.push("The bridge will be 1.2 km long [1].")
    assert make_chat(server).complete(MESSAGES) == "The bridge will be 1.2 km long [1]."


def test_stream__yields_the_pieces_in_order(server):
    server.push(TextReply(["The bridge ", "will be ", "1.2 km", " long [1]."], piece_delay=0.02))
    assert list(make_chat(server).stream(MESSAGES)) == ["The bridge ", "will be ", "1.2 km", " long [1]."]


def test_request__carries_model_messages_and_temperature(server):
    chat = make_chat(server, temperature=0.3)
    chat.complete(MESSAGES)
    list(chat.stream(MESSAGES))
    plain, streamed = server.chat_requests
    assert plain.model == "fake-chat" and plain.messages == MESSAGES and plain.body["temperature"] == 0.3
    assert not plain.streamed and streamed.streamed and streamed.messages == MESSAGES


def test_callable_reply__computes_from_the_request(server):
    server.push(lambda req: "echo: " + req.messages[-1]["content"])
    assert make_chat(server).complete(MESSAGES) == "echo: How long will the Astarachay bridge be?"


def test_stream__consumer_stopping_early_does_not_hang(server):
    server.push(TextReply("one two three four five", piece_delay=0.05))
    stream = make_chat(server).stream(MESSAGES)
    assert next(stream) == "one"
    stream.close()
    assert make_chat(server).complete(MESSAGES) == "OK"  # the server and client are still usable


def test_openai_chat__is_a_chat_model(server):
    assert isinstance(make_chat(server), ChatModel)


# -- retries ---------------------------------------------------------------------------------------------------


def test_complete__429_with_retry_after_is_retried(server):
    server.push(ErrorReply(429, headers={"Retry-After": "0.2"}), "after the wait")
    clock = FakeClock()
    assert make_chat(server, clock=clock).complete(MESSAGES) == "after the wait"
    assert clock.sleeps == [0.2]  # the server's Retry-After, not the backoff
    assert len(server.chat_requests) == 2


def test_complete__429_asking_longer_than_the_budget_gives_up_at_once(server):
    server.push(ErrorReply(429, headers={"Retry-After": "60"}), "never reached")
    clock = FakeClock()
    with pytest.raises(LLMError, match=r"rate-limiting \(429\).*60 s"):
        make_chat(server, timeout=5, clock=clock).complete(MESSAGES)
    assert clock.sleeps == [] and clock.elapsed < 5
    assert len(server.chat_requests) == 1


def test_complete__429_forever_runs_out_of_retries(server):
    server.default = ErrorReply(429, headers={"Retry-After": "0"})
    clock = FakeClock()
    with pytest.raises(LLMError, match=r"the LLM is rate-limiting \(429\) and retries ran out"):
        make_chat(server, max_retries=2, clock=clock).complete(MESSAGES)
    assert clock.sleeps == [0.0, 0.0]
    assert len(server.chat_requests) == 3


def test_complete__500_then_success(server):
    server.push(ErrorReply(500), "recovered")
    assert make_chat(server).complete(MESSAGES) == "recovered"
    assert len(server.chat_requests) == 2


def test_stream__500_then_success(server):
    server.push(ErrorReply(503), "recovered stream")
    assert "".join(make_chat(server).stream(MESSAGES)) == "recovered stream"
    assert len(server.chat_requests) == 2


def test_complete__500_forever_raises_after_the_retries(server):
    server.default = ErrorReply(500)
    clock = FakeClock()
    with pytest.raises(LLMError, match=r"^the LLM server failed \(500\)$"):
        make_chat(server, max_retries=2, backoff=0.5, clock=clock).complete(MESSAGES)
    assert clock.sleeps == [0.5, 1.0]  # the backoff doubles
    assert len(server.chat_requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors__are_never_retried(server, status):
    server.default = ErrorReply(status)
    with pytest.raises(LLMError):
        make_chat(server, max_retries=3).complete(MESSAGES)
    assert len(server.chat_requests) == 1


def test_401__message_names_the_key_variables(server):
    server.push(ErrorReply(401))
    with pytest.raises(LLMError) as err:
        make_chat(server).complete(MESSAGES)
    assert str(err.value) == (
        "the LLM endpoint refused the API key (401); check NEWSDESK_LLM_API_KEY or OPENAI_API_KEY")


def test_404__message_names_the_model_setting(server):
    server.push(ErrorReply(404))
    with pytest.raises(LLMError, match="NEWSDESK_LLM_MODEL"):
        make_chat(server).stream(MESSAGES).__next__()


# -- unreachable, slow and stalled servers ---------------------------------------------------------------------


def test_connection_refused__names_the_base_url_setting():
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    chat = OpenAIChat("fake-chat", base_url=base_url, api_key=None, timeout=5, backoff=0.01)
    with pytest.raises(LLMError) as err:
        chat.complete(MESSAGES)
    assert str(err.value) == f"cannot reach the LLM at {base_url} (connection refused); check NEWSDESK_LLM_BASE_URL"
    with pytest.raises(LLMError, match="connection refused"):
        list(chat.stream(MESSAGES))


def test_complete__delay_longer_than_the_timeout_raises_in_time(server):
    server.push(TextReply("too late", delay=30))
    clock = FakeClock()
    with pytest.raises(LLMError, match=r"^the LLM did not answer within 1 s \(NEWSDESK_LLM_TIMEOUT\)$"):
        make_chat(server, timeout=1.0, clock=clock).complete(MESSAGES)
    assert clock.elapsed <= 1.0  # gave up at the deadline, not later


def test_stream__delay_longer_than_the_timeout_raises_in_time(server):
    server.push(TextReply("too late", delay=30))
    clock = FakeClock()
    with pytest.raises(LLMError, match="did not answer within 1 s"):
        list(make_chat(server, timeout=1.0, clock=clock).stream(MESSAGES))
    assert clock.elapsed <= 1.0  # gave up at the deadline, not later


def test_stream__stall_mid_answer_is_aborted(server):
    server.push(TextReply(["The bridge ", "will be ", "long."], stall_after=2))  # stalls until the server closes
    received = []
    clock = FakeClock()
    with pytest.raises(LLMError, match="stopped sending mid-answer"):
        for delta in make_chat(server, timeout=1.5, clock=clock).stream(MESSAGES):
            received.append(delta)
    assert clock.elapsed <= 1.5  # gave up at the deadline, not later
    assert received == ["The bridge ", "will be "]


def test_stream__slow_trickle_is_bounded_by_the_deadline(server):
    # Each gap is short, so no socket read times out; only the overall deadline can stop this.
    server.push(TextReply(["x "] * 100, piece_delay=0.1))
    clock = FakeClock()
    with pytest.raises(LLMError, match="mid-answer"):
        list(make_chat(server, timeout=1.0, clock=clock).stream(MESSAGES))
    assert clock.elapsed <= 1.0  # gave up at the deadline, not later


def test_complete__body_that_stalls_raises_in_time(server):
    server.push(TextReply("half a body", stall_after=0))
    clock = FakeClock()
    with pytest.raises(LLMError, match="did not answer within 1 s"):
        make_chat(server, timeout=1.0, clock=clock).complete(MESSAGES)
    assert clock.elapsed <= 1.0  # gave up at the deadline, not later


# -- bad replies -----------------------------------------------------------------------------------------------


def test_malformed_json__complete_and_stream(server):
    server.push(MalformedReply(), MalformedReply())
    chat = make_chat(server)
    with pytest.raises(LLMError, match=r"^the LLM returned a malformed reply$"):
        chat.complete(MESSAGES)
    with pytest.raises(LLMError, match=r"^the LLM returned a malformed reply$"):
        list(chat.stream(MESSAGES))
    assert len(server.chat_requests) == 2  # not retried


def test_wrong_shape_json__is_malformed(server):
    server.push(MalformedReply('{"id": "x", "object": "chat.completion", "choices": "nope"}'))
    with pytest.raises(LLMError, match="malformed reply"):
        make_chat(server).complete(MESSAGES)


def test_empty_choices__complete_and_stream(server):
    server.push(NoChoicesReply(), NoChoicesReply())
    chat = make_chat(server)
    with pytest.raises(LLMError, match=r"^the LLM returned no choices$"):
        chat.complete(MESSAGES)
    with pytest.raises(LLMError, match=r"^the LLM returned no choices$"):
        list(chat.stream(MESSAGES))


# -- keys and settings -----------------------------------------------------------------------------------------


def test_local_server_without_key__sends_a_placeholder(server):
    make_chat(server).complete(MESSAGES)
    assert server.chat_requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"


def test_api_key__is_sent_and_checked():
    with FakeOpenAIServer(api_key="sk-right") as srv:
        good = OpenAIChat("fake-chat", base_url=srv.base_url, api_key="sk-right", timeout=5)
        assert good.complete(MESSAGES) == "OK"
        bad = OpenAIChat("fake-chat", base_url=srv.base_url, api_key="sk-wrong", timeout=5)
        with pytest.raises(LLMError, match="refused the API key"):
            bad.complete(MESSAGES)


def test_no_key_and_no_base_url__is_a_settings_error():
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        OpenAIChat("gpt-4o-mini", base_url=None, api_key=None)


def test_from_settings__builds_a_working_client(server):
    settings = Settings(llm_model="fake-chat", llm_base_url=server.base_url, llm_timeout=7, llm_max_retries=1,
                        llm_temperature=0.5)
    chat = OpenAIChat.from_settings(settings)
    assert (chat.model, chat.timeout, chat.max_retries, chat.temperature) == ("fake-chat", 7.0, 1, 0.5)
    assert chat.complete(MESSAGES) == "OK"


def test_from_settings__without_a_model_fails_before_any_call(server):
    with pytest.raises(SettingsError, match="NEWSDESK_LLM_MODEL"):
        OpenAIChat.from_settings(Settings(llm_model=None, llm_base_url=server.base_url))
    assert server.requests == []


def test_unreachable_host__is_blocked_by_the_test_guard():
    chat = OpenAIChat("fake-chat", base_url="http://llm.example.com/v1", api_key=None, timeout=5, max_retries=0)
    with pytest.raises(LLMError, match=r"cannot reach the LLM at http://llm.example.com/v1 \(network access"):
        chat.complete(MESSAGES)


# -- OpenAIEmbedder --------------------------------------------------------------------------------------------


def make_embedder_for(server: FakeOpenAIServer, model: str = "fake-embedding", **kwargs) -> OpenAIEmbedder:
    kwargs.setdefault("backoff", 0.01)
    return OpenAIEmbedder(model, api_key=None, base_url=server.base_url, **kwargs)


def test_embedder__vectors_are_the_servers_normalised_float32(server):
    texts = ["bridge length", "the bridge is long", "election results"]
    vectors = make_embedder_for(server).embed(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (3, server.embedding_dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vectors, HashEmbedder(server.embedding_dim).embed(texts), atol=1e-6)
    request = server.embedding_requests[0]
    assert request.body["model"] == "fake-embedding" and request.body["input"] == texts


def test_embedder__protocol_name_dim_and_tokens(server):
    emb = make_embedder_for(server)
    assert isinstance(emb, Embedder)
    assert (emb.name, emb.dim, emb.max_tokens) == ("openai:fake-embedding", server.embedding_dim, 8191)
    assert emb.count_tokens("hello world") == 2
    assert OpenAIEmbedder("text-embedding-3-large", api_key="sk-x", base_url=server.base_url).dim == 3072


def test_embedder__batches_requests(server):
    vectors = make_embedder_for(server, batch=2).embed([f"text {i}" for i in range(5)])
    assert vectors.shape[0] == 5
    assert [len(r.body["input"]) for r in server.embedding_requests] == [2, 2, 1]


def test_embedder__empty_text_does_not_fail_the_batch(server):
    assert make_embedder_for(server).embed(["", "bridge"]).shape == (2, server.embedding_dim)


def test_embedder__500_then_success_and_500_forever(server):
    server.push_embedding(ErrorReply(500))
    assert make_embedder_for(server).embed(["x"]).shape == (1, server.embedding_dim)
    server.push_embedding(ErrorReply(502), ErrorReply(502), ErrorReply(502))
    with pytest.raises(LLMError, match=r"the embedding endpoint server failed \(502\)"):
        make_embedder_for(server, max_retries=2).embed(["x"])


def test_embedder__wrong_key_and_model_are_settings_errors(server):
    server.push_embedding(ErrorReply(401), ErrorReply(404))
    with pytest.raises(SettingsError, match="NEWSDESK_LLM_API_KEY or OPENAI_API_KEY"):
        make_embedder_for(server).embed(["x"])
    with pytest.raises(SettingsError, match="NEWSDESK_EMBEDDING_MODEL"):
        make_embedder_for(server).embed(["x"])


def test_embedder__dimension_mismatch_with_a_known_model(server):
    emb = OpenAIEmbedder("text-embedding-3-small", api_key="sk-x", base_url=server.base_url)
    with pytest.raises(SettingsError, match="expected 1536"):
        emb.embed(["x"])


def test_embedder__malformed_reply(server):
    server.push_embedding(MalformedReply('{"data": [{"index": 0, "embedding": "not-base64!!"'))
    with pytest.raises(LLMError, match="malformed reply"):
        make_embedder_for(server).embed(["x"])


def test_embedder__connection_refused_names_the_base_url():
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    emb = OpenAIEmbedder("fake-embedding", api_key=None, base_url=base_url, backoff=0.01)
    with pytest.raises(LLMError, match=r"cannot reach the embedding endpoint .*NEWSDESK_LLM_BASE_URL"):
        emb.embed(["x"])


def test_embedder__no_key_is_a_settings_error():
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        OpenAIEmbedder("text-embedding-3-small", api_key=None, base_url=None)


def test_make_embedder__openai_prefix(server):
    emb = make_embedder("openai:fake-embedding", base_url=server.base_url)
    assert isinstance(emb, OpenAIEmbedder) and emb.embed(["a"]).shape == (1, server.embedding_dim)



def test_stream__connection_dropped_mid_answer_is_not_retried():
    server = FakeOpenAIServer([TextReply(["The bridge ", "is "], stall_after=1), "never used"]).start()
    try:
        stream = make_chat(server, timeout=10).stream(MESSAGES)
        assert next(stream) == "The bridge "
    finally:
        server.close()  # drops the stalled connection
    with pytest.raises(LLMError, match="connection broke mid-answer"):
        list(stream)
    assert len(server.chat_requests) == 1
