"""The incremental BM25 index: after any sequence of adds, updates and deletes it ranks and scores exactly as an
index built from scratch over the same chunks, and both score as bm25s does."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from ingest.sync import ingest_paths
from rag.settings import load_settings
from rag.store import bm25 as bm25_module
from rag.store.bm25 import BM25Index, FilterColumns, tokenize
from rag.store.store import Store
from rag.testing import HashEmbedder
from rag.types import Filters

WORDS = ("bridge river council budget harbour school rail park storm power election vote court judge minister "
         "strike inflation rates bank market police fire flood drought vaccine hospital").split()
QUERIES = ["bridge river", "council budget vote", "storm power flood", "bank rates inflation market", "judge",
           "police fire hospital vaccine", "rail strike minister", "harbour", "zzz unknown", "school park election"]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 30)))


def _columns(n: int, rng: random.Random) -> FilterColumns:
    return FilterColumns(np.array([rng.choice(["cnn.com", "bbc.co.uk", ""]) for _ in range(n)], dtype=object),
                         np.array([rng.choice(["jane doe", ""]) for _ in range(n)], dtype=object),
                         np.array([rng.choice([19000, 19500, -1]) for _ in range(n)], dtype=np.int64))


def _assert_same(got: BM25Index, want: BM25Index) -> None:
    assert sorted(got.ids) == sorted(want.ids) and len(got) == len(want)
    for query in QUERIES:
        for flt in (Filters(), Filters(source="cnn.com"), Filters(since="2023-05-01")):
            a, b = got.search(query, 15, flt), want.search(query, 15, flt)
            assert [c for c, _ in a] == [c for c, _ in b], query
            assert np.allclose([s for _, s in a], [s for _, s in b], rtol=1e-6), query
    terms = [t for q in QUERIES for t in tokenize(q)]
    assert got.idf(terms) == pytest.approx(want.idf(terms), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_update__equals_a_full_rebuild_after_adds_updates_and_deletes(seed, tmp_path, monkeypatch):
    monkeypatch.setattr(bm25_module, "MAX_SEGMENTS", 4)  # so that merges happen along the way too
    rng = random.Random(seed)
    truth: dict[str, tuple[str, tuple[str, str, int]]] = {}
    next_id = 0

    def batch(n):
        nonlocal next_id
        ids = [f"c{next_id + i}" for i in range(n)]
        next_id += n
        return ids

    ids = batch(60)
    texts = [_text(rng) for _ in ids]
    cols = _columns(len(ids), rng)
    index = BM25Index.build(ids, texts, cols)
    for i, cid in enumerate(ids):
        truth[cid] = (texts[i], (cols.source[i], cols.author[i], int(cols.day[i])))
    saw_merge = False
    for step in range(12):
        live = sorted(truth)
        remove = rng.sample(live, rng.randint(0, min(8, len(live))))  # deletes
        update = rng.sample([c for c in live if c not in remove], rng.randint(0, 5))  # same id, new text/metadata
        add = batch(rng.randint(0, 10))
        for cid in remove:
            del truth[cid]
        ids = update + add
        texts = [_text(rng) for _ in ids]
        cols = _columns(len(ids), rng)
        for i, cid in enumerate(ids):
            truth[cid] = (texts[i], (cols.source[i], cols.author[i], int(cols.day[i])))
        index = index.update(remove, ids, texts, cols)
        saw_merge |= len(index.segments) == 1 and step > 0
        if step % 4 == 3:  # through the disk now and then, as the store does
            index.save(tmp_path / "bm25")
            index = BM25Index.load(tmp_path / "bm25")
        order = sorted(truth)
        rebuilt = BM25Index.build(order, [truth[c][0] for c in order], FilterColumns(
            np.array([truth[c][1][0] for c in order], dtype=object), np.array([truth[c][1][1] for c in order],
                                                                              dtype=object),
            np.array([truth[c][1][2] for c in order], dtype=np.int64)))
        _assert_same(index, rebuilt)
    assert saw_merge
    _assert_same(index.compact(), index)
    assert len(index.compact().segments) == 1


def test_scores__equal_bm25s_after_updates():
    import bm25s

    rng = random.Random(5)
    ids = [f"c{i}" for i in range(80)]
    texts = [_text(rng) or "bridge" for _ in ids]
    index = BM25Index.build(ids[:50], texts[:50], FilterColumns.empty(50))
    index = index.update(ids[:10], ids[50:], texts[50:], FilterColumns.empty(30))  # delete 10, add 30
    live, live_texts = ids[10:], texts[10:]
    oracle = bm25s.BM25()
    oracle.index([tokenize(t) for t in live_texts], show_progress=False)
    for query in QUERIES[:8]:
        toks = [t for t in tokenize(query) if t in oracle.vocab_dict]
        want = dict(zip(live, oracle.get_scores(toks), strict=True))
        got = dict(zip(index.row_ids, index.scores([index.vocab[t] for t in toks]), strict=True))
        assert all(abs(got[c] - want[c]) < 1e-5 for c in live), query


def test_search__filters_and_the_kept_scores_rank_as_a_brute_force_oracle():
    # The filters are tested only on the rows a term reached, and the last query's scores are reused by the
    # date-window channel's second search: interleaving filtered and unfiltered searches must change nothing.
    rng = random.Random(11)
    ids = [f"c{i}" for i in range(120)]
    texts = [_text(rng) for _ in ids]
    cols = _columns(120, rng)
    index = BM25Index.build(ids, texts, cols).update(["c3", "c40"], [], [], FilterColumns.empty(0))
    live = [i for i, c in enumerate(ids) if c not in ("c3", "c40")]
    flts = (Filters(), Filters(source="cnn.com"), Filters(author="Jane Doe", until="2023-05-01"),
            Filters(since="2023-05-01", source="bbc.co.uk"), Filters(since="2030-01-01"))
    for query in QUERIES:
        toks = [t for t in tokenize(query) if t in index.vocab]
        full = dict(zip(index.row_ids, index.scores([index.vocab[t] for t in toks]), strict=True))
        for flt in flts:
            keep = index.columns.mask(flt)
            want = sorted(((ids[i], full[ids[i]]) for i in live
                           if full[ids[i]] > 0 and (keep is None or keep[index.row_ids.index(ids[i])])),
                          key=lambda cs: (-cs[1], cs[0]))[:7]
            assert index.search(query, 7, flt) == want, (query, flt)
    with pytest.raises(ValueError):  # the kept scores are read-only: a caller cannot spoil the next search
        index.scores([index.vocab["bridg"]])[0] = 1.0


def test_save__writes_only_the_new_segment_and_cleans_up(tmp_path):
    rng = random.Random(3)
    ids = [f"c{i}" for i in range(100)]
    index = BM25Index.build(ids, [_text(rng) for _ in ids], FilterColumns.empty(100))
    index.save(tmp_path / "bm25")
    first = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "bm25").iterdir()}
    index = index.update(["c1"], ["c1", "c200"], ["bridge news", "harbour news"], FilterColumns.empty(2))
    index.save(tmp_path / "bm25")
    now = {p.name for p in (tmp_path / "bm25").iterdir()}
    segs = sorted(n for n in now if n.startswith("seg-") and "." not in n)
    assert len(segs) == 2 and segs[0] in first  # the big segment is not rewritten
    meta = json.loads((tmp_path / "bm25" / "index.json").read_text())
    assert meta["segments"] == segs and "deleted" in meta["entries"][0]
    again = BM25Index.load(tmp_path / "bm25")
    _assert_same(again, index)


def test_store__one_changed_article_updates_bm25_without_a_rebuild(tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    corpus.mkdir()
    records = [{"id": f"a{i}", "title": f"Story {i}", "text": f"The {WORDS[i]} story. " * 30 + f"Marker{i} ends it."}
               for i in range(12)]
    path = corpus / "a.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = load_settings(store=tmp_path / "store")
    emb = HashEmbedder(dim=32)
    ingest_paths([corpus], settings, embedder=emb)
    monkeypatch.setattr(bm25_module, "MAX_DELETED", 0.9)  # 3 of 12 articles replaced: no merge yet
    built = []
    real_build = BM25Index.build
    monkeypatch.setattr(BM25Index, "build", classmethod(lambda cls, *a: built.append(len(a[0])) or
                                                        real_build.__func__(cls, *a)))
    # The update reads what the catalog logged (written articles, removed chunks), never every chunk id.
    from rag.store.catalog import Catalog

    monkeypatch.setattr(Catalog, "bm25_changes", lambda self: pytest.fail("scanned every chunk id"))
    records[3]["text"] = "A rewritten harbour story about the zeppelin. " * 20
    records[5]["source"] = "example.com"  # metadata only: the chunk ids stay the same
    path.write_text("".join(json.dumps(r) + "\n" for r in records[:-1]))  # and the last article deleted
    result = ingest_paths([corpus], settings, embedder=emb, sync=True)
    assert (result.updated, result.deleted) == (2, 1)
    st = Store.open(settings, emb)
    index = st.bm25_index()
    assert built == [] and len(index.segments) == 2  # updated, not rebuilt
    assert st.catalog.bm25_log() == ([], [])  # applied and cleared
    assert index.search("zeppelin", 3)[0][0].startswith("a3")
    assert not index.search("Marker11", 3) and not index.search("marker3", 3)
    assert {c for c, _ in index.search("marker5", 5, Filters(source="example.com"))}
    # ...and it is the index a rebuild from the catalog makes.
    rebuilt = BM25Index.build(*st.catalog.bm25_rows())
    _assert_same(index, rebuilt)


def test_load__older_format_is_rebuilt_from_the_catalog(tmp_path):
    old = tmp_path / "bm25"
    old.mkdir()
    (old / "ids.json").write_text(json.dumps({"version": 6, "ids": []}))
    assert BM25Index.load(old) is None
    assert BM25Index.load(tmp_path / "missing") is None


def test_nbytes_counts_the_arrays():
    index = BM25Index.build(["a", "b"], ["bridge river", "river"], FilterColumns.empty(2))
    assert index.nbytes() > 0


def test_save__clears_what_a_dead_writer_left_and_a_racing_writer_keeps_a_whole_index(tmp_path, monkeypatch):
    import os

    directory = tmp_path / "bm25"
    directory.mkdir()
    (directory / "seg-000009-999999999").mkdir()  # no such process: a writer that died before its index.json
    (directory / "index.json.999999999.tmp").write_text("{")
    a = BM25Index.build(["c1"], ["alpha beta"], FilterColumns.empty(1))
    a.save(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["index.json", a.segments[0].name]

    # Two processes that both found no index save at once: whichever index.json lands last, it is whole.
    b = BM25Index.build(["c2"], ["gamma delta"], FilterColumns.empty(1))
    c = BM25Index.build(["c3"], ["gamma epsilon"], FilterColumns.empty(1))
    real_replace = os.replace

    def racing_replace(src, dst):
        if str(dst).endswith("index.json") and str(src).endswith(f".{os.getpid()}.tmp"):
            monkeypatch.setattr(os, "replace", real_replace)
            monkeypatch.setattr(os, "getpid", lambda: 1)  # the other writer (pid 1 is alive: never cleared)
            c.save(directory)  # ...lands between this one's writing its files and swapping in its index.json
            monkeypatch.undo()
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", racing_replace)
    b.save(directory)
    monkeypatch.undo()
    again = BM25Index.load(directory)
    assert again is not None and again.ids == ["c2"] and again.search("gamma", 1)[0][0] == "c2"


@pytest.mark.parametrize("size", [1, 7, 64])
def test_build_in_slices__is_the_one_segment_a_build_at_once_makes(size, monkeypatch):
    rng = random.Random(11)
    ids = [f"c{i}" for i in range(150)]
    texts = [_text(rng) for _ in ids]  # some empty: a row of the empty token
    cols = _columns(len(ids), rng)
    monkeypatch.setattr(bm25_module, "SLICE_ROWS", len(ids))
    whole = BM25Index.build(ids, texts, cols)
    monkeypatch.setattr(bm25_module, "SLICE_ROWS", size)
    sliced = BM25Index.build(ids, texts, cols)
    assert len(sliced.segments) == len(whole.segments) == 1 and sliced.vocab == whole.vocab
    a, b = sliced.segments[0], whole.segments[0]
    assert a.ids == b.ids
    for name in ("indptr", "rows", "tf", "length"):
        assert getattr(a, name).dtype == getattr(b, name).dtype and np.array_equal(getattr(a, name), getattr(b, name))
    for name in ("source", "author", "day"):
        assert np.array_equal(getattr(a.columns, name), getattr(b.columns, name))
    _assert_same(sliced, whole)


def test_store__first_build_reads_the_catalog_in_slices_and_equals_a_build_at_once(tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    corpus.mkdir()
    rng = random.Random(4)
    records = [{"id": f"a{i}", "title": f"Story {i}", "source": rng.choice(["cnn.com", "bbc.co.uk"]),
                "text": " ".join(f"{_text(rng)} Marker{i}." for _ in range(25))} for i in range(8)]
    (corpus / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = load_settings(store=tmp_path / "store")
    monkeypatch.setattr(bm25_module, "SLICE_ROWS", 3)
    sizes = []
    real_segment = bm25_module._segment
    monkeypatch.setattr(bm25_module, "_segment", lambda ids, *a: sizes.append(len(ids)) or real_segment(ids, *a))
    ingest_paths([corpus], settings, embedder=HashEmbedder(dim=32))
    st = Store.open(settings, HashEmbedder(dim=32))
    assert len(sizes) > 2 and max(sizes) == 3 and sum(sizes) == st.count_chunks()  # built a slice at a time
    index = BM25Index.load(st.root / "bm25")
    monkeypatch.setattr(bm25_module, "SLICE_ROWS", 10**6)
    at_once = BM25Index.build(*st.catalog.bm25_rows())
    assert index.segments[0].ids == at_once.segments[0].ids and index.vocab == at_once.vocab
    assert np.array_equal(index.segments[0].rows, at_once.segments[0].rows)
    _assert_same(index, at_once)
    assert index.search("marker5", 3, Filters(source=records[5]["source"]))[0][0].startswith("a5")
