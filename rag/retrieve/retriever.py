"""Hybrid retrieval: dense (Chroma) + BM25 over the same chunk ids, fused (reciprocal rank fusion by default, a
convex combination of normalised scores on request), optionally reranked.

Filters are applied inside both stores. A question about the latest news gets a recency ranking fused in too.

>>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)[0][0]
'b'
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.models.embedding import Embedder
from rag.store.store import Store
from rag.types import Filters, Passage

_RECENT = re.compile(r"\b(latest|most recent|newest|recent(ly)?|current(ly)?|now|today|this (week|month|year)|"
                     r"so far|as of|up to date|still)\b", re.I)


def wants_recent(question: str) -> bool:
    """Whether the question asks for the newest state of things ("What is the latest on ...?")."""
    return bool(_RECENT.search(question))


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """RRF: score(d) = sum_i w_i / (k + rank_i(d)), ranks from 1; best first, ties by first appearance."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def convex_fusion(dense: Sequence[tuple[str, float]], lexical: Sequence[tuple[str, float]],
                  alpha: float = 0.8) -> list[tuple[str, float]]:
    """score(d) = alpha * dense'(d) + (1 - alpha) * bm25'(d), each min-max normalised over its own candidates
    (0 when a list lacks d); best first.

    `fusion = "convex"`; RRF is the default (see Settings.fusion for the measurement behind the choice).

    >>> convex_fusion([("a", 0.9), ("b", 0.8), ("c", 0.1)], [("b", 12.0), ("c", 3.0)], alpha=0.5)[0][0]
    'b'
    """
    def normalise(scored: Sequence[tuple[str, float]]) -> dict[str, float]:
        if not scored:
            return {}
        values = [s for _, s in scored]
        lo, hi = min(values), max(values)
        return {c: (s - lo) / (hi - lo) if hi > lo else 1.0 for c, s in scored}

    nd, nl = normalise(dense), normalise(lexical)
    order = list(dict.fromkeys([c for c, _ in dense] + [c for c, _ in lexical]))
    scores = {c: alpha * nd.get(c, 0.0) + (1 - alpha) * nl.get(c, 0.0) for c in order}
    return sorted(scores.items(), key=lambda kv: -kv[1])


def diversify(passages: Sequence[Passage], k: int, per_article: int = 2) -> list[Passage]:
    """The first k passages in order, at most `per_article` from one article unless too few others remain."""
    picked: list[Passage] = []
    held: list[Passage] = []
    count: dict[str, int] = {}
    for p in passages:
        if count.get(p.article_id, 0) < per_article:
            picked.append(p)
            count[p.article_id] = count.get(p.article_id, 0) + 1
        else:
            held.append(p)
        if len(picked) == k:
            return picked
    rank = {p.chunk_id: i for i, p in enumerate(passages)}
    return sorted(picked + held[: k - len(picked)], key=lambda p: rank[p.chunk_id])


class Reranker(Protocol):
    """Reorders passages for a query (e.g. a cross-encoder); returns them best first."""

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]: ...


@dataclass
class Retrieval:
    passages: list[Passage]
    query: str
    dense: list[tuple[str, float]] = field(default_factory=list)
    lexical: list[tuple[str, float]] = field(default_factory=list)
    query_vector: np.ndarray | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def top_similarity(self) -> float:
        """Cosine similarity of the best dense hit (0 when there is none)."""
        return max((s for _, s in self.dense), default=0.0)


class Retriever:
    """`retrieve(query, k, filters)` -> Retrieval whose passages carry their cosine similarity as `score`."""

    def __init__(self, store: Store, embedder: Embedder, *, candidates: int = 40, fusion: str = "rrf",
                 rrf_k: int = 60, alpha: float = 0.8, reranker: Reranker | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.fusion = fusion
        self.rrf_k = rrf_k
        self.alpha = alpha
        self.reranker = reranker

    def retrieve(self, query: str, k: int, filters: Filters | None = None, *, recent: bool | None = None,
                 fusion: str | None = None) -> Retrieval:
        filters = filters or Filters()
        fusion = fusion or self.fusion
        self.store.refresh()  # pick up an ingest another process finished since the last question
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        vector = self.embedder.embed([query])[0]
        t1 = time.perf_counter()
        n = max(self.candidates, k)
        dense = self.store.dense(vector, n, filters) if fusion != "bm25" else []
        t2 = time.perf_counter()
        lexical = self.store.lexical(query, n, filters) if fusion != "dense" else []
        t3 = time.perf_counter()
        timings.update(embed=(t1 - t0) * 1e3, dense=(t2 - t1) * 1e3, bm25=(t3 - t2) * 1e3)

        if fusion == "rrf":
            rankings = [[c for c, _ in dense], [c for c, _ in lexical]]
            fused = reciprocal_rank_fusion([r for r in rankings if r], k=self.rrf_k)
        else:  # "convex"; with one list empty ("dense"/"bm25" only) it is that list's order
            fused = convex_fusion(dense, lexical, alpha=self.alpha)
        pool = fused[: max(3 * k, 20)]
        similarity = dict(dense)
        missing = [cid for cid, _ in pool if cid not in similarity]
        if missing:
            similarity.update(self._similarities(vector, missing))
        passages = self.store.passages([(cid, similarity.get(cid, 0.0)) for cid, _ in pool])
        if recent if recent is not None else wants_recent(query):
            passages = self._prefer_recent(passages)
        if self.reranker is not None:
            passages = self.reranker.rerank(query, passages)
        timings["fuse"] = (time.perf_counter() - t3) * 1e3
        return Retrieval(passages=diversify(passages, k), query=query, dense=dense, lexical=lexical,
                         query_vector=vector, timings_ms=timings)

    def _similarities(self, vector: np.ndarray, chunk_ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the query to chunks that only BM25 found, from their stored vectors."""
        try:
            got = self.store.embeddings(chunk_ids)
        except Exception:  # noqa: BLE001 - Chroma's errors share no base class
            # Mid-way through another process's ingest, BM25 may name chunks this process's Chroma has not
            # loaded: they rank without a cosine rather than failing the question.
            return {}
        if not got:
            return {}
        mat = np.stack(list(got.values()))
        sims = mat @ vector / (np.linalg.norm(mat, axis=1) * (np.linalg.norm(vector) or 1.0) + 1e-9)
        return {cid: float(s) for cid, s in zip(got, sims, strict=True)}

    def _prefer_recent(self, passages: list[Passage]) -> list[Passage]:
        """Fuse the relevance order with a newest-first order, so recent articles rise among relevant ones."""
        relevance = [p.chunk_id for p in passages]
        dated = sorted((p for p in passages if p.published), key=lambda p: p.published or "", reverse=True)
        fused = reciprocal_rank_fusion([relevance, [p.chunk_id for p in dated]], k=self.rrf_k, weights=[1.0, 0.6])
        by_id = {p.chunk_id: p for p in passages}
        return [by_id[c] for c, _ in fused]
