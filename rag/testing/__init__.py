"""Fakes that behave, for tests of newsdesk and of code built on it.

- `HashEmbedder`: a deterministic embedder whose similarities rank (shared words -> higher cosine).
- `FakeOpenAIServer`: a real HTTP server on 127.0.0.1 speaking the OpenAI protocol, with scripted replies.
- `ScriptedChat`: an in-process chat model that replays scripted replies and records the calls.
- `no_network()`: makes connections to anything but the loopback interface raise.

>>> emb = HashEmbedder(dim=64)
>>> q, near, far = emb.embed(["bridge length", "the bridge is 3 km in length", "election results"])
>>> bool(q @ near > q @ far)
True
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import json
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import numpy as np

__all__ = [
    "ChatCall",
    "ErrorReply",
    "FakeOpenAIServer",
    "HashEmbedder",
    "MalformedReply",
    "NetworkBlockedError",
    "NoChoicesReply",
    "RecordedRequest",
    "ScriptedChat",
    "TextReply",
    "free_port",
    "no_network",
    "split_pieces",
]


# ---------------------------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"\s*\S+|\s+$")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server a test or benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def split_pieces(text: str) -> list[str]:
    """Split text into word-sized stream pieces that join back to the exact text, as an LLM streams tokens.

    >>> split_pieces("The bridge is long.")
    ['The', ' bridge', ' is', ' long.']
    """
    return _PIECE.findall(text)


# ---------------------------------------------------------------------------------------------------------------
# HashEmbedder
# ---------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _hash64(feature: str) -> int:
    # blake2b rather than hash(): Python's str hash is salted per process, and vectors must be equal across runs.
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")


def _features(text: str) -> Iterator[tuple[str, float]]:
    """Lower-cased word unigrams (weight 1) and character trigrams of each word (weight 0.25).

    Trigrams make "bridges" and "bridge" close without any stemmer; their low weight keeps whole-word
    overlap the main signal.
    """
    for word in _WORD.findall(text.lower()):
        yield "w:" + word, 1.0
        padded = f" {word} "
        for i in range(len(padded) - 2):
            yield "c:" + padded[i : i + 3], 0.25


class HashEmbedder:
    """A deterministic embedder (signed feature hashing) whose cosine similarities rank meaningfully.

    The more words (and word pieces) a text shares with a query, the higher its cosine; unrelated texts score
    near 0. No model, no network, identical vectors in every process.

    >>> emb = HashEmbedder(dim=32)
    >>> emb.name, emb.dim, emb.count_tokens("Bridge, 3 km long!")
    ('hash-32', 32, 4)
    >>> v = emb.embed(["bridge"]); round(float(v[0] @ v[0]), 4)
    1.0
    """

    max_tokens = 256

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"HashEmbedder needs dim >= 8, got {dim}")
        self.dim = dim
        self.name = f"hash-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vec = out[row]
            for feature, weight in _features(text):
                h = _hash64(feature)
                # The top bit gives the sign so collisions cancel on average instead of piling up.
                vec[h % self.dim] += weight if h >> 63 else -weight
            if not vec.any():
                # Empty (or all-punctuation) text: a fixed unit vector keeps the output L2-normalised.
                h = _hash64("<empty>")
                vec[h % self.dim] = 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def count_tokens(self, text: str) -> int:
        """Number of words (runs of letters/digits between whitespace and punctuation)."""
        return len(_WORD.findall(text))


# ---------------------------------------------------------------------------------------------------------------
# Scripted replies for FakeOpenAIServer
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextReply:
    """A successful chat completion.

    `content` is the text, or the exact pieces to stream (a plain string streams word by word).
    `delay` waits before answering; `piece_delay` waits between streamed pieces. `stall_after=N` stops sending
    after N pieces (for a non-streaming request: after the headers and half the body) for `stall_for`
    seconds, or until the server closes when `stall_for` is None.

    >>> TextReply(["The ", "bridge"]).text
    'The bridge'
    """

    content: str | Sequence[str]
    delay: float = 0.0
    piece_delay: float = 0.0
    stall_after: int | None = None
    stall_for: float | None = None
    finish_reason: str = "stop"

    @property
    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(self.content)

    @property
    def pieces(self) -> list[str]:
        return split_pieces(self.content) if isinstance(self.content, str) else list(self.content)


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error, e.g. `ErrorReply(429, headers={"Retry-After": "1"})`; the body defaults to an OpenAI error."""

    status: int
    body: str | Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class MalformedReply:
    """A 200 reply whose body (or, when streaming, whose first event's data) is not valid JSON."""

    body: str = '{"id": "chatcmpl-broken", "choices": [{"index": 0, "message": '
    delay: float = 0.0


@dataclass(frozen=True)
class NoChoicesReply:
    """A well-formed completion whose `choices` list is empty."""

    delay: float = 0.0


Reply = TextReply | ErrorReply | MalformedReply | NoChoicesReply
# What a test may queue: a reply, a plain string (a TextReply), or a callable that computes either from the request.
Script = Reply | str | Callable[["RecordedRequest"], "Reply | str"]

_ERROR_TEXT = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to use this model.", "invalid_request_error", None),
    404: ("The model does not exist or you do not have access to it.", "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached. Please try again later.", "requests", "rate_limit_exceeded"),
}


def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
    default, kind, code = _ERROR_TEXT.get(status, ("The server had an error while processing your request.",
                                                   "server_error", None))
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake server received. Header names are lower-cased; `body` is the parsed JSON or None."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def streamed(self) -> bool:
        return bool(isinstance(self.body, dict) and self.body.get("stream"))

    @property
    def prompt(self) -> str:
        """All message contents joined, handy for `assert "passage text" in request.prompt`."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


# ---------------------------------------------------------------------------------------------------------------
# FakeOpenAIServer
# ---------------------------------------------------------------------------------------------------------------


def _dumps(obj: Any) -> bytes:
    # Compact separators, as the real API sends.
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class _Aborted(Exception):
    """The server is closing (or the client went away) while a handler waits: drop the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, as the real API
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # keep test output clean

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method=self.command,
            path=urlsplit(self.path).path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            raw=raw,
        )
        try:
            self.server.fake._serve(self, request)
        except (_Aborted, ConnectionError, TimeoutError):
            self.close_connection = True

    # -- response helpers used by FakeOpenAIServer._serve --

    def send_json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_bytes(status, _dumps(obj), headers=headers)

    def send_bytes(self, status: int, data: bytes, *, content_type: str = "application/json",
                   headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_{uuid.uuid4().hex}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def start_events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def send_event(self, data: bytes) -> None:
        self.send_chunk(b"data: " + data + b"\n\n")

    def end_events(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stalled handler must never keep the test process alive
    fake: FakeOpenAIServer


class FakeOpenAIServer:
    """A real OpenAI-compatible HTTP server on 127.0.0.1 with scripted chat replies.

    Serves `POST /v1/chat/completions` (JSON or server-sent events), `POST /v1/embeddings` (HashEmbedder
    vectors, float or base64) and `GET /v1/models`. Chat requests take the next scripted reply from the queue,
    or `default` when it is empty. Every request is recorded. With `api_key` set, a request without
    `Authorization: Bearer <api_key>` gets 401.

    >>> import openai
    >>> with FakeOpenAIServer(["Paris [1].", ErrorReply(500)]) as server:
    ...     client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    ...     reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Capital?"}])
    ...     reply.choices[0].message.content, server.requests[-1].messages[0]["content"]
    ('Paris [1].', 'Capital?')
    """

    def __init__(
        self,
        replies: Iterable[Script] = (),
        *,
        default: Script = "OK",
        api_key: str | None = None,
        embedding_dim: int = 64,
        models: Sequence[str] = ("fake-chat", "fake-embedding"),
    ) -> None:
        self._replies: deque[Script] = deque(replies)
        self._embedding_replies: deque[ErrorReply | MalformedReply] = deque()
        self.default = default
        self.api_key = api_key
        self.embedding_dim = embedding_dim
        self.models = tuple(models)
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.handler_errors: list[str] = []  # tracebacks of callables that raised

    # -- lifecycle --

    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            return self
        self._stop.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stop.set()  # wakes handlers that delay or stall
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            # shutdown() (not close()) wakes a handler blocked reading the next keep-alive request.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running; use it as a context manager or call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server root, e.g. http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, e.g. http://127.0.0.1:PORT/v1."""
        return self.url + "/v1"

    # -- scripting and inspection --

    def push(self, *replies: Script) -> None:
        """Queue more chat replies."""
        with self._lock:
            self._replies.extend(replies)

    def push_embedding(self, *replies: ErrorReply | MalformedReply) -> None:
        """Queue failures for /v1/embeddings; when the queue is empty it answers with HashEmbedder vectors."""
        with self._lock:
            self._embedding_replies.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted chat replies not yet used."""
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    # -- serving (runs on handler threads) --

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _wait(self, seconds: float | None) -> None:
        """Sleep, unless the server closes first (then abort the reply)."""
        if seconds is None or seconds > 0:
            if self._stop.wait(seconds):
                raise _Aborted

    def _serve(self, h: _Handler, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            h.send_json(401, _error_body(401))
            return
        path = request.path
        if request.method == "GET" and path == "/v1/models":
            h.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "newsdesk-fake"} for m in self.models]})
        elif request.method == "POST" and path == "/v1/chat/completions":
            self._chat(h, request)
        elif request.method == "POST" and path == "/v1/embeddings":
            self._embeddings(h, request)
        else:
            h.send_json(404, _error_body(404, f"Invalid URL ({request.method} {path})"))

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            script = self._replies.popleft() if self._replies else self.default
        if callable(script) and not isinstance(script, Reply):
            try:
                script = script(request)
            except Exception:
                tb = traceback.format_exc()
                self.handler_errors.append(tb)
                print(tb, file=sys.stderr)
                return ErrorReply(500, _error_body(500, "FakeOpenAIServer: the scripted callable raised"))
        return TextReply(script) if isinstance(script, str) else script

    def _chat(self, h: _Handler, request: RecordedRequest) -> None:
        body = request.body
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            # The real API validates first; so does the fake, so client bugs surface here too.
            h.send_json(400, _error_body(400, "you must provide a model parameter and a messages list"))
            return
        reply = self._next_reply(request)
        self._wait(reply.delay)
        model = str(body["model"])
        stream = bool(body.get("stream"))
        usage_chunk = bool((body.get("stream_options") or {}).get("include_usage"))
        prompt_tokens = sum(len(_WORD.findall(str(m.get("content", "")))) for m in body["messages"]
                            if isinstance(m, dict))
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
                "model": model, "system_fingerprint": None}

        if isinstance(reply, ErrorReply):
            payload = reply.body if reply.body is not None else _error_body(reply.status)
            data = payload.encode("utf-8") if isinstance(payload, str) else _dumps(dict(payload))
            h.send_bytes(reply.status, data, headers=reply.headers)
            return
        if isinstance(reply, MalformedReply):
            if stream:
                h.start_events()
                h.send_event(reply.body.encode("utf-8"))
                h.end_events()
            else:
                h.send_bytes(200, reply.body.encode("utf-8"))
            return
        if isinstance(reply, NoChoicesReply):
            if stream:
                h.start_events()
                h.send_event(_dumps({**base, "object": "chat.completion.chunk", "choices": []}))
                h.send_event(b"[DONE]")
                h.end_events()
            else:
                h.send_json(200, {**base, "object": "chat.completion", "choices": [], "usage": None})
            return

        completion_tokens = len(_WORD.findall(reply.text))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        if not stream:
            data = _dumps({
                **base,
                "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text, "refusal": None},
                             "logprobs": None, "finish_reason": reply.finish_reason}],
                "usage": usage,
            })
            if reply.stall_after is None:
                h.send_bytes(200, data)
                return
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            self._wait(reply.stall_for)
            h.wfile.write(data[len(data) // 2 :])
            return

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            obj = {**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            if usage_chunk:
                obj["usage"] = None
            return _dumps(obj)

        h.start_events()
        h.send_event(chunk({"role": "assistant", "content": "", "refusal": None}, None))
        for i, piece in enumerate(reply.pieces):
            if reply.stall_after is not None and i == reply.stall_after:
                self._wait(reply.stall_for)
            if i and reply.piece_delay:
                self._wait(reply.piece_delay)
            h.send_event(chunk({"content": piece}, None))
        if reply.stall_after is not None and reply.stall_after >= len(reply.pieces):
            self._wait(reply.stall_for)
        h.send_event(chunk({}, reply.finish_reason))
        if usage_chunk:
            h.send_event(_dumps({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
        h.send_event(b"[DONE]")
        h.end_events()

    def _embeddings(self, h: _Handler, request: RecordedRequest) -> None:
        body = request.body
        with self._lock:
            scripted = self._embedding_replies.popleft() if self._embedding_replies else None
        if scripted is not None:
            self._wait(scripted.delay)
            if isinstance(scripted, ErrorReply):
                payload = scripted.body if scripted.body is not None else _error_body(scripted.status)
                data = payload.encode("utf-8") if isinstance(payload, str) else _dumps(dict(payload))
                h.send_bytes(scripted.status, data, headers=scripted.headers)
            else:
                h.send_bytes(200, scripted.body.encode("utf-8"))
            return
        if not isinstance(body, dict) or not body.get("model") or "input" not in body:
            h.send_json(400, _error_body(400, "you must provide a model parameter and an input"))
            return
        raw_input = body["input"]
        # The API accepts a string, a list of strings, or token ids (a list of ints, or a list of such lists).
        if isinstance(raw_input, str):
            texts = [raw_input]
        elif raw_input and all(isinstance(x, int) for x in raw_input):
            texts = [" ".join(map(str, raw_input))]
        else:
            texts = [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw_input]
        if any(t == "" for t in texts):
            h.send_json(400, _error_body(400, "'$.input' is invalid: input cannot be an empty string"))
            return
        dim = int(body.get("dimensions") or self.embedding_dim)
        vectors = HashEmbedder(dim).embed(texts)
        as_base64 = body.get("encoding_format") == "base64"
        items = [{"object": "embedding", "index": i,
                 "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") if as_base64
                 else [float(x) for x in v]}
                for i, v in enumerate(vectors)]
        tokens = sum(len(_WORD.findall(t)) for t in texts)
        h.send_json(200, {"object": "list", "data": items, "model": body["model"],
                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


# ---------------------------------------------------------------------------------------------------------------
# ScriptedChat
# ---------------------------------------------------------------------------------------------------------------

ChatScript = str | BaseException | Sequence[str | BaseException] | Callable[[list[dict[str, str]]], str]


@dataclass(frozen=True)
class ChatCall:
    """One call a ScriptedChat received."""

    messages: list[dict[str, str]]
    streamed: bool

    @property
    def prompt(self) -> str:
        return "\n".join(m.get("content", "") for m in self.messages)


class ScriptedChat:
    """An in-process ChatModel that replays scripted replies and records every call.

    A reply is a string; an exception (raised instead of answering); a list of stream pieces in which an
    exception fails the stream at that point; or a callable computing the text from the messages. With no
    reply left, `default` is used, or AssertionError is raised when it is None.

    >>> chat = ScriptedChat(["Paris [1].", ["It is ", "big."]])
    >>> chat.complete([{"role": "user", "content": "Capital?"}])
    'Paris [1].'
    >>> list(chat.stream([{"role": "user", "content": "Size?"}]))
    ['It is ', 'big.']
    >>> [c.streamed for c in chat.calls], chat.calls[0].messages[0]["content"]
    ([False, True], 'Capital?')
    """

    def __init__(self, replies: Iterable[ChatScript] = (), *, default: str | None = None) -> None:
        self._replies: deque[ChatScript] = deque(replies)
        self.default = default
        self.calls: list[ChatCall] = []
        self._lock = threading.Lock()

    def push(self, *replies: ChatScript) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _take(self, messages: list[dict[str, str]], streamed: bool) -> list[str | BaseException]:
        with self._lock:
            self.calls.append(ChatCall([dict(m) for m in messages], streamed))
            if self._replies:
                script: ChatScript = self._replies.popleft()
            elif self.default is not None:
                script = self.default
            else:
                raise AssertionError(f"ScriptedChat has no reply left for call #{len(self.calls)}; "
                                     "push() more or pass default=")
        if isinstance(script, BaseException):
            return [script]
        if isinstance(script, str):
            return list(split_pieces(script)) if streamed else [script]
        if callable(script):
            text = script(messages)
            return list(split_pieces(text)) if streamed else [text]
        return list(script)

    def complete(self, messages: list[dict[str, str]]) -> str:
        parts = self._take(messages, streamed=False)
        for part in parts:
            if isinstance(part, BaseException):
                raise part
        return "".join(p for p in parts if isinstance(p, str))

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        # The call is recorded now; the pieces (and any scripted failure) come lazily, as from a real stream.
        parts = self._take(messages, streamed=True)

        def pieces() -> Iterator[str]:
            for part in parts:
                if isinstance(part, BaseException):
                    raise part
                yield part

        return pieces()


# ---------------------------------------------------------------------------------------------------------------
# no_network
# ---------------------------------------------------------------------------------------------------------------


class NetworkBlockedError(ConnectionRefusedError):
    """A test tried to reach the network while `no_network()` was active."""


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host: object, extra: set[str]) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, used to bind
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost") or name in extra or name == "":
        return True
    try:
        addr = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback or addr.is_unspecified


@contextlib.contextmanager
def no_network(allow: Iterable[str] = ()) -> Iterator[None]:
    """Make connections (and name look-ups) for anything but the loopback interface raise NetworkBlockedError.

    127.0.0.1, ::1 and localhost stay reachable, so servers a test starts itself still work; `allow` adds
    host names or addresses. Works as a context manager or a decorator; patches the socket module globally
    (all threads) until it exits.

    >>> with no_network():
    ...     socket.create_connection(("192.0.2.1", 80), timeout=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.testing.NetworkBlockedError: network access to 192.0.2.1 blocked in tests (rag.testing.no_network); ...
    """
    extra = {h.lower() for h in allow}
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex

    def refuse(host: object) -> NetworkBlockedError:
        return NetworkBlockedError(
            f"network access to {host} blocked in tests (rag.testing.no_network); "
            "start a server on 127.0.0.1 instead"
        )

    def check(sock: socket.socket, address: object) -> None:
        # Only IP sockets reach a network; Unix sockets and the like are local by construction.
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            if not _is_local(address[0], extra):
                raise refuse(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if args:
            check(self, args[-1])
        return real_sendto(self, data, *args)  # type: ignore[arg-type]

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host, extra) and host != socket.gethostname():
            raise refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not _is_local(host, extra) and host != socket.gethostname():
            raise refuse(host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str) -> Any:
        if not _is_local(host, extra) and host != socket.gethostname():
            raise refuse(host)
        return real_gethostbyname_ex(host)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = real_sendto  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo
        socket.gethostbyname = real_gethostbyname
        socket.gethostbyname_ex = real_gethostbyname_ex
