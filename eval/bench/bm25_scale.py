"""Benchmark: the BM25 index at a million chunks, without tokenising a million chunks.

The chunks of a real store are indexed once and their segment repeated with new ids until the index holds
`--rows` rows (the statistics of a corpus that many times larger; postings per row unchanged). Then, for one
changed article (its chunks re-tokenised, its old rows deleted), it reports the in-memory update, the save
(only the new segment and a deleted-row file are written), the load of the saved index in a new process's shoes,
and query latency (p50/p95 over the store's own chunk openings as queries), with the arrays' size.

    python -m eval.bench.bm25_scale /work/stores/speed-sub-int8 --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def repeat_segment(index, copies: int):  # type: ignore[no-untyped-def]
    """An index whose one segment is `index`'s repeated `copies` times, copy i's ids suffixed with #i."""
    from rag.store.bm25 import BM25Index, FilterColumns, Segment

    seg = index.compact().segments[0]
    n = len(seg.ids)
    counts = np.diff(seg.indptr)
    indptr = np.zeros_like(seg.indptr)
    np.cumsum(counts * copies, out=indptr[1:])
    # Posting p of term t in copy c lands at indptr[t] + c * counts[t] + (p - seg.indptr[t]): rows stay sorted.
    terms = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(seg.rows)) - seg.indptr[terms]
    rows = np.empty(len(seg.rows) * copies, np.int32)
    tf = np.empty(len(seg.rows) * copies, np.float32)
    for c in range(copies):
        at = indptr[terms] + c * counts[terms] + within
        rows[at] = seg.rows + c * n
        tf[at] = seg.tf
    ids = [f"{cid}#{c}" for c in range(copies) for cid in seg.ids]
    cols = FilterColumns.concat([seg.columns] * copies)
    big = Segment(ids, indptr, rows, tf, np.tile(seg.length, copies), cols)
    return BM25Index(dict(index.vocab), [big], [np.ones(len(ids), bool)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench.bm25_scale", description=__doc__.split("\n")[0])
    parser.add_argument("store", help="a built store whose chunks are repeated")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)

    from rag.store.bm25 import BM25Index
    from rag.store.catalog import Catalog

    catalog = Catalog(Path(args.store))
    ids, texts, columns = catalog.bm25_rows()
    base = BM25Index.build(ids, texts, columns)
    index = repeat_segment(base, max(1, args.rows // len(ids)))
    work = Path(tempfile.mkdtemp(prefix="bm25-scale-"))
    try:
        started = time.perf_counter()
        index.save(work / "bm25")
        first_save = time.perf_counter() - started
        article = catalog.articles_of_chunks(ids[:1])
        a_ids, a_texts, a_cols = catalog.bm25_rows(article)
        changed = [t + " A correction was added." for t in a_texts]
        old_rows = [f"{cid}#0" for cid in a_ids]
        started = time.perf_counter()
        updated = index.update(old_rows, [f"{cid}#new" for cid in a_ids], changed, a_cols)
        update_s = time.perf_counter() - started
        started = time.perf_counter()
        updated.save(work / "bm25")
        save_s = time.perf_counter() - started
        started = time.perf_counter()
        loaded = BM25Index.load(work / "bm25")
        load_s = time.perf_counter() - started
        assert loaded is not None and len(loaded) == len(updated)
        queries = [" ".join(t.split()[:8]) for t in texts[: args.queries]]
        lat = []
        for q in queries:
            started = time.perf_counter()
            loaded.search(q, 40)
            lat.append((time.perf_counter() - started) * 1000)
        lat.sort()
        report = {"rows": len(loaded.row_ids), "chunks_of_the_changed_article": len(a_ids),
                  "first_save_s": round(first_save, 2), "update_s": round(update_s, 3),
                  "save_after_update_s": round(save_s, 3), "load_s": round(load_s, 2),
                  "search_ms_p50": round(statistics.median(lat), 1),
                  "search_ms_p95": round(lat[int(0.95 * (len(lat) - 1))], 1),
                  "arrays_mb": round(loaded.nbytes() / 2**20, 1),
                  "disk_mb": round(sum(f.stat().st_size for f in (work / "bm25").rglob("*") if f.is_file()) / 2**20,
                                   1)}
        print(json.dumps(report))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
