"""ingest_documents: llama-index Documents into a real embedded Chroma store with the sync semantics of files
(hash embedder: fast and deterministic; the real model's retrieval is tested in tests/rag/test_llama_index.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core import Document, SimpleDirectoryReader

from ingest import ingest_documents, ingest_paths
from rag.settings import load_settings
from rag.store.store import Store
from rag.testing import HashEmbedder

SAMPLE = Path(__file__).resolve().parents[2] / "ingest" / "sample"


def doc(i: int, text: str | None = None, **meta) -> Document:
    body = text or (f"The council of town {i} voted on budget item {i}. The vote passed with {i + 3} votes. "
                    "Officials said the next meeting is in spring.")
    return Document(text=body, metadata={"url": f"https://news.example.com/town-{i}", "title": f"Town {i} budget",
                                         "published": "2024-03-0" + str(i % 9 + 1), **meta})


@pytest.fixture
def env(tmp_path):
    return load_settings(store=tmp_path / "store", embedding_model="hash"), HashEmbedder()


def test_ingest_documents__same_sync_as_files(env):
    settings, emb = env
    docs = [doc(i) for i in range(3)]
    first = ingest_documents(docs, settings, embedder=emb)
    assert (first.added, first.chunks_embedded > 0, first.failed) == (3, True, [])
    again = ingest_documents([doc(i) for i in range(3)], settings, embedder=emb)  # new Document objects, new uuids
    assert (again.added, again.updated, again.unchanged, again.chunks_embedded) == (0, 0, 3, 0)
    changed = ingest_documents([doc(0, "The council of town 0 rejected the budget."), doc(1), doc(2)], settings,
                               embedder=emb)
    assert (changed.updated, changed.unchanged) == (1, 2)
    store = Store.open(settings, emb)
    ids = {a["id"] for a in store.list_articles()}
    town0 = next(a for a in store.list_articles() if a["title"] == "Town 0 budget")
    assert "rejected" in store.article(town0["id"]).text and len(ids) == 3
    synced = ingest_documents([doc(1)], settings, embedder=emb, sync=True)
    assert synced.deleted == 2 and {a["title"] for a in Store.open(settings, emb).list_articles()} == {"Town 1 budget"}


def test_ingest_documents__metadata_fills_the_article(env):
    settings, emb = env
    ingest_documents([doc(4, author="By Jane Doe", source="https://news.example.com/town-4")], settings, embedder=emb)
    article = Store.open(settings, emb).list_articles()[0]
    assert article["title"] == "Town 4 budget" and article["author"] == "Jane Doe"
    assert article["published"] == "2024-03-05" and article["source"] == "news.example.com"
    assert article["url"] == "https://news.example.com/town-4"


def test_ingest_documents__sync_leaves_files_and_other_namespaces_alone(env, tmp_path):
    settings, emb = env
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text('{"id": "file-1", "title": "From a file", "text": "A story read from a file."}\n')
    ingest_paths([corpus], settings, embedder=emb)
    ingest_documents([doc(1)], settings, embedder=emb, namespace="crawler")
    ingest_documents([doc(2)], settings, embedder=emb)
    result = ingest_documents([], settings, embedder=emb, sync=True)
    titles = {a["title"] for a in Store.open(settings, emb).list_articles()}
    assert result.deleted == 1 and titles == {"From a file", "Town 1 budget"}


def test_ingest_documents__a_bad_document_is_reported_and_the_rest_ingested(env):
    settings, emb = env
    result = ingest_documents([Document(text="   ", metadata={"file_path": "/x/empty.txt"}), doc(5)], settings,
                              embedder=emb)
    assert result.added == 1 and len(result.failed) == 1
    assert result.failed[0]["path"] == "llama-index:/x/empty.txt" and "text" in result.failed[0]["error"]


def test_ingest_documents__reader_files_clean_like_the_files_themselves(env, tmp_path):
    settings, emb = env
    documents = SimpleDirectoryReader(str(SAMPLE), required_exts=[".txt"]).load_data()
    assert documents
    result = ingest_documents(documents, settings, embedder=emb)
    from_docs = Store.open(settings, emb)
    article = from_docs.article(from_docs.list_articles()[0]["id"])
    files = load_settings(store=tmp_path / "files", embedding_model="hash")
    ingest_paths(sorted(SAMPLE.glob("*.txt")), files, embedder=emb)
    from_files = Store.open(files, emb)
    same = from_files.article(from_files.list_articles()[0]["id"])
    assert result.added == len(documents)
    assert (article.text, article.title, article.author, article.published) == \
        (same.text, same.title, same.author, same.published)
    again = ingest_documents(SimpleDirectoryReader(str(SAMPLE), required_exts=[".txt"]).load_data(), settings,
                             embedder=emb)
    assert (again.unchanged, again.chunks_embedded) == (len(documents), 0)
