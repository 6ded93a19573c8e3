"""`newsdesk serve`: the HTTP API, with an OpenAI-compatible chat endpoint that chat clients (Open WebUI,
LibreChat, the openai library) can point at.

Endpoints: POST /v1/chat/completions (OpenAI shape plus `citations`), GET /v1/models, POST /v1/ask (the
`ask --json` object), POST /v1/search (passages with scores, no answer), GET /v1/articles/{id}, GET /healthz,
and the OpenAPI page at /docs (served from local files, no CDN). Errors are `{"error": {"message", "type",
"code"}}` (the shape the openai client reads) with the CLI's one-line message: 400 bad input, 401 missing or
wrong bearer token (when NEWSDESK_API_TOKEN is set), 404 unknown article or model, 503 store locked or LLM down.

`build_api(assistant)` is the app (tests/ui/test_serve.py drives it with the openai client); `serve` runs it
under uvicorn after checking the store, the port and the host.
"""

from __future__ import annotations

import hmac
import json
import re
import sqlite3
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import LLMError, NewsdeskError, StoreLockedError, UserError
from rag.types import Answer
from ui import service
from ui.service import ArticleFilters, Turn

MODEL = "newsdesk"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


# -- request bodies (their Field descriptions are the OpenAPI page) ----------------------------------------------

class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="the question about the articles")
    history: list[Turn] | None = Field(None, description="earlier turns, oldest first, for a follow-up question")
    filters: ArticleFilters | None = None
    as_of: str | None = Field(None, description="the day the question is asked (YYYY-MM-DD; default today)")
    top_k: int | None = Field(None, description="passages to answer from (1-100; default the store's setting)")
    answerer: Literal["extractive", "openai"] | None = None


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(description="what to search the articles for")
    filters: ArticleFilters | None = None
    top_k: int | None = Field(None, description="passages to return (1-100)")
    history: list[Turn] | None = Field(None, description="earlier turns, when the query is a follow-up")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatIn(BaseModel):
    """An OpenAI chat-completions request. Fields newsdesk has no use for (temperature, max_tokens, ...) are
    accepted and ignored; `filters`, `as_of` and `top_k` may come as top-level fields (the openai client's
    `extra_body`) or as string values in `metadata`.
    """

    model_config = ConfigDict(extra="allow")
    model: str = Field(MODEL, description="always `newsdesk`")
    messages: list[ChatMessage] = Field(description="the last user message is the question; earlier ones history")
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = Field(None, description="source, author, since, until, as_of, top_k")
    filters: ArticleFilters | None = None
    as_of: str | None = None
    top_k: int | None = None


# -- errors ------------------------------------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code = status, message, kind, code


def error_response(status: int, message: str, kind: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status_code=status,
                        headers=headers)


def _classify(exc: Exception) -> ApiError:
    """The HTTP status and error type for an exception raised while answering."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, service.ArticleNotFoundError):
        return ApiError(404, str(exc), "not_found_error", "article_not_found")
    if isinstance(exc, UserError):
        return ApiError(400, str(exc), "invalid_request_error")
    if isinstance(exc, LLMError):
        return ApiError(503, str(exc), "service_unavailable", "llm_unavailable")
    if isinstance(exc, StoreLockedError) or (isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)):
        return ApiError(503, "the store is locked by a writer (an ingest?); try again when it has finished",
                        "service_unavailable", "store_locked")
    if isinstance(exc, NewsdeskError):
        return ApiError(500, str(exc), "server_error")
    traceback.print_exception(exc, file=sys.stderr)
    return ApiError(500, f"internal error: {type(exc).__name__}: {exc}", "server_error")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        if err.get("type") == "json_invalid":
            return f"bad request: the body is not valid JSON ({(err.get('ctx') or {}).get('error', 'parse error')})"
        if not loc and err.get("type") in ("model_attributes_type", "dict_type"):
            return "bad request: the body must be a JSON object, sent with Content-Type: application/json"
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "bad request: " + "; ".join(parts)


# -- chat helpers ------------------------------------------------------------------------------------------------

def _text_of(message: ChatMessage) -> str:
    """A message's text: a string, or the text parts of a content list (images and files are not read)."""
    if isinstance(message.content, str):
        return message.content
    if not message.content:
        return ""
    return "\n".join(str(p.get("text", "")) for p in message.content if p.get("type") in ("text", "input_text"))


def chat_arguments(body: ChatIn) -> dict[str, Any]:
    """ask() keywords from a chat request: question, history, filters, as_of, top_k.

    >>> chat_arguments(ChatIn(messages=[ChatMessage(role="user", content="Who won?")],
    ...                       metadata={"source": "cnn.com", "as_of": "2022-06-17"}))["filters"]
    {'source': 'cnn.com'}
    """
    if body.model not in (MODEL, ""):
        raise ApiError(404, f"the model {body.model!r} does not exist; this server answers as {MODEL!r}",
                       "invalid_request_error", "model_not_found")
    turns = [m for m in body.messages if m.role in ("user", "assistant")]  # system prompts: newsdesk has its own
    if not turns or turns[-1].role != "user":
        raise UserError("the last message must be the user's question (role \"user\")")
    question = _text_of(turns[-1])
    # An earlier reply of ours may end with its sources list (serve --sources): the conversation is the text above.
    history = [{"role": m.role, "content": _text_of(m).split(SOURCES_HEADING, 1)[0]} for m in turns[:-1]
               if _text_of(m).strip()]
    meta = dict(body.metadata or {})
    filters: dict[str, Any] = {k: meta.pop(k) for k in ("source", "author", "since", "until") if meta.get(k)}
    if body.filters is not None:
        filters.update(body.filters.as_dict() or {})
    as_of = body.as_of or meta.get("as_of")
    top_k = body.top_k if body.top_k is not None else meta.get("top_k")
    if top_k is not None:
        try:
            top_k = int(top_k)
        except (TypeError, ValueError):
            raise UserError(f"top_k must be a whole number, not {top_k!r}") from None
    return {"question": question, "history": history, "filters": filters or None, "as_of": as_of or None,
            "top_k": top_k}


SOURCES_HEADING = "\n\nSources:\n"


def sources_footer(answer: Answer) -> str:
    """The citations as a Markdown list to append to a reply, for chat apps that show only the text.

    >>> from rag.types import Citation
    >>> c = Citation(n=1, article_id="a", chunk_id="a-1", title="Bridge deal", url="https://x.example/b",
    ...              published="2023-09-28", source="x.example", passage="...", start=0, end=3, score=0.5)
    >>> print(sources_footer(Answer(question="q", text="It is long [1].", refused=False, citations=(c,))).strip())
    Sources:
    - [1] [Bridge deal](https://x.example/b) — x.example, 2023-09-28
    """
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        title = (c.title or "Untitled").replace("[", "(").replace("]", ")")
        shown = f"[{title}]({c.url})" if c.url and c.url.startswith(("http://", "https://")) else title
        meta = ", ".join(x for x in (c.source, c.published) if x)
        lines.append(f"- [{c.n}] {shown}" + (f" — {meta}" if meta else ""))  # a list: one line each
    return SOURCES_HEADING + "\n".join(lines)


def _usage(arguments: dict[str, Any], answer: Answer) -> dict[str, int]:
    from rag.text.tokens import count_tokens

    prompt = count_tokens(arguments["question"]) + sum(count_tokens(t["content"]) for t in arguments["history"])
    completion = count_tokens(answer.text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extras(answer: Answer) -> dict[str, Any]:
    """What a chat completion carries beyond OpenAI's fields: the citations and the answer's own facts."""
    data = answer.to_dict()
    return {"citations": data["citations"], "refused": data["refused"], "as_of": data["as_of"],
            "query": data["query"]}


def _sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def _stream_chunks(answer: Answer, text: str, arguments: dict[str, Any], include_usage: bool) -> Iterator[str]:
    """The verified answer as chat.completion.chunk events, the citations on the last one, then [DONE]."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": MODEL}
    yield _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                     "finish_reason": None}]})
    for piece in re.findall(r"\s*\S+", text):  # word by word, as LLMs stream
        yield _sse({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
    yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **_extras(answer)})
    if include_usage:
        yield _sse({**base, "choices": [], "usage": _usage(arguments, answer)})
    yield "data: [DONE]\n\n"


# -- the app -----------------------------------------------------------------------------------------------------

_BEARER = HTTPBearer(auto_error=False, description="the value of NEWSDESK_API_TOKEN")


def authorize(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> None:
    """401 unless the request carries the server's bearer token (when it has one)."""
    token: str | None = request.app.state.token
    if token is None:
        return
    given = credentials.credentials if credentials is not None else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise ApiError(401, "missing or wrong bearer token; send `Authorization: Bearer <NEWSDESK_API_TOKEN>`",
                       "authentication_error", "invalid_api_key")


def build_api(assistant: Any, *, token: str | None = None, sources: bool = False) -> FastAPI:
    """The FastAPI app over one Assistant (thread-safe: FastAPI runs each request in its worker threads).

    `sources`: chat replies end with a Markdown list of their citations (for apps that show only the text).
    """
    from fastapi_offline import FastAPIOffline

    app = FastAPIOffline(title="newsdesk", version="1", description=(
        "Questions answered from your news articles; every sentence of an answer is cited to a passage. "
        "`/v1/chat/completions` speaks the OpenAI protocol (model `newsdesk`) and adds `citations`."))
    app.state.token = token
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.message, exc.kind, exc.code, headers)

    @app.exception_handler(NewsdeskError)
    async def _newsdesk_error(_: Request, exc: NewsdeskError) -> JSONResponse:
        e = _classify(exc)
        return error_response(e.status, e.message, e.kind, e.code)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _validation_message(exc), "invalid_request_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "not_found_error" if exc.status_code == 404 else "invalid_request_error"
        return error_response(exc.status_code, str(exc.detail), kind)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        e = _classify(exc)
        return error_response(e.status, e.message, e.kind, e.code)

    def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise _classify(exc) from exc

    guarded = [Depends(authorize)]

    @app.get("/healthz", summary="liveness, and what the store holds")
    def healthz() -> dict[str, Any]:
        stats = run(assistant.stats)
        return {"status": "ok", "articles": stats.get("articles", 0), "chunks": stats.get("chunks", 0),
                "embedding_model": stats.get("embedding_model")}

    model_card = {"id": MODEL, "object": "model", "created": 0, "owned_by": "newsdesk"}

    @app.get("/v1/models", dependencies=guarded, summary="the one model, `newsdesk`")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card]}

    @app.get("/v1/models/{model}", dependencies=guarded, summary="the model `newsdesk`")
    def model(model: str) -> dict[str, Any]:
        if model != MODEL:
            raise ApiError(404, f"the model {model!r} does not exist; this server answers as {MODEL!r}",
                           "invalid_request_error", "model_not_found")
        return model_card

    @app.post("/v1/chat/completions", dependencies=guarded, summary="OpenAI chat completions, plus `citations`")
    def chat_completions(body: ChatIn) -> Any:
        arguments = chat_arguments(body)
        # The answer is verified before the first byte: a stream carries the verified text (never a draft that
        # verification later cut), and a failure still gets its status code rather than a broken stream.
        answer = run(assistant.ask, arguments["question"], history=arguments["history"],
                     filters=arguments["filters"], as_of=arguments["as_of"], top_k=arguments["top_k"])
        text = answer.text + (sources_footer(answer) if sources else "")
        if body.stream:
            include_usage = bool((body.stream_options or {}).get("include_usage"))
            return StreamingResponse(_stream_chunks(answer, text, arguments, include_usage),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
                "model": MODEL, "choices": [{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": text}}],
                "usage": _usage(arguments, answer), **_extras(answer)}

    @app.post("/v1/ask", dependencies=guarded, summary="one answer: the `newsdesk ask --json` object")
    def ask(body: AskIn) -> dict[str, Any]:
        answer = run(assistant.ask, body.question, history=[t.model_dump() for t in body.history or []],
                     filters=body.filters.as_dict() if body.filters else None,
                     as_of=body.as_of, top_k=body.top_k, answerer=body.answerer)
        return answer.to_dict()

    @app.post("/v1/search", dependencies=guarded, summary="passages with scores, best first; no answer")
    def search(body: SearchIn) -> dict[str, Any]:
        return run(service.search, assistant, body.query,
                   filters=body.filters.as_dict() if body.filters else None, top_k=body.top_k,
                   history=[t.model_dump() for t in body.history or []])

    @app.get("/v1/articles/{article_id}", dependencies=guarded, summary="an article's metadata and cleaned text")
    def article(article_id: str) -> dict[str, Any]:
        return run(service.get_article, assistant, article_id)

    return app


def serve(settings: Any, host: str = "127.0.0.1", port: int = 8000, *, sources: bool = False) -> None:
    """`newsdesk serve`: check the store, open the Assistant, serve the API until Ctrl+C."""
    import uvicorn

    service.check_port(host, port)
    assistant = service.open_assistant(settings)
    app = build_api(assistant, token=settings.api_token, sources=sources)
    if host in LOOPBACK:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        # Bound to this machine only: refuse other Host names, so a web page cannot reach the API by DNS rebinding.
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "[::1]", "::1"])
    shown = f"[{host}]" if ":" in host else host
    print(f"newsdesk API on http://{shown}:{port}/v1 (OpenAI base URL; docs at /docs)"
          + (" — bearer token required" if settings.api_token else "") + " — Ctrl+C to stop", file=sys.stderr,
          flush=True)
    if host not in LOOPBACK:
        print(f"note: listening on {host}, reachable from other machines"
              + ("" if settings.api_token else "; set NEWSDESK_API_TOKEN to require a token"), file=sys.stderr,
              flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
