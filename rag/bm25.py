"""A persisted BM25 index over chunk ids (bm25s), with per-chunk metadata arrays so filters apply inside it.

>>> idx = BM25Index.build(["c1", "c2"], ["The bridge is long", "Rates rose in Brazil"], FilterColumns.empty(2))
>>> idx.search("bridge", k=5)[0][0]
'c1'
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.types import Filters, iso_to_day

FORMAT_VERSION = 1
_WORD = re.compile(r"\w+", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # bm25s's list misses some auxiliaries and question words that carry no topic.
    extra = """am are is was were be been being do does did doing have has had having would should could might
    must shall can may will what which who whom whose when where why how""".split()
    return frozenset(STOPWORDS_EN) | frozenset(extra)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, stemmed: "The bridges were built" -> ['bridg', 'built']."""
    stop = _stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in stop]
    return _stemmer().stemWords(words)


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
    """BM25 over chunk texts; `search` returns (chunk_id, score) best first."""

    def __init__(self, ids: list[str], model, columns: FilterColumns) -> None:  # type: ignore[no-untyped-def]
        self.ids = ids
        self.model = model
        self.columns = columns

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], columns: FilterColumns) -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        if ids:
            model.index([tokenize(t) or ["\u2205"] for t in texts], show_progress=False)
        return cls(list(ids), model if ids else None, columns)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        if not self.ids or k <= 0:
            return []
        vocab = self.model.vocab_dict
        token_ids = [vocab[t] for t in tokenize(query) if t in vocab]
        if not token_ids:
            return []
        mask = self.columns.mask(filters or Filters())
        scores = self.model.get_scores(token_ids, weight_mask=mask)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, terms: Sequence[str]) -> dict[str, float]:
        """Inverse document frequency of stemmed terms over the chunks: rare terms weigh more.

        idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)); a term absent from the index gets the highest value.
        """
        n = len(self.ids)
        if not n or self.model is None:
            return {t: 1.0 for t in terms}
        vocab, indptr = self.model.vocab_dict, self.model.scores["indptr"]
        out = {}
        for t in terms:
            df = int(indptr[vocab[t] + 1] - indptr[vocab[t]]) if t in vocab else 0
            out[t] = float(np.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def save(self, directory: Path) -> None:
        """Write to a temporary sibling, then swap it in, so a crash never leaves a half-written index."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.model is not None:
            self.model.save(str(tmp / "model"), show_progress=False)
        np.savez(tmp / "columns.npz", source=self.columns.source.astype(str), author=self.columns.author.astype(str),
                 day=self.columns.day)
        (tmp / "ids.json").write_text(json.dumps({"version": FORMAT_VERSION, "ids": self.ids}))
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
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
        meta = json.loads((directory / "ids.json").read_text())
        if meta.get("version") != FORMAT_VERSION:
            return None
        ids = meta["ids"]
        cols = np.load(directory / "columns.npz")
        columns = FilterColumns(cols["source"].astype(object), cols["author"].astype(object), cols["day"])
        model = None
        if ids:
            import bm25s

            model = bm25s.BM25.load(str(directory / "model"), show_progress=False)
        return cls(ids, model, columns)
