"""The chat model behind the `openai` answerer and the LLM judge: a small Protocol and an OpenAI-compatible client.

`OpenAIChat` talks to the OpenAI API or any compatible server (vLLM, Ollama, llama.cpp) through the official
SDK. Retries are done by rag.models.calls rather than by the SDK so that the rules are explicit: connection
errors, timeouts, 408, 429 (honouring Retry-After) and 5xx are retried with exponential backoff; other 4xx never
are. Each call has one deadline of `timeout` seconds covering every attempt, every backoff and every gap in a
stream, so a call never hangs past it. Every failure surfaces as `LLMError` with one line that names what to fix.

>>> from rag.testing import FakeOpenAIServer
>>> with FakeOpenAIServer(["Paris [1]."]) as server:
...     chat = OpenAIChat("fake-chat", base_url=server.base_url, api_key=None)
...     chat.complete([{"role": "user", "content": "Capital of France?"}])
'Paris [1].'
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import openai

from rag.errors import LLMError, NewsdeskError, SettingsError
from rag.models.calls import (
    OPENAI_BASE_URL,
    PLACEHOLDER_API_KEY,
    SYSTEM_CLOCK,
    Clock,
    SystemClock,
    _as_params,
    _call,
    _DeadlineExceeded,
    _make_client,
    _Malformed,
    _parse_errors,
    _retry_wait,
    _root_reason,
    _Service,
    _to_error,
    _within,
)

if TYPE_CHECKING:
    from rag.settings import Settings

__all__ = ["OPENAI_BASE_URL", "PLACEHOLDER_API_KEY", "SYSTEM_CLOCK", "ChatModel", "Clock", "OpenAIChat", "SystemClock"]


@runtime_checkable
class ChatModel(Protocol):
    """A chat model: messages in the OpenAI format ({"role", "content"}) in, text out.

    >>> from rag.testing import ScriptedChat
    >>> isinstance(ScriptedChat(["hi"]), ChatModel)
    True
    """

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield the reply as text deltas; raises LLMError on failure."""
        ...

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The whole reply; raises LLMError on failure."""
        ...


class OpenAIChat:
    """A ChatModel on the OpenAI chat-completions API (or any compatible server).

    `timeout` bounds each whole call (all attempts, backoffs and stream gaps); `max_retries` counts retries
    after the first attempt; `backoff` is the first retry's wait, doubled each time (Retry-After wins).

    >>> from rag.testing import FakeOpenAIServer, ErrorReply
    >>> with FakeOpenAIServer([ErrorReply(500), "The bridge is 3 km long [1]."]) as server:
    ...     chat = OpenAIChat("fake-chat", base_url=server.base_url, api_key=None, backoff=0.01)
    ...     "".join(chat.stream([{"role": "user", "content": "How long?"}]))
    'The bridge is 3 km long [1].'
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None,
        api_key: str | None,
        timeout: float = 30.0,
        max_retries: int = 2,
        temperature: float = 0.0,
        backoff: float = 0.5,
        clock: Clock | None = None,
    ) -> None:
        if not model:
            raise SettingsError("no LLM model given: set NEWSDESK_LLM_MODEL")
        if timeout <= 0:
            raise SettingsError(f"the LLM timeout must be positive, got {timeout}: check NEWSDESK_LLM_TIMEOUT")
        self.model = model
        self.base_url = base_url
        self.timeout = float(timeout)
        self.max_retries = max(int(max_retries), 0)
        self.temperature = temperature
        self.backoff = backoff
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._client = _make_client(base_url, api_key, self.timeout, what="the LLM")
        self._svc = _Service(
            what="the LLM",
            endpoint="the LLM endpoint",
            url=base_url or OPENAI_BASE_URL,
            model=model,
            model_var="NEWSDESK_LLM_MODEL",
            timeout_var="NEWSDESK_LLM_TIMEOUT",
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> OpenAIChat:
        """The chat model the settings describe; raises SettingsError when they are incomplete."""
        settings.require_llm()
        assert settings.llm_model is not None  # require_llm checked it
        return cls(
            settings.llm_model,
            base_url=settings.llm_base_url,
            api_key=settings.api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"OpenAIChat({self.model!r}, base_url={self._svc.url!r}, timeout={self.timeout:g})"

    # -- non-streaming --

    def complete(self, messages: list[dict[str, str]]) -> str:
        """The whole reply text.

        Raises LLMError when the endpoint fails after retries, times out, or replies without text.
        """
        return _call(
            lambda left: self._complete_once(messages, left),
            svc=self._svc, timeout=self.timeout, max_retries=self.max_retries, backoff=self.backoff,
            clock=self.clock,
        )

    def _complete_once(self, messages: list[dict[str, str]], left: float) -> str:
        try:
            reply = self._client.chat.completions.create(
                model=self.model, messages=_as_params(messages), temperature=self.temperature, timeout=left,
            )
        except ValueError as exc:  # the SDK lets a body that is not JSON escape as JSONDecodeError
            raise _Malformed(str(exc)) from exc
        try:
            choices = reply.choices
            if not isinstance(choices, list):
                raise _Malformed("choices is not a list")
            if not choices:
                raise LLMError(f"{self._svc.what} returned no choices")
            message = choices[0].message
            content = message.content
        except _parse_errors() as exc:
            raise _Malformed(str(exc)) from exc
        if content is None:
            reason = getattr(choices[0], "finish_reason", None)
            raise LLMError(f"{self._svc.what} returned no text (finish_reason={reason})")
        if not isinstance(content, str):
            raise _Malformed("content is not a string")
        return content

    # -- streaming --

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield the reply as text deltas as they arrive.

        A failure before the first delta is retried like `complete`; after it, retrying would repeat text,
        so the failure ends the stream with LLMError. A stream that stalls is aborted at the deadline.
        """
        clock = self.clock
        deadline = clock.monotonic() + self.timeout
        tries = 0
        while True:
            sent = False
            saw_choice = False
            try:
                for delta in _within(deadline, lambda: self._deltas(messages, deadline), clock):
                    if delta is None:
                        continue
                    saw_choice = True
                    if delta:
                        sent = True
                        yield delta
                if not saw_choice:
                    raise LLMError(f"{self._svc.what} returned no choices")
                return
            except NewsdeskError:
                raise
            except Exception as exc:
                if sent:
                    raise self._broken_stream(exc) from exc
                wait = _retry_wait(exc, tries, self.max_retries, self.backoff, deadline, clock)
                if wait is None:
                    raise _to_error(exc, self._svc, self.timeout, deadline - clock.monotonic()) from exc
                clock.sleep(wait)
                tries += 1

    def _deltas(self, messages: list[dict[str, str]], deadline: float) -> Iterator[str | None]:
        """Runs on the worker thread: the text of each chunk, "" for a chunk without text, None without choices."""
        left = max(deadline - self.clock.monotonic(), 0.001)
        # The per-read timeout of `left` is the stall watchdog for the worker; the caller enforces the deadline.
        with self._client.chat.completions.create(
            model=self.model, messages=_as_params(messages), temperature=self.temperature, stream=True,
            timeout=left,
        ) as events:
            try:
                for chunk in events:
                    choices = chunk.choices
                    if not isinstance(choices, list):
                        raise _Malformed("choices is not a list")
                    if not choices:
                        yield None  # e.g. the final usage chunk
                        continue
                    delta = choices[0].delta
                    content = getattr(delta, "content", None) if delta is not None else None
                    if content is not None and not isinstance(content, str):
                        raise _Malformed("delta content is not a string")
                    yield content or ""
            except openai.OpenAIError:
                raise
            except _Malformed:
                raise
            except _parse_errors() as exc:
                raise _Malformed(str(exc)) from exc

    def _broken_stream(self, exc: BaseException) -> LLMError:
        if isinstance(exc, _DeadlineExceeded | openai.APITimeoutError):
            return LLMError(
                f"{self._svc.what} stopped sending mid-answer and did not finish within "
                f"{self.timeout:g} s (NEWSDESK_LLM_TIMEOUT)")
        if isinstance(exc, openai.APIConnectionError):
            return LLMError(f"{self._svc.what} connection broke mid-answer ({_root_reason(exc)})")
        return LLMError(f"{_to_error(exc, self._svc, self.timeout, 0.0)} (mid-answer)")
