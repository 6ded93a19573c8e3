"""`newsdesk mcp`: an MCP server (official `mcp` SDK) with three tools over the store: `search_articles`, `ask`
and `get_article`. stdio by default (what desktop assistants and editors launch); `--http` serves streamable
HTTP at http://127.0.0.1:PORT/mcp, with the bearer token of NEWSDESK_API_TOKEN when it is set.

>>> import anyio, tempfile
>>> from pathlib import Path
>>> import ingest
>>> from mcp import Client
>>> from rag import Assistant, load_settings
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> _ = ingest.ingest_paths([Path(ingest.__file__).parent / "sample" / "azerbaijan-iran-normalization.txt"], settings)
>>> async def ask(question):
...     async with Client(build_mcp(Assistant.open(settings=settings))) as client:  # in-process, as in a test
...         return (await client.call_tool("ask", {"question": question})).structured_content["answer"]
>>> anyio.run(ask, "How long will the Astarachay bridge be?")[:40]
'The bridge will be about 100 meters long'
"""

from __future__ import annotations

import hmac
import sys
from typing import Annotated, Any

from pydantic import Field

from rag.errors import NewsdeskError
from ui import service
from ui.service import ArticleFilters

INSTRUCTIONS = (
    "newsdesk answers questions from a private corpus of news and analysis articles. Prefer `ask` for a question "
    "you want answered: its answer is verified sentence by sentence against the articles, each sentence ends "
    "with [n] markers that match `citations[].n`, and `refused: true` means the articles do not hold the answer "
    "(say so rather than guessing). Use `search_articles` to explore what the corpus says about a topic, and "
    "`get_article` to read a whole article named by an `article_id` from either. Quote the [n] citations (title, "
    "source, date, url) when you pass an answer on.")

Filters = Annotated[ArticleFilters | None, Field(description="optional metadata filters: source (e.g. cnn.com), "
                                                        "author, since and until (YYYY-MM-DD, inclusive)")]


def build_mcp(assistant: Any) -> Any:
    """The MCPServer over one Assistant; tools run in worker threads, so calls may overlap."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    # WARNING: the SDK logs every failed tool call at INFO on stderr, which an MCP client shows as server noise.
    server = MCPServer("newsdesk", instructions=INSTRUCTIONS, log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=True)

    def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NewsdeskError as exc:  # the CLI's one-line message, as the tool's error result
            raise ToolError(str(exc)) from exc

    @server.tool(annotations=read_only, description=(
        "Search the news articles for passages about a topic, best first, each with its article_id, title, "
        "source, published date, url, character offsets into the article and a relevance score. No answer is "
        "written: use it to explore, to check coverage, or to find articles to read with get_article."))
    def search_articles(
        query: Annotated[str, Field(description="what to look for, in plain words or as a question")],
        filters: Filters = None,
        top_k: Annotated[int, Field(ge=1, le=100, description="how many passages to return")] = 5,
    ) -> dict[str, Any]:
        return call(service.search, assistant, query, filters=filters.as_dict() if filters else None, top_k=top_k)

    @server.tool(annotations=read_only, description=(
        "Answer a question from the news articles. Returns {answer, refused, citations, as_of, query}: every "
        "sentence of `answer` was checked against the passage it cites and ends with [n] markers matching "
        "citations[].n (article_id, title, source, published, url, passage). refused=true means the articles do "
        "not say; report that instead of answering from memory. Pass as_of for questions with relative dates "
        "('this week', 'latest'), and filters to restrict sources or dates."))
    def ask(
        question: Annotated[str, Field(description="the question, self-contained (no earlier turns are kept)")],
        as_of: Annotated[str | None, Field(description="the day the question is asked, YYYY-MM-DD "
                                                       "(default today); relative dates resolve against it")] = None,
        filters: Filters = None,
    ) -> dict[str, Any]:
        answer = call(assistant.ask, question, as_of=as_of, filters=filters.as_dict() if filters else None)
        return answer.to_dict()

    @server.tool(annotations=read_only, description=(
        "Read one whole article by its article_id (from a citation or a search result): title, subtitle, author, "
        "section, published date, source, url and the cleaned text that citation offsets (start, end) index."))
    def get_article(
        id: Annotated[str, Field(description="the article_id")],
    ) -> dict[str, Any]:
        return call(service.get_article, assistant, id)

    return server


class BearerGuard:
    """ASGI middleware: 401 unless `Authorization: Bearer <token>` matches (for the --http transport)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            scheme, _, given = header.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
                from starlette.responses import JSONResponse

                response = JSONResponse({"error": {"message": "missing or wrong bearer token; send "
                                                   "`Authorization: Bearer <NEWSDESK_API_TOKEN>`",
                                                   "type": "authentication_error", "code": "invalid_api_key"}},
                                        status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def serve(settings: Any, *, http: bool = False, host: str = "127.0.0.1", port: int = 8001) -> None:
    """`newsdesk mcp [--http]`: check the store, open the Assistant, serve MCP until the client (or Ctrl+C) ends."""
    if http:
        service.check_port(host, port)
    assistant = service.open_assistant(settings)
    server = build_mcp(assistant)
    if not http:
        server.run("stdio")
        return
    import uvicorn

    app: Any = server.streamable_http_app(host=host)
    if settings.api_token:
        app = BearerGuard(app, settings.api_token)
    shown = f"[{host}]" if ":" in host else host
    print(f"newsdesk MCP server on http://{shown}:{port}/mcp (streamable HTTP)"
          + (" — bearer token required" if settings.api_token else "") + " — Ctrl+C to stop", file=sys.stderr,
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
