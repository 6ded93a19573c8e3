"""Sync files into the store: read -> clean -> chunk -> embed -> write, embedding only what changed.

>>> import tempfile
>>> from rag.settings import load_settings
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> seed = Path(__file__).parent / "sample" / "azerbaijan-iran-normalization.txt"
>>> first = ingest_paths([seed], settings)
>>> first.added, first.chunks_embedded == first.chunks_total, first.failed
(1, True, [])
>>> again = ingest_paths([seed], settings)  # nothing changed: nothing embedded
>>> again.unchanged, again.chunks_embedded
(1, 0)
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.chunk import CHUNKER_VERSION, chunk_article
from ingest.clean import to_article
from ingest.readers import FileError, read_file, walk
from rag.errors import InputError
from rag.faults import checkpoint
from rag.models.embedding import Embedder, make_embedder
from rag.settings import Settings, load_settings
from rag.store.store import Store
from rag.types import Article, Chunk

EMBED_BATCH_CHUNKS = 512  # chunks per embed+write round: big enough for throughput, small enough to lose little
CHUNK_AHEAD_ARTICLES = 64  # articles handed to the chunking process ahead of the batch being embedded


@dataclass
class IngestResult:
    """The summary printed by `newsdesk ingest --json`."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "deleted": self.deleted,
                "chunks_embedded": self.chunks_embedded, "chunks_total": self.chunks_total, "failed": self.failed,
                "duplicates": self.duplicates, "dry_run": self.dry_run, "seconds": round(self.seconds, 3)}

    @property
    def exit_code(self) -> int:
        return 3 if self.failed else 0


def chunker_signature(settings: Settings) -> str:
    return f"v{CHUNKER_VERSION}/tokens={settings.chunk_tokens}/overlap={settings.chunk_overlap}"


def text_hash(article: Article) -> str:
    return hashlib.sha1(article.text.encode()).hexdigest()


@dataclass
class _Prepared:
    file: str  # absolute path of the source file
    article: Article | None = None
    error: str | None = None
    origin: str = ""


def _prepare(paths: Sequence[Path]) -> Iterator[_Prepared | FileError | tuple[str, bool]]:
    """Read and clean every article; yields articles, per-file errors, and (file, read_ok) once per file."""
    for item in walk(paths):
        if isinstance(item, FileError):
            yield item
            continue
        abs_file = str(Path(item.path).resolve())
        try:
            result = read_file(item)
        except InputError as exc:
            yield FileError(str(item.path), str(exc))
            yield (abs_file, False)
            continue
        except OSError as exc:  # vanished or unreadable between walk and read
            yield FileError(str(item.path), f"cannot read: {exc.strerror or exc}")
            yield (abs_file, False)
            continue
        checkpoint("read_file")
        yield from result.errors
        for raw in result.articles:
            try:
                yield _Prepared(abs_file, article=to_article(raw), origin=raw.origin)
            except InputError as exc:
                yield FileError(f"{item.path}{raw.origin[len(item.rel):] if raw.origin.startswith(item.rel) else ''}",
                                str(exc))
        yield (abs_file, not result.errors or bool(result.articles))


def read_articles(paths: Sequence[Path]) -> Iterator[Article]:
    """The articles ingest would read from `paths`, cleaned, in order (unreadable files and records skipped)."""
    for item in _prepare(paths):
        if isinstance(item, _Prepared) and item.article is not None:
            yield item.article


def _background(gen: Iterator[Any], depth: int = 256) -> Iterator[Any]:
    """Run a generator in a thread so reading/cleaning overlaps with embedding (which releases the GIL)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    failure: list[BaseException] = []

    def pump() -> None:
        try:
            for x in gen:
                q.put(x)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            failure.append(exc)
        finally:
            q.put(done)

    threading.Thread(target=pump, daemon=True, name="newsdesk-read").start()
    while (x := q.get()) is not done:
        yield x
    if failure:
        raise failure[0]


def default_chunk_workers() -> int:
    """Chunking processes for a big ingest: one when this process may use two or more cores, else none.

    >>> default_chunk_workers() in (0, 1)
    True
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return 1 if cores > 1 else 0


_worker_chunk: Callable[[Article], list[Chunk]] | None = None


def _init_chunk_worker(embedder: Embedder, target_tokens: int, overlap_tokens: int) -> None:
    global _worker_chunk
    _worker_chunk = _chunk_function(embedder, target_tokens, overlap_tokens)
    parent = multiprocessing.parent_process()
    if parent is not None:  # a SIGKILLed ingest must not leave its chunking process waiting for work forever
        def watch() -> None:
            from multiprocessing.connection import wait

            wait([parent.sentinel])
            os._exit(0)

        threading.Thread(target=watch, daemon=True, name="newsdesk-parent-watch").start()


def _chunk_in_worker(article: Article) -> list[Chunk]:
    assert _worker_chunk is not None
    return _worker_chunk(article)


def _chunk_function(embedder: Embedder, target_tokens: int, overlap_tokens: int) -> Callable[[Article], list[Chunk]]:
    def chunk(article: Article) -> list[Chunk]:
        return chunk_article(article, target_tokens=target_tokens, overlap_tokens=overlap_tokens,
                             count_model_tokens=embedder.count_tokens, max_model_tokens=embedder.max_tokens)

    return chunk


class _Chunker:
    """Chunks articles and hands them back in the order they were submitted.

    Articles are chunked in this process until `start_workers()` (called when the first embedding batch is due,
    so small ingests never pay for a process start); after it, in `workers` spawned processes, so that
    chunking runs on the other core while the embedder runs here. The chunks are the same either way.
    """

    def __init__(self, embedder: Embedder, target_tokens: int, overlap_tokens: int, workers: int) -> None:
        self._chunk = _chunk_function(embedder, target_tokens, overlap_tokens)
        self._init_args = (embedder, target_tokens, overlap_tokens)
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: deque[tuple[Any, Future[list[Chunk]] | list[Chunk]]] = deque()

    @property
    def parallel(self) -> bool:
        return self._pool is not None

    def start_workers(self) -> None:
        if self._pool is not None or self._workers <= 0:
            return
        try:
            pickle.dumps(self._init_args)
        except Exception:  # noqa: BLE001 - e.g. an embedder holding a network client: chunk here instead
            self._workers = 0
            return
        self._pool = ProcessPoolExecutor(self._workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_chunk_worker, initargs=self._init_args)

    def submit(self, article: Article, tag: Any) -> None:
        job = self._pool.submit(_chunk_in_worker, article) if self._pool is not None else self._chunk(article)
        self._jobs.append((tag, job))

    def finished(self, *, wait_all: bool = False) -> Iterator[tuple[Any, list[Chunk]]]:
        """(tag, chunks) of the jobs done so far, in submission order; waits while too many are outstanding."""
        while self._jobs:
            tag, job = self._jobs[0]
            if isinstance(job, Future):
                if not (job.done() or wait_all or len(self._jobs) > CHUNK_AHEAD_ARTICLES):
                    return
                chunks = job.result()
            else:
                chunks = job
            self._jobs.popleft()
            yield tag, chunks

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _warm(store: Store, embedder: Embedder) -> None:
    """Open the Chroma collection and load the embedding model ahead of their first use."""
    try:
        _ = store.collection
        load = getattr(embedder, "load", None)
        if callable(load):
            load()
    except Exception:  # noqa: BLE001 - the same error surfaces, with its message, where the ingest first needs it
        pass


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing).

    Each batch's vectors, documents and metadata go through Chroma (Python, then its Rust core) and are freed, but
    the freed memory stayed in the process: peak RSS grew ~13 KB per chunk ingested with the Python heap itself
    flat (tracemalloc). Trimming after each written batch kept it flat: 283 MB before the end of the ingest at
    3,649 chunks against 315 MB untrimmed and 280 MB at 1,077 chunks (BENCHMARKS.md).
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def _in_scope(file: str, roots: Sequence[Path]) -> bool:
    p = Path(file)
    return any(p == r or r in p.parents for r in roots)


def ingest_paths(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    *,
    sync: bool = False,
    dry_run: bool = False,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> IngestResult:
    """Ingest files and folders into the store named by `settings.store`; see IngestResult for the summary.

    `progress(articles_seen, chunks_embedded)` is called as work advances (the CLI draws a bar with it).
    `workers`: processes that chunk while this one embeds (default `default_chunk_workers()`; 0 chunks here).
    """
    roots = [Path(p).resolve() for p in paths]
    return ingest_prepared(_prepare(roots), lambda file: _in_scope(file, roots), settings, sync=sync,
                           dry_run=dry_run, embedder=embedder, progress=progress, workers=workers)


def ingest_prepared(
    items: Iterator[_Prepared | FileError | tuple[str, bool]],
    in_scope: Callable[[str], bool],
    settings: Settings | None = None,
    *,
    sync: bool = False,
    dry_run: bool = False,
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> IngestResult:
    """The sync behind `ingest_paths`, for any source of articles (see ingest.llama_index for Documents).

    `items` yields, per source (a file, or whatever names a group of articles), its cleaned articles as
    `_Prepared`, its errors as `FileError`, then `(source, read_ok)`; `in_scope(source)` says whether a stored
    source this run did not yield is gone (deleted with `sync`) or merely outside the run.
    """
    settings = settings or load_settings()
    started = time.perf_counter()
    embedder = embedder or make_embedder(settings.embedding_model, api_key=settings.api_key,
                                         base_url=settings.llm_base_url, precision=settings.embedding_precision)
    signature = chunker_signature(settings)
    store_exists = (Path(settings.store) / "manifest.json").exists()
    store = Store.open(settings, embedder, create=not dry_run, chunker=signature)
    result = IngestResult(dry_run=dry_run)

    with store.lock():
        if not dry_run:
            store.begin_write()
        known = store.known_articles() if store_exists or not dry_run else {}
        old_sources = store.sources() if store_exists or not dry_run else {}
        # The stored articles by text hash, kept as this run decides to (re)write articles, so that a duplicate
        # check costs no query and does not depend on when the embedding batches happen to be written.
        stored_text = store.text_hashes() if store_exists or not dry_run else {}
        by_text: dict[str, str] = {}
        for aid, th in stored_text.items():
            by_text.setdefault(th, aid)
        seen_ids: dict[str, str] = {}  # article id -> file, for this run
        seen_text: dict[str, str] = {}  # text hash -> article id, for this run
        file_articles: dict[str, set[str]] = {}
        read_ok: dict[str, bool] = {}
        pending: list[tuple[Article, list[Chunk], str]] = []
        pending_chunks = 0
        n_seen = 0
        chunker = _Chunker(embedder, settings.chunk_tokens, settings.chunk_overlap,
                           default_chunk_workers() if workers is None else workers)
        warming = False

        # Batches being embedded in the background: (batch, its chunk count, the future of its vectors). The
        # embedder releases the GIL, so while it runs on the cores this thread reads, chunks and writes the batch
        # before; without the overlap every write and chunking step left a core idle (~0.79x the encode ceiling).
        embedding: deque[tuple[list[tuple[Article, list[Chunk], str]], int, Future[Any]]] = deque()
        embed_pool = ThreadPoolExecutor(1, thread_name_prefix="newsdesk-embed") if not dry_run else None

        def embed(texts: list[str]) -> Any:
            checkpoint("embed_before")
            vectors = embedder.embed(texts) if texts else []
            checkpoint("embed_after")
            return vectors

        def write(batch: list[tuple[Article, list[Chunk], str]], n_chunks: int, vectors: Any) -> None:
            items, hashes, offset = [], [], 0
            for article, chunks, th in batch:
                items.append((article, chunks, vectors[offset:offset + len(chunks)]))
                hashes.append(th)
                offset += len(chunks)
            store.write_articles(items, hashes)
            store.add_sources((f, a.id) for a, _, _ in batch for f in [seen_ids[a.id]])
            checkpoint("batch_written")
            release_free_memory()
            result.chunks_embedded += n_chunks
            if progress:
                progress(n_seen, result.chunks_embedded)

        def flush(final: bool = False) -> None:
            """Start embedding the pending batch, then write the one before it (batches are written in order)."""
            nonlocal pending, pending_chunks
            batch, n_chunks = pending, pending_chunks
            pending, pending_chunks = [], 0
            if dry_run:
                result.chunks_embedded += n_chunks
                if progress and batch:
                    progress(n_seen, result.chunks_embedded)
                return
            assert embed_pool is not None
            if batch:
                texts = [c.embed_text for _, chunks, _ in batch for c in chunks]
                embedding.append((batch, n_chunks, embed_pool.submit(embed, texts)))
            while len(embedding) > (0 if final else 1):
                done, done_chunks, vectors = embedding.popleft()
                write(done, done_chunks, vectors.result())

        def take(wait_all: bool = False) -> None:
            """Move chunked articles, in order, into the embedding batch; embed and write each full batch."""
            nonlocal pending_chunks
            for (article, th), chunks in chunker.finished(wait_all=wait_all):
                pending.append((article, chunks, th))
                pending_chunks += len(chunks)
                if pending_chunks >= EMBED_BATCH_CHUNKS:
                    chunker.start_workers()  # the run is big enough to be worth a chunking process
                    flush()

        try:
            for item in _background(items):
                if isinstance(item, FileError):
                    result.failed.append({"path": item.path, "error": item.error})
                    continue
                if isinstance(item, tuple):
                    read_ok[item[0]] = item[1]
                    continue
                article = item.article
                assert article is not None
                n_seen += 1
                if progress:  # per article too: batches are written minutes apart on a slow machine
                    progress(n_seen, result.chunks_embedded)
                file_articles.setdefault(item.file, set()).add(article.id)
                if article.id in seen_ids:  # two records with one id: the first one wins
                    result.duplicates.append({"path": item.origin, "duplicate_of": article.id,
                                              "reason": "same article id seen earlier in this run"})
                    continue
                th = text_hash(article)
                twin = seen_text.get(th) or by_text.get(th)
                if twin is not None and twin != article.id:
                    result.duplicates.append({"path": item.origin, "duplicate_of": twin, "reason": "same text"})
                    file_articles[item.file].discard(article.id)
                    file_articles[item.file].add(twin)
                    continue
                seen_ids[article.id] = item.file
                seen_text[th] = article.id
                if known.get(article.id) == article.content_hash:
                    result.unchanged += 1
                    if not dry_run:
                        store.add_sources([(item.file, article.id)])
                    continue
                if article.id in known:
                    result.updated += 1
                else:
                    result.added += 1
                old_th = stored_text.get(article.id)
                if old_th is not None and old_th != th and by_text.get(old_th) == article.id:
                    del by_text[old_th]  # its old text leaves the store with this run
                if not warming and not dry_run:
                    # The first article to embed: open Chroma and load the model in the background while it is
                    # chunked (a second or more of imports that would otherwise stall the first batch). Not
                    # earlier: a re-ingest with nothing to embed must not pay for either.
                    warming = True
                    threading.Thread(target=_warm, args=(store, embedder), daemon=True, name="newsdesk-warm").start()
                chunker.submit(article, (article, th))
                take()
            take(wait_all=True)
            flush(final=True)
        finally:
            chunker.close()
            if embed_pool is not None:
                # After an error: an embedding in flight finishes in its thread and is dropped, never written.
                embed_pool.shutdown(wait=False, cancel_futures=True)

        if sync:
            gone: list[tuple[str, str]] = []
            for file, ids in old_sources.items():
                if not in_scope(file):
                    continue
                if file not in read_ok:  # the file vanished
                    gone.extend((file, a) for a in ids)
                elif read_ok[file]:  # read fine: drop the articles it no longer holds
                    gone.extend((file, a) for a in ids - file_articles.get(file, set()))
            if dry_run:
                still_held = {a for f, ids in old_sources.items() for a in ids if (f, a) not in set(gone)}
                result.deleted = len({a for _, a in gone} - still_held)
            else:
                orphans = store.forget_sources(gone)
                checkpoint("sync_forgotten")
                store.delete_articles(orphans)
                result.deleted = len(orphans)
        if not dry_run:
            checkpoint("finish_before")
            store.finish()
        result.chunks_total = store.count_chunks() if (store_exists or not dry_run) else 0
    result.seconds = time.perf_counter() - started
    return result
