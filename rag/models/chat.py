"""The chat model behind the `openai` answerer and the LLM judge: a small Protocol and an OpenAI-compatible client.

`OpenAIChat` talks to the OpenAI API or any compatible server (vLLM, Ollama, llama.cpp) through the official
SDK. Retries are done here rather than by the SDK so that the rules are explicit: connection errors, timeouts,
408, 429 (honouring Retry-After) and 5xx are retried with exponential backoff; other 4xx never are. Each call
has one deadline of `timeout` seconds covering every attempt, every backoff and every gap in a stream, so a
call never hangs past it. Every failure surfaces as `LLMError` with one line that names what to fix.

>>> from rag.testing import FakeOpenAIServer
>>> with FakeOpenAIServer(["Paris [1]."]) as server:
...     chat = OpenAIChat("fake-chat", base_url=server.base_url, api_key=None)
...     chat.complete([{"role": "user", "content": "Capital of France?"}])
'Paris [1].'
"""

from __future__ import annotations

import email.utils
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast, runtime_checkable

import openai

from rag.errors import LLMError, NewsdeskError, SettingsError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

    from rag.settings import Settings

__all__ = ["ChatModel", "OpenAIChat", "OPENAI_BASE_URL", "PLACEHOLDER_API_KEY"]

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers (vLLM, Ollama, llama.cpp) ignore the key, but the SDK insists on one.
PLACEHOLDER_API_KEY = "not-needed"
_MAX_BACKOFF = 8.0

T = TypeVar("T")


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


# ---------------------------------------------------------------------------------------------------------------
# Shared machinery (also used by rag.models.openai_embed): deadline, retries, error messages
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Service:
    """How to talk about an endpoint in error messages."""

    what: str  # "the LLM"
    endpoint: str  # "the LLM endpoint"
    url: str
    model: str
    model_var: str  # the setting that names the model
    timeout_var: str | None  # the setting that sets the timeout, when there is one
    config_error: type[NewsdeskError] = LLMError  # raised for a wrong key or model (401/403/404)


class _DeadlineExceeded(Exception):
    """The call's overall deadline passed while waiting for the server."""


class _Malformed(Exception):
    """The server's reply could not be parsed into what the API promises."""


def _within(deadline: float, produce: Callable[[], Iterator[T]]) -> Iterator[T]:
    """Run `produce` on a worker thread and yield its items, raising _DeadlineExceeded at the deadline.

    The SDK's own timeouts bound each socket operation, not a whole call: a server that trickles bytes or
    stalls between stream chunks could hold a call far past its budget. Waiting on a queue with the time left
    bounds the caller exactly; the abandoned worker ends by itself when its socket read times out.
    """
    items: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
    cancelled = threading.Event()

    def work() -> None:
        iterator: Iterator[T] | None = None
        try:
            iterator = produce()
            for item in iterator:
                items.put(("item", item))
                if cancelled.is_set():
                    return
            items.put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            items.put(("error", exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing an abandoned stream must not raise on a daemon thread
                    pass

    threading.Thread(target=work, name="newsdesk-llm-call", daemon=True).start()
    try:
        while True:
            remaining = deadline - time.monotonic()
            try:
                kind, value = items.get(timeout=max(remaining, 0.0)) if remaining > 0 else items.get_nowait()
            except queue.Empty:
                raise _DeadlineExceeded from None
            if kind == "item":
                yield value
            elif kind == "done":
                return
            else:
                raise value
    finally:
        cancelled.set()


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def _retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, Retry-After seconds or HTTP date), if any."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    try:
        if headers.get("retry-after-ms"):
            return max(float(headers["retry-after-ms"]) / 1000.0, 0.0)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(when.timestamp() - time.time(), 0.0)
    except (TypeError, ValueError, OverflowError):
        return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    status = _status(exc)
    return status is not None and (status in (408, 429) or status >= 500)


def _retry_wait(exc: BaseException, attempt: int, max_retries: int, backoff: float, deadline: float) -> float | None:
    """How long to sleep before the next attempt, or None to give up now."""
    if attempt >= max_retries or not _retryable(exc):
        return None
    wait = min(backoff * 2**attempt, _MAX_BACKOFF)
    asked = _retry_after(exc)
    if asked is not None:
        wait = asked
    # Sleeping past the deadline would only end in a timeout: better to report the real cause now.
    if time.monotonic() + wait >= deadline:
        return None
    return wait


def _root_reason(exc: BaseException) -> str:
    """A short cause for a connection failure, e.g. "connection refused"."""
    seen: set[int] = set()
    inner: BaseException | None = exc
    last = exc
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused" if type(inner) is ConnectionRefusedError else str(inner).split(";")[0]
        if isinstance(inner, socket.gaierror):
            return "unknown host"
        if "ConnectTimeout" in type(inner).__name__:
            return "connection timed out"
        last = inner
        inner = inner.__cause__ or inner.__context__
    text = str(last).strip().splitlines()[0] if str(last).strip() else ""
    return text[:120] or "connection failed"


def _detail(exc: BaseException) -> str:
    """The server's own error message, on one short line."""
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        error = body.get("error")
        message = body.get("message") or (error.get("message") if isinstance(error, dict) else None)
    if not message:
        message = getattr(exc, "message", None) or str(exc)
    line = " ".join(str(message).split())
    return line[:200] + ("…" if len(line) > 200 else "")


def _to_error(exc: BaseException, svc: _Service, timeout: float, remaining: float) -> NewsdeskError:
    """Turn any failure of a call into the one-line error shown to the user."""
    if isinstance(exc, NewsdeskError):
        return exc
    limit = f"{timeout:g} s" + (f" ({svc.timeout_var})" if svc.timeout_var else "")
    if isinstance(exc, _DeadlineExceeded):
        return LLMError(f"{svc.what} did not answer within {limit}")
    if isinstance(exc, openai.APITimeoutError):
        reason = _root_reason(exc)
        if reason == "connection timed out":
            return LLMError(f"cannot reach {svc.what} at {svc.url} ({reason}); check NEWSDESK_LLM_BASE_URL")
        return LLMError(f"{svc.what} did not answer within {limit}")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"cannot reach {svc.what} at {svc.url} ({_root_reason(exc)}); check NEWSDESK_LLM_BASE_URL")
    status = _status(exc)
    if status is not None:
        if status == 401:
            return svc.config_error(
                f"{svc.endpoint} refused the API key (401); check NEWSDESK_LLM_API_KEY or OPENAI_API_KEY")
        if status == 403:
            return svc.config_error(
                f"{svc.endpoint} denied access (403): {_detail(exc)}; check NEWSDESK_LLM_API_KEY or OPENAI_API_KEY")
        if status == 404:
            return svc.config_error(
                f"{svc.endpoint} does not know model {svc.model!r} or the path (404); "
                f"check {svc.model_var} and NEWSDESK_LLM_BASE_URL")
        if status == 429:
            asked = _retry_after(exc)
            if asked is not None and asked >= remaining:
                return LLMError(
                    f"{svc.what} is rate-limiting (429) and asks to wait {asked:g} s, longer than the time left "
                    f"of {limit}")
            return LLMError(f"{svc.what} is rate-limiting (429) and retries ran out")
        if status >= 500:
            return LLMError(f"{svc.what} server failed ({status})")
        return LLMError(f"{svc.endpoint} rejected the request ({status}): {_detail(exc)}")
    if isinstance(exc, _Malformed):
        return LLMError(f"{svc.what} returned a malformed reply")
    if isinstance(exc, openai.APIError):  # e.g. an error event inside a stream
        return LLMError(f"{svc.what} reported an error: {_detail(exc)}")
    return LLMError(f"{svc.what} call failed: {type(exc).__name__}: {_detail(exc)}")


def _call(
    attempt: Callable[[float], T], *, svc: _Service, timeout: float, max_retries: int, backoff: float
) -> T:
    """Run `attempt(seconds_left)` with retries, all within one deadline of `timeout` seconds."""
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _to_error(_DeadlineExceeded(), svc, timeout, 0.0)

        def once(left: float = remaining) -> Iterator[T]:
            yield attempt(left)

        try:
            for result in _within(deadline, once):
                return result
            raise _Malformed("no result")
        except NewsdeskError:
            raise
        except Exception as exc:
            wait = _retry_wait(exc, tries, max_retries, backoff, deadline)
            if wait is None:
                raise _to_error(exc, svc, timeout, deadline - time.monotonic()) from exc
            time.sleep(wait)
            tries += 1


def _parse_errors() -> tuple[type[BaseException], ...]:
    # What the SDK raises (or what falls out of a reply of the wrong shape) when a body is not the promised JSON.
    return (ValueError, TypeError, AttributeError, KeyError, IndexError)


def _as_params(messages: list[dict[str, str]]) -> list[ChatCompletionMessageParam]:
    # Plain {"role", "content"} dicts are what the API takes; the SDK's TypedDicts only name them.
    return cast("list[ChatCompletionMessageParam]", messages)


def _make_client(base_url: str | None, api_key: str | None, timeout: float, *, what: str) -> openai.OpenAI:
    key = api_key or (PLACEHOLDER_API_KEY if base_url else None)
    if not key:
        raise SettingsError(
            f"{what} needs an API key: set NEWSDESK_LLM_API_KEY or OPENAI_API_KEY, "
            "or NEWSDESK_LLM_BASE_URL for a local server")
    # base_url is always passed so the SDK does not pick up OPENAI_BASE_URL behind the settings' back.
    return openai.OpenAI(base_url=base_url or OPENAI_BASE_URL, api_key=key, timeout=timeout, max_retries=0)


# ---------------------------------------------------------------------------------------------------------------
# OpenAIChat
# ---------------------------------------------------------------------------------------------------------------


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
    def from_settings(cls, settings: Settings) -> OpenAIChat:
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
        deadline = time.monotonic() + self.timeout
        tries = 0
        while True:
            sent = False
            saw_choice = False
            try:
                for delta in _within(deadline, lambda: self._deltas(messages, deadline)):
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
                wait = _retry_wait(exc, tries, self.max_retries, self.backoff, deadline)
                if wait is None:
                    raise _to_error(exc, self._svc, self.timeout, deadline - time.monotonic()) from exc
                time.sleep(wait)
                tries += 1

    def _deltas(self, messages: list[dict[str, str]], deadline: float) -> Iterator[str | None]:
        """Runs on the worker thread: the text of each chunk, "" for a chunk without text, None without choices."""
        left = max(deadline - time.monotonic(), 0.001)
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
