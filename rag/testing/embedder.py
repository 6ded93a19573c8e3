"""HashEmbedder: a deterministic embedder whose similarities rank (shared words -> higher cosine).

>>> emb = HashEmbedder(dim=64)
>>> q, near, far = emb.embed(["bridge length", "the bridge is 3 km in length", "election results"])
>>> bool(q @ near > q @ far)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

from rag.testing.replies import _WORD


@lru_cache(maxsize=1 << 16)
def _hash64(feature: str) -> int:
    # blake2b rather than hash(): Python's str hash is salted per process, and vectors must be equal across runs.
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")


def _features(text: str) -> Iterator[tuple[str, float]]:
    """Lower-cased word unigrams (weight 1) and character trigrams of each word (weight 0.25).

    Trigrams make "bridges" and "bridge" close without any stemmer; their low weight keeps whole-word
    overlap the main signal.
    """
    for word in _WORD.findall(text.lower()):
        yield "w:" + word, 1.0
        padded = f" {word} "
        for i in range(len(padded) - 2):
            yield "c:" + padded[i : i + 3], 0.25


class HashEmbedder:
    """A deterministic embedder (signed feature hashing) whose cosine similarities rank meaningfully.

    The more words (and word pieces) a text shares with a query, the higher its cosine; unrelated texts score
    near 0. No model, no network, identical vectors in every process.

    >>> emb = HashEmbedder(dim=32)
    >>> emb.name, emb.dim, emb.count_tokens("Bridge, 3 km long!")
    ('hash-32', 32, 4)
    >>> v = emb.embed(["bridge"]); round(float(v[0] @ v[0]), 4)
    1.0
    """

    max_tokens = 256

    def __init__(self, dim: int = 256) -> None:
        if dim < 8:
            raise ValueError(f"HashEmbedder needs dim >= 8, got {dim}")
        self.dim = dim
        self.name = f"hash-{dim}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vec = out[row]
            for feature, weight in _features(text):
                h = _hash64(feature)
                # The top bit gives the sign so collisions cancel on average instead of piling up.
                vec[h % self.dim] += weight if h >> 63 else -weight
            if not vec.any():
                # Empty (or all-punctuation) text: a fixed unit vector keeps the output L2-normalised.
                h = _hash64("<empty>")
                vec[h % self.dim] = 1.0
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def count_tokens(self, text: str) -> int:
        """Number of words (runs of letters/digits between whitespace and punctuation)."""
        return len(_WORD.findall(text))
