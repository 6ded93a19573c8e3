"""The catalog: articles (with their whole text), chunks (offsets into it), the files each came from, meta keys.

One SQLite file, `<store>/catalog.db`, in WAL mode; one connection per thread, and each `db()` block is one
transaction. Chunk text is never stored twice: a passage is `articles.text[start:end]`.

>>> import tempfile
>>> cat = Catalog(Path(tempfile.mkdtemp()))
>>> cat.create_schema()
>>> cat.count_chunks(), cat.meta("generation")
(0, None)
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.faults import checkpoint
from rag.store import bm25
from rag.store.bm25 import FilterColumns, Rows, norm_key
from rag.types import Article, Chunk, Passage, iso_to_day

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
CREATE TABLE IF NOT EXISTS bm25_gone (chunk_id TEXT PRIMARY KEY);
"""


class Catalog:
    """The SQLite side of a store at `root`; thread-safe (a connection per thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()

    @property
    def exists(self) -> bool:
        return (self.root / "catalog.db").exists()

    def create_schema(self) -> None:
        with self.db() as db:
            # Statement by statement: executescript() commits the open transaction first, and db()'s own
            # COMMIT then fails with "no transaction is active".
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
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

    def meta(self, key: str) -> str | None:
        with self.db() as db:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str | None) -> None:
        if value is None:
            db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- write side -----------------------------------------------------------------------------------------

    def known_articles(self) -> dict[str, str]:
        """article_id -> content_hash of every stored article."""
        with self.db() as db:
            return dict(db.execute("SELECT id, content_hash FROM articles").fetchall())

    def text_hashes(self) -> dict[str, str]:
        """article_id -> text_hash of every stored article (one query instead of one per article)."""
        with self.db() as db:
            return dict(db.execute("SELECT id, text_hash FROM articles").fetchall())

    def article_by_text_hash(self, text_hash: str) -> str | None:
        with self.db() as db:
            row = db.execute("SELECT id FROM articles WHERE text_hash=? LIMIT 1", (text_hash,)).fetchone()
        return row[0] if row else None

    def write(self, items: Sequence[tuple[Article, Sequence[Chunk], Any]], text_hashes: Sequence[str]) -> list[str]:
        """Record articles and their chunks (replacing older versions); return the chunk ids they no longer have."""
        stale: list[str] = []
        with self.db() as db:
            for (article, chunks, _), text_hash in zip(items, text_hashes, strict=True):
                old = {r[0] for r in db.execute("SELECT id FROM chunks WHERE article_id=?", (article.id,))}
                gone = sorted(old - {c.id for c in chunks})
                stale.extend(gone)
                _bm25_forget(db, gone)
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
            self.set_meta(db, "generation", str(time.time_ns()))
        checkpoint("catalog_write_after")
        return stale

    def add_sources(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Record that file `f` holds article `a` for each (f, a)."""
        with self.db() as db:
            db.executemany("INSERT OR IGNORE INTO sources(file, article_id) VALUES (?, ?)", list(pairs))
            checkpoint("add_sources_inside")

    def sources(self) -> dict[str, set[str]]:
        """File -> ids of the articles it held at the last ingest."""
        out: dict[str, set[str]] = {}
        with self.db() as db:
            for f, a in db.execute("SELECT file, article_id FROM sources"):
                out.setdefault(f, set()).add(a)
        return out

    def forget_sources(self, pairs: Iterable[tuple[str, str]]) -> list[str]:
        """Drop (file, article) links; return the articles that no file holds any more (and so must go)."""
        pairs = list(pairs)
        with self.db() as db:
            db.executemany("DELETE FROM sources WHERE file=? AND article_id=?", pairs)
            # Every article no file holds, not only those of `pairs`: a run killed after an earlier call committed
            # but before its delete_articles() left such articles behind, and their links are gone, so no later
            # `pairs` would name them again.
            orphans = [r[0] for r in db.execute(
                "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM sources) ORDER BY id")]
            checkpoint("forget_sources_inside")
        return orphans

    def delete(self, article_ids: Sequence[str]) -> list[str]:
        """Remove articles with their chunks and source links; return the chunk ids removed."""
        doomed: list[str] = []
        with self.db() as db:
            for aid in article_ids:
                chunk_ids = [r[0] for r in db.execute("SELECT id FROM chunks WHERE article_id=?", (aid,))]
                doomed.extend(chunk_ids)
                _bm25_forget(db, chunk_ids)
                db.execute("DELETE FROM chunks WHERE article_id=?", (aid,))
                db.execute("DELETE FROM articles WHERE id=?", (aid,))
                db.execute("DELETE FROM sources WHERE article_id=?", (aid,))
            checkpoint("delete_catalog_inside")
            self.set_meta(db, "generation", str(time.time_ns()))
        checkpoint("delete_catalog_after")
        return doomed

    def articles_of_chunks(self, chunk_ids: Iterable[str]) -> list[str]:
        ids = sorted(chunk_ids)
        with self.db() as db:
            marks = ",".join("?" * len(ids))
            rows = db.execute(f"SELECT DISTINCT article_id FROM chunks WHERE id IN ({marks})", ids).fetchall()
        return [r[0] for r in rows]

    def bm25_rows(self, article_ids: Sequence[str] | None = None) -> tuple[list[str], list[str], FilterColumns]:
        """Every chunk's id and text (or those of `article_ids`'s chunks), in article order, with the columns BM25's
        filters test.
        """
        ids: list[str] = []
        texts: list[str] = []
        parts: list[FilterColumns] = []
        for part_ids, part_texts, columns in self.bm25_slices(article_ids):
            ids += part_ids
            texts += part_texts
            parts.append(columns)
        return ids, texts, FilterColumns.concat(parts)

    def bm25_slices(self, article_ids: Sequence[str] | None = None, size: int | None = None) -> Iterator[Rows]:
        """`bm25_rows` a slice of `size` chunks (bm25.SLICE_ROWS) at a time, read in one transaction.

        For BM25Index.build_from: only one slice's texts are in memory at once. The rows' ids and offsets are
        fetched at once: reading them through an open cursor for the whole build made a second ingest starting
        on the same new store fail with "database is locked" in one run of three (the lock test in test_crash).
        """
        size = size or bm25.SLICE_ROWS
        select = ('SELECT c.id, c.article_id, c.start, c."end", a.source_key, a.author_key, a.published_day '
                  "FROM chunks c JOIN articles a ON a.id = c.article_id")
        with self.db() as db:
            if article_ids is None:
                cursors: Iterable[Iterable[Any]] = [db.execute(select + " ORDER BY c.article_id, c.ord").fetchall()]
            else:
                wanted = sorted(set(article_ids))
                cursors = [db.execute(select + f" WHERE c.article_id IN ({','.join('?' * len(part))}) "
                                      "ORDER BY c.article_id, c.ord", part).fetchall()
                           for part in (wanted[i:i + 500] for i in range(0, len(wanted), 500))]
            keys: dict[str, str] = {}  # one string per distinct source or author, not one per chunk
            text_of, text = None, ""
            ids: list[str] = []
            texts: list[str] = []
            sources: list[str] = []
            authors: list[str] = []
            days: list[int] = []
            for cursor in cursors:
                for cid, aid, start, end, skey, akey, day in cursor:
                    if aid != text_of:
                        # Each article's text once, not once per chunk: joining it into every chunk row copied a
                        # 50 MB article 80,000 times (hours for one big file).
                        text_of, text = aid, db.execute("SELECT text FROM articles WHERE id=?", (aid,)).fetchone()[0]
                    ids.append(cid)
                    texts.append(text[start:end])
                    sources.append(keys.setdefault(skey or "", skey or ""))
                    authors.append(keys.setdefault(akey or "", akey or ""))
                    days.append(-1 if day is None else day)
                    if len(ids) >= size:
                        yield ids, texts, _columns(sources, authors, days)
                        ids, texts, sources, authors, days = [], [], [], [], []
            if ids:
                yield ids, texts, _columns(sources, authors, days)

    def bm25_pending(self) -> list[str]:
        """The articles written since the last BM25 update."""
        with self.db() as db:
            return [r[0] for r in db.execute("SELECT article_id FROM bm25_pending")]

    def bm25_log(self) -> tuple[list[str], list[str]]:
        """(the articles written, the chunk ids removed) since the last BM25 update: what an update must apply.

        Both are recorded in the transactions that change the catalog, so a finished write loses none of them;
        reading them costs what changed, not a scan of every chunk id (~1 s and ~200 MB at a million chunks).
        """
        with self.db() as db:
            pending = [r[0] for r in db.execute("SELECT article_id FROM bm25_pending")]
            gone = [r[0] for r in db.execute("SELECT chunk_id FROM bm25_gone")]
        return pending, gone

    def bm25_changes(self) -> tuple[dict[str, str], list[str]]:
        """(chunk id -> article id of every chunk, the articles written since the last BM25 update)."""
        with self.db() as db:
            chunks = dict(db.execute("SELECT id, article_id FROM chunks").fetchall())
            pending = [r[0] for r in db.execute("SELECT article_id FROM bm25_pending")]
        return chunks, pending

    @staticmethod
    def clear_bm25_pending(db: sqlite3.Connection, article_ids: Sequence[str], gone: Sequence[str] = ()) -> None:
        """Forget the pending articles and removed chunks an update has applied."""
        db.executemany("DELETE FROM bm25_pending WHERE article_id=?", [(a,) for a in article_ids])
        db.executemany("DELETE FROM bm25_gone WHERE chunk_id=?", [(c,) for c in gone])

    # -- read side ------------------------------------------------------------------------------------------

    def passages(self, scored: Sequence[tuple[str, float]]) -> list[Passage]:
        """Passages for (chunk_id, score) pairs, in the given order; unknown ids are skipped."""
        if not scored:
            return []
        ids = [cid for cid, _ in scored]
        with self.db() as db:
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
        with self.db() as db:
            row = db.execute("SELECT ord FROM chunks WHERE id=?", (passage.chunk_id,)).fetchone()
            if row is None:
                return None, None
            ids = dict(db.execute("SELECT ord, id FROM chunks WHERE article_id=? AND ord IN (?, ?)",
                                  (passage.article_id, row[0] - 1, row[0] + 1)).fetchall())
        prev = self.passages([(ids[row[0] - 1], 0.0)]) if row[0] - 1 in ids else []
        nxt = self.passages([(ids[row[0] + 1], 0.0)]) if row[0] + 1 in ids else []
        return (prev[0] if prev else None), (nxt[0] if nxt else None)

    def article(self, article_id: str) -> Article | None:
        with self.db() as db:
            r = db.execute("SELECT id, title, text, subtitle, author, section, published, source, url, origin, "
                           "content_hash FROM articles WHERE id=?", (article_id,)).fetchone()
        if r is None:
            return None
        return Article(id=r[0], title=r[1] or "", text=r[2], subtitle=r[3], author=r[4], section=r[5],
                       published=r[6], source=r[7], url=r[8], origin=r[9], content_hash=r[10])

    def count_chunks(self) -> int:
        if not self.exists:
            return 0
        with self.db() as db:
            return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def chunk_ids(self) -> list[str]:
        with self.db() as db:
            return [r[0] for r in db.execute("SELECT id FROM chunks ORDER BY id")]

    def stats(self) -> dict[str, Any]:
        """Articles, chunks, sources, authors and the date range."""
        with self.db() as db:
            n_articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            n_chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            sources = dict(db.execute("SELECT COALESCE(source, ''), COUNT(*) FROM articles GROUP BY 1 "
                                      "ORDER BY 2 DESC, 1").fetchall())
            authors = db.execute("SELECT COUNT(DISTINCT author_key) FROM articles WHERE author_key != ''"
                                 ).fetchone()[0]
            lo, hi = db.execute("SELECT MIN(published), MAX(published) FROM articles").fetchone()
            undated = db.execute("SELECT COUNT(*) FROM articles WHERE published IS NULL").fetchone()[0]
        return {"articles": n_articles, "chunks": n_chunks, "sources": sources, "authors": authors,
                "date_range": [lo, hi] if lo else None, "undated": undated}

    def newest_published(self) -> str | None:
        """The publication date of the newest dated article (YYYY-MM-DD...), None when none is dated."""
        with self.db() as db:
            return db.execute("SELECT MAX(published) FROM articles").fetchone()[0]

    def has_value(self, column: str, key: str) -> bool:
        """Does any article carry this normalised `source_key` or `author_key`?"""
        if column not in ("source_key", "author_key"):
            raise ValueError(column)
        with self.db() as db:
            return db.execute(f"SELECT 1 FROM articles WHERE {column} = ? LIMIT 1", (key,)).fetchone() is not None

    def authors(self, limit: int = 500) -> list[tuple[str, int]]:
        """The authors with their article counts, most articles first; one spelling per filter key.

        >>> # catalog.authors(2) -> [("Leyla Mammadova", 12), ("Tural Aliyev", 3)]
        """
        with self.db() as db:
            rows = db.execute("SELECT MIN(author), COUNT(*) FROM articles WHERE author_key != '' GROUP BY author_key "
                              "ORDER BY 2 DESC, 1 LIMIT ?", (limit,)).fetchall()
        return [(str(name), int(n)) for name, n in rows]

    def list_articles(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self.db() as db:
            rows = db.execute("SELECT id, title, subtitle, author, section, published, source, url, origin "
                              "FROM articles ORDER BY published DESC, id LIMIT ?", (limit,)).fetchall()
        keys = ("id", "title", "subtitle", "author", "section", "published", "source", "url", "origin")
        return [dict(zip(keys, r, strict=True)) for r in rows]


def _bm25_forget(db: sqlite3.Connection, chunk_ids: Sequence[str]) -> None:
    """Note chunks leaving the catalog, for the next BM25 update (Catalog.bm25_log)."""
    db.executemany("INSERT OR IGNORE INTO bm25_gone(chunk_id) VALUES (?)", [(c,) for c in chunk_ids])


def _columns(sources: list[str], authors: list[str], days: list[int]) -> FilterColumns:
    return FilterColumns(np.array(sources, dtype=object), np.array(authors, dtype=object),
                         np.array(days, dtype=np.int64))
