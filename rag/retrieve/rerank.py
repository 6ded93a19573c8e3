"""The rerank stage: a linear model over the features of rag/retrieve/features.py, article-level.

The fused candidates (chunks) are scored with the question: what the retrievers said, how well the chunk's
sentences and the article's title cover the question's rare words, shared entities and numbers, and the date
prior. With article-level ranking on, the chunks of one article are pooled into one row (best of each
feature, how many of its chunks matched, what they cover together) and articles are ranked; each article is
represented by its best chunk, and its second-best chunk follows only when it scores above the next article's
best (the answerer sees at most two passages per article either way, see `diversify`).

The weights are fitted by eval/train_rerank.py on questions made from the corpus's own articles (never on the
evaluation questions) and shipped in rerank_weights.json: one weight vector per variant, so the ablation can
turn each addition on alone. The file carries a format version, checked on load.

>>> weights = load_weights(variant="all")
>>> weights.article, len(weights.w) == len(FEATURES)
(True, True)
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.errors import SettingsError
from rag.retrieve.features import ARTICLE_FEATURES, FEATURES, GROUPS, Idf, QueryInfo, article_features, chunk_features
from rag.types import Passage

WEIGHTS_FILE = Path(__file__).with_name("rerank_weights.json")
WEIGHTS_VERSION = 1
# Which feature groups each variant uses, and whether it ranks articles (True) or chunks.
VARIANTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "fusion": (("fusion",), False),
    "date": (("fusion", "date"), False),
    "article": (("fusion", "article"), True),
    "rerank": (("fusion", "rerank"), False),
    "date+article": (("fusion", "date", "article"), True),
    "all": (("fusion", "date", "rerank", "article"), True),
}


def uses_dates(variant: str) -> bool:
    """Does the variant read the date prior (and so want the date-window channel among its candidates)?"""
    return variant in VARIANTS and "date" in VARIANTS[variant][0]


def variant_features(variant: str) -> tuple[str, ...]:
    """The feature names a variant may use (the others get weight 0)."""
    groups, _ = VARIANTS[variant]
    return tuple(f for f in FEATURES if any(f in GROUPS[g] for g in groups))


@dataclass(frozen=True)
class Weights:
    """A fitted weight vector over FEATURES (raw feature scale; a score is x @ w, higher is better)."""

    variant: str
    w: np.ndarray
    article: bool

    def score(self, x: np.ndarray) -> np.ndarray:
        return x @ self.w if len(x) else np.zeros(0, dtype=np.float32)


@lru_cache(maxsize=16)
def _read(path: str) -> dict:  # type: ignore[type-arg]
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"cannot read the rerank weights {path}: {exc}; reinstall newsdesk or set "
                            "NEWSDESK_RERANK=off") from None
    if data.get("version") != WEIGHTS_VERSION:
        raise SettingsError(f"the rerank weights {path} have format version {data.get('version')}, this newsdesk "
                            f"reads {WEIGHTS_VERSION}; refit them with `python -m eval.train_rerank` or set "
                            "NEWSDESK_RERANK=off")
    if tuple(data.get("features", ())) != FEATURES:
        raise SettingsError(f"the rerank weights {path} name other features than this newsdesk computes; refit "
                            "them with `python -m eval.train_rerank`")
    return data


def load_weights(path: str | Path = WEIGHTS_FILE, *, variant: str = "all") -> Weights:
    """The fitted weights of one variant from the versioned weight file."""
    if variant not in VARIANTS:
        raise SettingsError(f"unknown rerank variant {variant!r}; set NEWSDESK_RERANK to off or one of "
                            f"{', '.join(VARIANTS)}")
    data = _read(str(path))
    entry = data["variants"].get(variant)
    if entry is None:
        raise SettingsError(f"the rerank weights {path} have no variant {variant!r}; refit them with "
                            "`python -m eval.train_rerank`")
    w = np.array([entry["weights"].get(f, 0.0) for f in FEATURES], dtype=np.float32)
    return Weights(variant, w, VARIANTS[variant][1])


def order_passages(passages: Sequence[Passage], chunk_scores: np.ndarray,
                   article_scores: dict[str, float] | None) -> list[Passage]:
    """Best first. Without article scores: by chunk score. With them: articles by score, each by its best chunk,
    its second-best right after when that beats the next article's best chunk; every other chunk after all that.

    >>> p = lambda c, a: Passage(c, a, "t", 0, 1, "T", 0.0)
    >>> ps = [p("a1", "A"), p("a2", "A"), p("b1", "B")]
    >>> [x.chunk_id for x in order_passages(ps, np.array([0.9, 0.8, 0.5]), {"A": 2.0, "B": 1.0})]
    ['a1', 'a2', 'b1']
    >>> [x.chunk_id for x in order_passages(ps, np.array([0.9, 0.4, 0.5]), {"A": 2.0, "B": 1.0})]
    ['a1', 'b1', 'a2']
    """
    by_chunk = sorted(range(len(passages)), key=lambda i: -float(chunk_scores[i]))
    if article_scores is None:
        return [passages[i] for i in by_chunk]
    members: dict[str, list[int]] = {}
    for i in by_chunk:
        members.setdefault(passages[i].article_id, []).append(i)
    articles = sorted(members, key=lambda a: -article_scores[a])
    head: list[int] = []
    tail: list[int] = []
    for n, aid in enumerate(articles):
        idx = members[aid]
        head.append(idx[0])
        nxt = members[articles[n + 1]][0] if n + 1 < len(articles) else None
        if len(idx) > 1 and (nxt is None or chunk_scores[idx[1]] > chunk_scores[nxt]):
            head.append(idx[1])
            tail.extend(idx[2:])
        else:
            tail.extend(idx[1:])
    return [passages[i] for i in head + tail]


class LearnedReranker:
    """Reranks fused candidates with fitted weights; `idf` gives the store's term weights (None: all equal).

    Passages come in with their cosine similarity as `score` and their retriever ranks in `ranks`
    ({"dense": 1, "bm25": 3, "window": 2}); they go out in the new order, unchanged.
    """

    def __init__(self, weights: Weights, idf: Callable[[], Idf | None] | None = None) -> None:
        self.weights = weights
        self._idf = idf or (lambda: None)

    def features(self, query: str, passages: Sequence[Passage], as_of: _dt.date | None) -> np.ndarray:
        return chunk_features(QueryInfo.build(query, self._idf(), as_of), passages, [p.score for p in passages])

    def rerank(self, query: str, passages: Sequence[Passage], *, as_of: _dt.date | None = None) -> list[Passage]:
        if not passages:
            return []
        x = self.features(query, passages, as_of)
        chunk_scores = self.weights.score(x)
        article_scores = None
        if self.weights.article:
            order, rows, _ = article_features(passages, x)
            article_scores = dict(zip(order, self.weights.score(rows).tolist(), strict=True))
        return order_passages(passages, chunk_scores, article_scores)


def make_reranker(variant: str, idf: Callable[[], Idf | None] | None = None) -> LearnedReranker | None:
    """The reranker of a variant ("off" -> None)."""
    if variant == "off":
        return None
    return LearnedReranker(load_weights(variant=variant), idf)


__all__ = ["ARTICLE_FEATURES", "FEATURES", "VARIANTS", "LearnedReranker", "Weights", "load_weights",
           "make_reranker", "order_passages", "uses_dates", "variant_features"]
