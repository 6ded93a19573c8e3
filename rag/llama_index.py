"""newsdesk inside llama-index pipelines: the one module that imports llama-index's retrieval classes.

- `NewsdeskRetriever(assistant, top_k=..., filters=...)`: a llama-index `BaseRetriever` over newsdesk's hybrid
  retrieval; each `NodeWithScore` holds a chunk's text, its article's metadata and its character offsets in the
  cleaned article text. It plugs into `RetrieverQueryEngine`, fusion retrievers, agents' tools and so on.
- `NewsdeskQueryEngine(assistant, ...)`: a llama-index `BaseQueryEngine` whose `Response` is newsdesk's verified
  answer (every sentence checked against the passage its [n] marker cites); `source_nodes` are the cited passages
  and `metadata["answer"]` is the `ask --json` object.
- Documents go into the store with `ingest_documents`, which lives in `ingest` (rag imports no ingestion code):
  `from ingest import ingest_documents`.

>>> import tempfile
>>> from pathlib import Path
>>> import ingest
>>> from rag import Assistant, load_settings
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> _ = ingest.ingest_paths([Path(ingest.__file__).parent / "sample" / "azerbaijan-iran-normalization.txt"], settings)
>>> assistant = Assistant.open(settings=settings)
>>> hit = NewsdeskRetriever(assistant, top_k=3, filters={"since": "2023-01-01"}).retrieve("Astarachay bridge")[0]
>>> hit.node.metadata["title"], hit.node.metadata["published"]
('Azerbaijan – Iran normalization process may foster regional partnership', '2023-09-28')
>>> print(NewsdeskQueryEngine(assistant).query("How long will the Astarachay bridge be?"))  # doctest: +ELLIPSIS
The bridge will be about 100 meters long ... [1].
"""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from rag.types import Answer, Citation, Filters, Passage

__all__ = ["NewsdeskQueryEngine", "NewsdeskRetriever", "citation_node", "passage_node"]

# Metadata an LLM prompt gains nothing from (ids and offsets): kept on the node, left out of the prompt text.
_NOT_FOR_LLM = ["article_id", "chunk_id", "start", "end", "score", "n", "kind", "field"]
_NOT_FOR_EMBEDDING = [*_NOT_FOR_LLM, "url"]


def _node(chunk_id: str, article_id: str, text: str, start: int | None, end: int | None,
          metadata: dict[str, Any]) -> TextNode:
    meta = {k: v for k, v in metadata.items() if v is not None}
    node = TextNode(id_=chunk_id, text=text, metadata=meta, start_char_idx=start, end_char_idx=end,
                    excluded_llm_metadata_keys=[k for k in _NOT_FOR_LLM if k in meta],
                    excluded_embed_metadata_keys=[k for k in _NOT_FOR_EMBEDDING if k in meta])
    # The article is the chunk's source document, as llama-index's own node parsers record it.
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=article_id)
    return node


def passage_node(passage: Passage) -> NodeWithScore:
    """A retrieved passage as a llama-index node: text, article metadata, offsets, and its score."""
    meta = {"article_id": passage.article_id, "chunk_id": passage.chunk_id, "title": passage.title,
            "url": passage.url, "published": passage.published, "source": passage.source, "author": passage.author,
            "section": passage.section, "start": passage.start, "end": passage.end}
    return NodeWithScore(node=_node(passage.chunk_id, passage.article_id, passage.text, passage.start, passage.end,
                                    meta), score=float(passage.score))


def citation_node(citation: Citation) -> NodeWithScore:
    """A cited passage as a node; `metadata["n"]` is its [n] marker in the answer."""
    meta = {"n": citation.n, "kind": citation.kind, "field": citation.field, "article_id": citation.article_id,
            "chunk_id": citation.chunk_id, "title": citation.title, "url": citation.url,
            "published": citation.published, "source": citation.source, "start": citation.start,
            "end": citation.end}
    node = _node(f"{citation.chunk_id}#{citation.n}", citation.article_id, citation.passage, citation.start,
                 citation.end, meta)
    return NodeWithScore(node=node, score=float(citation.score))


def _filters(filters: Filters | dict[str, Any] | None) -> Filters:
    return Filters.from_any(filters)


class NewsdeskRetriever(BaseRetriever):
    """A llama-index retriever over a newsdesk Assistant (dense + BM25, fused, filtered inside the stores);
    `RetrieverQueryEngine.from_args(NewsdeskRetriever(assistant), llm=...)` lets a llama-index LLM answer from it.
    """

    def __init__(self, assistant: Any, top_k: int | None = None, filters: Filters | dict[str, Any] | None = None,
                 callback_manager: CallbackManager | None = None, verbose: bool = False) -> None:
        self._assistant = assistant
        self._top_k = top_k
        self._filters = _filters(filters)  # a bad filter fails here, not on the first query
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        _, passages = self._assistant.search(query_bundle.query_str, filters=self._filters, top_k=self._top_k)
        return [passage_node(p) for p in passages]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


class NewsdeskQueryEngine(BaseQueryEngine):
    """A llama-index query engine that answers with newsdesk's verified, cited answer.

    `str(response)` is the answer text with its [n] markers; `response.source_nodes` the cited passages, in
    marker order; `response.metadata` has "answer" (the `ask --json` object), "refused" and "as_of".
    """

    def __init__(self, assistant: Any, *, top_k: int | None = None, filters: Filters | dict[str, Any] | None = None,
                 as_of: str | None = None, answerer: str | None = None,
                 callback_manager: CallbackManager | None = None) -> None:
        self._assistant = assistant
        self._top_k, self._filters, self._as_of, self._answerer = top_k, _filters(filters), as_of, answerer
        self._retriever = NewsdeskRetriever(assistant, top_k=top_k, filters=self._filters)
        super().__init__(callback_manager=callback_manager)

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    def retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._retriever.retrieve(query_bundle)

    def _query(self, query_bundle: QueryBundle) -> Response:
        answer: Answer = self._assistant.ask(query_bundle.query_str, filters=self._filters, top_k=self._top_k,
                                             as_of=self._as_of, answerer=self._answerer)
        return Response(response=answer.text, source_nodes=[citation_node(c) for c in answer.citations],
                        metadata={"answer": answer.to_dict(), "refused": answer.refused, "as_of": answer.as_of})

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return await asyncio.to_thread(self._query, query_bundle)


def __getattr__(name: str) -> Any:
    if name == "ingest_documents":
        raise AttributeError("ingest_documents lives with the other ingestion code: from ingest import "
                             "ingest_documents (rag imports nothing from ingest)")
    raise AttributeError(name)
