"""Scripted replies a FakeOpenAIServer or ScriptedChat plays back, and the requests it records.

>>> TextReply("The bridge is long [1].").pieces
['The', ' bridge', ' is', ' long', ' [1].']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\w+")
_PIECE = re.compile(r"\s*\S+|\s+$")


def split_pieces(text: str) -> list[str]:
    """Split text into word-sized stream pieces that join back to the exact text, as an LLM streams tokens.

    >>> split_pieces("The bridge is long.")
    ['The', ' bridge', ' is', ' long.']
    """
    return _PIECE.findall(text)


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
