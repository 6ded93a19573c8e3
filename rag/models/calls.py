"""Calls to an OpenAI-compatible API, shared by the chat client (rag.models.chat) and the embedder
(rag.models.openai_embed): one deadline per call, the retry rules, and the one-line errors.

Connection errors, timeouts, 408, 429 (honouring Retry-After) and 5xx are retried with exponential backoff; other
4xx never are. The deadline covers every attempt, every backoff and every gap in a stream; time is read from a
`Clock` (the system's, or a test's FakeClock).

>>> import httpx
>>> _retryable(openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:9/v1")))
True
>>> from rag.testing import FakeClock
>>> clock = FakeClock()
>>> refused = openai.APIConnectionError(request=httpx.Request("POST", "http://x"))
>>> deadline = clock.monotonic() + 10.0
>>> [_retry_wait(refused, attempt, 3, 0.5, deadline, clock) for attempt in range(4)]  # doubling, then give up
[0.5, 1.0, 2.0, None]
"""

from __future__ import annotations

import contextlib
import email.utils
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import openai

from rag.errors import LLMError, NewsdeskError, SettingsError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers (vLLM, Ollama, llama.cpp) ignore the key, but the SDK insists on one.
PLACEHOLDER_API_KEY = "not-needed"
_MAX_BACKOFF = 8.0

T = TypeVar("T")


class Clock(Protocol):
    """The time a call's deadline and backoff are measured in; tests pass rag.testing.FakeClock."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    def wait(self, items: queue.SimpleQueue[Any], seconds: float) -> Any:
        """The next item of `items`, waiting at most `seconds`; raises queue.Empty when none came."""
        ...


class SystemClock:
    """Real time: time.monotonic, time.sleep and a blocking wait on the queue."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def wait(self, items: queue.SimpleQueue[Any], seconds: float) -> Any:
        return items.get(timeout=seconds) if seconds > 0 else items.get_nowait()


SYSTEM_CLOCK = SystemClock()


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


def _within(deadline: float, produce: Callable[[], Iterator[T]], clock: Clock = SYSTEM_CLOCK) -> Iterator[T]:
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
                with contextlib.suppress(Exception):  # closing an abandoned stream must not raise on a daemon thread
                    close()

    threading.Thread(target=work, name="newsdesk-llm-call", daemon=True).start()
    try:
        while True:
            remaining = deadline - clock.monotonic()
            try:
                kind, value = clock.wait(items, max(remaining, 0.0))
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


def _retry_wait(exc: BaseException, attempt: int, max_retries: int, backoff: float, deadline: float,
                clock: Clock = SYSTEM_CLOCK) -> float | None:
    """How long to sleep before the next attempt, or None to give up now."""
    if attempt >= max_retries or not _retryable(exc):
        return None
    wait = min(backoff * 2**attempt, _MAX_BACKOFF)
    asked = _retry_after(exc)
    if asked is not None:
        wait = asked
    # Sleeping past the deadline would only end in a timeout: better to report the real cause now.
    if clock.monotonic() + wait >= deadline:
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
    attempt: Callable[[float], T], *, svc: _Service, timeout: float, max_retries: int, backoff: float,
    clock: Clock = SYSTEM_CLOCK,
) -> T:
    """Run `attempt(seconds_left)` with retries, all within one deadline of `timeout` seconds."""
    deadline = clock.monotonic() + timeout
    tries = 0
    while True:
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            raise _to_error(_DeadlineExceeded(), svc, timeout, 0.0)

        def once(left: float = remaining) -> Iterator[T]:
            yield attempt(left)

        try:
            for result in _within(deadline, once, clock):
                return result
            raise _Malformed("no result")
        except NewsdeskError:
            raise
        except Exception as exc:
            wait = _retry_wait(exc, tries, max_retries, backoff, deadline, clock)
            if wait is None:
                raise _to_error(exc, svc, timeout, deadline - clock.monotonic()) from exc
            clock.sleep(wait)
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
