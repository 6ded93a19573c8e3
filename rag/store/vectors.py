"""The vectors: one Chroma collection (embedded under `<store>/chroma`, or on a Chroma server), our vectors only.

chromadb is imported here and nowhere else. The collection is opened on first use (a second of imports), with no
embedding function of Chroma's own and telemetry off; ids are chunk ids, metadata carries the filter keys.

>>> chroma_where(Filters(source="www.CNN.com", since="2023-05-01"))
{'$and': [{'source_key': 'cnn.com'}, {'published_day': {'$gte': 19478}}]}
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import SettingsError, StoreMismatchError
from rag.faults import checkpoint
from rag.store.bm25 import norm_key
from rag.types import Filters, iso_to_day

# BM25 generations this process wrote: its own Chroma client saw those writes, so they need no re-open (refresh()).
_WRITTEN_HERE: set[str] = set()


def chroma_where(filters: Filters) -> dict[str, Any] | None:
    """Chroma `where` clause for the filters: {"source_key": "cnn.com"} or {"$and": [...]}."""
    parts: list[dict[str, Any]] = []
    if filters.source:
        parts.append({"source_key": norm_key(filters.source)})
    if filters.author:
        parts.append({"author_key": norm_key(filters.author)})
    if filters.since:
        parts.append({"published_day": {"$gte": iso_to_day(filters.since)}})
    if filters.until:
        parts.append({"published_day": {"$lte": iso_to_day(filters.until)}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _chroma_client(root: Path, chroma_url: str | None):  # type: ignore[no-untyped-def]
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise SettingsError(f"NEWSDESK_CHROMA_URL must look like http://HOST:PORT, not {chroma_url!r}")
        try:
            client = chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                         ssl=url.scheme == "https", settings=settings)
            client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - any transport failure means the same thing to the user
            raise SettingsError(f"cannot reach the Chroma server at {chroma_url} ({type(exc).__name__}); "
                                "start it (chroma run --path DIR) or fix NEWSDESK_CHROMA_URL") from None
        return client
    return chromadb.PersistentClient(path=str(root / "chroma"), settings=settings)


class ChromaVectors:
    """The store's Chroma collection; `generation()` reads the store's BM25 generation (see `refresh`)."""

    def __init__(self, root: Path, *, embedding_model: str | None, dim: int, chroma_url: str | None,
                 collection: str, generation: Callable[[], str | None]) -> None:
        self.root = root
        self.chroma_url = chroma_url
        self.collection_name = collection
        self.embedding_model = embedding_model
        self.dim = dim
        self._generation = generation
        self._collection: Any = None
        self._collection_lock = threading.Lock()
        self._opened_at: str | None = None  # the store's bm25_generation when Chroma was opened; see refresh()

    @property
    def is_open(self) -> bool:
        return self._collection is not None

    @property
    def collection(self) -> Any:
        with self._collection_lock:
            if self._collection is None:
                if (self.root / "catalog.db").exists():
                    self._opened_at = self._generation()
                client = _chroma_client(self.root, self.chroma_url)
                meta = {"embedding_model": self.embedding_model or "", "dim": self.dim if self.embedding_model else 0}
                col = client.get_or_create_collection(self.collection_name, embedding_function=None,
                                                      configuration={"hnsw": {"space": "cosine"}}, metadata=meta)
                have = col.metadata or {}
                if self.embedding_model and have.get("embedding_model") not in (None, "", self.embedding_model):
                    raise StoreMismatchError(
                        f"the Chroma collection {self.collection_name!r} holds vectors of {have.get('embedding_model')}"
                        f", not {self.embedding_model}; set NEWSDESK_COLLECTION to another name")
                self._collection = col
            return self._collection

    def refresh(self) -> None:
        """Re-open the embedded Chroma when another process has finished an ingest since this one opened it.

        An embedded Chroma serves the vectors it loaded: next to `newsdesk ingest` run in another process, a
        running web chat kept finding deleted chunks and failed on every new one ("Error finding id") until it was
        restarted. Read paths call this before a retrieval. It re-opens once per finished ingest (the BM25
        generation), not per written batch: Chroma keeps the memory of the client it replaces.
        """
        if self.chroma_url or self._collection is None or not (self.root / "catalog.db").exists():
            return
        generation = self._generation()
        if generation == self._opened_at or generation in _WRITTEN_HERE:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._collection_lock:
            if self._collection is not None and generation != self._opened_at:
                # Chroma shares one client system per path in a process; dropping it from that cache makes the
                # next client load the store from disk. A question in flight keeps the old one until it is done.
                SharedSystemClient._identifier_to_system.pop(str(self.root / "chroma"), None)
                self._collection = None

    @staticmethod
    def written_here(generation: str) -> None:
        """Note a BM25 generation this process wrote, so `refresh` does not re-open for it."""
        _WRITTEN_HERE.add(generation)

    def upsert(self, ids: Sequence[str], vecs: Sequence[np.ndarray], docs: Sequence[str],
               metas: Sequence[dict[str, Any]]) -> None:
        col = self.collection
        batch = 1000
        for i in range(0, len(ids), batch):
            checkpoint("chroma_upsert_before")
            col.upsert(ids=ids[i:i + batch], embeddings=np.asarray(vecs[i:i + batch], dtype=np.float32),
                       documents=docs[i:i + batch], metadatas=metas[i:i + batch])
            checkpoint("chroma_upsert_after")

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), 1000):
            checkpoint("chroma_delete_before")
            self.collection.delete(ids=list(ids[i:i + 1000]))
            checkpoint("chroma_delete_after")

    def all_ids(self) -> set[str]:
        in_chroma: set[str] = set()
        col = self.collection
        total = col.count()
        for offset in range(0, total, 5000):
            in_chroma.update(col.get(include=[], limit=5000, offset=offset)["ids"])
        return in_chroma

    def dense(self, vector: np.ndarray, k: int, filters: Filters) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the k nearest chunks that pass the filters."""
        # No count() first: Chroma (>= 1.0) returns what it has when k exceeds it, and the extra round trip cost
        # more than the kNN search itself (24 of 36 ms per question on a loaded machine at 3.6k chunks).
        res = self.collection.query(query_embeddings=np.asarray([vector], dtype=np.float32), n_results=max(1, k),
                                    where=chroma_where(filters), include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of `ids` (those Chroma has)."""
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        embs = got.get("embeddings")
        if embs is None or len(embs) == 0:
            return {}
        return {cid: np.asarray(v, dtype=np.float32) for cid, v in zip(got["ids"], embs, strict=True)}
