"""Embeddings from the OpenAI API (or a compatible server), behind the Embedder protocol.

The deadline, retry and error rules of rag.models.calls, as for the chat client; a wrong key or model is a
SettingsError (it will not fix itself by retrying), a failing or unreachable endpoint an LLMError.

>>> from rag.testing import FakeOpenAIServer
>>> with FakeOpenAIServer(embedding_dim=64) as server:
...     emb = OpenAIEmbedder("fake-embedding", api_key=None, base_url=server.base_url)
...     emb.embed(["bridge length", "election"]).shape, emb.name, emb.dim
((2, 64), 'openai:fake-embedding', 64)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rag.errors import SettingsError
from rag.models.calls import OPENAI_BASE_URL, _call, _make_client, _Malformed, _parse_errors, _Service
from rag.text.tokens import encoding

# Dimensions of the models we know, so a store can record the dimension before any call.
KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
MAX_TOKENS = 8191  # the input window of OpenAI's embedding models, in cl100k tokens

class OpenAIEmbedder:
    """An Embedder on the OpenAI embeddings API: L2-normalised float32 vectors, `batch` texts per request.

    `dim` comes from KNOWN_DIMS, or from the first reply for other models (reading it then makes one call;
    note that on Python 3.11 `isinstance(x, Embedder)` reads it too).

    >>> OpenAIEmbedder("text-embedding-3-small", api_key="sk-test", base_url=None).dim
    1536
    """

    max_tokens = MAX_TOKENS

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        batch: int = 256,
        timeout: float = 60.0,
        max_retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        if not model:
            raise SettingsError("no embedding model given: set NEWSDESK_EMBEDDING_MODEL to openai:<model>")
        if batch < 1:
            raise SettingsError(f"the embedding batch must be at least 1, got {batch}")
        self.model = model
        self.name = f"openai:{model}"
        self.batch = batch
        self.timeout = float(timeout)
        self.max_retries = max(int(max_retries), 0)
        self.backoff = backoff
        self._dim: int | None = KNOWN_DIMS.get(model)
        self._client = _make_client(base_url, api_key, self.timeout, what=f"the embedding model {self.name}")
        self._svc = _Service(
            what="the embedding endpoint",
            endpoint="the embedding endpoint",
            url=base_url or OPENAI_BASE_URL,
            model=model,
            model_var="NEWSDESK_EMBEDDING_MODEL",
            timeout_var=None,
            config_error=SettingsError,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.model!r}, base_url={self._svc.url!r})"

    @property
    def dim(self) -> int:
        """The vector length. For a model outside KNOWN_DIMS, the first read makes one call to learn it
        (unless an embed() call or the setter, e.g. from a store's manifest, already set it).
        """
        if self._dim is None:
            self.embed(["dimension probe"])  # sets _dim from the reply
        assert self._dim is not None
        return self._dim

    @dim.setter
    def dim(self, value: int) -> None:
        self._dim = int(value)

    def count_tokens(self, text: str) -> int:
        """Length in cl100k tokens, special-token text counted as plain text (as the API does)."""
        return len(encoding().encode_ordinary(text))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The API rejects empty strings; a single space embeds "nothing" without failing the batch.
        inputs = [t if t.strip() else " " for t in texts]
        parts = []
        for start in range(0, len(inputs), self.batch):
            batch = inputs[start : start + self.batch]
            parts.append(
                _call(lambda left, b=batch: self._embed_once(b, left),  # type: ignore[misc]
                      svc=self._svc, timeout=self.timeout, max_retries=self.max_retries, backoff=self.backoff)
            )
        vectors = np.concatenate(parts, axis=0)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # leave an all-zero vector as it is rather than divide by zero
        return (vectors / norms).astype(np.float32, copy=False)

    def _embed_once(self, batch: list[str], left: float) -> np.ndarray:
        try:
            reply = self._client.embeddings.create(model=self.model, input=batch, timeout=left)
        except ValueError as exc:  # the SDK lets a body that is not JSON escape as JSONDecodeError
            raise _Malformed(str(exc)) from exc
        try:
            data = reply.data
            if not isinstance(data, list) or len(data) != len(batch):
                raise _Malformed(f"expected {len(batch)} embeddings")
            # The API may return items out of order; `index` says where each belongs.
            rows = sorted(data, key=lambda item: int(item.index))
            vectors = np.asarray([list(item.embedding) for item in rows], dtype=np.float32)
        except _parse_errors() as exc:
            raise _Malformed(str(exc)) from exc
        if vectors.ndim != 2 or vectors.shape[1] == 0 or not np.isfinite(vectors).all():
            raise _Malformed("embeddings are not finite vectors of one length")
        got = int(vectors.shape[1])
        if self._dim is None:
            self._dim = got
        elif got != self._dim:
            raise SettingsError(
                f"the embedding endpoint returned {got}-dimensional vectors for {self.model!r}, expected {self._dim}; "
                "check NEWSDESK_EMBEDDING_MODEL and NEWSDESK_LLM_BASE_URL")
        return vectors
