"""Run a suite through the Assistant and measure it: per-case records, suite metrics, bootstrap intervals.

Every case goes through `Assistant.ask` with its history and filters; a case that raises is recorded with its
error and left out of the metrics instead of ending the run. The result is the object `eval run --json` prints:
`{"suite", "n", "metrics", "intervals", "per_case", "settings"}`.

>>> import tempfile
>>> from pathlib import Path
>>> import ingest
>>> from eval.judge import OfflineJudge
>>> from eval.suite import load_suite
>>> from rag import Assistant, load_settings
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> _ = ingest.ingest_paths([Path(ingest.__file__).parent / "sample"], settings)
>>> suite = load_suite(Path(__file__).parent / "suites" / "seed.jsonl", limit=4)
>>> result = run_suite(Assistant.open(settings=settings), suite, OfflineJudge(), resamples=100)
>>> result["n"], 0.0 <= result["metrics"]["hit@5"] <= 1.0, len(result["intervals"]["hit@5"])
(4, True, 2)
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from eval.judge import Judge
from eval.metrics import (
    Aggregate,
    SentenceCheck,
    answer_contains,
    bootstrap_intervals,
    check_sentences,
    citation_precision,
    citation_recall,
    dedupe,
    groundedness,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    refusal_precision,
    refusal_recall,
    token_f1,
    uncited_share,
)
from eval.suite import Case, Suite
from rag.answer.metadata import states_field
from rag.types import Answer, Citation
from rag.verify.check import draft_sentences

__all__ = ["HEADLINE", "Asker", "check_gate", "lower_is_better", "metric_names", "run_case", "run_suite",
           "summarize"]

STAGES = ("retrieve", "answer", "verify", "total")
HIT_KS = (1, 5, 10)
HEADLINE = ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@10", "ndcg@10", "answer_contains", "token_f1",
            "refusal_precision", "refusal_recall", "citation_recall", "citation_precision", "groundedness",
            "uncited_share", "latency_p50_ms", "latency_p95_ms")
# For these smaller is better, so a gate threshold on them is a ceiling, not a floor.
LOWER_IS_BETTER = ("latency_", "uncited_share", "error_rate")
PASSAGE_CHARS = 600  # passages are cut to this in per-case records: enough to read, small enough to ship


def lower_is_better(name: str) -> bool:
    """True for metrics where smaller is better (latency, uncited_share, error_rate)."""
    return name.startswith(LOWER_IS_BETTER)


class Asker(Protocol):
    """What the runner needs from an Assistant."""

    def ask(self, question: str, *, history: Sequence[dict[str, str]] | None = None,
            filters: Any = None, top_k: int | None = None, answerer: str | None = None,
            as_of: str | None = None) -> Answer: ...


def retrieval_names(k: int) -> list[str]:
    """The retrieval metric names for cutoff k: hit@1/5/10, mrr/recall/ndcg@10, plus the @k ones if k differs."""
    names = [f"hit@{n}" for n in HIT_KS] + ["mrr@10", "recall@10", "ndcg@10"]
    if k not in HIT_KS:
        names.append(f"hit@{k}")
    if k != 10:
        names += [f"mrr@{k}", f"recall@{k}", f"ndcg@{k}"]
    return names


def metric_names(k: int = 10) -> list[str]:
    """Every suite-level metric name a run reports, in display order."""
    latency = ["latency_p50_ms", "latency_p95_ms",
               *(f"latency_{s}_p{q}_ms" for s in STAGES if s != "total" for q in (50, 95))]
    return [*retrieval_names(k), "answer_contains", "token_f1", "refusal_precision", "refusal_recall",
            "citation_recall", "citation_precision", "groundedness", "uncited_share", *latency, "error_rate"]


# --------------------------------------------------------------------------------------------------------------
# One case


def _cut(text: str, n: int = PASSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n].rsplit(" ", 1)[0] + " …"


def _case_base(case: Case) -> dict[str, Any]:
    base: dict[str, Any] = {"id": case.id, "line": case.line, "question": case.question,
                            "answers": list(case.answers), "gold_ids": list(case.gold_ids),
                            "should_refuse": case.should_refuse}
    if case.history:
        base["history"] = [dict(t) for t in case.history]
    if case.filters:
        base["filters"] = dict(case.filters)
    if case.as_of:
        base["as_of"] = case.as_of
    return base


def _memo_entails(judge: Judge) -> Callable[[Sequence[str], str], bool]:
    cache: dict[tuple[tuple[str, ...], str], bool] = {}

    def entails(passages: Sequence[str], sentence: str) -> bool:
        key = (tuple(passages), sentence)
        if key not in cache:
            cache[key] = judge.support(list(passages), sentence) >= judge.threshold
        return cache[key]

    return entails


def _with_metadata(entails: Callable[[Sequence[str], str], bool], citations: Sequence[Citation]
                   ) -> tuple[dict[int, str], Callable[[Sequence[str], str], bool]]:
    """The cited texts by marker and an entailment check that reads `metadata` citations against the catalog
    field they quote (`states_field`) instead of asking the judge whether "author: X" entails a sentence.
    """
    fields = {f"\x00metadata {c.n}": c for c in citations if c.kind == "metadata"}
    cited = {c.n: (f"\x00metadata {c.n}" if c.kind == "metadata" else c.passage) for c in citations}

    def check(passages: Sequence[str], sentence: str) -> bool:
        meta = [fields[p] for p in passages if p in fields]
        rest = [p for p in passages if p not in fields]
        if meta and any(states_field(c, sentence) for c in meta):
            return True
        return bool(rest) and entails(rest, sentence)

    return cited, check


def _short(text: str, n: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def run_case(assistant: Asker, case: Case, judge: Judge, *, k: int = 10, top_k: int | None = None,
             answerer: str | None = None) -> dict[str, Any]:
    """Ask one case and measure the answer; exceptions become the record's "error" instead of propagating."""
    record = _case_base(case)
    try:
        answer = assistant.ask(case.question, history=list(case.history) or None, filters=case.filters or None,
                               top_k=top_k, answerer=answerer, **({"as_of": case.as_of} if case.as_of else {}))
        record.update(measure(case, answer, judge, k=k))
    except Exception as exc:  # noqa: BLE001 - one failing case is recorded; the run goes on
        record.update({"error": f"{type(exc).__name__}: {exc}", "metrics": {}, "failures": [f"error: {exc}"],
                       "passed": False})
    return record


def measure(case: Case, answer: Answer, judge: Judge, *, k: int = 10) -> dict[str, Any]:
    """The per-case part of the result: what was answered and retrieved, its metrics and what failed."""
    ranked = dedupe(p.article_id for p in answer.passages)
    metrics: dict[str, float | None] = {}
    failures: list[str] = []

    gold_rank: int | None = None
    if case.gold_ids:
        gold = set(case.gold_ids)
        gold_rank = next((i for i, a in enumerate(ranked, 1) if a in gold), None)
        for n in sorted({*HIT_KS, k}):
            metrics[f"hit@{n}"] = hit_at_k(ranked, gold, n)
        for n in sorted({10, k}):
            metrics[f"mrr@{n}"] = mrr_at_k(ranked, gold, n)
            metrics[f"recall@{n}"] = recall_at_k(ranked, gold, n)
            metrics[f"ndcg@{n}"] = ndcg_at_k(ranked, gold, n)
        if not metrics[f"hit@{k}"]:
            where = f"first at rank {gold_rank}" if gold_rank else "not retrieved"
            failures.append(f"no gold article in the top {k} ({where})")

    if case.answers:
        metrics["answer_contains"] = 0.0 if answer.refused else answer_contains(answer.text, case.answers)
        metrics["token_f1"] = 0.0 if answer.refused else token_f1(answer.text, case.answers)
        if answer.refused:
            failures.append("refused, but the corpus holds the answer")
        elif not metrics["answer_contains"]:
            failures.append("the answer contains none of: " + ", ".join(repr(a) for a in case.answers))
    elif not answer.refused:
        failures.append("answered, but this question should be refused")

    checks: list[SentenceCheck] = []
    if not answer.refused:
        cited, entails = _with_metadata(_memo_entails(judge), answer.citations)
        checks = check_sentences(draft_sentences(answer.text), cited, [p.text for p in answer.passages], entails)
        metrics["citation_recall"] = citation_recall(checks)
        metrics["citation_precision"] = citation_precision(checks)
        metrics["groundedness"] = groundedness(checks)
        metrics["uncited_share"] = uncited_share(checks)
        for i, c in enumerate(checks, 1):
            marks = "".join(f"[{n}]" for n in c.cited)
            if not c.cited:
                failures.append(f"sentence {i} has no citation: {_short(c.sentence)!r}")
            elif not c.supported:
                failures.append(f"sentence {i} is not supported by its citation(s) {marks}: {_short(c.sentence)!r}")
            else:
                redundant = [f"[{n}]" for n, ok in zip(c.cited, c.precise, strict=True) if not ok]
                if redundant:
                    failures.append(f"sentence {i}: citation {''.join(redundant)} is redundant")
            if c.grounded is False:
                failures.append(f"sentence {i}: no single retrieved passage supports it on its own")

    return {
        "answer": answer.text,
        "refused": answer.refused,
        "answerer": answer.answerer,
        "notes": list(answer.notes),
        "citations": [{"n": c.n, "article_id": c.article_id, "chunk_id": c.chunk_id, "title": c.title,
                       "source": c.source, "published": c.published, "passage": _cut(c.passage), "kind": c.kind}
                      for c in answer.citations],
        "retrieved": ranked,
        "gold_rank": gold_rank,
        "sentences": [c.to_dict() for c in checks],
        "timings_ms": {key: round(float(v), 3) for key, v in answer.timings_ms.items()},
        "metrics": metrics,
        "failures": failures,
        "passed": not failures,
        "error": None,
    }


# --------------------------------------------------------------------------------------------------------------
# The suite


def _column(values: Sequence[float | None]) -> np.ndarray:
    """Per-case values as floats, NaN where a case has none."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _metric_column(per_case: Sequence[dict[str, Any]], name: str) -> np.ndarray:
    return _column([r.get("metrics", {}).get(name) for r in per_case])


def _timing_column(per_case: Sequence[dict[str, Any]], stage: str) -> np.ndarray:
    return _column([None if r.get("error") else (r.get("timings_ms") or {}).get(stage) for r in per_case])


def _nan_rows(matrix: np.ndarray, reduce: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Row-wise `reduce` ignoring NaN; rows that are all NaN give NaN (without numpy's warning)."""
    out = np.full(matrix.shape[0], np.nan)
    some = ~np.isnan(matrix).all(axis=1)
    if some.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[some] = reduce(matrix[some])
    return out


@dataclass(frozen=True)
class _MeanOf:
    """Mean of a per-case column over the cases where it is defined (not NaN)."""

    values: np.ndarray

    def __call__(self, idx: np.ndarray) -> float | None:
        picked = self.values[idx]
        picked = picked[~np.isnan(picked)]
        return float(picked.mean()) if picked.size else None

    def batch(self, draws: np.ndarray) -> np.ndarray:
        return _nan_rows(self.values[draws], lambda m: np.nanmean(m, axis=1))


@dataclass(frozen=True)
class _PercentileOf:
    """The q-th percentile of a per-case column over the cases where it is defined."""

    values: np.ndarray
    q: float

    def __call__(self, idx: np.ndarray) -> float | None:
        picked = self.values[idx]
        picked = picked[~np.isnan(picked)]
        return float(np.percentile(picked, self.q)) if picked.size else None

    def batch(self, draws: np.ndarray) -> np.ndarray:
        # numpy's "linear" percentile, row by row, with NaN sorted to the end and left out of the count
        # (np.nanpercentile does the same through a Python-level loop, a hundred times slower)
        m = np.sort(self.values[draws], axis=1)
        count = (~np.isnan(m)).sum(axis=1)
        pos = np.maximum(count - 1, 0) * self.q / 100.0
        lo = np.floor(pos).astype(int)
        hi = np.ceil(pos).astype(int)
        rows = np.arange(m.shape[0])
        with np.errstate(invalid="ignore"):
            out = m[rows, lo] + (m[rows, hi] - m[rows, lo]) * (pos - lo)
        return np.where(count > 0, out, np.nan)


@dataclass(frozen=True)
class _Refusal:
    """refusal_precision or refusal_recall over the completed cases (see eval.metrics for the definitions)."""

    refused: np.ndarray
    should: np.ndarray
    ok: np.ndarray
    recall: bool

    def __call__(self, idx: np.ndarray) -> float | None:
        idx = idx[self.ok[idx]]
        fn = refusal_recall if self.recall else refusal_precision
        return fn(self.refused[idx].tolist(), self.should[idx].tolist())

    def batch(self, draws: np.ndarray) -> np.ndarray:
        ok, refused, should = self.ok[draws], self.refused[draws], self.should[draws]
        hits = (ok & refused & should).sum(axis=1).astype(float)
        positives = (ok & should).sum(axis=1).astype(float)
        if self.recall:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(positives > 0, hits / np.maximum(positives, 1), np.nan)
        predicted = (ok & refused).sum(axis=1).astype(float)
        out = np.where(predicted > 0, hits / np.maximum(predicted, 1), 0.0)
        return np.where(positives > 0, out, np.nan)


def aggregates(per_case: Sequence[dict[str, Any]], k: int = 10) -> dict[str, Aggregate]:
    """How each suite metric is computed from case indices (so that the bootstrap can recompute it).

    Rates are means over the cases they apply to (macro averages: citation metrics average per-answer values,
    as ALCE does); refusal precision/recall are ratios over all completed cases; latencies are percentiles.
    """
    out: dict[str, Aggregate] = {}
    for name in metric_names(k):
        if name.startswith("latency_") or name.startswith("refusal_") or name == "error_rate":
            continue
        out[name] = _MeanOf(_metric_column(per_case, name))
    ok = np.array([not r.get("error") for r in per_case], dtype=bool)
    refused = np.array([bool(r.get("refused")) for r in per_case], dtype=bool)
    should = np.array([bool(r.get("should_refuse")) for r in per_case], dtype=bool)
    out["refusal_precision"] = _Refusal(refused, should, ok, recall=False)
    out["refusal_recall"] = _Refusal(refused, should, ok, recall=True)
    for stage in STAGES:
        times = _timing_column(per_case, stage)
        for q in (50, 95):
            name = f"latency_p{q}_ms" if stage == "total" else f"latency_{stage}_p{q}_ms"
            out[name] = _PercentileOf(times, q)
    out["error_rate"] = _MeanOf((~ok).astype(float))
    return {name: out[name] for name in metric_names(k)}


def summarize(per_case: Sequence[dict[str, Any]], k: int = 10, *, resamples: int = 1000, seed: int = 0
              ) -> tuple[dict[str, float | None], dict[str, list[float] | None]]:
    """(metrics, 95% bootstrap intervals) over the per-case records; a metric with no applicable case is None."""
    aggs = aggregates(per_case, k)
    everything = np.arange(len(per_case))
    metrics = {name: (None if (v := agg(everything)) is None or math.isnan(v) else v) for name, agg in aggs.items()}
    intervals = bootstrap_intervals(len(per_case), aggs, resamples=resamples, seed=seed)
    return metrics, intervals


def run_suite(assistant: Asker, suite: Suite, judge: Judge, *, k: int = 10, top_k: int = 5,
              answerer: str | None = None, settings: Mapping[str, Any] | None = None, resamples: int = 1000,
              seed: int = 0, progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Ask every case, measure it, and aggregate: the `eval run --json` object.

    Retrieval metrics need at least max(k, 10) passages, so when any case has gold_ids every case is asked with
    top_k = max(top_k, k, 10): one configuration for the whole run, recorded under settings["top_k"].
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    depth = max(top_k, k, max(HIT_KS)) if any(c.gold_ids for c in suite.cases) else top_k
    per_case: list[dict[str, Any]] = []
    started = time.perf_counter()
    for i, case in enumerate(suite.cases, 1):
        record = run_case(assistant, case, judge, k=k, top_k=depth, answerer=answerer)
        per_case.append(record)
        if progress is not None:
            progress(i, len(suite.cases), record)
    metrics, intervals = summarize(per_case, k, resamples=resamples, seed=seed)
    info = dict(settings or {})
    info.update({"k": k, "top_k": depth, "top_k_requested": top_k, "answerer": answerer or info.get("answerer"),
                 "judge_threshold": judge.threshold, "suite_sha1": suite.sha1, "bootstrap_resamples": resamples,
                 "bootstrap_seed": seed, "errors": sum(1 for r in per_case if r.get("error")),
                 "seconds": round(time.perf_counter() - started, 3)})
    return {"suite": str(suite.path), "n": len(per_case), "metrics": metrics, "intervals": intervals,
            "per_case": per_case, "settings": info}


def check_gate(metrics: Mapping[str, float | None], thresholds: Mapping[str, float]) -> list[str]:
    """The gate's failures, one line each: a metric below its threshold (above it, for lower-is-better ones),
    or with no value at all because no case applied.

    >>> check_gate({"hit@5": 0.5, "latency_p95_ms": 900.0}, {"hit@5": 0.6, "latency_p95_ms": 1000})
    ['hit@5 = 0.500 is below the threshold 0.600']
    """
    failures = []
    for name, limit in thresholds.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name} has no value (no case in the suite applies to it); threshold {limit:g}")
        elif lower_is_better(name) and value > limit:
            failures.append(f"{name} = {value:.3f} is above the ceiling {limit:.3f}")
        elif not lower_is_better(name) and value < limit:
            failures.append(f"{name} = {value:.3f} is below the threshold {limit:.3f}")
    return failures
