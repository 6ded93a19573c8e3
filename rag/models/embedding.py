"""Embedders: the Protocol the rest of the code sees, and the factory that picks one from settings.

>>> emb = make_embedder("hash")  # the deterministic test embedder from rag.testing
>>> emb.embed(["bridge length"]).shape[1] == emb.dim
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from rag.errors import SettingsError


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (len(texts), dim)."""

    name: str  # recorded in the store's manifest; a store refuses another name
    # An embedder may also have `precision` ("int8" | "fp32", the variant of its graph), recorded in the manifest
    # as well; one without it counts as "fp32". See embedding_precision().
    dim: int
    max_tokens: int  # the model's input window in its own tokens, special tokens excluded

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int:
        """Length of `text` in the model's own tokens (special tokens excluded)."""
        ...


def make_embedder(model: str, *, api_key: str | None = None, base_url: str | None = None,
                  precision: str | None = None) -> Embedder:
    """The embedder for a model name: "all-MiniLM-L6-v2" (offline, default), "openai:<model>", "hash" (tests).

    `precision` ("int8" | "fp32", default int8) picks the MiniLM graph; the other models have one variant each.
    """
    if model in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        from rag.models.minilm import DEFAULT_PRECISION, MiniLMEmbedder

        return MiniLMEmbedder(precision=precision or DEFAULT_PRECISION)
    if model == "hash" or model.startswith("hash:"):
        from rag.testing import HashEmbedder

        return HashEmbedder(dim=int(model.split(":")[1]) if ":" in model else 256)
    if model.startswith("openai:"):
        from rag.models.openai_embed import OpenAIEmbedder

        return OpenAIEmbedder(model.split(":", 1)[1], api_key=api_key, base_url=base_url)
    raise SettingsError(
        f"unknown embedding model {model!r}: set NEWSDESK_EMBEDDING_MODEL to all-MiniLM-L6-v2 or openai:<model>"
    )


def embedding_precision(embedder: object) -> str:
    """The variant of an embedder's model that its vectors come from: its `precision`, else "fp32".

    >>> embedding_precision(make_embedder("hash"))
    'fp32'
    """
    return str(getattr(embedder, "precision", None) or "fp32")
