"""Latency of the web chat's "ask" API under concurrent clients.

Starts `newsdesk ui` over a store on 127.0.0.1 (a free port) in its own process, warms it up, then sends N
requests at once through gradio_client and prints the client-side latency percentiles next to what the
Assistant itself measured (timings_ms.total), so queueing shows up as the difference between the two.

    python -m eval.bench.ui --store .newsdesk-sample            # 20 concurrent requests
    python -m eval.bench.ui --store DIR --requests 40 --json
    python -m eval.bench.ui --store DIR --transport http       # the same calls without gradio_client

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from rag.testing import free_port

MAX_REQUESTS = 200
QUESTIONS = (
    "How long will the Astarachay bridge be?",
    "What did officials say about the new bridge?",
    "Which countries agreed to normalize relations?",
    "What happened in the news this week?",
    "Who won the 2022 football World Cup?",  # refused on most stores: the cheap path belongs in the mix too
)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile with linear interpolation between the closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _server_concurrency() -> int | None:
    """The server's answer concurrency, read from the source so this process need not import gradio."""
    import re

    m = re.search(r"^CONCURRENCY = (\d+)", (Path(__file__).resolve().parents[2] / "ui" / "app.py").read_text(), re.M)
    return int(m.group(1)) if m else None


def _start_server(store: Path, port: int, timeout: float, log: Any) -> subprocess.Popen[bytes]:
    """`newsdesk ui` in its own process, as users run it: the clients here must not share its GIL.

    Its output goes to `log` (a file, never an unread pipe that would stall the server once full).
    """
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "--store", str(store), "ui", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=root, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the web chat did not start:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"the web chat did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def _tail(log: Any, chars: int = 3000) -> str:
    log.flush()
    return Path(log.name).read_text(errors="replace")[-chars:]


def _ask_http(http: Any, url: str, question: str, timeout: float) -> dict[str, Any]:
    """The same /ask call over Gradio's plain HTTP API (POST, then read the event stream), without the client."""
    r = http.post(f"{url}gradio_api/call/ask", json={"data": [question, None, None, None]})
    r.raise_for_status()
    event, data = "", ""
    with http.stream("GET", f"{url}gradio_api/call/ask/{r.json()['event_id']}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
                if event in ("complete", "error"):
                    break
    if event != "complete":
        raise RuntimeError(f"/ask failed: {event} {data[:200]}")
    return dict(json.loads(data)[0])


def run(store: Path, *, requests: int, questions: list[str], timeout: float,
        transport: str = "gradio_client") -> dict[str, Any]:
    """Start the app, fire `requests` concurrent /ask calls, return the measurements."""
    import httpx
    from gradio_client import Client

    t0 = time.perf_counter()
    port = free_port()
    log = tempfile.NamedTemporaryFile("w+b", prefix="newsdesk-bench-ui-", suffix=".log", delete=False)  # noqa: SIM115 - kept for the server
    proc = _start_server(store, port, timeout, log)
    url = f"http://127.0.0.1:{port}/"
    started_s = time.perf_counter() - t0
    results: list[tuple[float, dict[str, Any]]] = []
    errors: list[str] = []
    done: set[Any] = set()
    wall_s = 0.0
    try:
        # One client per request, connected before the clock starts: real users each have their own session,
        # and a Client's start-up (config and API info fetches) is not what this measures.
        with ThreadPoolExecutor(max_workers=requests) as pool:
            clients = list(pool.map(
                lambda _: Client(url, verbose=False, download_files=False, analytics_enabled=False),
                range(requests), timeout=timeout)) if transport == "gradio_client" else []
            https = [httpx.Client(timeout=timeout) for _ in range(requests)] if transport == "http" else []

            def call(i: int) -> tuple[float, dict[str, Any]]:
                t = time.perf_counter()
                question = questions[i % len(questions)]
                if transport == "http":
                    out = _ask_http(https[i], url, question, timeout)
                else:
                    out = clients[i].predict(question, api_name="/ask")
                return (time.perf_counter() - t) * 1e3, out

            # Warm-up, one question after the other (model, BM25 index, Chroma): the figure is the steady state.
            for i in range(min(requests, len(questions))):
                try:
                    call(i)
                except Exception as exc:  # noqa: BLE001 - reported with the server's log below
                    errors.append(f"warm-up {questions[i]!r}: {exc!r}")
            burst_t = time.perf_counter()
            futures = [pool.submit(call, i) for i in range(requests)]
            done, not_done = wait(futures, timeout=timeout)
            wall_s = time.perf_counter() - burst_t
            for f in not_done:
                f.cancel()
        results = [f.result() for f in done if f.exception() is None]
        errors += [repr(f.exception()) for f in done if f.exception() is not None]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        server_log = _tail(log) if errors else ""
        log.close()
        Path(log.name).unlink(missing_ok=True)

    client_ms = [ms for ms, _ in results]
    server_ms = [float(out["timings_ms"].get("total", 0.0)) for _, out in results]
    return {
        "store": str(store),
        "requests": requests,
        "transport": transport,
        "completed": len(results),
        "timed_out": requests - len(done),
        "errors": errors[:5],
        "server_log_tail": server_log,
        "refused": sum(1 for _, out in results if out["refused"]),
        "concurrency_limit": _server_concurrency(),
        "startup_s": round(started_s, 2),
        "wall_s": round(wall_s, 3),
        "throughput_rps": round(len(results) / wall_s, 2) if wall_s else None,
        "client_ms": {"p50": round(percentile(client_ms, 50), 1), "p95": round(percentile(client_ms, 95), 1),
                      "max": round(max(client_ms, default=float("nan")), 1)},
        "assistant_ms": {"p50": round(percentile(server_ms, 50), 1), "p95": round(percentile(server_ms, 95), 1)},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench.ui", description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, help="an ingested store directory")
    p.add_argument("--requests", type=int, default=20, help=f"concurrent requests (1..{MAX_REQUESTS}, default 20)")
    p.add_argument("--question", action="append", default=None, help="question to ask (repeatable)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole burst (default 300)")
    p.add_argument("--transport", choices=["gradio_client", "http"], default="gradio_client",
                   help="gradio_client (default), or plain HTTP calls to separate the client's own overhead")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        p.error(f"--requests must be between 1 and {MAX_REQUESTS}")
    store = Path(args.store)
    if not (store / "manifest.json").exists():
        p.error(f"{store} is not a newsdesk store; run `newsdesk --store {store} ingest PATH` first")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    result = run(store, requests=args.requests, questions=args.question or list(QUESTIONS), timeout=args.timeout,
                 transport=args.transport)
    if args.json:
        print(json.dumps(result))
    else:
        c, a = result["client_ms"], result["assistant_ms"]
        print(f"{result['completed']}/{result['requests']} concurrent /ask requests ({result['transport']}) in "
              f"{result['wall_s']} s "
              f"({result['throughput_rps']} req/s, concurrency limit {result['concurrency_limit']}, "
              f"{result['refused']} refused)")
        print(f"client latency    p50 {c['p50']} ms   p95 {c['p95']} ms   max {c['max']} ms")
        print(f"assistant (total) p50 {a['p50']} ms   p95 {a['p95']} ms")
        for e in result["errors"]:
            print(f"error: {e}", file=sys.stderr)
        if result["server_log_tail"]:
            print(f"server log (tail):\n{result['server_log_tail']}", file=sys.stderr)
    return 0 if result["completed"] == result["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
