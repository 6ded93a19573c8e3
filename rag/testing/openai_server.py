"""FakeOpenAIServer: a real HTTP server on 127.0.0.1 that speaks the OpenAI chat and embeddings protocol.

Replies are scripted (rag.testing.replies); every request is recorded, so a test can check what was sent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from rag.testing.embedder import HashEmbedder
from rag.testing.replies import (
    _WORD,
    ErrorReply,
    MalformedReply,
    NoChoicesReply,
    RecordedRequest,
    Reply,
    Script,
    TextReply,
    _error_body,
)


def _dumps(obj: Any) -> bytes:
    # Compact separators, as the real API sends.
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class _Aborted(Exception):
    """The server is closing (or the client went away) while a handler waits: drop the connection."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, as the real API
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
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
        if (seconds is None or seconds > 0) and self._stop.wait(seconds):
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
            except Exception:  # noqa: BLE001 - whatever a test's callable raises becomes a 500 and is kept
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
