"""What the HTTP API (`newsdesk serve`) and the MCP server (`newsdesk mcp`) both offer, as plain functions over an
Assistant that return JSON-ready dicts; each server only adapts them to its protocol.

>>> passage_dict(Passage(chunk_id="c1", article_id="a1", text="The bridge is 100 m long.", start=0, end=25,
...                      title="Bridge", score=0.71234567), n=1)["score"]
0.712346
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.errors import SettingsError, UserError
from rag.types import Article, Passage


class ArticleFilters(BaseModel):
    """The metadata filters, as the HTTP API and the MCP tools take them."""

    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, description="only articles from this publication, e.g. cnn.com")
    author: str | None = Field(None, description="only articles by this author")
    since: str | None = Field(None, description="only articles published on or after this day, YYYY-MM-DD")
    until: str | None = Field(None, description="only articles published on or before this day, YYYY-MM-DD")

    def as_dict(self) -> dict[str, str] | None:
        return self.model_dump(exclude_none=True) or None


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ArticleNotFoundError(UserError):
    """No article with the asked id in the store (404 over HTTP)."""


def require_store(settings: Any) -> None:
    """Fail with one line naming the fix when the store does not exist or holds no article.

    Asking an empty store answers "the articles don't say" to everything, which reads as a bad answer rather
    than a wrong --store; `ask`, `chat`, `ui`, `serve` and `mcp` call this before they load any model.
    """
    from rag.store.store import Store, read_manifest

    root = Path(settings.store)
    fix = "point --store or NEWSDESK_STORE at a store, or build one with `newsdesk ingest PATH`"
    manifest = read_manifest(root)
    if manifest is None:
        raise SettingsError(f"there is no newsdesk store at {root}; {fix}")
    store = Store(root, embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=None,
                  chroma_url=settings.chroma_url, collection=settings.collection)
    if store.count_chunks() == 0:
        raise SettingsError(f"the store {root} holds no articles; {fix}")


def check_port(host: str, port: int) -> None:
    """Fail before any model loads when the server could not listen on host:port."""
    import socket

    if not 0 < port < 65536:
        raise UserError(f"--port must be between 1 and 65535, not {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise UserError(f"cannot listen on --host {host!r}: not an address of this machine") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            why = "is in use" if exc.errno == 98 else f"cannot be opened ({exc.strerror})"
            raise UserError(f"port {port} on {host} {why}; choose another with --port") from None


def open_assistant(settings: Any) -> Any:
    """The Assistant over `settings.store`, after `require_store`."""
    from rag.assistant import Assistant

    require_store(settings)
    return Assistant.open(settings=settings)


def passage_dict(p: Passage, n: int) -> dict[str, Any]:
    """One search hit as JSON: rank `n` (from 1), the chunk, its article's metadata, offsets and score."""
    return {"n": n, "article_id": p.article_id, "chunk_id": p.chunk_id, "title": p.title, "url": p.url,
            "published": p.published, "source": p.source, "author": p.author, "passage": p.text,
            "start": p.start, "end": p.end, "score": round(float(p.score), 6)}


def search(assistant: Any, query: str, *, filters: dict[str, Any] | None = None, top_k: int | None = None,
           history: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """`{"query": the standalone query searched, "passages": [passage_dict, ...]}`, best first; no answer."""
    searched, passages = assistant.search(query, filters=filters, top_k=top_k, history=history)
    return {"query": searched, "passages": [passage_dict(p, i) for i, p in enumerate(passages, start=1)]}


def article_dict(article: Article) -> dict[str, Any]:
    return {"id": article.id, "title": article.title, "subtitle": article.subtitle, "author": article.author,
            "section": article.section, "published": article.published, "source": article.source,
            "url": article.url, "text": article.text}


def get_article(assistant: Any, article_id: str) -> dict[str, Any]:
    """The article's metadata and cleaned text (the text citation offsets point into)."""
    if not isinstance(article_id, str) or not article_id.strip():
        raise UserError("the article id is empty")
    article = assistant.store.article(article_id.strip()) if assistant.store.manifest is not None else None
    if article is None:
        raise ArticleNotFoundError(f"no article with id {article_id!r} in the store; "
                                   "`newsdesk stats --articles` lists some, and every citation names its article_id")
    return article_dict(article)
