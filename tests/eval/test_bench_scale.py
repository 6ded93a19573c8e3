"""The scale benchmark's store: replicated through the store's own write path, its bulk BM25 index the one a build
over the catalog makes, its vectors perturbed, and a real one-article re-ingest works on it."""

from __future__ import annotations

import random

import numpy as np

from eval.bench import scale
from eval.bench.speed import child_env
from rag.store.bm25 import BM25Index
from rag.store.store import Store
from rag.testing import HashEmbedder
from rag.types import Filters

WORDS = "bridge river council budget harbour school rail park storm power election vote court judge".split()
QUERIES = ["bridge river", "council budget vote", "storm power", "judge court harbour", "zzz"]


def _records(n: int) -> list[dict]:
    rng = random.Random(2)
    return [{"id": f"art{i:02d}", "title": f"Story {i}", "source": rng.choice(["cnn.com", "bbc.co.uk"]),
             "published": f"2022-0{1 + i % 9}-1{i % 10}",
             "text": " ".join(" ".join(rng.choice(WORDS) for _ in range(12)) + f" Marker{i}." for _ in range(30))}
            for i in range(n)]


def test_grow__writes_replicas_whose_bm25_is_the_catalogs_build_and_reingest_works(hash_store, tmp_path):
    settings = hash_store(_records(6))
    source = scale.load_source(settings.store)
    n_src = len(source.vectors)
    assert n_src > 6 and source.bm25.n == n_src
    dest = tmp_path / "grown"
    first = scale.grow(source, dest, int(2.5 * n_src))
    assert first["chunks"] >= 2.5 * n_src and first["chunks_written"] == first["chunks"]
    second = scale.grow(source, dest, 4 * n_src)  # grows in place: only the new replicas are written
    assert second["chunks"] == first["chunks"] + second["chunks_written"] >= 4 * n_src
    again = scale.grow(source, dest, 4 * n_src)  # a resumed run at a size already reached writes nothing
    assert again["chunks_written"] == 0 and again["chunks"] == second["chunks"]

    st = Store.open(settings.model_copy(update={"store": dest}), HashEmbedder())
    assert st.count_chunks() == second["chunks"] == st.collection.count()
    assert not st.catalog.meta("dirty") and st.catalog.meta("bm25_generation") == st.catalog.meta("generation")
    index = st.bm25_index()
    rebuilt = BM25Index.build(*st.catalog.bm25_rows())
    assert sorted(index.ids) == sorted(rebuilt.ids) and len(index.ids) == st.count_chunks()
    for q in QUERIES:
        for flt in (Filters(), Filters(source="cnn.com")):
            a, b = index.search(q, 25, flt), rebuilt.search(q, 25, flt)
            assert [c for c, _ in a] == [c for c, _ in b] and np.allclose([s for _, s in a], [s for _, s in b])

    # Replica 0 keeps the source's vectors; replica 1's are moved, but stay close.
    cid = source.bm25.segments[0].ids[0]
    got = st.embeddings([cid, scale.replica_id(cid, 1)])
    assert np.allclose(got[cid], source.vectors[0], atol=1e-6)
    cos = float(got[cid] @ got[scale.replica_id(cid, 1)])
    assert 0.95 < cos < 0.999
    assert st.dense(got[cid], 3, Filters())[0][0] == cid

    env = {**child_env(), "NEWSDESK_EMBEDDING_MODEL": "hash"}
    out = scale.one_changed_article(dest, settings.store.parent / "corpus.jsonl", env)
    assert out is not None and out["changed"]["chunks_embedded"] > 0 and out["restored"]["chunks_embedded"] > 0
    after = Store.open(settings.model_copy(update={"store": dest}), HashEmbedder())
    assert after.count_chunks() == second["chunks"]
    again = after.bm25_index()
    assert len(again.segments) >= 1 and sorted(again.ids) == sorted(BM25Index.build(*after.catalog.bm25_rows()).ids)
