"""Crash matrix: kill `newsdesk ingest` by SIGKILL at many points, re-run it, and demand the exact state of an
uninterrupted ingest.

A script (about 540 lines): the case matrix, the forking runner and the store comparison belong to one
experiment and are read together.

Each case arms one fault point (NEWSDESK_FAULT="<checkpoint>:<n>", see rag.faults) in an ingest run, checks
that the run died by SIGKILL, runs the same ingest again (twice for the double-crash cases, whose recovery run
is killed too), and compares the store with a reference built without faults: the same articles (with content
hashes), chunks, sources, manifest, the same ids, documents, metadata and vectors in Chroma and the same BM25
index, with nothing missing, nothing duplicated and no leftover temporary files.

Two scenarios: "fresh" ingests a generated corpus into an empty store; "update" re-ingests a changed version of
it with --sync into a store holding the first version (edited, retitled, removed and added articles, a deleted
file), so replacements and deletions are killed too.

    python -m eval.bench.stress_crash                      # every case, each run a real `newsdesk` process
    python -m eval.bench.stress_crash --runner fork        # the same through a pre-warmed fork server (faster)
    python -m eval.bench.stress_crash --only chroma_upsert --json

Exit status 0 when every case converged, 1 otherwise.

>>> Case("fresh", "embed_after", 2).name
'fresh-embed_after-2'
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import json
import os
import random
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_TIMEOUT = 180.0  # seconds for one ingest run on a loaded 2-core machine; a hang is a failure, not a wait
# Small chunks give a few dozen articles several embed+write rounds (ingest.sync.EMBED_BATCH_CHUNKS = 512), so
# a crash can fall between two committed batches, not only inside the first.
BASE_ENV = {"NEWSDESK_EMBEDDING_MODEL": "hash", "NEWSDESK_CHUNK_TOKENS": "40", "NEWSDESK_CHUNK_OVERLAP": "8",
            "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@dataclass(frozen=True)
class Case:
    """Kill the run at the n-th hit of `checkpoint`; `then` optionally kills the recovery run as well."""

    scenario: str  # "fresh" or "update"
    checkpoint: str
    n: int = 1
    then: tuple[str, int] | None = None

    @property
    def name(self) -> str:
        base = f"{self.scenario}-{self.checkpoint}-{self.n}"
        return base + (f"-then-{self.then[0]}-{self.then[1]}" if self.then else "")


# Every checkpoint of rag/faults.py's callers, in the order a run meets them, with hit counts chosen so that some
# cases die in the first embed+write round, some between rounds and some in the last one.
CASES: tuple[Case, ...] = (
    Case("fresh", "manifest_tmp_written"),
    Case("fresh", "manifest_written"),
    Case("fresh", "begin_write_dirty"),
    Case("fresh", "read_file"),
    Case("fresh", "read_file", 6),
    Case("fresh", "embed_before"),
    Case("fresh", "embed_after"),
    Case("fresh", "chroma_upsert_before"),
    Case("fresh", "chroma_upsert_after"),
    Case("fresh", "catalog_write_inside"),
    Case("fresh", "catalog_write_after"),
    Case("fresh", "add_sources_inside"),
    Case("fresh", "batch_written"),
    Case("fresh", "embed_after", 2),
    Case("fresh", "chroma_upsert_after", 2),
    Case("fresh", "catalog_write_inside", 2),
    Case("fresh", "finish_before"),
    Case("fresh", "finish_reconciled"),
    Case("fresh", "bm25_tmp_written"),
    Case("fresh", "bm25_saved"),
    Case("fresh", "finish_bm25_rebuilt"),
    Case("fresh", "chroma_upsert_after", 2, then=("reconcile_scanned", 1)),
    Case("fresh", "catalog_write_inside", 2, then=("bm25_tmp_written", 1)),
    Case("update", "begin_write_dirty"),
    Case("update", "read_file", 3),
    Case("update", "add_sources_inside", 3),
    Case("update", "embed_after"),
    Case("update", "chroma_upsert_after"),
    Case("update", "catalog_write_inside"),
    Case("update", "catalog_write_after"),
    Case("update", "chroma_delete_before"),
    Case("update", "chroma_delete_after"),
    Case("update", "batch_written"),
    Case("update", "forget_sources_inside"),
    Case("update", "sync_forgotten"),
    Case("update", "delete_catalog_inside"),
    Case("update", "delete_catalog_after"),
    Case("update", "chroma_delete_after", 2),
    # A write that began clean never reconciles (Store.finish): the scan runs in the repair after a crash.
    Case("update", "catalog_write_after", then=("reconcile_scanned", 1)),
    Case("update", "bm25_tmp_written"),
    Case("update", "bm25_between_renames"),
    Case("update", "bm25_saved"),
    Case("update", "sync_forgotten", then=("chroma_delete_after", 1)),
    Case("update", "bm25_between_renames", then=("bm25_tmp_written", 1)),
)


# ---------------------------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------------------------

_PLACES = ("Astara", "Lankaran", "Baku", "Ganja", "Sheki", "Quba", "Shamakhi", "Zaqatala", "Masalli", "Goychay")
_TOPICS = ("the harbour", "the rail link", "the tea harvest", "the new bridge", "the water plant", "the school",
           "the wind farm", "the museum", "the market", "the airport")
_VERBS = ("expanded", "reopened", "was delayed", "received funding", "doubled its output", "hired new staff",
          "was inspected", "set a record", "cut its prices", "changed hands")


def _article_text(rng: random.Random, key: str, sentences: int) -> str:
    out = []
    for i in range(sentences):
        out.append(f"In {rng.choice(_PLACES)}, {rng.choice(_TOPICS)} {rng.choice(_VERBS)} in week {rng.randint(1, 52)} "
                   f"of {rng.randint(2015, 2024)}, said official {key}-{i}, citing {rng.randint(10, 9999)} units.")
        if i % 4 == 3:
            out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n").strip()


def _records(rng: random.Random, prefix: str, count: int, sentences: int = 14) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "title": f"{prefix.upper()} report {i}", "source": f"{prefix}.example",
             "published": f"2023-{1 + i % 12:02d}-{1 + i % 27:02d}", "author": f"Reporter {i % 5}",
             "text": _article_text(rng, f"{prefix}{i}", sentences)} for i in range(count)]


def write_corpus(root: Path, version: int) -> None:
    """A few dozen articles in several files and formats; version 2 edits, retitles, removes and adds some."""
    rng = random.Random(20240611)
    files: dict[str, list[dict[str, Any]]] = {f"feed{k}.jsonl": _records(rng, f"f{k}x", 10) for k in range(3)}
    listed = _records(rng, "lst", 6)
    pages = [(f"pages/page{k}.txt", f"Page {k} headline\n\n" + _article_text(rng, f"page{k}", 12)) for k in range(4)]
    notes = [(f"notes/note{k}.md", f"# Note {k}\n\n" + _article_text(rng, f"note{k}", 10)) for k in range(3)]
    if version == 2:
        edit = random.Random(7)
        files["feed0.jsonl"][2]["text"] = _article_text(edit, "edited-long", 30)  # more chunks than before
        files["feed0.jsonl"][5]["text"] = _article_text(edit, "edited-short", 3)  # fewer
        files["feed1.jsonl"][1]["title"] = "A corrected headline"  # metadata only: same chunks, new metadata
        del files["feed1.jsonl"][7:9]  # records removed from a file that is still there
        del files["feed2.jsonl"]  # a whole file gone
        files["feed3.jsonl"] = _records(edit, "new", 4)
        pages[1] = (pages[1][0], pages[1][1] + "\n\nUpdate: " + _article_text(edit, "page-update", 4))
        notes = notes[:2]
    if root.exists():
        shutil.rmtree(root)
    (root / "pages").mkdir(parents=True)
    (root / "notes").mkdir()
    for name, records in files.items():
        (root / name).write_text("".join(json.dumps(r) + "\n" for r in records))
    (root / "listed.json").write_text(json.dumps(listed, indent=1))
    for name, text in [*pages, *notes]:
        (root / name).write_text(text)


# ---------------------------------------------------------------------------------------------------------------
# Store state
# ---------------------------------------------------------------------------------------------------------------

def _digest(*arrays: Any) -> str:
    h = hashlib.sha1()
    for a in arrays:
        h.update(a.tobytes() if hasattr(a, "tobytes") else json.dumps(a, sort_keys=True).encode())
    return h.hexdigest()


def _bm25_digest(index: Any) -> str:
    """The index's content independent of term numbering and of how it is split into segments: (term, chunk id,
    frequency) for every live posting, each chunk's length, plus the filter columns.
    """
    index = index.compact()
    terms = sorted(index.vocab, key=index.vocab.__getitem__)
    postings = []
    for seg in index.segments:
        for t in range(len(seg.indptr) - 1):
            rows, tf = seg.postings(t)
            postings.extend((terms[t], seg.ids[int(r)], float(f)) for r, f in zip(rows, tf, strict=True))
    postings.sort()
    rows = sorted(zip(index.row_ids, (float(x) for s in index.segments for x in s.length), index.columns.day.tolist(),
                      index.columns.source.tolist(), index.columns.author.tolist(), strict=True))
    return _digest(postings, rows)


def snapshot(store_dir: Path) -> dict[str, Any]:
    """Everything a converged store must agree on, as plain data; ids keep their order so duplicates show."""
    import numpy as np

    from rag.store.bm25 import BM25Index
    from rag.store.store import Store, read_manifest

    store_dir = Path(store_dir)
    manifest = read_manifest(store_dir)
    db = sqlite3.connect(store_dir / "catalog.db")
    try:
        articles = db.execute("SELECT * FROM articles ORDER BY id").fetchall()
        chunks = db.execute('SELECT id, article_id, ord, start, "end" FROM chunks ORDER BY id').fetchall()
        sources = db.execute("SELECT file, article_id FROM sources ORDER BY file, article_id").fetchall()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    finally:
        db.close()
    assert manifest is not None, f"no manifest in {store_dir}"
    store = Store(store_dir, embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=None)
    col = store.collection
    got = col.get(include=["documents", "metadatas", "embeddings"])
    order = sorted(range(len(got["ids"])), key=lambda i: got["ids"][i])
    chroma_ids = [got["ids"][i] for i in order]
    vectors = np.asarray([got["embeddings"][i] for i in order], dtype=np.float32)
    # The HNSW index must load and answer, not only the metadata segment.
    probe = col.query(query_embeddings=vectors[:1], n_results=min(3, len(chroma_ids)), include=[]) if chroma_ids \
        else {"ids": [[]]}
    bm25 = BM25Index.load(store_dir / "bm25")
    return {
        "manifest": None if manifest is None else manifest.describe(),
        "articles": [list(r) for r in articles],
        "chunks": [list(r) for r in chunks],
        "sources": [list(r) for r in sources],
        "dirty": meta.get("dirty"),
        "bm25_current": meta.get("bm25_generation") == meta.get("generation", "0"),
        "chroma_ids": chroma_ids,
        "chroma_count": col.count(),
        "chroma_docs": _digest([got["documents"][i] for i in order]),
        "chroma_meta": _digest([got["metadatas"][i] for i in order]),
        "chroma_vectors": _digest(np.round(vectors, 5)),
        "chroma_query_ok": len(probe["ids"][0]) == min(3, len(chroma_ids)),
        # Sorted: an updated index holds its rows in the order they were written (a repeated id still shows).
        "bm25_ids": None if bm25 is None else sorted(bm25.ids),
        "bm25_index": None if bm25 is None else _bm25_digest(bm25),
        "leftovers": sorted(p.name for p in store_dir.iterdir() if p.name.endswith((".tmp", ".old"))),
    }


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """What keeps `got` from being exactly `want`, plus any internal disagreement of `got`; empty when converged."""
    problems = []
    catalog = [c[0] for c in got["chunks"]]
    if len(set(got["chroma_ids"])) != len(got["chroma_ids"]) or got["chroma_count"] != len(got["chroma_ids"]):
        problems.append(f"Chroma holds duplicates ({got['chroma_count']} records, {len(set(got['chroma_ids']))} ids)")
    if got["bm25_ids"] is None:
        problems.append("no BM25 index")
    elif len(set(got["bm25_ids"])) != len(got["bm25_ids"]):
        problems.append("BM25 holds duplicate ids")
    for name, ids in (("Chroma", got["chroma_ids"]), ("BM25", got["bm25_ids"] or [])):
        missing, extra = set(catalog) - set(ids), set(ids) - set(catalog)
        if missing or extra:
            problems.append(f"{name} disagrees with the catalog: {len(missing)} missing, {len(extra)} extra")
    if got["dirty"]:
        problems.append("the store is still marked dirty")
    if not got["bm25_current"]:
        problems.append("the BM25 index is older than the catalog")
    if not got["chroma_query_ok"]:
        problems.append("the Chroma vector index does not answer a query")
    if got["leftovers"]:
        problems.append(f"temporary files left: {got['leftovers']}")
    for key in ("manifest", "articles", "chunks", "sources", "chroma_ids", "chroma_docs", "chroma_meta",
                "chroma_vectors", "bm25_ids", "bm25_index"):
        if got[key] != want[key]:
            detail = ""
            if isinstance(want[key], list):
                g, w = {json.dumps(x) for x in got[key] or []}, {json.dumps(x) for x in want[key] or []}
                detail = f" ({len(w - g)} missing, {len(g - w)} unexpected, {len(got[key] or [])} vs {len(want[key])})"
            problems.append(f"{key} differ from the uninterrupted ingest{detail}")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Runners: how one `newsdesk ingest` process is started
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """How one ingest process ended: its exit code (negative: killed by that signal) and stderr."""

    code: int
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.code == -signal.SIGKILL


def _env(fault: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env.update(BASE_ENV)
    if fault:
        env["NEWSDESK_FAULT"] = fault
    return env


class SubprocessRunner:
    """Each run is the real `newsdesk` console script in a new process."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        exe = Path(sys.executable).with_name("newsdesk")
        self.command = [str(exe)] if exe.exists() else [sys.executable, "-m", "ui.cli"]

    def run(self, argv: Sequence[str], fault: str | None = None, timeout: float = RUN_TIMEOUT) -> Run:
        started = time.monotonic()
        proc = subprocess.run([*self.command, *argv], env=_env(fault), cwd=self.workdir, capture_output=True,
                              text=True, timeout=timeout)
        return Run(proc.returncode, proc.stderr, time.monotonic() - started)

    def close(self) -> None:
        pass


class ForkRunner:
    """Each run is a child forked from one server process that imported newsdesk, Chroma and tiktoken once.

    The child calls the console script's own `ui.cli.main` with the run's environment (NEWSDESK_FAULT is
    re-read by reloading rag.faults), so a run costs its work rather than four seconds of imports.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.proc = subprocess.Popen([sys.executable, "-m", "eval.bench.stress_crash", "--fork-server"],
                                     cwd=self.workdir,
                                     env={**_env(None),
                                          "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self._reply(120.0)
        if ready.get("ready") is not True:
            raise RuntimeError(f"fork server failed to start: {ready}")

    def _reply(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"fork server gave no reply within {timeout:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"fork server exited ({self.proc.poll()})")
        return dict(json.loads(line))

    def run(self, argv: Sequence[str], fault: str | None = None, timeout: float = RUN_TIMEOUT) -> Run:
        assert self.proc.stdin is not None
        with tempfile.NamedTemporaryFile("r", dir=self.workdir, suffix=".stderr") as err:
            request = {"argv": list(argv), "env": _env(fault), "stderr": err.name, "timeout": timeout}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            reply = self._reply(timeout + 30)
            return Run(int(reply["code"]), Path(err.name).read_text(), float(reply["seconds"]))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def _fork_server() -> None:
    """The other end of ForkRunner: one JSON request per stdin line, one JSON reply per stdout line."""
    import chromadb
    import chromadb.api.rust  # noqa: F401 - what the first PersistentClient would import (0.6 s)

    import rag.faults
    from eval.bench import newsdesk_main
    from ingest import sync  # noqa: F401
    from rag.testing import HashEmbedder
    from rag.text.tokens import count_tokens_batch

    main = newsdesk_main()  # imports the command line and what it imports at start-up, once
    count_tokens_batch(["warm the tokenizer"])  # loads tiktoken's tables before forking
    HashEmbedder().embed(["warm"])
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # the child: become `newsdesk ARGV` with the requested environment
            code = 1
            try:
                os.environ.clear()
                os.environ.update(request["env"])
                importlib.reload(rag.faults)  # callers hold its checkpoint(), which reads the reloaded globals
                fd = os.open(request["stderr"], os.O_WRONLY | os.O_TRUNC)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(fd, 2)
                os.dup2(null, 1)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - lives until os._exit
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                code = main(request["argv"])
            except BaseException:  # noqa: BLE001 - the child must never return into the server's loop
                code = 1
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        status = None
        deadline = started + float(request["timeout"])
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(raw)
            elif time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = -999  # timed out: reported as a failure by the caller
            else:
                time.sleep(0.02)
        out.write(json.dumps({"code": status, "seconds": time.monotonic() - started}) + "\n")
        out.flush()


# ---------------------------------------------------------------------------------------------------------------
# Running cases
# ---------------------------------------------------------------------------------------------------------------

class Matrix:
    """The corpora, the clean base store and the two references of one working directory."""

    def __init__(self, workdir: Path, runner: SubprocessRunner | ForkRunner) -> None:
        self.work = Path(workdir)
        self.runner = runner
        self.fresh_corpus = self.work / "corpus-fresh"
        self.update_corpus = self.work / "corpus-update"
        self.base = self.work / "base-v1"
        write_corpus(self.fresh_corpus, 1)
        write_corpus(self.update_corpus, 1)
        self._ingest(self.base, self.update_corpus)  # version 1, at the path version 2 will have
        write_corpus(self.update_corpus, 2)
        self._ingest(self.work / "ref-fresh", self.fresh_corpus)
        shutil.copytree(self.base, self.work / "ref-update")
        self._ingest(self.work / "ref-update", self.update_corpus, sync=True)
        self.references = {"fresh": snapshot(self.work / "ref-fresh"), "update": snapshot(self.work / "ref-update")}

    def argv(self, store: Path, scenario: str) -> list[str]:
        if scenario == "fresh":
            return ["--store", str(store), "ingest", str(self.fresh_corpus), "--json"]
        return ["--store", str(store), "ingest", str(self.update_corpus), "--sync", "--json"]

    def _ingest(self, store: Path, corpus: Path, sync: bool = False) -> None:
        argv = ["--store", str(store), "ingest", str(corpus), "--json"] + (["--sync"] if sync else [])
        run = self.runner.run(argv)
        if run.code != 0:
            raise RuntimeError(f"reference ingest failed ({run.code}): {run.stderr.strip()[-500:]}")

    def run_case(self, case: Case, runner: SubprocessRunner | ForkRunner | None = None) -> dict[str, Any]:
        """Kill, recover, compare (with this matrix's runner unless given); returns {"case", "ok", "problems",
        "seconds"}.
        """
        runner = runner or self.runner
        started = time.monotonic()
        store = self.work / "cases" / case.name
        shutil.rmtree(store, ignore_errors=True)
        store.parent.mkdir(exist_ok=True)
        if case.scenario == "update":
            shutil.copytree(self.base, store)
        argv = self.argv(store, case.scenario)
        problems: list[str] = []
        kills = [(case.checkpoint, case.n), *([case.then] if case.then else [])]
        for checkpoint, n in kills:
            run = runner.run(argv, fault=f"{checkpoint}:{n}")
            if not run.killed:
                problems.append(f"the run armed at {checkpoint}:{n} was not killed by SIGKILL (exit {run.code}): "
                                f"{run.stderr.strip()[-300:]}")
                break
        if not problems:
            run = runner.run(argv)
            if run.code != 0:
                problems.append(f"the recovery run failed (exit {run.code}): {run.stderr.strip()[-300:]}")
            else:
                problems.extend(differences(snapshot(store), self.references[case.scenario]))
        if not problems:
            shutil.rmtree(store, ignore_errors=True)  # keep only the stores that failed, for a post-mortem
        return {"case": case.name, "ok": not problems, "problems": problems,
                "seconds": round(time.monotonic() - started, 2)}


@contextlib.contextmanager
def open_runner(kind: str, workdir: Path) -> Iterator[SubprocessRunner | ForkRunner]:
    runner: SubprocessRunner | ForkRunner = ForkRunner(workdir) if kind == "fork" else SubprocessRunner(workdir)
    try:
        yield runner
    finally:
        runner.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench.stress_crash", description=__doc__.split("\n\n")[0])
    p.add_argument("--runner", choices=["subprocess", "fork"], default="subprocess",
                   help="subprocess: the real `newsdesk` script per run (default); fork: a pre-warmed fork server")
    p.add_argument("--work", default=None, help="working directory (default: a new temporary one, removed after)")
    p.add_argument("--only", default=None, help="only cases whose name contains this")
    p.add_argument("--json", action="store_true")
    p.add_argument("--fork-server", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.fork_server:
        _fork_server()
        return 0
    cases = [c for c in CASES if not args.only or args.only in c.name]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="newsdesk-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results = []
    try:
        with open_runner(args.runner, work) as runner:
            matrix = Matrix(work, runner)
            for case in cases:
                result = matrix.run_case(case)
                results.append(result)
                if not args.json:
                    mark = "ok  " if result["ok"] else "FAIL"
                    print(f"{mark} {result['case']:<58} {result['seconds']:6.1f} s", flush=True)
                    for problem in result["problems"]:
                        print(f"     {problem}", flush=True)
    finally:
        if not args.work and all(r["ok"] for r in results):
            shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in results if not r["ok"]]
    summary = {"cases": len(results), "failed": len(failed), "checkpoints": len({c.checkpoint for c in cases}),
               "runner": args.runner, "seconds": round(time.monotonic() - started, 1)}
    if args.json:
        print(json.dumps({**summary, "results": results}, indent=1))
    else:
        print(f"{summary['cases']} cases over {summary['checkpoints']} checkpoints, {summary['failed']} failed, "
              f"{summary['seconds']} s ({args.runner} runner)" + ("" if not failed else f"; stores kept in {work}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
