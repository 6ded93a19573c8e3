"""Benchmark: MiniLMEmbedder (onnxruntime) against sentence-transformers on the same texts.

Prints, for both runtimes, the start-up time of a fresh process (import + first embedding of one sentence)
and the throughput in texts/s on chunks of 150-250 words cut from a corpus (median of `--runs`), with
their ratio and the lowest cosine between the two runtimes' vectors. Runs alternate between the runtimes
so that a change in machine load hits both alike.

    python -m eval.bench.embed ../shared/corpus/rtqa/articles.jsonl --count 2000
    python -m eval.bench.embed ../shared/corpus/rtqa/articles.jsonl --variants --count 2000 --runs 3

`--variants` compares the int8 and fp32 graphs instead, on the chunk texts an ingest of the corpus would embed
(the first `--count`): model tokens/s in wall and in CPU time (the two alternate run by run, medians), and the
cosine of each int8 vector to its fp32 one (lowest, 1st percentile, mean).

A run on a shared 2-core machine (load average ~10, so both runtimes were slowed alike):

    start-up    onnxruntime, graph from disk cache   import+first embed   0.82 s   whole process   1.28 s
    start-up    sentence-transformers                import+first embed  32.18 s   whole process  37.73 s
    throughput  onnxruntime 3.6 texts/s   sentence-transformers 3.2 texts/s (batch 32, torch threads 2)   ratio 1.11x
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "rtqa" / "articles.jsonl"
SENTENCE = "How long will the Astarachay bridge be?"


def load_chunks(path: str | os.PathLike[str], count: int, *, seed: int = 0) -> list[str]:
    """Up to `count` consecutive chunks of 150-250 words (lengths drawn with `seed`) from a JSONL corpus.

    Records give their text in "text", "body" or "content"; `.gz` files are read transparently.

    >>> sample = Path(__file__).resolve().parents[2] / "ingest" / "sample" / "cnndm-sample.jsonl"
    >>> chunks = load_chunks(sample, 3)
    >>> len(chunks), all(150 <= len(c.split()) <= 250 for c in chunks)
    (3, True)
    """
    rng = random.Random(seed)
    opener = gzip.open if str(path).endswith(".gz") else open
    chunks: list[str] = []
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            words = str(record.get("text") or record.get("body") or record.get("content") or "").split()
            start = 0
            while len(chunks) < count and start + 150 <= len(words):
                size = rng.randint(150, 250)
                chunks.append(" ".join(words[start : start + size]))
                start += size
            if len(chunks) >= count:
                break
    return chunks


_STARTUP_ONNX = f"""
import time
t = time.perf_counter()
from rag.models.minilm import MiniLMEmbedder
MiniLMEmbedder(cache_dir={{cache_dir!r}}, cache={{cache}}).embed([{SENTENCE!r}])
print(time.perf_counter() - t)
"""

_STARTUP_ST = f"""
import time
t = time.perf_counter()
from sentence_transformers import SentenceTransformer
from rag.models.minilm import default_model_dir
SentenceTransformer(str(default_model_dir()), device="cpu").encode([{SENTENCE!r}])
print(time.perf_counter() - t)
"""


def startup_seconds(code: str) -> tuple[float, float]:
    """(in-process seconds the code prints, wall seconds of the whole process) for a fresh interpreter.

    >>> inner, outer = startup_seconds("print(0.0)")
    >>> inner == 0.0 and outer > 0
    True
    """
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def compare_variants(corpus: Path, count: int, runs: int) -> dict[str, object]:
    """int8 against fp32 on the first `count` chunk texts of `corpus` as ingest would embed them."""
    from eval.bench.speed import _chunk_texts, _model_tokens
    from rag.models.minilm import MiniLMEmbedder

    texts = _chunk_texts(corpus)[0][:count]
    tokens = sum(_model_tokens(texts))
    emb = {p: MiniLMEmbedder(precision=p) for p in ("fp32", "int8")}
    for e in emb.values():
        e.embed(texts[:16])  # load, and let the first runs pick their kernels
    wall: dict[str, list[float]] = {p: [] for p in emb}
    cpu: dict[str, list[float]] = {p: [] for p in emb}
    vectors = {}
    for run in range(1, runs + 1):
        for p, e in emb.items():
            w, c = time.perf_counter(), time.process_time()
            vectors[p] = e.embed(texts)
            wall[p].append(time.perf_counter() - w)
            cpu[p].append(time.process_time() - c)
        print(f"run {run}/{runs}  " + "   ".join(f"{p} {wall[p][-1]:.1f} s (cpu {cpu[p][-1]:.1f} s)" for p in emb)
              + f"   load average {_load_average()}", flush=True)
    cos = (vectors["int8"] * vectors["fp32"]).sum(axis=1)
    report = {
        "chunks": len(texts), "model_tokens": tokens,
        "tokens_per_s": {p: tokens / statistics.median(wall[p]) for p in emb},
        "speedup_wall": statistics.median(wall["fp32"]) / statistics.median(wall["int8"]),
        "speedup_cpu": statistics.median(cpu["fp32"]) / statistics.median(cpu["int8"]),
        "speedup_wall_runs": [f / i for f, i in zip(wall["fp32"], wall["int8"], strict=True)],
        "cosine_min": float(cos.min()), "cosine_p1": float(np.percentile(cos, 1)), "cosine_mean": float(cos.mean()),
    }
    print(f"variants    {len(texts)} chunks, {tokens} model tokens: fp32 {report['tokens_per_s']['fp32']:.0f} tokens/s,"
          f" int8 {report['tokens_per_s']['int8']:.0f} tokens/s: {report['speedup_wall']:.2f}x wall"
          f" ({', '.join(f'{r:.2f}' for r in report['speedup_wall_runs'])}), {report['speedup_cpu']:.2f}x CPU time")
    print(f"fidelity    int8 to fp32 cosine: lowest {report['cosine_min']:.4f}, 1st percentile "
          f"{report['cosine_p1']:.4f}, mean {report['cosine_mean']:.4f}; load average {_load_average()}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench.embed", description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", default=str(DEFAULT_CORPUS), help="JSONL corpus (field text)")
    parser.add_argument("--count", type=int, default=2000, help="number of chunks to embed (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per runtime; the median is reported")
    parser.add_argument("--batch-size", type=int, default=32, help="sentence-transformers batch size")
    parser.add_argument("--startup-runs", type=int, default=3, help="fresh processes per start-up measurement")
    parser.add_argument("--variants", action="store_true", help="compare the int8 and fp32 graphs instead")
    args = parser.parse_args(argv)
    if args.variants:
        compare_variants(Path(args.corpus), args.count, args.runs)
        return 0

    from rag.models.minilm import MiniLMEmbedder, default_model_dir, default_threads

    texts = load_chunks(args.corpus, args.count)
    print(f"{len(texts)} chunks from {args.corpus}; {default_threads()} cores; load average {_load_average()}")

    # Start-up: fresh processes, so imports and model loading are all counted.
    with tempfile.TemporaryDirectory() as tmp:
        rows = {
            "onnxruntime, graph built in memory": _STARTUP_ONNX.format(cache_dir=tmp, cache=False),
            "onnxruntime, graph from disk cache": _STARTUP_ONNX.format(cache_dir=tmp, cache=True),
            "sentence-transformers": _STARTUP_ST,
        }
        startup_seconds(rows["onnxruntime, graph from disk cache"])  # writes the cache entry the row reads
        for label, code in rows.items():
            runs = [startup_seconds(code) for _ in range(args.startup_runs)]
            inner = statistics.median(r[0] for r in runs)
            outer = statistics.median(r[1] for r in runs)
            print(
                f"start-up    {label:<36} import+first embed {inner:6.2f} s   whole process {outer:6.2f} s",
                flush=True,
            )

    from sentence_transformers import SentenceTransformer

    ours = MiniLMEmbedder(precision="fp32")
    reference = SentenceTransformer(str(default_model_dir()), device="cpu")
    ours.embed(texts[:16])  # warm-up: first runs allocate buffers and pick kernels
    reference.encode(texts[:16], batch_size=args.batch_size)

    # Wall time is what a user waits; CPU time (all threads) is added because on a shared machine it
    # moves less with the other processes' load.
    times: dict[str, list[float]] = {"onnx": [], "st": []}
    cpu: dict[str, list[float]] = {"onnx": [], "st": []}
    for run in range(1, args.runs + 1):
        wall, used = time.perf_counter(), time.process_time()
        a = ours.embed(texts)
        times["onnx"].append(time.perf_counter() - wall)
        cpu["onnx"].append(time.process_time() - used)
        wall, used = time.perf_counter(), time.process_time()
        b = reference.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
        times["st"].append(time.perf_counter() - wall)
        cpu["st"].append(time.process_time() - used)
        # Printed as it goes: on a busy machine a run can take minutes.
        print(
            f"run {run}/{args.runs}     onnxruntime {times['onnx'][-1]:.1f} s (cpu {cpu['onnx'][-1]:.1f} s)"
            f"   sentence-transformers {times['st'][-1]:.1f} s (cpu {cpu['st'][-1]:.1f} s)"
            f"   load average {_load_average()}",
            flush=True,
        )

    rate = {k: len(texts) / statistics.median(v) for k, v in times.items()}
    cosine = float(((a * b).sum(axis=1) / np.linalg.norm(b, axis=1)).min())
    import torch

    print(
        f"throughput  onnxruntime {rate['onnx']:.1f} texts/s   sentence-transformers {rate['st']:.1f} texts/s"
        f" (batch {args.batch_size}, torch threads {torch.get_num_threads()})   ratio {rate['onnx'] / rate['st']:.2f}x"
    )
    cpu_ratio = statistics.median(cpu["st"]) / statistics.median(cpu["onnx"])
    print(f"cpu time    sentence-transformers / onnxruntime {cpu_ratio:.2f}x (CPU seconds per text, median runs)")
    print(f"agreement   lowest cosine {cosine:.7f} over {len(texts)} texts; load average {_load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
