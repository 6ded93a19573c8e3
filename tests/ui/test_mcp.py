"""`newsdesk mcp`: the real command over stdio and over streamable HTTP, driven by the mcp SDK's own client
(ClientSession over stdio_client / streamable_http_client), over the sample store with the real embedding model."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from rag.testing import free_port
from tests.ui.servers import ROOT, newsdesk_env, newsdesk_process

pytestmark = pytest.mark.integration

BRIDGE_Q = "How long will the Astarachay bridge be?"
TOOLS = {"search_articles", "ask", "get_article"}


async def exercise(session: ClientSession) -> dict[str, Any]:
    """List the tools and call each one as a model would: ask, read the cited article, search, and misuse each."""
    init = await session.initialize()
    seen: dict[str, Any] = {"server": init.server_info.name, "instructions": init.instructions}
    tools = {t.name: t for t in (await session.list_tools()).tools}
    seen["tools"] = tools

    answer = await session.call_tool("ask", {"question": BRIDGE_Q, "as_of": "2023-10-01"})
    seen["ask"] = answer
    cited = answer.structured_content["citations"][0]
    seen["cited"] = cited
    seen["article"] = await session.call_tool("get_article", {"id": cited["article_id"]})
    seen["search"] = await session.call_tool("search_articles", {"query": "Astarachay bridge", "top_k": 3,
                                                                 "filters": {"since": "2023-01-01"}})
    seen["filtered"] = await session.call_tool("search_articles", {"query": "Astarachay bridge",
                                                                   "filters": {"until": "1990-01-01"}})
    seen["missing"] = await session.call_tool("get_article", {"id": "no-such-article"})
    seen["bad_date"] = await session.call_tool("ask", {"question": BRIDGE_Q, "as_of": "last week"})
    seen["bad_filter"] = await session.call_tool("search_articles", {"query": "x", "filters": {"colour": "red"}})
    return seen


def check(seen: dict[str, Any]) -> None:
    assert seen["server"] == "newsdesk" and "[n]" in seen["instructions"]
    tools = seen["tools"]
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 80 and tool.annotations.read_only_hint is True
    assert set(tools["search_articles"].input_schema["properties"]) == {"query", "filters", "top_k"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["ask"].input_schema["properties"]) == {"question", "as_of", "filters"}
    assert tools["get_article"].input_schema["required"] == ["id"]

    ask = seen["ask"]
    assert not ask.is_error and "100 meters" in ask.structured_content["answer"]
    assert "[1]" in ask.structured_content["answer"] and ask.structured_content["refused"] is False
    assert json.loads(ask.content[0].text) == ask.structured_content  # clients without structured output read text

    article, cited = seen["article"].structured_content, seen["cited"]
    assert article["text"][cited["start"]:cited["end"]] == cited["passage"]

    passages = seen["search"].structured_content["passages"]
    assert len(passages) == 3 and cited["chunk_id"] in {p["chunk_id"] for p in passages}
    assert seen["filtered"].structured_content["passages"] == []

    for name, message in (("missing", "no article with id 'no-such-article'"), ("bad_date", "as_of must be a date"),
                          ("bad_filter", "colour")):
        result = seen[name]
        assert result.is_error and message in result.content[0].text, (name, result.content)


def run(body: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    async def bounded() -> dict[str, Any]:
        with anyio.fail_after(180):
            return await body()

    return anyio.run(bounded)


def test_mcp_stdio__sdk_client_lists_and_calls_every_tool(sample_store):
    params = StdioServerParameters(command=sys.executable, cwd=str(ROOT), env=newsdesk_env(),
                                   args=["-m", "ui.cli", "--store", str(sample_store.store), "mcp"])

    async def body() -> dict[str, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await exercise(session)

    check(run(body))


def test_mcp_http__sdk_client_over_streamable_http_with_the_bearer_token(sample_store):
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    env = newsdesk_env(NEWSDESK_API_TOKEN="s3cret")
    with newsdesk_process(["--store", str(sample_store.store), "mcp", "--http", "--port", str(port)], url, env=env):
        refused = httpx2.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert refused.status_code == 401 and "bearer token" in refused.json()["error"]["message"]

        async def body() -> dict[str, Any]:
            async with httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"}, timeout=120) as http, \
                    streamable_http_client(url, http_client=http) as (read, write), \
                    ClientSession(read, write) as session:
                return await exercise(session)

        check(run(body))
