"""The speed paths of sync give the same store as the plain path: chunking in a worker process, and a re-ingest
of unchanged files that never opens Chroma. (How fast they are is measured by eval/bench.py, not here.)"""

import json
import sqlite3
from pathlib import Path

import pytest

from ingest import sync
from ingest.sync import EMBED_BATCH_CHUNKS, ingest_paths
from rag.settings import load_settings
from rag.store.store import Store
from rag.testing import HashEmbedder


def write_corpus(path: Path, n: int, *, changed: set[int] = frozenset()) -> Path:
    lines = []
    for i in range(n):
        extra = " The figures were revised on Tuesday." if i in changed else ""
        sentences = " ".join(f"Item {j} of the town {i} budget grew by {i + j} percent this year." for j in range(12))
        lines.append(json.dumps({"id": f"a{i}", "title": f"Town {i} budget", "text": sentences + extra}) + "\n")
    path.write_text("".join(lines))
    return path


def snapshot(settings, emb) -> dict:
    st = Store.open(settings, emb)
    got = st.collection.get(include=["documents", "metadatas", "embeddings"])
    chroma = {i: (d, m, [round(float(x), 6) for x in e])
              for i, d, m, e in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}
    db = sqlite3.connect(Path(settings.store) / "catalog.db")
    tables = {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall()) for t in ("articles", "chunks", "sources")}
    db.close()
    return {"chroma": chroma, "bm25": sorted(st.bm25_index().ids), **tables}


@pytest.fixture
def small_chunks(tmp_path):
    # 40-token chunks: 300 articles give several embedding batches, so the worker process starts and is used.
    def settings(name: str):
        return load_settings(store=tmp_path / name, embedding_model="hash", chunk_tokens=40, chunk_overlap=8)

    return settings


@pytest.mark.slow
def test_sync__chunking_in_a_worker_process_gives_the_same_store(tmp_path, small_chunks, monkeypatch):
    pools = []

    class Pool(sync.ProcessPoolExecutor):
        def submit(self, *args, **kwargs):
            pools.append(self)
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(sync, "ProcessPoolExecutor", Pool)
    corpus = write_corpus(tmp_path / "corpus.jsonl", 300)
    emb = HashEmbedder()
    here, there = small_chunks("inline"), small_chunks("worker")
    a = ingest_paths([corpus], here, embedder=emb, workers=0)
    assert pools == []
    b = ingest_paths([corpus], there, embedder=emb, workers=1)
    assert len(pools) > 100  # most articles were chunked by the worker
    assert a.chunks_embedded > 2 * EMBED_BATCH_CHUNKS
    assert a.to_dict() | {"seconds": 0} == b.to_dict() | {"seconds": 0}
    assert snapshot(here, emb) == snapshot(there, emb)

    write_corpus(corpus, 310, changed={3, 170})
    a = ingest_paths([corpus], here, embedder=emb, workers=0, sync=True)
    b = ingest_paths([corpus], there, embedder=emb, workers=1, sync=True)
    assert (a.added, a.updated, a.unchanged) == (10, 2, 298)
    assert a.to_dict() | {"seconds": 0} == b.to_dict() | {"seconds": 0}
    assert snapshot(here, emb) == snapshot(there, emb)


def test_sync__unchanged_reingest_does_not_open_chroma(tmp_path, monkeypatch):
    corpus = write_corpus(tmp_path / "corpus.jsonl", 5)
    settings = load_settings(store=tmp_path / "store", embedding_model="hash")
    emb = HashEmbedder()
    first = ingest_paths([corpus], settings, embedder=emb)
    opened = []
    original = Store.collection.fget

    def spy(self):
        opened.append(1)
        return original(self)

    monkeypatch.setattr(Store, "collection", property(spy))
    again = ingest_paths([corpus], settings, embedder=emb, sync=True)
    assert (again.unchanged, again.chunks_embedded, again.chunks_total) == (5, 0, first.chunks_total)
    assert opened == []


def test_sync__an_article_whose_old_text_reappears_elsewhere_is_not_lost(tmp_path):
    # a1 changes its text, and a new article a9 carries a1's old text: both must be in the store afterwards,
    # whatever the embedding batches.
    settings = load_settings(store=tmp_path / "store", embedding_model="hash")
    emb = HashEmbedder()
    old = "The bridge will be about 100 meters long. Work starts in May."
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "a1", "title": "Bridge", "text": old}) + "\n")
    ingest_paths([corpus], settings, embedder=emb)
    corpus.write_text(json.dumps({"id": "a1", "title": "Bridge", "text": old + " It was delayed."}) + "\n"
                      + json.dumps({"id": "a9", "title": "Bridge", "text": old}) + "\n")
    result = ingest_paths([corpus], settings, embedder=emb)
    assert (result.added, result.updated, result.duplicates) == (1, 1, [])
    st = Store.open(settings, emb)
    assert st.article("a9").text == old



class _CountingEmbedder(HashEmbedder):
    """Records which thread embeds each batch; fails on batch `fail_at` (1-based) when asked to."""

    def __init__(self, fail_at: int | None = None) -> None:
        super().__init__()
        self.batches: list[str] = []
        self.fail_at = fail_at

    def embed(self, texts):
        import threading

        self.batches.append(threading.current_thread().name)
        if self.fail_at is not None and len(self.batches) == self.fail_at:
            raise RuntimeError("embedding service went away")
        return super().embed(texts)


def test_sync__batches_embed_in_the_background_and_are_written_in_order(tmp_path, small_chunks):
    corpus = write_corpus(tmp_path / "corpus.jsonl", 300)
    emb = _CountingEmbedder()
    seen = []
    result = ingest_paths([corpus], small_chunks("bg"), embedder=emb, workers=0,
                          progress=lambda articles, chunks: seen.append(chunks))
    assert len(emb.batches) >= 3 and all(name.startswith("newsdesk-embed") for name in emb.batches)
    assert seen == sorted(seen) and seen[-1] == result.chunks_embedded  # each batch counted once, when written
    plain = _CountingEmbedder()
    # The same corpus embedded batch by batch gives the same store (the hash embedder is deterministic).
    ingest_paths([corpus], small_chunks("again"), embedder=plain, workers=0)
    assert snapshot(small_chunks("bg"), emb) == snapshot(small_chunks("again"), plain)


def test_sync__an_embedding_failure_stops_the_ingest_and_a_rerun_completes_it(tmp_path, small_chunks):
    corpus = write_corpus(tmp_path / "corpus.jsonl", 300)
    settings = small_chunks("fail")
    with pytest.raises(RuntimeError, match="went away"):
        ingest_paths([corpus], settings, embedder=_CountingEmbedder(fail_at=3), workers=0)
    st = Store.open(settings, HashEmbedder())
    written = st.count_chunks()
    assert 2 * EMBED_BATCH_CHUNKS <= written < 3 * EMBED_BATCH_CHUNKS  # the two batches before the failure only
    again = ingest_paths([corpus], settings, embedder=HashEmbedder(), workers=0)
    assert again.added + again.unchanged == 300 and again.chunks_embedded > 0
    reference = small_chunks("reference")
    ingest_paths([corpus], reference, embedder=HashEmbedder(), workers=0)
    assert snapshot(settings, HashEmbedder()) == snapshot(reference, HashEmbedder())
