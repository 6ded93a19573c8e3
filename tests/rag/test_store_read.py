"""Read side of the store under concurrency and at its edges (the embedded Chroma, the hash embedder)."""

import json
import shutil
import threading

import numpy as np

from ingest.sync import ingest_paths
from rag.settings import load_settings
from rag.store.store import Store
from rag.testing import HashEmbedder
from rag.types import Filters


def _store(tmp_path, n=30):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"a{i}", "title": f"Town {i}", "text": f"Town {i} voted on the budget. "
                                          f"It passed with {i + 3} votes."}) + "\n" for i in range(n)))
    settings = load_settings(store=tmp_path / "store", embedding_model="hash")
    emb = HashEmbedder()
    ingest_paths([corpus], settings, embedder=emb)
    return settings, emb


def test_store__concurrent_first_reads_of_a_missing_bm25_index_rebuild_it_once_without_errors(tmp_path):
    settings, emb = _store(tmp_path)
    shutil.rmtree(tmp_path / "store" / "bm25")  # as after an upgrade that changed the index format
    st = Store.open(settings, emb)
    start = threading.Barrier(4)
    got, errors = [], []

    def read():
        start.wait()
        try:
            got.append(sorted(st.bm25_index().ids))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(got) == 4 and all(ids == got[0] for ids in got) and len(got[0]) == st.count_chunks()


def test_store__dense_asks_for_more_neighbours_than_there_are_chunks(tmp_path):
    settings, emb = _store(tmp_path, n=3)
    st = Store.open(settings, emb)
    hits = st.dense(emb.embed(["Town 1 budget"])[0], 50, Filters())
    assert sorted(c for c, _ in hits) == sorted(st.chunk_ids())
    assert st.dense(np.ones(emb.dim, np.float32), 50, Filters(source="nowhere.example")) == []
