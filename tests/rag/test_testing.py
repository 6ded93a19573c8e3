"""The fakes in rag.testing behave: the embedder ranks, the server speaks the wire protocol, the guard guards."""

import base64
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import openai
import pytest

from rag.errors import LLMError
from rag.models.chat import ChatModel
from rag.models.embedding import Embedder, make_embedder
from rag.testing import (
    ErrorReply,
    FakeOpenAIServer,
    HashEmbedder,
    NetworkBlockedError,
    ScriptedChat,
    TextReply,
    no_network,
    split_pieces,
)

ROOT = Path(__file__).resolve().parents[2]


# -- HashEmbedder ----------------------------------------------------------------------------------------------


def test_hash_embedder__shape_dtype_and_unit_length():
    vectors = HashEmbedder(dim=32).embed(["The bridge", "", "!!!", "a much longer text about elections"])
    assert vectors.shape == (4, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_hash_embedder__a_text_sharing_words_ranks_above_an_unrelated_one():
    emb = HashEmbedder()
    query, sharing, unrelated = emb.embed([
        "How long will the Astarachay bridge be?",
        "The Astarachay bridge will be 1.2 km long when finished.",
        "Voters in the northern provinces went to the polls on Sunday.",
    ])
    assert query @ sharing > query @ unrelated + 0.2


def test_hash_embedder__more_shared_words_rank_higher():
    emb = HashEmbedder()
    query, two, one, none = emb.embed(["river bridge toll", "river bridge", "river", "parliament vote"])
    assert query @ two > query @ one > query @ none


def test_hash_embedder__case_and_inflection_still_match():
    emb = HashEmbedder()
    query, inflected, unrelated = emb.embed(["Bridges", "the bridge", "the election"])
    assert query @ inflected > query @ unrelated


def test_hash_embedder__deterministic_across_processes():
    texts = ["The bridge is 1.2 km long.", "Élections: résultats"]
    here = HashEmbedder(64).embed(texts)
    code = (
        "import json, sys; from rag.testing import HashEmbedder; "
        f"print(json.dumps(HashEmbedder(64).embed({texts!r}).tolist()))"
    )
    # A different hash seed in the child: Python's own hash() would give different vectors.
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"})
    np.testing.assert_array_equal(np.asarray(json.loads(out.stdout), dtype=np.float32), here)


def test_hash_embedder__protocol_name_and_token_count():
    emb = HashEmbedder(dim=128)
    assert isinstance(emb, Embedder)
    assert (emb.name, emb.dim, emb.max_tokens) == ("hash-128", 128, 256)
    assert emb.count_tokens("The bridge, 1.2 km long; done!") == 7
    assert make_embedder("hash:16").dim == 16


def test_split_pieces__join_back_to_the_text():
    for text in ["The bridge is long.", "  leading and trailing  ", "", "one"]:
        assert "".join(split_pieces(text)) == text


# -- FakeOpenAIServer ------------------------------------------------------------------------------------------


def post(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


CHAT = {"model": "fake-chat", "messages": [{"role": "user", "content": "hi"}]}


def test_server__binds_loopback_and_serves_models():
    with FakeOpenAIServer(models=["m1", "m2"]) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        assert [m.id for m in client.models.list()] == ["m1", "m2"]


def test_server__stream_is_server_sent_events_ending_in_done():
    with FakeOpenAIServer([TextReply(["Hel", "lo"])]) as server:
        status, headers, raw = post(server.base_url + "/chat/completions", {**CHAT, "stream": True})
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = [block for block in raw.decode().split("\n\n") if block]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: "):]) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hello"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_server__usage_chunk_when_asked():
    with FakeOpenAIServer(["two words"]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        chunks = list(client.chat.completions.create(model="m", messages=CHAT["messages"], stream=True,
                                                     stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 2


def test_server__non_streaming_reply_is_a_chat_completion():
    with FakeOpenAIServer(["fine"]) as server:
        status, _, raw = post(server.base_url + "/chat/completions", CHAT)
    reply = json.loads(raw)
    assert status == 200 and reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"] == {"role": "assistant", "content": "fine", "refusal": None}


def test_server__scripted_replies_then_default():
    with FakeOpenAIServer(["first", ErrorReply(429, headers={"Retry-After": "2"})], default="fallback") as server:
        assert server.pending == 2
        assert json.loads(post(server.base_url + "/chat/completions", CHAT)[2])["choices"][0]["message"][
            "content"] == "first"
        status, headers, raw = post(server.base_url + "/chat/completions", CHAT)
        assert status == 429 and headers["Retry-After"] == "2" and "error" in json.loads(raw)
        assert json.loads(post(server.base_url + "/chat/completions", CHAT)[2])["choices"][0]["message"][
            "content"] == "fallback"
        assert server.pending == 0


def test_server__records_path_headers_and_body():
    with FakeOpenAIServer() as server:
        post(server.base_url + "/chat/completions", CHAT, headers={"Authorization": "Bearer sk-1"})
        (request,) = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-1"
    assert request.body == CHAT and request.model == "fake-chat" and request.prompt == "hi"


def test_server__checks_the_api_key():
    with FakeOpenAIServer(api_key="sk-right") as server:
        assert post(server.base_url + "/chat/completions", CHAT)[0] == 401
        assert post(server.base_url + "/chat/completions", CHAT, {"Authorization": "Bearer sk-wrong"})[0] == 401
        assert post(server.base_url + "/chat/completions", CHAT, {"Authorization": "Bearer sk-right"})[0] == 200


def test_server__rejects_a_request_without_model_like_the_api():
    with FakeOpenAIServer(["kept for later"]) as server:
        assert post(server.base_url + "/chat/completions", {"messages": []})[0] == 400
        assert server.pending == 1
        assert post(server.base_url + "/nope", {})[0] == 404


def test_server__callable_that_raises_answers_500_and_is_reported(capsys):
    def broken(request):
        raise RuntimeError("bug in the test script")

    with FakeOpenAIServer([broken]) as server:
        assert post(server.base_url + "/chat/completions", CHAT)[0] == 500
    assert "bug in the test script" in server.handler_errors[0]


def test_server__embeddings_float_and_base64_match_hash_embedder():
    with FakeOpenAIServer(embedding_dim=16) as server:
        _, _, raw = post(server.base_url + "/embeddings", {"model": "e", "input": ["a b", "c"]})
        floats = json.loads(raw)
        _, _, raw = post(server.base_url + "/embeddings",
                         {"model": "e", "input": "a b", "encoding_format": "base64", "dimensions": 8})
        b64 = json.loads(raw)
    expected = HashEmbedder(16).embed(["a b", "c"])
    np.testing.assert_allclose([d["embedding"] for d in floats["data"]], expected, atol=1e-6)
    vector = np.frombuffer(base64.b64decode(b64["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_array_equal(vector, HashEmbedder(8).embed(["a b"])[0])


def test_server__close_does_not_wait_for_a_stalled_stream():
    server = FakeOpenAIServer([TextReply(["a", "b"], stall_after=1)]).start()
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=30)
    stream = client.chat.completions.create(model="m", messages=CHAT["messages"], stream=True)
    next(iter(stream))  # the role chunk arrived; the server now stalls
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 5
    with pytest.raises(openai.APIError):
        list(stream)  # the connection was dropped mid-stream


# -- ScriptedChat ----------------------------------------------------------------------------------------------


def test_scripted_chat__replays_and_records():
    chat = ScriptedChat(["first [1].", lambda messages: "echo " + messages[-1]["content"]], default="later")
    assert isinstance(chat, ChatModel)
    assert chat.complete([{"role": "user", "content": "q1"}]) == "first [1]."
    assert "".join(chat.stream([{"role": "user", "content": "q2"}])) == "echo q2"
    assert chat.complete([{"role": "user", "content": "q3"}]) == "later"
    assert [(c.prompt, c.streamed) for c in chat.calls] == [("q1", False), ("q2", True), ("q3", False)]


def test_scripted_chat__scripted_failures():
    chat = ScriptedChat([LLMError("the LLM server failed (500)"), ["partial ", LLMError("cut")]])
    with pytest.raises(LLMError, match="500"):
        chat.complete([])
    received = []
    with pytest.raises(LLMError, match="cut"):
        for piece in chat.stream([]):
            received.append(piece)
    assert received == ["partial "]


def test_scripted_chat__running_out_is_loud():
    with pytest.raises(AssertionError, match="no reply left"):
        ScriptedChat().complete([{"role": "user", "content": "q"}])


# -- no_network ------------------------------------------------------------------------------------------------


def test_no_network__is_active_for_every_test():
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routed anyway
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.com", 443)


def test_no_network__allows_loopback():
    with no_network(), FakeOpenAIServer() as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
        with socket.create_connection(("localhost", server.port), timeout=5):
            pass


def test_no_network__restores_the_socket_module():
    before = (socket.socket.connect, socket.getaddrinfo)
    with no_network(allow=["db.internal"]):
        assert socket.socket.connect is not before[0]
    assert (socket.socket.connect, socket.getaddrinfo) == before


def test_no_network__blocks_udp_sendto():
    with no_network(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(NetworkBlockedError):
        sock.sendto(b"x", ("192.0.2.1", 53))
