"""Concurrent questions must give exactly the answers they give one at a time, with no errors.

Two bursts of N questions at once over one store: through the Python API (Assistant.ask from a thread pool) and
through the web chat's "ask" API (gradio_client, one client per request, against `newsdesk ui` started here on
127.0.0.1 in its own process). Each answer is compared with the sequential answer to the same question
(`to_dict()` without timings); the latency percentiles, error and mismatch counts are printed.

    python -m eval.bench.stress_load --store .newsdesk-sample --n 50
    python -m eval.bench.stress_load --store DIR --n 50 --only python --json

Exit status 0 when both bursts had no error and no mismatch, 1 otherwise. eval.bench.ui measures latency
alone, in more detail.

>>> strip_timings({"answer": "x", "timings_ms": {"total": 3.0}})
{'answer': 'x'}
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.bench.ui import _start_server, _tail, percentile
from rag.testing import free_port

MAX_N = 200
# (question, filters): answered, refused and filtered questions, so every path of the answerer runs at once.
DEFAULT_ASKS: tuple[tuple[str, dict[str, str] | None], ...] = (
    ("How long and how wide will the Astarachay bridge be?", None),
    ("How many people were on board the missing Malaysia Airlines flight?", None),
    ("Why did South Korea's prime minister offer to resign?", {"source": "cnn.com"}),
    ("Which countries agreed to normalize relations?", None),
    ("Who won the 2022 football World Cup?", None),
    ("How long will the Astarachay bridge be?", {"since": "2024-01-01"}),
    ("What happened to the Statue of Liberty after the bomb threat?", None),
    ("What did officials say about the new bridge?", {"until": "2023-12-31"}),
)


def strip_timings(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer JSON without what legitimately varies between two runs."""
    return {k: v for k, v in answer.items() if k != "timings_ms"}


@dataclass
class Burst:
    """What one burst of concurrent questions did."""

    mode: str
    n: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    timed_out: int = 0
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.errors or self.mismatches or self.timed_out) and len(self.latencies_ms) == self.n

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {"mode": self.mode, "n": self.n, "completed": len(lat), "errors": len(self.errors),
                "mismatches": len(self.mismatches), "timed_out": self.timed_out,
                "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
                "max_ms": round(max(lat, default=float("nan")), 1), "wall_s": round(self.wall_s, 2),
                "first_errors": self.errors[:3], "first_mismatches": self.mismatches[:3]}


def burst(mode: str, call: Callable[[int, str, dict[str, str] | None], dict[str, Any]],
          asks: Sequence[tuple[str, dict[str, str] | None]], n: int, timeout: float) -> Burst:
    """Run `call(worker, question, filters)` sequentially once per distinct ask, then n times at once; compare.

    `worker` is the index of the concurrent caller (0 for the sequential pass), for callers that keep one client
    per worker.
    """
    result = Burst(mode, n)
    expected: dict[int, dict[str, Any]] = {}
    for i, (question, filters) in enumerate(asks):
        expected[i] = strip_timings(call(0, question, filters))  # also warms model, BM25 and Chroma

    def one(i: int) -> tuple[int, float, dict[str, Any]]:
        question, filters = asks[i % len(asks)]
        t = time.perf_counter()
        out = call(i, question, filters)
        return i, (time.perf_counter() - t) * 1e3, out

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix=f"stress-{mode}") as pool:
        started = time.perf_counter()
        futures = [pool.submit(one, i) for i in range(n)]
        done, not_done = wait(futures, timeout=timeout)
        result.wall_s = time.perf_counter() - started
        for f in not_done:
            f.cancel()
    result.timed_out = len(not_done)
    for f in done:
        if f.exception() is not None:
            result.errors.append(repr(f.exception())[:300])
            continue
        i, ms, out = f.result()
        result.latencies_ms.append(ms)
        want = expected[i % len(asks)]
        if strip_timings(out) != want:
            got = strip_timings(out)
            diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            result.mismatches.append(f"request {i} ({asks[i % len(asks)][0]!r}): differs in {diff}")
    return result


def python_burst(assistant: Any, asks: Sequence[tuple[str, dict[str, str] | None]], n: int,
                 timeout: float = 600.0) -> Burst:
    """N concurrent Assistant.ask calls from a thread pool, against one Assistant."""
    return burst("python", lambda _, q, f: assistant.ask(q, filters=f).to_dict(), asks, n, timeout)


def api_burst(url: str, asks: Sequence[tuple[str, dict[str, str] | None]], n: int,
              timeout: float = 600.0) -> Burst:
    """N concurrent /ask calls through gradio_client, one client (one user session) per request."""
    from gradio_client import Client

    def connect(_: int) -> Any:
        return Client(url, verbose=False, download_files=False, analytics_enabled=False)

    # Connected before the clock starts: a client's start-up (config and API fetches) is not what is measured.
    with ThreadPoolExecutor(max_workers=min(n, 16)) as pool:
        clients = list(pool.map(connect, range(n), timeout=timeout))
    return burst("gradio-api", lambda i, q, f: dict(clients[i].predict(q, f, api_name="/ask")), asks, n, timeout)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench.stress_load", description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, help="an ingested store directory")
    p.add_argument("--n", type=int, default=50, help=f"concurrent questions per burst (1..{MAX_N}, default 50)")
    p.add_argument("--question", action="append", default=None, help="question to ask (repeatable; default: a mix "
                   "of answered, refused and filtered questions for the sample corpus)")
    p.add_argument("--only", choices=["python", "api"], default=None, help="run one burst only")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds for each burst (default 600)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not 1 <= args.n <= MAX_N:
        p.error(f"--n must be between 1 and {MAX_N}")
    store = Path(args.store)
    if not (store / "manifest.json").exists():
        p.error(f"{store} holds no store; run `newsdesk --store {store} ingest PATH` first")
    asks = [(q, None) for q in args.question] if args.question else list(DEFAULT_ASKS)
    bursts: list[Burst] = []

    if args.only in (None, "python"):
        from rag.assistant import Assistant

        bursts.append(python_burst(Assistant.open(store), asks, args.n, args.timeout))
    if args.only in (None, "api"):
        port = free_port()
        log = tempfile.NamedTemporaryFile("w+b", prefix="newsdesk-stress-ui-", suffix=".log", delete=False)  # noqa: SIM115 - the server's log, closed after it
        proc: subprocess.Popen[bytes] | None = None
        try:
            proc = _start_server(store, port, 180.0, log)
            bursts.append(api_burst(f"http://127.0.0.1:{port}/", asks, args.n, args.timeout))
        finally:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
            if bursts and not bursts[-1].ok:
                print(_tail(log), file=sys.stderr)
            log.close()
            Path(log.name).unlink(missing_ok=True)

    summaries = [b.summary() for b in bursts]
    if args.json:
        print(json.dumps({"store": str(store), "bursts": summaries}, indent=1))
    else:
        print(f"{'mode':<11} {'n':>4} {'done':>5} {'errors':>6} {'mismatch':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8} {'wall s':>7}")
        for s in summaries:
            print(f"{s['mode']:<11} {s['n']:>4} {s['completed']:>5} {s['errors']:>6} {s['mismatches']:>8} "
                  f"{s['p50_ms']:>8} {s['p95_ms']:>8} {s['max_ms']:>8} {s['wall_s']:>7}")
            for line in s["first_errors"] + s["first_mismatches"]:
                print(f"  {line}")
    return 0 if all(b.ok for b in bursts) else 1


if __name__ == "__main__":
    sys.exit(main())
