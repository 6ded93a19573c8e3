"""The store: a Chroma collection (vectors), a BM25 index (words) and a catalog (articles, chunks, sources) in
one directory, plus a manifest that pins the embedding model and the chunker.

Write order keeps a crash recoverable: vectors go to Chroma before the catalog records them, and the catalog
forgets chunks before Chroma deletes them, so Chroma always holds a superset of the catalog; `finish()` (run at
the end of every ingest, and at the start of the next one after a crash) deletes the extras and rebuilds BM25.

>>> # Store.open(settings, embedder, create=True) -> Store; see ingest.sync for the write side.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import NewsdeskError, SettingsError, StoreLockedError, StoreMismatchError
from rag.faults import checkpoint
from rag.models.embedding import embedding_precision
from rag.store.bm25 import BM25Index, FilterColumns, norm_key
from rag.types import Article, Chunk, Filters, Passage, iso_to_day

MANIFEST_VERSION = 1
# BM25 generations this process wrote: its own Chroma client saw those writes, so they need no re-open (refresh()).
_WRITTEN_HERE: set[str] = set()
_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, text_hash TEXT NOT NULL, origin TEXT,
    title TEXT, subtitle TEXT, author TEXT, section TEXT, published TEXT, published_day INTEGER,
    source TEXT, url TEXT, text TEXT NOT NULL, source_key TEXT, author_key TEXT);
CREATE INDEX IF NOT EXISTS articles_text_hash ON articles(text_hash);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL, ord INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS sources (file TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (file, article_id));
CREATE INDEX IF NOT EXISTS sources_article ON sources(article_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS bm25_pending (article_id TEXT PRIMARY KEY);
"""


@dataclass(frozen=True)
class Manifest:
    """What a store was built with; a store refuses to mix vectors of different models or chunkings."""

    version: int
    embedding_model: str
    dim: int
    chunker: str
    # The variant of the model's graph ("int8" | "fp32"); manifests written before it existed are fp32 stores.
    embedding_precision: str = "fp32"

    def describe(self) -> str:
        return (f"embedding model {self.embedding_model} (dim {self.dim}, {self.embedding_precision}), "
                f"chunker {self.chunker}")


def read_manifest(root: Path) -> Manifest | None:
    """The manifest of the store at `root`, or None when there is no store there yet."""
    try:
        data = json.loads((Path(root) / "manifest.json").read_text())
        return Manifest(**{k: data[k] for k in ("version", "embedding_model", "dim", "chunker")},
                        embedding_precision=str(data.get("embedding_precision", "fp32")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise NewsdeskError(f"the store manifest {Path(root) / 'manifest.json'} is damaged; "
                            "re-ingest into a new --store") from None


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


class Store:
    """Open with `Store.open(...)`; reading is thread-safe, writing happens under `lock()`."""

    def __init__(self, root: Path, *, embedding_model: str, dim: int, chunker: str | None,
                 chroma_url: str | None = None, collection: str = "newsdesk", create: bool = False,
                 precision: str | None = None) -> None:
        self.root = Path(root)
        self.chroma_url = chroma_url
        self.collection_name = collection
        self._local = threading.local()
        self._collection: Any = None
        self._collection_lock = threading.Lock()
        self._opened_at: str | None = None  # the store's bm25_generation when Chroma was opened; see refresh()
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
        self.manifest = self._check_manifest(embedding_model, dim, chunker, create, precision)
        if self.root.exists():
            with self._db() as db:
                # Statement by statement: executescript() commits the open transaction first, and _db's own
                # COMMIT then fails with "no transaction is active".
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)

    @classmethod
    def open(cls, settings: Any, embedder: Any, *, create: bool = False, chunker: str | None = None) -> Store:
        return cls(Path(settings.store), embedding_model=embedder.name, dim=embedder.dim, chunker=chunker,
                   chroma_url=settings.chroma_url, collection=settings.collection, create=create,
                   precision=embedding_precision(embedder))

    # -- manifest -------------------------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def _check_manifest(self, model: str, dim: int, chunker: str | None, create: bool,
                        precision: str | None = None) -> Manifest | None:
        path = self.manifest_path
        found = read_manifest(self.root)
        if found is not None:
            if found.version != MANIFEST_VERSION:
                raise StoreMismatchError(f"the store {self.root} has format version {found.version}, this newsdesk "
                                         f"reads {MANIFEST_VERSION}; re-ingest into a new --store")
            if found.embedding_model != model or found.dim != dim:
                raise StoreMismatchError(
                    f"the store {self.root} was built with {found.describe()}, not {model} (dim {dim}); "
                    f"set NEWSDESK_EMBEDDING_MODEL={found.embedding_model} or use a new --store and re-ingest")
            if precision is not None and found.embedding_precision != precision:
                raise StoreMismatchError(
                    f"the store {self.root} was built with the {found.embedding_precision} variant of "
                    f"{found.embedding_model}, this run embeds with the {precision} one; set "
                    f"NEWSDESK_EMBEDDING_PRECISION={found.embedding_precision} or use a new --store and re-ingest")
            if chunker is not None and found.chunker != chunker:
                raise StoreMismatchError(
                    f"the store {self.root} was chunked with {found.chunker}, this run chunks with {chunker}; "
                    "set NEWSDESK_CHUNK_TOKENS/NEWSDESK_CHUNK_OVERLAP back, or ingest into a new --store")
            return found
        if not create:
            return None
        manifest = Manifest(MANIFEST_VERSION, model, dim, chunker or "", precision or "fp32")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
        checkpoint("manifest_tmp_written")
        try:
            os.replace(tmp, path)
        except FileNotFoundError:
            # Two first ingests of one new store: the other renamed the shared temporary file first. Its manifest
            # must then match ours, as any existing manifest must.
            return self._check_manifest(model, dim, chunker, create, precision)
        checkpoint("manifest_written")
        return manifest

    @property
    def is_empty(self) -> bool:
        return self.manifest is None or self.count_chunks() == 0

    # -- plumbing -------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A per-thread connection; the block is one transaction."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.root / "catalog.db", timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        conn.execute("BEGIN")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @property
    def collection(self) -> Any:
        with self._collection_lock:
            if self._collection is None:
                if (self.root / "catalog.db").exists():
                    self._opened_at = self._meta("bm25_generation")
                client = _chroma_client(self.root, self.chroma_url)
                meta = {"embedding_model": self.manifest.embedding_model if self.manifest else "", "dim": 0}
                if self.manifest:
                    meta["dim"] = self.manifest.dim
                col = client.get_or_create_collection(self.collection_name, embedding_function=None,
                                                      configuration={"hnsw": {"space": "cosine"}}, metadata=meta)
                have = col.metadata or {}
                if self.manifest and have.get("embedding_model") not in (None, "", self.manifest.embedding_model):
                    raise StoreMismatchError(
                        f"the Chroma collection {self.collection_name!r} holds vectors of {have.get('embedding_model')}"
                        f", not {self.manifest.embedding_model}; set NEWSDESK_COLLECTION to another name")
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
        generation = self._meta("bm25_generation")
        if generation == self._opened_at or generation in _WRITTEN_HERE:
            return
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._collection_lock:
            if self._collection is not None and generation != self._opened_at:
                # Chroma shares one client system per path in a process; dropping it from that cache makes the
                # next client load the store from disk. A question in flight keeps the old one until it is done.
                SharedSystemClient._identifier_to_system.pop(str(self.root / "chroma"), None)
                self._collection = None

    def warm(self) -> None:
        """Open Chroma and BM25 now (e.g. in a background thread) rather than on the first question."""
        if self.manifest is not None:
            _ = self.collection
            self.bm25_index()

    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 10.0) -> Iterator[None]:
        """Exclusive write access to the store; a second writer waits, then fails with a clear message."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + wait_seconds
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise StoreLockedError(f"another newsdesk ingest is writing to {self.root}; "
                                               "wait for it to finish and run again") from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _meta(self, key: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, db: sqlite3.Connection, key: str, value: str | None) -> None:
        if value is None:
            db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- write side (call under lock()) ----------------------------------------------------------------------

    def begin_write(self) -> None:
        """Mark the store dirty; if a previous run died, repair it first."""
        if self._meta("dirty"):
            self.finish(force=True)
        self._began_clean, self._chunks_touched = True, False
        with self._db() as db:
            self._set_meta(db, "dirty", "1")
        checkpoint("begin_write_dirty")

    def known_articles(self) -> dict[str, str]:
        """article_id -> content_hash of every stored article."""
        with self._db() as db:
            return dict(db.execute("SELECT id, content_hash FROM articles").fetchall())

    def text_hashes(self) -> dict[str, str]:
        """article_id -> text_hash of every stored article (one query instead of one per article)."""
        with self._db() as db:
            return dict(db.execute("SELECT id, text_hash FROM articles").fetchall())

    def article_by_text_hash(self, text_hash: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT id FROM articles WHERE text_hash=? LIMIT 1", (text_hash,)).fetchone()
        return row[0] if row else None

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
        col = self.collection
        batch = 1000
        for i in range(0, len(ids), batch):
            checkpoint("chroma_upsert_before")
            col.upsert(ids=ids[i:i + batch], embeddings=np.asarray(vecs[i:i + batch], dtype=np.float32),
                       documents=docs[i:i + batch], metadatas=metas[i:i + batch])
            checkpoint("chroma_upsert_after")
        stale: list[str] = []
        with self._db() as db:
            for (article, chunks, _), text_hash in zip(items, text_hashes, strict=True):
                old = {r[0] for r in db.execute("SELECT id FROM chunks WHERE article_id=?", (article.id,))}
                stale.extend(old - {c.id for c in chunks})
                db.execute("DELETE FROM chunks WHERE article_id=?", (article.id,))
                db.execute(
                    "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (article.id, article.content_hash, text_hash, article.origin, article.title, article.subtitle,
                     article.author, article.section, article.published, iso_to_day(article.published),
                     article.source, article.url, article.text, norm_key(article.source), norm_key(article.author)))
                db.executemany('INSERT OR REPLACE INTO chunks(id, article_id, ord, start, "end") VALUES (?,?,?,?,?)',
                               [(c.id, article.id, n, c.start, c.end) for n, c in enumerate(chunks)])
                # Its chunks are (re)indexed by the next BM25 update, even if their ids did not change (new metadata).
                db.execute("INSERT OR IGNORE INTO bm25_pending(article_id) VALUES (?)", (article.id,))
            checkpoint("catalog_write_inside")
            self._set_meta(db, "generation", str(time.time_ns()))
        checkpoint("catalog_write_after")
        if stale:
            self._chroma_delete(stale)

    def add_sources(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record that file `f` holds article `a` for each (f, a)."""
        with self._db() as db:
            db.executemany("INSERT OR IGNORE INTO sources(file, article_id) VALUES (?, ?)", list(pairs))
            checkpoint("add_sources_inside")

    def sources(self) -> dict[str, set[str]]:
        """file -> ids of the articles it held at the last ingest."""
        out: dict[str, set[str]] = {}
        with self._db() as db:
            for f, a in db.execute("SELECT file, article_id FROM sources"):
                out.setdefault(f, set()).add(a)
        return out

    def forget_sources(self, pairs: Iterable[tuple[str, str]]) -> list[str]:
        """Drop (file, article) links; return the articles that no file holds any more (and so must go)."""
        pairs = list(pairs)
        with self._db() as db:
            db.executemany("DELETE FROM sources WHERE file=? AND article_id=?", pairs)
            # Every article no file holds, not only those of `pairs`: a run killed after an earlier call committed
            # but before its delete_articles() left such articles behind, and their links are gone, so no later
            # `pairs` would name them again.
            orphans = [r[0] for r in db.execute(
                "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM sources) ORDER BY id")]
            checkpoint("forget_sources_inside")
        return orphans

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        """Remove articles: the catalog first, then their vectors (see the module docstring for why)."""
        if not article_ids:
            return
        self._chunks_touched = True
        doomed: list[str] = []
        with self._db() as db:
            for aid in article_ids:
                doomed.extend(r[0] for r in db.execute("SELECT id FROM chunks WHERE article_id=?", (aid,)))
                db.execute("DELETE FROM chunks WHERE article_id=?", (aid,))
                db.execute("DELETE FROM articles WHERE id=?", (aid,))
                db.execute("DELETE FROM sources WHERE article_id=?", (aid,))
            checkpoint("delete_catalog_inside")
            self._set_meta(db, "generation", str(time.time_ns()))
        checkpoint("delete_catalog_after")
        self._chroma_delete(doomed)

    def _chroma_delete(self, ids: Sequence[str]) -> None:
        if ids:
            self._chunks_touched = True
        for i in range(0, len(ids), 1000):
            checkpoint("chroma_delete_before")
            self.collection.delete(ids=list(ids[i:i + 1000]))
            checkpoint("chroma_delete_after")

    def finish(self, force: bool = False) -> None:
        """Make Chroma agree with the catalog and rebuild BM25, then mark the store clean."""
        generation = self._meta("generation") or "0"
        unchanged = self._began_clean and not self._chunks_touched
        if force or (self._meta("dirty") and not unchanged):
            self._reconcile()
            checkpoint("finish_reconciled")
        if force or self._meta("bm25_generation") != generation:
            self._rebuild_bm25(generation)
            checkpoint("finish_bm25_rebuilt")
        with self._db() as db:
            self._set_meta(db, "dirty", None)

    def _reconcile(self) -> None:
        with self._db() as db:
            catalog = {r[0] for r in db.execute("SELECT id FROM chunks")}
        in_chroma: set[str] = set()
        col = self.collection
        total = col.count()
        for offset in range(0, total, 5000):
            in_chroma.update(col.get(include=[], limit=5000, offset=offset)["ids"])
        checkpoint("reconcile_scanned")
        self._chroma_delete(sorted(in_chroma - catalog))
        missing = catalog - in_chroma
        if missing:
            # Vectors lost (a crash inside Chroma's own write): forget those articles so the next ingest re-adds them.
            with self._db() as db:
                marks = ",".join("?" * len(missing))
                rows = db.execute(f"SELECT DISTINCT article_id FROM chunks WHERE id IN ({marks})",
                                  sorted(missing)).fetchall()
            self.delete_articles([r[0] for r in rows])

    def _bm25_rows(self, db: sqlite3.Connection, article_ids: Sequence[str] | None = None
                   ) -> tuple[list[str], list[str], FilterColumns]:
        """(chunk ids, chunk texts, filter columns) of every chunk, or of the chunks of `article_ids`."""
        ids, texts, sources, authors, days = [], [], [], [], []
        select = ('SELECT c.id, c.article_id, c.start, c."end", a.source_key, a.author_key, a.published_day '
                  "FROM chunks c JOIN articles a ON a.id = c.article_id")
        if article_ids is None:
            rows = db.execute(select + " ORDER BY c.article_id, c.ord").fetchall()
        else:
            rows = []
            wanted = sorted(set(article_ids))
            for i in range(0, len(wanted), 500):
                part = wanted[i:i + 500]
                rows += db.execute(select + f" WHERE c.article_id IN ({','.join('?' * len(part))}) "
                                   "ORDER BY c.article_id, c.ord", part).fetchall()
        text_of, text = None, ""
        for cid, aid, start, end, skey, akey, day in rows:
            if aid != text_of:
                # Each article's text once, not once per chunk: joining it into every chunk row copied a 50 MB
                # article 80,000 times (hours for one big file).
                text_of, text = aid, db.execute("SELECT text FROM articles WHERE id=?", (aid,)).fetchone()[0]
            ids.append(cid)
            texts.append(text[start:end])
            sources.append(skey or "")
            authors.append(akey or "")
            days.append(-1 if day is None else day)
        columns = FilterColumns(np.array(sources, dtype=object), np.array(authors, dtype=object),
                                np.array(days, dtype=np.int64))
        return ids, texts, columns

    def _rebuild_bm25(self, generation: str) -> None:
        """Bring BM25 up to the catalog: update the saved index with what changed, or build it when there is none.

        What changed: chunks the index has and the catalog lost, chunks the catalog has and the index lacks, and
        every chunk of the articles written since the last update (bm25_pending, filled in the same transactions
        as the catalog, so a crash loses none of them; their chunk ids may be unchanged with new metadata).
        """
        with self._bm25_lock:  # the index this process already holds, if it is the saved one
            held = self._bm25 if self._bm25_generation == self._meta("bm25_generation") else None
        old = held or BM25Index.load(self.root / "bm25")
        with self._db() as db:
            pending = [r[0] for r in db.execute("SELECT article_id FROM bm25_pending")]
            if old is None:
                index = BM25Index.build(*self._bm25_rows(db))
            else:
                catalog = dict(db.execute("SELECT id, article_id FROM chunks").fetchall())
                live = set(old.ids)
                gone = live.difference(catalog)
                articles = set(pending) | {catalog[c] for c in catalog.keys() - live}
                index = old.update(sorted(gone), *self._bm25_rows(db, sorted(articles)))
        index.save(self.root / "bm25")
        checkpoint("bm25_saved")
        with self._db() as db:
            self._set_meta(db, "bm25_generation", generation)
            db.executemany("DELETE FROM bm25_pending WHERE article_id=?", [(a,) for a in pending])
        _WRITTEN_HERE.add(generation)
        with self._bm25_lock:
            self._bm25, self._bm25_generation = index, generation

    # -- read side ------------------------------------------------------------------------------------------

    def bm25_index(self) -> BM25Index | None:
        with self._bm25_lock:
            generation = self._meta("bm25_generation")
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
        # No count() first: Chroma (>= 1.0) returns what it has when k exceeds it, and the extra round trip cost
        # more than the kNN search itself (24 of 36 ms per question on a loaded machine at 3.6k chunks).
        res = self.collection.query(query_embeddings=np.asarray([vector], dtype=np.float32), n_results=max(1, k),
                                    where=chroma_where(filters), include=["distances"])
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0], strict=True)]

    def lexical(self, query: str, k: int, filters: Filters) -> list[tuple[str, float]]:
        index = self.bm25_index() if self.manifest is not None else None
        return index.search(query, k, filters) if index else []

    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk_id, score) pairs, in the given order; unknown ids are skipped."""
        if not scored:
            return []
        ids = [cid for cid, _ in scored]
        with self._db() as db:
            rows = db.execute(
                'SELECT c.id, c.article_id, c.start, c."end", a.text, a.title, a.url, a.published, a.source, '
                f"a.author, a.section FROM chunks c JOIN articles a ON a.id = c.article_id "
                f"WHERE c.id IN ({','.join('?' * len(ids))})", ids).fetchall()
        by_id = {r[0]: r for r in rows}
        out = []
        for cid, score in scored:
            r = by_id.get(cid)
            if r is None:
                continue
            _, aid, start, end, text, title, url, published, source, author, section = r
            out.append(Passage(chunk_id=cid, article_id=aid, text=text[start:end], start=start, end=end,
                               title=title or "", score=score, url=url, published=published, source=source,
                               author=author, section=section))
        return out

    def neighbours(self, passage: Passage) -> tuple[Passage | None, Passage | None]:
        """The chunks just before and after `passage` in its article (for context in answers and the UI)."""
        with self._db() as db:
            row = db.execute("SELECT ord FROM chunks WHERE id=?", (passage.chunk_id,)).fetchone()
            if row is None:
                return None, None
            ids = dict(db.execute("SELECT ord, id FROM chunks WHERE article_id=? AND ord IN (?, ?)",
                                  (passage.article_id, row[0] - 1, row[0] + 1)).fetchall())
        prev = self.passages([(ids[row[0] - 1], 0.0)]) if row[0] - 1 in ids else []
        nxt = self.passages([(ids[row[0] + 1], 0.0)]) if row[0] + 1 in ids else []
        return (prev[0] if prev else None), (nxt[0] if nxt else None)

    def article(self, article_id: str) -> Article | None:
        with self._db() as db:
            r = db.execute("SELECT id, title, text, subtitle, author, section, published, source, url, origin, "
                           "content_hash FROM articles WHERE id=?", (article_id,)).fetchone()
        if r is None:
            return None
        return Article(id=r[0], title=r[1] or "", text=r[2], subtitle=r[3], author=r[4], section=r[5],
                       published=r[6], source=r[7], url=r[8], origin=r[9], content_hash=r[10])

    def count_chunks(self) -> int:
        if not (self.root / "catalog.db").exists():
            return 0
        with self._db() as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunk_ids(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT id FROM chunks ORDER BY id")]

    def stats(self) -> dict[str, Any]:
        """Articles, chunks, sources, date range and the model, for `newsdesk stats`."""
        base: dict[str, Any] = {"store": str(self.root), "chroma_url": self.chroma_url,
                                "embedding_model": self.manifest.embedding_model if self.manifest else None,
                                "dim": self.manifest.dim if self.manifest else None,
                                "embedding_precision": self.manifest.embedding_precision if self.manifest else None,
                                "chunker": self.manifest.chunker if self.manifest else None}
        if self.manifest is None or not (self.root / "catalog.db").exists():
            return {**base, "articles": 0, "chunks": 0, "sources": {}, "authors": 0, "date_range": None}
        with self._db() as db:
            n_articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            n_chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            sources = dict(db.execute("SELECT COALESCE(source, ''), COUNT(*) FROM articles GROUP BY 1 "
                                      "ORDER BY 2 DESC, 1").fetchall())
            authors = db.execute("SELECT COUNT(DISTINCT author_key) FROM articles WHERE author_key != ''"
                                 ).fetchone()[0]
            lo, hi = db.execute("SELECT MIN(published), MAX(published) FROM articles").fetchone()
            undated = db.execute("SELECT COUNT(*) FROM articles WHERE published IS NULL").fetchone()[0]
        return {**base, "articles": n_articles, "chunks": n_chunks, "sources": sources, "authors": authors,
                "date_range": [lo, hi] if lo else None, "undated": undated}

    def list_articles(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.execute("SELECT id, title, subtitle, author, section, published, source, url, origin "
                              "FROM articles ORDER BY published DESC, id LIMIT ?", (limit,)).fetchall()
        keys = ("id", "title", "subtitle", "author", "section", "published", "source", "url", "origin")
        return [dict(zip(keys, r, strict=True)) for r in rows]
