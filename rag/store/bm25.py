"""A persisted BM25 index over chunk ids, updated in place, with per-chunk metadata arrays so filters apply inside it.

The index is a list of immutable segments (term frequencies by term, document lengths, filter columns) plus a
mask of deleted rows. An ingest that changes a few articles appends one small segment and marks the replaced
rows deleted instead of re-tokenising every chunk; segments are merged (arrays only, nothing re-tokenised) when
there are too many or too much of them is deleted. Scores are computed at query time from the live rows'
statistics (N, document frequencies, average length), so an updated index ranks exactly as one built from
scratch over the same chunks, and both score as bm25s does (Lucene BM25, k1 1.5, b 0.75).

>>> idx = BM25Index.build(["c1", "c2"], ["The bridge is long", "Rates rose in Brazil"], FilterColumns.empty(2))
>>> idx.search("bridge", k=5)[0][0]
'c1'
>>> idx = idx.update(["c1"], ["c3"], ["A bridge and a bridge"], FilterColumns.empty(1))
>>> [c for c, _ in idx.search("bridge", k=5)], sorted(idx.ids)
(['c3'], ['c2', 'c3'])
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.faults import checkpoint
from rag.text.words import QUERY_STOPWORDS, stem_words
from rag.types import Filters, iso_to_day

FORMAT_VERSION = 8  # 7: tokens folded by rag.text.words; 8: segments with deleted rows, scored at query time
K1, B = 1.5, 0.75  # bm25s's defaults, which the index had before it was incremental
MAX_SEGMENTS = 8  # more than this, and the segments are merged into one
MAX_DELETED = 0.2  # share of deleted rows above which the segments are merged
SLICE_ROWS = 4096  # rows tokenised at a time by a build or an update (see _segment_of)
_EMPTY = "\u2205"  # the token of a chunk with no words, so that every chunk keeps its row
_WORD = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, folded and stemmed (rag.text.words): "The bridges grew" -> ['bridg', 'grow']."""
    return stem_words([w for w in _WORD.findall(text.lower()) if w not in QUERY_STOPWORDS])


def norm_key(value: str | None) -> str:
    """How source and author values are compared in filters: case, spacing and a leading www. do not matter."""
    if not value:
        return ""
    value = " ".join(value.lower().split())
    return value[4:] if value.startswith("www.") else value


@dataclass
class FilterColumns:
    """Per-chunk values the filters test, aligned with the index's chunk order."""

    source: np.ndarray  # object array of norm_key(source)
    author: np.ndarray  # object array of norm_key(author)
    day: np.ndarray  # int64 days since epoch, -1 when unknown

    @classmethod
    def empty(cls, n: int) -> FilterColumns:
        return cls(np.array([""] * n, dtype=object), np.array([""] * n, dtype=object), np.full(n, -1, np.int64))

    @classmethod
    def concat(cls, parts: Sequence[FilterColumns]) -> FilterColumns:
        if not parts:
            return cls.empty(0)
        return cls(np.concatenate([p.source for p in parts]), np.concatenate([p.author for p in parts]),
                   np.concatenate([p.day for p in parts]))

    def take(self, rows: np.ndarray) -> FilterColumns:
        return FilterColumns(self.source[rows], self.author[rows], self.day[rows])

    def mask(self, filters: Filters) -> np.ndarray | None:
        """1.0 where a chunk passes the filters, else 0.0; None when there are no filters."""
        keep = self.keep(filters)
        return None if keep is None else keep.astype(np.float32)

    def keep(self, filters: Filters, rows: np.ndarray | None = None) -> np.ndarray | None:
        """True where a chunk (of `rows`, else of all) passes the filters; None when there are no filters.

        A search tests only the rows its terms reached, not every row of a million-chunk index.
        """
        if filters.is_empty():
            return None
        def column(values: np.ndarray) -> np.ndarray:
            return values if rows is None else values[rows]

        keep = np.ones(len(self.day) if rows is None else len(rows), dtype=bool)
        if filters.source:
            keep &= column(self.source) == norm_key(filters.source)
        if filters.author:
            keep &= column(self.author) == norm_key(filters.author)
        if filters.since or filters.until:
            day = column(self.day)
            if filters.since:
                keep &= day >= iso_to_day(filters.since)
            if filters.until:
                keep &= (day >= 0) & (day <= iso_to_day(filters.until))
        return keep


Rows = tuple[Sequence[str], Sequence[str], FilterColumns]  # (chunk ids, texts, filter columns) of some rows


@dataclass
class Segment:
    """Rows (chunks) indexed together: term frequencies as a sparse matrix by term (CSC: the rows of term t are
    `rows[indptr[t]:indptr[t + 1]]`, with frequencies `tf` alongside), each row's length in tokens, its filter
    values. Terms are numbered by the index's vocabulary; terms numbered past len(indptr) - 2 have no rows here.
    `name` is the directory it is saved in (None until saved); a saved segment is never written again.
    """

    ids: list[str]
    indptr: np.ndarray  # int64
    rows: np.ndarray  # int32, row numbers within the segment
    tf: np.ndarray  # float32
    length: np.ndarray  # float32, tokens per row
    columns: FilterColumns
    name: str | None = None

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        if term + 1 >= len(self.indptr):
            return self.rows[:0], self.tf[:0]
        lo, hi = self.indptr[term], self.indptr[term + 1]
        return self.rows[lo:hi], self.tf[lo:hi]


def _segment(ids: Sequence[str], texts: Sequence[str], columns: FilterColumns, vocab: dict[str, int]) -> Segment:
    """Tokenise `texts` into a new segment; new terms are added to `vocab` (numbered from its current size)."""
    # 8 bytes a token (array), not the ~70 of two lists of Python ints: a full build holds every token of the store.
    term_of, lengths = array("q"), np.zeros(len(texts), np.int64)
    for row, text in enumerate(texts):
        tokens = tokenize(text) or [_EMPTY]
        lengths[row] = len(tokens)
        for token in tokens:
            term = vocab.get(token)
            if term is None:
                term = vocab[token] = len(vocab)
            term_of.append(term)
    terms = np.frombuffer(term_of, np.int64) if len(term_of) else np.zeros(0, np.int64)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    lengths = lengths.astype(np.float32)
    # One posting per (term, row), its count the frequency; sorted by term, then row.
    pairs, tf = np.unique(terms * max(1, len(texts)) + rows, return_counts=True)
    pair_terms = pairs // max(1, len(texts))
    indptr = np.zeros(len(vocab) + 1, np.int64)
    np.cumsum(np.bincount(pair_terms, minlength=len(vocab)), out=indptr[1:])
    return Segment(list(ids), indptr, (pairs % max(1, len(texts))).astype(np.int32), tf.astype(np.float32),
                   lengths, columns)


def merge_segments(segments: list[Segment], live: Sequence[np.ndarray], n_terms: int, *,
                   consume: bool = False) -> Segment:
    """One segment holding the live rows of `segments`, in order: posting arrays merged, nothing re-tokenised.

    Each segment's live postings are copied straight to their place in the merged arrays (a term's postings from
    segment s go after those of the segments before it, so rows stay ascending within a term): besides the
    result, memory holds one segment's temporaries at a time, not a sort over every posting of the store.
    `consume` drops each segment from `segments` once it is copied (a build's slices: not held twice).
    """
    kept = [np.flatnonzero(m) for m in live]

    def alive_postings(seg: Segment, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        terms = np.repeat(np.arange(len(seg.indptr) - 1, dtype=np.int64), np.diff(seg.indptr))
        alive = mask[seg.rows]
        return terms[alive], alive

    counts = [np.bincount(alive_postings(seg, mask)[0], minlength=n_terms) for seg, mask in
              zip(segments, live, strict=True)]
    indptr = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.sum(counts, axis=0) if counts else np.zeros(n_terms, np.int64), out=indptr[1:])
    rows = np.empty(int(indptr[-1]), np.int32)
    tf = np.empty(int(indptr[-1]), np.float32)
    free = indptr[:-1].copy()  # per term, the next free place in the merged arrays
    ids: list[str] = []
    lengths, columns = [], []
    for i, (keep, mask, count) in enumerate(zip(kept, live, counts, strict=True)):
        seg = segments[i]
        terms, alive = alive_postings(seg, mask)
        renumber = np.full(len(seg.ids), -1, np.int64)
        renumber[keep] = np.arange(len(keep)) + len(ids)
        starts = np.zeros(n_terms + 1, np.int64)
        np.cumsum(count, out=starts[1:])
        at = free[terms] + np.arange(len(terms)) - starts[terms]
        rows[at] = renumber[seg.rows[alive]]
        tf[at] = seg.tf[alive]
        free += count
        ids += [seg.ids[k] for k in keep]
        lengths.append(seg.length[keep])
        columns.append(seg.columns.take(keep))
        if consume:
            segments[i] = None  # type: ignore[call-overload]
        del seg, terms, alive, renumber, at
    length = np.concatenate(lengths) if lengths else np.zeros(0, np.float32)
    return Segment(ids, indptr, rows, tf, length, FilterColumns.concat(columns))


def slices(ids: Sequence[str], texts: Sequence[str], columns: FilterColumns, size: int | None = None
           ) -> Iterator[Rows]:
    """`ids`/`texts`/`columns` cut into slices of `size` rows (SLICE_ROWS by default)."""
    size = size or SLICE_ROWS
    for i in range(0, len(ids), size):
        yield ids[i:i + size], texts[i:i + size], columns.take(np.arange(i, min(i + size, len(ids))))


def _segment_of(parts: Iterable[Rows], vocab: dict[str, int]) -> Segment | None:
    """One segment of all the rows of `parts`, tokenised a slice at a time and merged (arrays only).

    Tokenising a whole store at once held every token of it as int64 several times over (the sort of the
    (term, row) pairs): ~14 KB of resident memory per chunk at the end of a first ingest. A slice at a time, the
    texts of one slice are alive at once and what grows with the store is the postings themselves. The result
    is the segment one call of `_segment` over all the rows makes, array for array (tested).
    """
    done = [_segment(ids, texts, cols, vocab) for ids, texts, cols in parts if len(ids)]
    if len(done) <= 1:
        return done[0] if done else None
    return merge_segments(done, [np.ones(len(seg.ids), bool) for seg in done], len(vocab), consume=True)


class BM25Index:
    """BM25 over chunk texts; `search` returns (chunk_id, score) best first.

    `build` indexes chunks from scratch; `update` returns the index with chunks removed and added, sharing the
    untouched segments. Rows are numbered across segments in order; deleted rows keep their number (and score 0)
    until a merge drops them. Scores equal bm25s's for the same live chunks.
    """

    def __init__(self, vocab: dict[str, int], segments: list[Segment], live: list[np.ndarray]) -> None:
        self.vocab = vocab
        self.segments = segments
        self.live = live  # per segment, True where the row is not deleted
        self.offsets = np.cumsum([0] + [len(s.ids) for s in segments])
        self.row_ids = [cid for s in segments for cid in s.ids]
        self.live_rows = np.concatenate(live) if live else np.zeros(0, bool)
        self.columns = FilterColumns.concat([s.columns for s in segments])
        lengths = np.concatenate([s.length for s in segments]) if segments else np.zeros(0, np.float32)
        self.n = int(self.live_rows.sum())
        # Lengths are whole token counts: summed as integers the average is the same whatever the row order.
        avg = int(lengths[self.live_rows].astype(np.int64).sum()) / self.n if self.n else 1.0
        # The length part of BM25's denominator, per row: k1 * (1 - b + b * length / average length).
        self._norm = [(K1 * (1 - B + B * s.length / avg)).astype(np.float32) for s in segments]
        self._whole = [bool(m.all()) for m in live]  # segments without deleted rows need no mask
        self._dfs: dict[int, int] = {}  # document frequency per term: the index never changes in place
        self._last: tuple[tuple[int, ...], np.ndarray] | None = None  # the last query's scores, never written to

    @property
    def ids(self) -> list[str]:
        """The live chunk ids, in row order."""
        return [cid for cid, ok in zip(self.row_ids, self.live_rows, strict=True) if ok]

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], columns: FilterColumns) -> BM25Index:
        return cls.build_from(slices(ids, texts, columns))

    @classmethod
    def build_from(cls, parts: Iterable[Rows]) -> BM25Index:
        """The index of the rows of `parts` ((ids, texts, columns) slices, e.g. Catalog.bm25_slices), in order."""
        vocab: dict[str, int] = {}
        seg = _segment_of(parts, vocab)
        return cls(vocab, [seg], [np.ones(len(seg.ids), bool)]) if seg else cls(vocab, [], [])

    def update(self, remove: Sequence[str], ids: Sequence[str], texts: Sequence[str],
               columns: FilterColumns) -> BM25Index:
        """This index without the chunks `remove` (and without any earlier row of `ids`), plus `ids`/`texts`."""
        return self.update_from(remove, slices(ids, texts, columns))

    def update_from(self, remove: Sequence[str], parts: Iterable[Rows]) -> BM25Index:
        """This index without the chunks `remove` (and without any earlier row of those `parts` add), plus the
        rows of `parts` ((ids, texts, columns) slices) as one new segment.

        The old index is left as it was (readers may still use it). Merges the segments when there would be more
        than MAX_SEGMENTS or more than MAX_DELETED of the rows would be deleted.
        """
        vocab = dict(self.vocab)
        added = _segment_of(parts, vocab)
        ids = added.ids if added else []
        gone = set(remove) | set(ids)
        live = [m.copy() for m in self.live]
        if gone:
            for seg, mask in zip(self.segments, live, strict=True):
                hit = [i for i, cid in enumerate(seg.ids) if cid in gone]
                if hit:
                    mask[hit] = False
        segments = list(self.segments)
        if added:
            segments.append(added)
            live.append(np.ones(len(ids), bool))
        # A fully deleted segment stays until the next merge: the vocabulary on disk is the concatenation of the
        # terms each segment added, so none may go missing from the middle.
        total = sum(len(m) for m in live)
        deleted = total - sum(int(m.sum()) for m in live)
        if len(segments) > MAX_SEGMENTS or (total and deleted / total > MAX_DELETED):
            segments = [merge_segments(segments, live, len(vocab))]
            live = [np.ones(len(segments[0].ids), bool)]
        return BM25Index(vocab, segments, live)

    def compact(self) -> BM25Index:
        """The same index as one segment without deleted rows."""
        merged = merge_segments(self.segments, self.live, len(self.vocab)) if self.segments else None
        return BM25Index(dict(self.vocab), [merged] if merged else [], [np.ones(len(merged.ids), bool)] if merged
                         else [])

    def __len__(self) -> int:
        return self.n

    def _df(self, term: int) -> int:
        df = self._dfs.get(term)
        if df is None:
            df = self._dfs[term] = sum(
                len(seg.postings(term)[0]) if whole else int(mask[seg.postings(term)[0]].sum())
                for seg, mask, whole in zip(self.segments, self.live, self._whole, strict=True))
        return df

    def scores(self, token_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every row for a query given as token ids (0 for deleted rows); do not write to it.

        The last query's scores are kept: the date-window channel asks the same words again under a filter.
        """
        key = tuple(token_ids)
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        out = np.zeros(len(self.row_ids), dtype=np.float32)
        for t in token_ids:
            df = self._df(t)
            if not df:
                continue
            idf = np.float32(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))
            for seg, mask, whole, norm, offset in zip(self.segments, self.live, self._whole, self._norm,
                                                      self.offsets, strict=False):
                rows, tf = seg.postings(t)
                if len(rows):
                    part = tf / (tf + norm[rows])
                    part *= idf
                    if not whole:
                        part *= mask[rows]
                    # A term's rows are unique within a segment: no collisions in the fancy-indexed add.
                    out[rows + offset] += part
        out.flags.writeable = False
        self._last = (key, out)
        return out

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if not self.n or k <= 0:
            return []
        token_ids = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        if not token_ids:
            return []
        scores = self.scores(token_ids)
        # Only rows a term reached can rank; the filters are tested on those alone.
        rows = np.flatnonzero(scores >= np.float32(1e-30))
        keep = self.columns.keep(filters or Filters(), rows)
        if keep is not None:
            rows = rows[keep]
        if not len(rows):
            return []
        got = scores[rows]
        k = min(k, len(rows))
        kth = np.partition(got, len(got) - k)[len(got) - k]
        # Every row tied with the k-th, then best first and ties by chunk id: the same answer whatever order the
        # rows are in (an updated index and a rebuilt one order them differently).
        top = rows[got >= kth]
        best = sorted(top.tolist(), key=lambda i: (-scores[i], self.row_ids[i]))[:k]
        return [(self.row_ids[i], float(scores[i])) for i in best]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of stemmed terms over the chunks: rare terms weigh more.

        idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)); a term absent from the index gets the highest value.
        """
        out = {}
        for t in terms:
            df = self._df(self.vocab[t]) if t in self.vocab else 0
            out[t] = float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))
        return out

    def nbytes(self) -> int:
        """Bytes of the arrays a search reads (postings, lengths, masks), the vocabulary left out."""
        return sum(a.nbytes for s, m, n in zip(self.segments, self.live, self._norm, strict=True)
                   for a in (s.indptr, s.rows, s.tf, s.length, m, n))

    # -- on disk ----------------------------------------------------------------------------------------------
    #
    # bm25/ holds one directory per segment (seg-<n>: its arrays, ids.json, and terms.json: the terms it added to
    # the vocabulary, in order, so that the vocabulary is the concatenation of the segments' lists), one
    # deleted-row file per segment that has any, and index.json, written last and atomically, naming which of them
    # make up the index. Files no index.json names are left-overs of an earlier index or of an interrupted save,
    # and go once the new index.json is in place.

    def save(self, directory: Path) -> None:
        """Write the segments not yet on disk and the deletions, then swap in the new index.json."""
        directory.mkdir(parents=True, exist_ok=True)
        _clear_dead_writers(directory)
        existing = _read_meta(directory)
        names = {n for n in (existing or {}).get("segments", [])}
        next_no = 1 + max((int(n.split("-")[1]) for n in names), default=0)
        pid = os.getpid()
        vocab_terms = sorted(self.vocab, key=self.vocab.__getitem__)
        entries = []
        known = 0  # terms numbered by the segments before
        for seg, mask in zip(self.segments, self.live, strict=True):
            n_terms = len(seg.indptr) - 1
            if seg.name is None or seg.name not in names or not (directory / seg.name / "ids.json").exists():
                seg.name = f"seg-{next_no:06d}-{pid}"  # the process id: two writers never share a name
                next_no += 1
                _write_segment(directory / seg.name, seg, vocab_terms[known:n_terms])
            known = max(known, n_terms)
            deleted = np.flatnonzero(~mask)
            entry: dict[str, Any] = {"name": seg.name, "rows": len(seg.ids), "terms": len(seg.indptr) - 1}
            if len(deleted):
                mask_file = f"{seg.name}.deleted-{time.time_ns()}-{pid}.npy"
                entry["deleted"] = mask_file
                np.save(directory / mask_file, deleted.astype(np.int32))
            entries.append(entry)
        checkpoint("bm25_tmp_written")
        meta = {"version": FORMAT_VERSION, "segments": [e["name"] for e in entries], "entries": entries}
        tmp = directory / f"index.json.{pid}.tmp"
        tmp.write_text(json.dumps(meta))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        checkpoint("bm25_between_renames")
        os.replace(tmp, directory / "index.json")
        # What the index this one replaces used and this one does not, and files of the format before segments.
        # Nothing else: a writer racing this one (two readers rebuilding an index of an older format at once) may
        # have files here that its index.json, swapped in after this one, names.
        used = {e["name"] for e in entries} | {e["deleted"] for e in entries if "deleted" in e}
        before = {e["name"] for e in (existing or {}).get("entries", [])} | \
            {e["deleted"] for e in (existing or {}).get("entries", []) if "deleted" in e}
        for name in (before - used) | (_OLD_FORMAT & {p.name for p in directory.iterdir()}):
            path = directory / name
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        """The saved index, or None when there is none (or it is from another format version)."""
        for _ in range(5):
            try:
                return cls._load(directory)
            except FileNotFoundError:  # a writer replaced the index between our reading index.json and its files
                time.sleep(0.05)
        return cls._load(directory)

    @classmethod
    def _load(cls, directory: Path) -> BM25Index | None:
        meta = _read_meta(directory)
        if meta is None or meta.get("version") != FORMAT_VERSION:
            return None
        vocab: dict[str, int] = {}
        segments, live = [], []
        for entry in meta["entries"]:
            seg, terms = _read_segment(directory / entry["name"])
            for term in terms:
                vocab[term] = len(vocab)
            if len(vocab) < len(seg.indptr) - 1:
                return None  # not an index this code wrote: rebuilt from the catalog
            mask = np.ones(len(seg.ids), bool)
            if "deleted" in entry:
                mask[np.load(directory / entry["deleted"])] = False
            segments.append(seg)
            live.append(mask)
        return cls(vocab, segments, live)


_OLD_FORMAT = {"data.npy", "indices.npy", "indptr.npy", "columns.npz", "vocab.json", "ids.json"}


def _clear_dead_writers(directory: Path) -> None:
    """Remove the temporary files and segments of writers that died before swapping their index in."""
    meta = _read_meta(directory) or {}
    named = {e["name"] for e in meta.get("entries", [])} | {e["deleted"] for e in meta.get("entries", [])
                                                            if "deleted" in e}
    for path in directory.iterdir():
        if path.name in named or path.name == "index.json":
            continue
        name = path.name
        pid = name.split(".")[-2] if name.endswith(".tmp") else name.removesuffix(".npy").rsplit("-", 1)[-1]
        with contextlib.suppress(ValueError, ProcessLookupError):
            os.kill(int(pid), 0)
            continue  # its writer is alive (or this is not a name of ours): left alone
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _read_meta(directory: Path) -> dict | None:
    try:
        return json.loads((directory / "index.json").read_text())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None


def _write_segment(path: Path, seg: Segment, terms: list[str]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in ("indptr", "rows", "tf", "length"):
        np.save(tmp / f"{name}.npy", getattr(seg, name))
    np.savez(tmp / "columns.npz", source=seg.columns.source.astype(str), author=seg.columns.author.astype(str),
             day=seg.columns.day)
    (tmp / "terms.json").write_text(json.dumps(terms, ensure_ascii=False))
    (tmp / "ids.json").write_text(json.dumps(seg.ids))  # last: its presence marks a complete segment
    os.replace(tmp, path)


def _read_segment(path: Path) -> tuple[Segment, list[str]]:
    cols = np.load(path / "columns.npz")
    columns = FilterColumns(cols["source"].astype(object), cols["author"].astype(object), cols["day"])
    # Mapped, not read: a process that loads the index to update it (an ingest of one article) touches a few
    # pages of a million rows' postings; a search reads the pages of its terms. Nothing writes into these arrays.
    indptr, rows, tf, length = (np.load(path / f"{n}.npy", mmap_mode="r") for n in ("indptr", "rows", "tf",
                                                                                     "length"))
    seg = Segment(json.loads((path / "ids.json").read_text()), indptr, rows, tf, length, columns, name=path.name)
    return seg, json.loads((path / "terms.json").read_text())
