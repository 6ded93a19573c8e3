r"""Benchmark: a store of up to a million chunks, built without embedding a million times, and what it costs to use.

The store grows from the articles of a real store (`source`), replicated: replica 0 is the source's articles
as they are, replica r > 0 the same articles with ids suffixed `~r` and every vector moved by a random
perturbation (norm `--noise`, renormalised; cosine ~0.99 to the original), so that the kNN graph is not a pile
of exact duplicates. Articles, chunks and vectors go through the store's own write path (`Store.write_articles`:
the Chroma upserts and the catalog) in large batches; the BM25 index is the bulk equivalent of a first build: the
source's chunks are tokenised once and their segment repeated per replica with the replica's ids, merged by
the index's own merge into the one segment a build over the catalog makes, then saved in its own format.

At each size of `--sizes` it reports: p50/p95 of fused retrieval and of the whole extractive `ask` (the query
benchmark's child, `python -m eval.bench run-query`, in a new process), peak RSS of that process and of a
`newsdesk ask` in a new process with its wall time (the cold start; median of `--cold-runs`), disk size by part,
the BM25 arrays in memory and the index's load time, and one small re-ingest: `newsdesk ingest` of a file
holding one stored article with a sentence added (the whole command, new process), then of the original
record again (the store is as before). With `--server-sizes` the same queries and asks also run against a
`chroma run --path <store>/chroma` server on 127.0.0.1 (NEWSDESK_CHROMA_URL), with the server's RSS.

    python -m eval.bench.scale /work/stores/speed2-rtqa-int8 --corpus ../shared/corpus/rtqa/articles.jsonl \
        --work /work/stores/speed2-scale --sizes 100000,300000,1000000 --server-sizes 100000,300000

The store is grown in place from one size to the next (only the new replicas are written); `--keep` leaves it on
disk at the end (it is deleted otherwise). A JSON report goes to <work>/scale-report.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.bench.speed import QUESTION, child_env, last_json, load_average, read_records, run_process, say

PROGRESS = "scale-progress.json"  # in the grown store: how far through the replicated sequence it is
WRITE_BATCH_CHUNKS = 5000


@dataclasses.dataclass
class Source:
    """The articles of the source store in BM25 row order (article id, then chunk order), with their chunks,
    vectors and text hashes, and the source's BM25 index over exactly those rows.
    """

    manifest: Any
    articles: list[Any]  # rag.types.Article
    chunks: list[list[tuple[str, int, int]]]  # per article: (chunk id, start, end)
    text_hashes: list[str]
    vectors: np.ndarray  # one row per chunk, in the same order
    rows_before: np.ndarray  # rows_before[i]: chunks of the articles before article i (len = articles + 1)
    bm25: Any  # rag.store.bm25.BM25Index, one segment


def load_source(path: Path) -> Source:
    from rag.store.bm25 import BM25Index
    from rag.store.store import Store, read_manifest

    manifest = read_manifest(path)
    if manifest is None:
        raise SystemExit(f"no store at {path}")
    src = Store(path, embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=None)
    bm25 = BM25Index.build_from(src.catalog.bm25_slices())
    order = bm25.segments[0].ids  # article id, then chunk order: the order articles are replicated in
    with src.catalog.db() as db:
        spans = {cid: (aid, s, e) for cid, aid, s, e in db.execute('SELECT id, article_id, start, "end" FROM chunks')}
        hashes = dict(db.execute("SELECT id, text_hash FROM articles").fetchall())
    articles, chunks, text_hashes = [], [], []
    for cid in order:
        aid, start, end = spans[cid]
        if not articles or articles[-1].id != aid:
            article = src.article(aid)
            assert article is not None
            articles.append(article)
            chunks.append([])
            text_hashes.append(hashes[aid])
        chunks[-1].append((cid, start, end))
    vectors = np.empty((len(order), manifest.dim), np.float32)
    at = {cid: i for i, cid in enumerate(order)}
    col = src.collection
    for offset in range(0, len(order), 5000):
        got = col.get(include=["embeddings"], limit=5000, offset=offset)
        for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
            vectors[at[cid]] = vec
    rows_before = np.cumsum([0] + [len(c) for c in chunks])
    return Source(manifest, articles, chunks, text_hashes, vectors, rows_before, bm25)


def replica_id(some_id: str, replica: int) -> str:
    """The id of an article or chunk in replica r: unchanged for r = 0, `<article>~r` (and `<article>~r-<hash>`
    for its chunks) otherwise.

    >>> replica_id("0004115e11d1b1e7", 2), replica_id("0004115e11d1b1e7-05b47e894e8a", 2)
    ('0004115e11d1b1e7~2', '0004115e11d1b1e7~2-05b47e894e8a')
    """
    if replica == 0:
        return some_id
    head, sep, tail = some_id.partition("-")
    return f"{head}~{replica}{sep}{tail}"


def perturbed(vectors: np.ndarray, replica: int, noise: float) -> np.ndarray:
    """Replica r's vectors: unchanged for r = 0, else each moved by a random vector of norm `noise` and
    renormalised (seeded by r: the same store every run).
    """
    if replica == 0 or noise <= 0:
        return vectors
    rng = np.random.default_rng(replica)
    step = rng.standard_normal(vectors.shape).astype(np.float32)
    step *= noise / np.linalg.norm(step, axis=1, keepdims=True)
    moved = vectors + step
    return moved / np.linalg.norm(moved, axis=1, keepdims=True)


def _open(dest: Path, manifest: Any) -> Any:
    from rag.store.store import Store

    return Store(dest, embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=manifest.chunker,
                 create=True, precision=manifest.embedding_precision)


def grow(source: Source, dest: Path, target_chunks: int, noise: float = 0.15) -> dict[str, Any]:
    """Write replicated articles into `dest` until it holds at least `target_chunks` chunks (whole articles), then
    install the BM25 index of all of them; returns what was written and how long it took.
    """
    from rag.types import Chunk

    progress_file = dest / PROGRESS
    done = json.loads(progress_file.read_text()) if progress_file.exists() else {"next": 0, "chunks": 0}
    store = _open(dest, source.manifest)
    n = len(source.articles)
    started = time.perf_counter()
    written = 0
    with store.lock():
        store.begin_write()
        k = done["next"]
        while done["chunks"] < target_chunks:
            items, hashes, batch_chunks, vec_cache = [], [], 0, {}
            while done["chunks"] + batch_chunks < target_chunks and batch_chunks < WRITE_BATCH_CHUNKS:
                replica, i = divmod(k, n)
                if replica not in vec_cache:
                    vec_cache = {replica: perturbed(source.vectors, replica, noise)}
                article = source.articles[i]
                aid = replica_id(article.id, replica)
                copy = dataclasses.replace(article, id=aid)
                chunks = [Chunk(id=replica_id(cid, replica), article_id=aid, start=s, end=e, text=article.text[s:e])
                          for cid, s, e in source.chunks[i]]
                lo, hi = source.rows_before[i], source.rows_before[i + 1]
                items.append((copy, chunks, vec_cache[replica][lo:hi]))
                # A replica's text is the source's; its own text hash keeps an ingest from taking it for a
                # duplicate of the original (which would refuse the one-article re-ingest below).
                hashes.append(replica_id(source.text_hashes[i], replica))
                batch_chunks += len(chunks)
                k += 1
            store.write_articles(items, hashes)
            store.add_sources((f"scale-replica-{divmod(k - 1, n)[0]}", a.id) for a, _, _ in items)
            done = {"next": k, "chunks": done["chunks"] + batch_chunks}
            written += batch_chunks
        write_s = time.perf_counter() - started
        index_s = save_s = 0.0
        if written:  # else a resumed run at a size already reached: the index is the one installed before
            t0 = time.perf_counter()
            index = replicated_bm25(source, done["next"])
            index_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            install_bm25(store, index)
            save_s = time.perf_counter() - t0
        else:
            install_bm25(store, None)
    progress_file.write_text(json.dumps(done))
    return {"chunks": store.count_chunks(), "chunks_written": written, "write_s": round(write_s, 1),
            "bm25_index_s": round(index_s, 1), "bm25_save_s": round(save_s, 1),
            "chunks_per_s": round(written / write_s, 1) if write_s else None}


def replicated_bm25(source: Source, n_written: int) -> Any:
    """The BM25 index of the first `n_written` articles of the replicated sequence: the source's segment once
    per replica with the replica's ids (the last replica cut to the articles written), merged into one segment.
    Texts are the same in every replica, so this is, posting for posting, the index a build over the catalog makes
    (the rows in another order; tested).
    """
    from rag.store.bm25 import BM25Index, Segment, merge_segments

    base = source.bm25.segments[0]
    n = len(source.articles)
    segments, live = [], []
    for replica in range((n_written + n - 1) // n):
        ids = base.ids if replica == 0 else [replica_id(cid, replica) for cid in base.ids]
        segments.append(Segment(ids, base.indptr, base.rows, base.tf, base.length, base.columns))
        mask = np.ones(len(base.ids), bool)
        mask[source.rows_before[min(n, n_written - replica * n)]:] = False
        live.append(mask)
    merged = merge_segments(segments, live, len(source.bm25.vocab))
    return BM25Index(dict(source.bm25.vocab), [merged], [np.ones(len(merged.ids), bool)])


def install_bm25(store: Any, index: Any) -> None:
    """Save `index` (None: keep the saved one) as the store's BM25 index for the catalog as it is now and mark
    the store clean: what Store.finish() does after a build (the write began on a store this process found clean:
    nothing to reconcile).
    """
    generation = store.catalog.meta("generation") or "0"
    if index is not None:
        index.save(store.root / "bm25")
    pending, gone = store.catalog.bm25_log()
    with store.catalog.db() as db:
        store.catalog.set_meta(db, "bm25_generation", generation)
        store.catalog.clear_bm25_pending(db, pending, gone)
        store.catalog.set_meta(db, "dirty", None)


# -- measuring ------------------------------------------------------------------------------------------------

def du_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1) if path.exists() else 0.0


def store_facts(store: Path) -> dict[str, Any]:
    from rag.store.bm25 import BM25Index

    t0 = time.perf_counter()
    index = BM25Index.load(store / "bm25")
    load_s = time.perf_counter() - t0
    assert index is not None
    total = du_mb(store)
    chroma, bm25 = du_mb(store / "chroma"), du_mb(store / "bm25")
    return {"disk_mb": {"total": total, "chroma": chroma, "bm25": bm25, "catalog": round(total - chroma - bm25, 1)},
            "bm25_arrays_mb": round(index.nbytes() / 2**20, 1), "bm25_load_s": round(load_s, 2),
            "bm25_segments": len(index.segments)}


def _ask_cmd(store: Path) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "--store", str(store), "ask", QUESTION, "--json"]


def measure(store: Path, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """Query latency (the query benchmark's child), then `newsdesk ask` in new processes: wall and peak RSS."""
    cmd = [sys.executable, "-m", "eval.bench", "run-query", "--store", str(store), "--question-store", str(store),
           "--warmup", str(args.warmup), "--article-questions", str(args.article_questions)]
    run = run_process(cmd, env=env)
    m = last_json(run["stdout"])
    out: dict[str, Any] = {"chunks": m["chunks"], "refused": m["refused"],
                           "fused_ms": m["ms"]["fused"], "ask_ms": m["ms"]["ask"], "embed_ms": m["ms"]["embed"],
                           "dense_ms": m["ms"]["dense"], "bm25_ms": m["ms"]["bm25"],
                           # CPU time of the process per question (all threads): what the load moves least.
                           "fused_cpu_ms": m["ms"]["fused_cpu"], "ask_cpu_ms": m["ms"]["ask_cpu"],
                           "query_process_max_rss_mb": round(run["max_rss_mb"])}
    walls, rss = [], []
    for _ in range(args.cold_runs):
        ask = run_process(_ask_cmd(store), env=env)
        walls.append(ask["wall_s"])
        rss.append(ask["max_rss_mb"])
    out["cold_ask_s"] = {"median": round(statistics.median(walls), 2), "runs": [round(w, 2) for w in walls]}
    out["cold_ask_max_rss_mb"] = round(max(rss))
    return out


def one_changed_article(store: Path, corpus: Path | None, env: dict[str, str]) -> dict[str, Any] | None:
    """`newsdesk ingest` of one stored article with a sentence added, then of its original record (the store as it
    was); wall time and peak RSS of each whole command. The record comes from `corpus` (the source's file).
    """
    if corpus is None:
        return None
    import sqlite3

    db = sqlite3.connect(store / "catalog.db")
    ids = {r[0] for r in db.execute("SELECT id FROM articles WHERE id NOT LIKE '%~%' LIMIT 5000")}
    db.close()
    record = next((r for r in read_records(corpus) if r.get("id") in ids), None)
    if record is None:
        return None
    out: dict[str, Any] = {"article": record["id"]}
    with tempfile.TemporaryDirectory(prefix="scale-reingest-") as tmp:
        path = Path(tmp) / "one-article.jsonl"
        changed = {**record, "text": record["text"] + "\n\nA correction was added to this article later that day."}
        for name, rec in (("changed", changed), ("restored", record)):
            path.write_text(json.dumps(rec, ensure_ascii=False) + "\n")
            run = run_process([sys.executable, "-m", "ui.cli", "--store", str(store), "ingest", str(path), "--json"],
                              env=env)
            result = last_json(run["stdout"])
            assert result["updated"] == 1, result
            out[name] = {"wall_s": round(run["wall_s"], 2), "max_rss_mb": round(run["max_rss_mb"]),
                         "chunks_embedded": result["chunks_embedded"]}
    return out


def _rss_mb(pid: int) -> int | None:
    """Resident memory of a running process (Linux /proc), MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_server(store: Path, corpus: Path | None, args: argparse.Namespace) -> dict[str, Any]:
    """The same measurements, the one-article re-ingest included, with the vectors served by
    `chroma run --path <store>/chroma` on 127.0.0.1.
    """
    chroma = Path(sys.executable).with_name("chroma")
    port = _free_port()
    started = time.perf_counter()
    server = subprocess.Popen([str(chroma), "run", "--path", str(store / "chroma"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**child_env(), "ANONYMIZED_TELEMETRY": "False"})
    try:
        url = f"http://127.0.0.1:{port}"
        import urllib.request

        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2).read()
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 300:
                    raise SystemExit(f"chroma run on {store / 'chroma'} did not come up") from None
                time.sleep(0.5)
        up_s = time.perf_counter() - started
        env = {**child_env(), "NEWSDESK_CHROMA_URL": url}
        m = measure(store, env, args)
        m["server_start_s"] = round(up_s, 1)
        m["server_rss_mb"] = _rss_mb(server.pid)
        m["one_changed_article"] = one_changed_article(store, corpus, env)
        m["server_rss_after_reingest_mb"] = _rss_mb(server.pid)
        return m
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def _line(size: int, m: dict[str, Any]) -> str:
    return (f"{m['chunks']:>8} chunks: fused p50/p95 {m['fused_ms']['p50']}/{m['fused_ms']['p95']} ms, ask "
            f"{m['ask_ms']['p50']}/{m['ask_ms']['p95']} ms (CPU p50: fused {m['fused_cpu_ms']['p50']}, ask "
            f"{m['ask_cpu_ms']['p50']}; wall p50: embed {m['embed_ms']['p50']}, dense "
            f"{m['dense_ms']['p50']}, bm25 {m['bm25_ms']['p50']}), `newsdesk ask` cold {m['cold_ask_s']['median']} s "
            f"and {m['cold_ask_max_rss_mb']} MB, query process {m['query_process_max_rss_mb']} MB; "
            f"refused {m['refused']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench.scale", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("source", help="a built store whose articles are replicated")
    parser.add_argument("--work", default="/tmp/bench-newsdesk/scale", help="where the grown store goes")
    parser.add_argument("--sizes", default="100000,300000,1000000", help="chunk counts to measure at, ascending")
    parser.add_argument("--server-sizes", default="", help="of those, where to measure against `chroma run` too")
    parser.add_argument("--corpus", default=None, help="the source's corpus file (for the one-article re-ingest)")
    parser.add_argument("--noise", type=float, default=0.15, help="norm of each replica vector's perturbation")
    parser.add_argument("--article-questions", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the grown store on disk")
    parser.add_argument("--server-only", action="store_true", help="at each size measure only against the server")
    parser.add_argument("--resume", action="store_true", help="grow the store a --keep run left (default: start "
                        "from an empty one)")
    args = parser.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    work = Path(args.work)
    dest = work / "store"
    if not args.resume:
        shutil.rmtree(dest, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    say(f"== scale benchmark from {args.source}; load average {load_average()}")
    t0 = time.perf_counter()
    source = load_source(Path(args.source))
    say(f"source: {len(source.articles)} articles, {len(source.vectors)} chunks, read in "
        f"{time.perf_counter() - t0:.1f} s")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    servers = {int(s) for s in args.server_sizes.split(",") if s}
    report: dict[str, Any] = {"command": " ".join([sys.executable, "-m", "eval.bench.scale", *(argv or sys.argv[1:])]),
                              "source": args.source, "sizes": {}}
    out = work / ("scale-report-resumed.json" if args.resume else "scale-report.json")
    env = child_env()
    try:
        for size in sizes:
            built = grow(source, dest, size, args.noise)
            say(f"grown to {built['chunks']} chunks: {built['chunks_written']} written in {built['write_s']} s "
                f"({built['chunks_per_s']} chunks/s), BM25 {built['bm25_index_s']} s + save {built['bm25_save_s']} s;"
                f" load {load_average()}")
            entry: dict[str, Any] = {"build": built, **store_facts(dest)}
            say(f"  disk {entry['disk_mb']} MB, BM25 arrays {entry['bm25_arrays_mb']} MB (load "
                f"{entry['bm25_load_s']} s)")
            corpus = Path(args.corpus) if args.corpus else None
            if not args.server_only:
                entry["embedded"] = measure(dest, env, args)
                say("  embedded Chroma " + _line(size, entry["embedded"]))
                entry["one_changed_article"] = one_changed_article(dest, corpus, env)
                if entry["one_changed_article"]:
                    say(f"  one changed article: {entry['one_changed_article']}")
            if size in servers:
                entry["server"] = with_server(dest, corpus, args)
                say(f"  chroma run (server start {entry['server']['server_start_s']} s, server RSS "
                    f"{entry['server']['server_rss_mb']} MB) " + _line(size, entry["server"]))
                if entry["server"].get("one_changed_article"):
                    say(f"  one changed article, vectors on the server: {entry['server']['one_changed_article']}")
            entry["load_average"] = load_average()
            report["sizes"][str(size)] = entry
            out.write_text(json.dumps(report, indent=2))
    finally:
        out.write_text(json.dumps(report, indent=2))
        if not args.keep:
            shutil.rmtree(dest, ignore_errors=True)
    say(f"report: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
