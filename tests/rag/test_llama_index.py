"""rag.llama_index: newsdesk's retriever and query engine inside llama-index's own APIs, over the sample store
with the real embedding model."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core import get_response_synthesizer
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

from rag.errors import UserError
from rag.llama_index import NewsdeskQueryEngine, NewsdeskRetriever

BRIDGE_Q = "How long will the Astarachay bridge be?"


def test_retriever__nodes_carry_chunk_text_article_metadata_and_offsets(sample_assistant):
    retriever = NewsdeskRetriever(sample_assistant, top_k=3)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve("bridge over the Astarachay river")
    assert len(nodes) == 3 and all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    top = nodes[0].node
    article = sample_assistant.store.article(top.metadata["article_id"])
    assert article.text[top.start_char_idx:top.end_char_idx] == top.text
    assert top.ref_doc_id == article.id and top.node_id == top.metadata["chunk_id"]
    assert top.metadata["title"] == article.title and top.metadata["published"] == article.published
    assert "Astarachay" in top.text and isinstance(nodes[0].score, float)
    # What an LLM is shown: the article's facts and the text, not the ids and offsets.
    shown = top.get_content(metadata_mode=MetadataMode.LLM)
    assert article.title in shown and top.metadata["chunk_id"] not in shown and "start:" not in shown


def test_retriever__filters_apply_and_bad_ones_fail_early(sample_assistant):
    assert NewsdeskRetriever(sample_assistant, filters={"until": "1990-01-01"}).retrieve("bridge") == []
    dated = NewsdeskRetriever(sample_assistant, filters={"since": "2023-09-01", "until": "2023-09-30"}, top_k=10)
    days = {n.node.metadata["published"] for n in dated.retrieve("bridge")}
    assert days and all("2023-09-01" <= d <= "2023-09-30" for d in days)
    with pytest.raises(UserError, match="unknown filter"):
        NewsdeskRetriever(sample_assistant, filters={"colour": "red"})


def test_retriever__async_retrieve_matches(sample_assistant):
    retriever = NewsdeskRetriever(sample_assistant, top_k=2)
    sync_ids = [n.node.node_id for n in retriever.retrieve("Astarachay bridge")]
    async_ids = [n.node.node_id for n in asyncio.run(retriever.aretrieve("Astarachay bridge"))]
    assert sync_ids == async_ids


def test_retriever_query_engine__llama_index_synthesizes_from_newsdesk_nodes(sample_assistant):
    retriever = NewsdeskRetriever(sample_assistant, top_k=2)
    # MockLLM answers with the prompt it was given, so the answer shows what the synthesizer put in front of an LLM.
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(BRIDGE_Q)
    assert [n.node.node_id for n in response.source_nodes] == [n.node.node_id for n in retriever.retrieve(BRIDGE_Q)]
    assert "The bridge will be about 100 meters long" in str(response) and BRIDGE_Q in str(response)
    tree = RetrieverQueryEngine(retriever, response_synthesizer=get_response_synthesizer(
        llm=MockLLM(), response_mode="tree_summarize"))
    assert len(tree.query(BRIDGE_Q).source_nodes) == 2


def test_query_engine__response_is_the_verified_answer_with_cited_nodes(sample_assistant):
    engine = NewsdeskQueryEngine(sample_assistant)
    response = engine.query(BRIDGE_Q)
    expected = sample_assistant.ask(BRIDGE_Q)
    assert str(response) == expected.text and "[1]" in str(response)
    assert [n.node.metadata["n"] for n in response.source_nodes] == [c.n for c in expected.citations]
    assert response.source_nodes[0].node.text == expected.citations[0].passage
    assert response.metadata["answer"]["citations"][0]["chunk_id"] == expected.citations[0].chunk_id
    assert response.metadata["refused"] is False
    refused = asyncio.run(engine.aquery("Who won the 2022 football World Cup?"))
    assert refused.metadata["refused"] is True and refused.source_nodes == []
