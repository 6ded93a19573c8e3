"""A persisted BM25 index over chunk ids (bm25s), with per-chunk metadata arrays so filters apply inside it.

>>> idx = BM25Index.build(["c1", "c2"], ["The bridge is long", "Rates rose in Brazil"], FilterColumns.empty(2))
>>> idx.search("bridge", k=5)[0][0]
'c1'
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.faults import checkpoint
from rag.text.words import QUERY_STOPWORDS, stem_words
from rag.types import Filters, iso_to_day

FORMAT_VERSION = 7  # 7: tokens folded by rag.text.words (British spellings, said/say, one measure table)
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

    def mask(self, filters: Filters) -> np.ndarray | None:
        """1.0 where a chunk passes the filters, else 0.0; None when there are no filters."""
        if filters.is_empty():
            return None
        keep = np.ones(len(self.day), dtype=bool)
        if filters.source:
            keep &= self.source == norm_key(filters.source)
        if filters.author:
            keep &= self.author == norm_key(filters.author)
        if filters.since:
            keep &= self.day >= iso_to_day(filters.since)
        if filters.until:
            keep &= (self.day >= 0) & (self.day <= iso_to_day(filters.until))
        return keep.astype(np.float32)


class BM25Index:
    """BM25 over chunk texts; `search` returns (chunk_id, score) best first.

    bm25s builds the index (its BM25 scores per token and chunk, as a sparse matrix by token). Queries read that
    matrix with numpy alone: a query's score is the sum of its tokens' precomputed scores, exactly what bm25s
    computes, without importing scipy at start-up.
    """

    def __init__(self, ids: list[str], vocab: dict[str, int], data: np.ndarray, indices: np.ndarray,
                 indptr: np.ndarray, columns: FilterColumns) -> None:
        self.ids = ids
        self.vocab = vocab
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.columns = columns

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], columns: FilterColumns) -> BM25Index:
        if not ids:
            empty = np.zeros(0, dtype=np.float32)
            return cls([], {}, empty, empty.astype(np.int32), np.zeros(1, dtype=np.int64), columns)
        import bm25s

        model = bm25s.BM25()
        # An empty token list would drop the chunk from bm25s's matrix; a placeholder keeps rows aligned.
        model.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
        sc = model.scores
        return cls(list(ids), dict(model.vocab_dict), np.asarray(sc["data"]), np.asarray(sc["indices"]),
                   np.asarray(sc["indptr"]), columns)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, token_ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every chunk for a query given as token ids."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for t in token_ids:
            lo, hi = self.indptr[t], self.indptr[t + 1]
            out[self.indices[lo:hi]] += self.data[lo:hi]  # a token's chunk indices are unique: no collisions
        return out

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if not self.ids or k <= 0:
            return []
        token_ids = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
        if not token_ids:
            return []
        scores = self.scores(token_ids)
        mask = self.columns.mask(filters or Filters())
        if mask is not None:
            scores *= mask
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of stemmed terms over the chunks: rare terms weigh more.

        idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)); a term absent from the index gets the highest value.
        """
        n = len(self.ids)
        out = {}
        for t in terms:
            df = int(self.indptr[self.vocab[t] + 1] - self.indptr[self.vocab[t]]) if t in self.vocab else 0
            out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def save(self, directory: Path) -> None:
        """Write to a temporary sibling, then swap it in, so a crash never leaves a half-written index.

        The temporary name is this process's own: two processes that both find an index of an older format rebuild
        it at once, and the one that swaps in second keeps the first one's (identical) index.
        """
        for left in directory.parent.glob(f"{directory.name}.*.tmp"):  # left by a process that died writing
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(left.name.split(".")[-2]), 0)
                continue
            shutil.rmtree(left, ignore_errors=True)
        tmp = directory.with_name(f"{directory.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "data.npy", self.data)
        np.save(tmp / "indices.npy", self.indices)
        np.save(tmp / "indptr.npy", self.indptr)
        np.savez(tmp / "columns.npz", source=self.columns.source.astype(str), author=self.columns.author.astype(str),
                 day=self.columns.day)
        (tmp / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False))
        # ids.json last: its presence marks a complete index.
        (tmp / "ids.json").write_text(json.dumps({"version": FORMAT_VERSION, "ids": self.ids}))
        checkpoint("bm25_tmp_written")
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
            checkpoint("bm25_between_renames")
        try:
            os.replace(tmp, directory)
        except OSError:
            if not (directory / "ids.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process swapped in its index first
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        """The saved index, or None when there is none (or it is from another format version)."""
        if not directory.exists():
            old = directory.with_name(directory.name + ".old")  # a crash between the two renames of save()
            if old.exists():
                os.replace(old, directory)
            else:
                return None
        try:
            meta = json.loads((directory / "ids.json").read_text())
        except (FileNotFoundError, ValueError):
            return None
        if meta.get("version") != FORMAT_VERSION:
            return None
        cols = np.load(directory / "columns.npz")
        columns = FilterColumns(cols["source"].astype(object), cols["author"].astype(object), cols["day"])
        return cls(meta["ids"], json.loads((directory / "vocab.json").read_text()),
                   np.load(directory / "data.npy"), np.load(directory / "indices.npy"),
                   np.load(directory / "indptr.npy"), columns)
