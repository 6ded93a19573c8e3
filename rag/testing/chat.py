"""ScriptedChat: an in-process chat model that replays scripted replies and records the calls."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from rag.testing.replies import split_pieces

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
