"""The store: vectors (rag.store.vectors, Chroma), words (rag.store.bm25) and the catalog (rag.store.catalog) in
one directory, pinned by a manifest (rag.store.manifest), written under one lock (rag.store.locks).

Write order keeps a crash recoverable: vectors go to Chroma before the catalog records them, and the catalog
forgets chunks before Chroma deletes them, so Chroma always holds a superset of the catalog; `finish()` (run at
the end of every ingest, and at the start of the next one after a crash) deletes the extras and rebuilds BM25.

>>> import tempfile
>>> from rag.settings import load_settings
>>> from rag.testing import HashEmbedder
>>> store = Store.open(load_settings(store=tempfile.mkdtemp()), HashEmbedder(), create=True, chunker="v1")
>>> store.manifest.describe(), store.is_empty
('embedding model hash-256 (dim 256, fp32), chunker v1', True)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import SettingsError
from rag.faults import checkpoint
from rag.models.embedding import embedding_precision
from rag.store.bm25 import BM25Index, norm_key
from rag.store.catalog import Catalog
from rag.store.locks import write_lock
from rag.store.manifest import MANIFEST_VERSION, Manifest, check_manifest, read_manifest
from rag.store.vectors import ChromaVectors, chroma_where
from rag.types import Article, Chunk, Filters, Passage

if TYPE_CHECKING:
    from rag.models.embedding import Embedder
    from rag.settings import Settings

__all__ = ["MANIFEST_VERSION", "Manifest", "Store", "chroma_where", "read_manifest"]


class Store:
    """Open with `Store.open(...)`; reading is thread-safe, writing happens under `lock()`."""

    def __init__(self, root: Path, *, embedding_model: str, dim: int, chunker: str | None,
                 chroma_url: str | None = None, collection: str = "newsdesk", create: bool = False,
                 precision: str | None = None) -> None:
        self.root = Path(root)
        self.chroma_url = chroma_url
        self.collection_name = collection
        self._bm25: BM25Index | None = None
        self._bm25_generation: str | None = None
        self._bm25_lock = threading.Lock()
        self._rebuild_lock = threading.Lock()
        # Whether this object found the store clean in begin_write() and has changed no chunk since: then finish()
        # has nothing to reconcile, and a re-ingest of unchanged files never opens Chroma (a second of imports).
        self._began_clean = False
        self._chunks_touched = False
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif self.root.exists() and not self.root.is_dir():
            raise SettingsError(f"the store {self.root} is not a directory; fix --store or NEWSDESK_STORE")
        self.manifest = check_manifest(self.root, embedding_model, dim, chunker, create, precision)
        self.catalog = Catalog(self.root)
        m = self.manifest
        self.vectors = ChromaVectors(self.root, embedding_model=m.embedding_model if m else None, dim=m.dim if m else 0,
                                     chroma_url=chroma_url, collection=collection,
                                     generation=lambda: self.catalog.meta("bm25_generation"))
        if self.root.exists():
            self.catalog.create_schema()

    @classmethod
    def open(cls, settings: Settings, embedder: Embedder, *, create: bool = False, chunker: str | None = None
             ) -> Store:
        return cls(Path(settings.store), embedding_model=embedder.name, dim=embedder.dim, chunker=chunker,
                   chroma_url=settings.chroma_url, collection=settings.collection, create=create,
                   precision=embedding_precision(embedder))

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def is_empty(self) -> bool:
        return self.manifest is None or self.count_chunks() == 0

    # -- plumbing -------------------------------------------------------------------------------------------

    @property
    def collection(self) -> Any:
        """The Chroma collection (opened on first use)."""
        return self.vectors.collection

    def refresh(self) -> None:
        """Re-open the embedded Chroma when another process has finished an ingest (see ChromaVectors.refresh)."""
        self.vectors.refresh()

    def warm(self) -> None:
        """Open Chroma and BM25 now (e.g. in a background thread) rather than on the first question."""
        if self.manifest is not None:
            _ = self.collection
            self.bm25_index()

    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 10.0) -> Iterator[None]:
        """Exclusive write access to the store; a second writer waits, then fails with a clear message."""
        with write_lock(self.root, wait_seconds):
            yield

    # -- write side (call under lock()) ----------------------------------------------------------------------

    def begin_write(self) -> None:
        """Mark the store dirty; if a previous run died, repair it first."""
        if self.catalog.meta("dirty"):
            self.finish(force=True)
        self._began_clean, self._chunks_touched = True, False
        with self.catalog.db() as db:
            self.catalog.set_meta(db, "dirty", "1")
        checkpoint("begin_write_dirty")

    def known_articles(self) -> dict[str, str]:
        """article_id -> content_hash of every stored article."""
        return self.catalog.known_articles()

    def text_hashes(self) -> dict[str, str]:
        """article_id -> text_hash of every stored article."""
        return self.catalog.text_hashes()

    def article_by_text_hash(self, text_hash: str) -> str | None:
        return self.catalog.article_by_text_hash(text_hash)

    def write_articles(self, items: Sequence[tuple[Article, Sequence[Chunk], np.ndarray]], text_hashes: Sequence[str]
                       ) -> None:
        """Add or replace articles with their chunks and vectors (vectors[i] belongs to chunks[i])."""
        if not items:
            return
        self._chunks_touched = True
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        vecs: list[np.ndarray] = []
        for article, chunks, vectors in items:
            base = article.metadata()
            base["source_key"] = norm_key(article.source)
            base["author_key"] = norm_key(article.author)
            for chunk, vec in zip(chunks, vectors, strict=True):
                ids.append(chunk.id)
                docs.append(chunk.text)
                metas.append({**base, "start": chunk.start, "end": chunk.end})
                vecs.append(vec)
        self.vectors.upsert(ids, vecs, docs, metas)
        stale = self.catalog.write(items, text_hashes)
        if stale:
            self._chroma_delete(stale)

    def add_sources(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record that file `f` holds article `a` for each (f, a)."""
        self.catalog.add_sources(pairs)

    def sources(self) -> dict[str, set[str]]:
        """File -> ids of the articles it held at the last ingest."""
        return self.catalog.sources()

    def forget_sources(self, pairs: Iterable[tuple[str, str]]) -> list[str]:
        """Drop (file, article) links; return the articles that no file holds any more (and so must go)."""
        return self.catalog.forget_sources(pairs)

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Remove articles: the catalog first, then their vectors (see the module docstring for why)."""
        if not article_ids:
            return
        self._chunks_touched = True
        self._chroma_delete(self.catalog.delete(article_ids))

    def _chroma_delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._chunks_touched = True
        self.vectors.delete(ids)

    def finish(self, force: bool = False) -> None:
        """Make Chroma agree with the catalog and rebuild BM25, then mark the store clean."""
        generation = self.catalog.meta("generation") or "0"
        # A write that began on a clean store and got here wrote in the order that keeps Chroma equal to the
        # catalog (each step's failure leaves the store dirty, and the next begin_write repairs it): nothing to
        # reconcile. The scan of every id in Chroma cost ~100 MB of resident memory at 3.6k chunks, more than the
        # whole ingest before it.
        if force or (self.catalog.meta("dirty") and not self._began_clean):
            self._reconcile()
            checkpoint("finish_reconciled")
        if force or self.catalog.meta("bm25_generation") != generation:
            self._rebuild_bm25(generation, full_diff=force)
            checkpoint("finish_bm25_rebuilt")
        with self.catalog.db() as db:
            self.catalog.set_meta(db, "dirty", None)

    def _reconcile(self) -> None:
        """Crash repair: delete vectors the catalog does not know; forget articles whose vectors were lost."""
        catalog = set(self.catalog.chunk_ids())
        in_chroma = self.vectors.all_ids()
        checkpoint("reconcile_scanned")
        self._chroma_delete(sorted(in_chroma - catalog))
        missing = catalog - in_chroma
        if missing:
            # Vectors lost (a crash inside Chroma's own write): forget those articles so the next ingest re-adds them.
            self.delete_articles(self.catalog.articles_of_chunks(missing))

    def _rebuild_bm25(self, generation: str, full_diff: bool = False) -> None:
        """Bring BM25 up to the catalog: update the saved index with what changed, or build it when there is none.

        What changed: every chunk of the articles written since the last update (bm25_pending; their chunk ids
        may be unchanged with new metadata) and the chunks the catalog lost (bm25_gone), both filled in the same
        transactions as the catalog, so a finished write loses none of them. After a crash (`full_diff`, from the
        repair) the index is compared with the whole catalog instead: chunks the index has and the catalog lost,
        chunks the catalog has and the index lacks, and the pending articles.
        """
        with self._bm25_lock:  # the index this process already holds, if it is the saved one
            held = self._bm25 if self._bm25_generation == self.catalog.meta("bm25_generation") else None
        old = held or BM25Index.load(self.root / "bm25")
        pending, gone = self.catalog.bm25_log()
        if old is None:
            # Read and tokenised a slice at a time (memory flat in the store's size but for the postings).
            index = BM25Index.build_from(self.catalog.bm25_slices())
        elif full_diff:
            chunks, _ = self.catalog.bm25_changes()
            live = set(old.ids)
            articles = set(pending) | {chunks[c] for c in chunks.keys() - live}
            index = old.update_from(sorted(live.difference(chunks)), self.catalog.bm25_slices(sorted(articles)))
        else:
            index = old.update_from(gone, self.catalog.bm25_slices(sorted(pending)))
        index.save(self.root / "bm25")
        checkpoint("bm25_saved")
        with self.catalog.db() as db:
            self.catalog.set_meta(db, "bm25_generation", generation)
            self.catalog.clear_bm25_pending(db, pending, gone)
        self.vectors.written_here(generation)
        with self._bm25_lock:
            self._bm25, self._bm25_generation = index, generation

    # -- read side ------------------------------------------------------------------------------------------

    def bm25_index(self) -> BM25Index | None:
        with self._bm25_lock:
            generation = self.catalog.meta("bm25_generation")
            if self._bm25 is None or generation != self._bm25_generation:
                self._bm25 = BM25Index.load(self.root / "bm25")
                self._bm25_generation = generation
            stale = self._bm25 is None and self.manifest is not None
        if stale and self.count_chunks():
            # No index, or one of an older format: rebuild it from the catalog rather than search without it. One
            # thread at a time: the warm-up thread and the first question both get here on a stale index, and two
            # rebuilds at once tear down each other's temporary directory.
            with self._rebuild_lock:
                if self._bm25 is None:
                    self._rebuild_bm25(generation or "0")
        return self._bm25

    def dense(self, vector: np.ndarray, k: int, filters: Filters) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) of the k nearest chunks that pass the filters."""
        if self.manifest is None:
            return []
        return self.vectors.dense(vector, k, filters)

    def embeddings(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of `chunk_ids` (those the vector store has)."""
        return self.vectors.embeddings(chunk_ids)

    def lexical(self, query: str, k: int, filters: Filters) -> list[tuple[str, float]]:
        index = self.bm25_index() if self.manifest is not None else None
        return index.search(query, k, filters) if index else []

    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk_id, score) pairs, in the given order; unknown ids are skipped."""
        return self.catalog.passages(scored)

    def neighbours(self, passage: Passage) -> tuple[Passage | None, Passage | None]:
        """The chunks just before and after `passage` in its article (for context in answers and the UI)."""
        return self.catalog.neighbours(passage)

    def article(self, article_id: str) -> Article | None:
        return self.catalog.article(article_id)

    def count_chunks(self) -> int:
        return self.catalog.count_chunks()

    def chunk_ids(self) -> list[str]:
        return self.catalog.chunk_ids()

    def stats(self) -> dict[str, Any]:
        """Articles, chunks, sources, date range and the model, for `newsdesk stats`."""
        base: dict[str, Any] = {"store": str(self.root), "chroma_url": self.chroma_url,
                                "embedding_model": self.manifest.embedding_model if self.manifest else None,
                                "dim": self.manifest.dim if self.manifest else None,
                                "embedding_precision": self.manifest.embedding_precision if self.manifest else None,
                                "chunker": self.manifest.chunker if self.manifest else None}
        if self.manifest is None or not self.catalog.exists:
            return {**base, "articles": 0, "chunks": 0, "sources": {}, "authors": 0, "date_range": None}
        return {**base, **self.catalog.stats()}

    def newest_published(self) -> str | None:
        """The publication date of the store's newest dated article, None when the store has none."""
        if self.manifest is None or not self.catalog.exists:
            return None
        return self.catalog.newest_published()

    def unknown_filter(self, filters: Filters) -> str | None:
        """The source or author filter that no article of the store carries ("source 'x'"), else None.

        A filter that matches nothing would otherwise look like an unanswerable question.
        """
        if self.manifest is None or not self.catalog.exists:
            return None
        for name, column, value in (("source", "source_key", filters.source),
                                    ("author", "author_key", filters.author)):
            if value and not self.catalog.has_value(column, norm_key(value)):
                return f"{name} {value!r}"
        return None

    def authors(self, limit: int = 500) -> list[tuple[str, int]]:
        """(author, articles) most articles first, for the web chat's author filter; [] for an empty store."""
        if self.manifest is None or not self.catalog.exists:
            return []
        return self.catalog.authors(limit)

    def list_articles(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self.catalog.list_articles(limit)
