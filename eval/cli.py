"""`newsdesk eval run` and `newsdesk eval judge`: the command-line side of evaluation.

`register(subparsers)` adds the `eval` subcommand to the `newsdesk` parser (ui.cli); `run_eval_command(args,
settings)` runs it and returns the exit code: 0 ok, 1 when the gate fails (a metric past its threshold), 2 for a
bad suite, threshold or setting. For example `newsdesk eval run eval/suites/seed.jsonl --threshold hit@5=0.6
--report /tmp/seed-report`, or `newsdesk eval judge ../shared/eval/grounding-dev.jsonl --json`.

>>> parser = argparse.ArgumentParser(prog="newsdesk")
>>> register(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["eval", "run", "eval/suites/seed.jsonl", "--threshold", "hit@5=0.6"])
>>> args.eval_command, args.threshold, args.judge
('run', ['hit@5=0.6'], 'model')
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.console import print_json, progress_bar, settings_from
from rag.errors import UserError

if TYPE_CHECKING:
    from eval.judge import Judge

# The harness (eval.judge, eval.report, eval.runner, eval.suite) is imported by the commands that use it, so that
# registering `eval` costs the other commands nothing at start-up.

__all__ = ["make_judge", "missing_gold_ids", "register", "run_eval_command"]

WARMUP_QUESTION = "What is in the news?"


JUDGES = ("model", "align", "offline", "llm")


def make_judge(name: str, settings: Any) -> Judge:
    """The judge named on the command line: "model" (the cross-encoder, the default), "align" (the earlier
    token-alignment model), "offline" (the lexical scorer alone) or "llm" (the configured LLM).
    """
    from eval.judge import CrossJudge, LLMJudge, ModelJudge, OfflineJudge

    if name == "model":
        return CrossJudge()
    if name == "align":
        return ModelJudge()
    if name == "offline":
        return OfflineJudge()
    if name == "llm":
        from rag.models.chat import OpenAIChat

        return LLMJudge(OpenAIChat.from_settings(settings))
    raise UserError(f"unknown judge {name!r}; use model, align, offline or llm")


def _progress() -> Any:
    bar = progress_bar("eval", " cases")
    if bar is None:
        return None, None

    def update(i: int, n: int, record: dict[str, Any]) -> None:
        bar.total = n
        bar.n = i
        bar.set_postfix(failing=None if record.get("passed") else record.get("id"), refresh=False)
        bar.refresh()

    return bar, update


def missing_gold_ids(cases: Any, stored: set[str]) -> tuple[int, int, int]:
    """(gold ids not in `stored`, distinct gold ids, cases none of whose gold ids are stored).

    >>> from types import SimpleNamespace as C
    >>> missing_gold_ids([C(gold_ids=("a", "b")), C(gold_ids=("c",)), C(gold_ids=())], {"a"})
    (2, 3, 1)
    """
    gold = {g for case in cases for g in case.gold_ids}
    lost = sum(1 for case in cases if case.gold_ids and not set(case.gold_ids) & stored)
    return len(gold - stored), len(gold), lost


def cmd_run(args: argparse.Namespace, settings: Any) -> int:
    """Run a suite, print metrics (table or JSON), write the report, apply the gate."""
    from eval.report import compare_results, format_table, load_result, write_report
    from eval.runner import check_gate, metric_names, run_suite
    from eval.suite import load_suite, merged_thresholds, parse_threshold_args
    from rag.assistant import Assistant

    k = int(args.k)
    if not 1 <= k <= 100:
        raise UserError(f"--k must be between 1 and 100 (retrieval depth), not {k}")
    top_k = args.top_k if args.top_k is not None else settings.top_k
    if not 1 <= top_k <= 100:
        raise UserError(f"--top-k must be between 1 and 100, not {top_k}")
    answerer = args.answerer or settings.answerer
    known = metric_names(k)
    # Everything the user can get wrong is checked before the store and the models are opened.
    cli_thresholds = parse_threshold_args(args.threshold or [], known)
    suite = load_suite(args.suite, args.limit)
    thresholds = merged_thresholds(args.suite, cli_thresholds, known)
    before = load_result(args.compare) if args.compare else None
    if answerer == "openai":
        settings.require_llm()
    judge = make_judge(args.judge, settings)

    assistant = Assistant.open(settings=settings)
    stats = assistant.stats()
    if not stats.get("articles"):
        raise UserError(f"the store {settings.store} is empty; run `newsdesk --store {settings.store} ingest PATH` "
                        "first")
    missing, total, cases = missing_gold_ids(suite.cases, set(assistant.store.known_articles()))
    if missing:
        print(f"warning: {missing} of {total} gold article ids in {args.suite} are not in the store {settings.store} "
              f"({cases} case(s) can never retrieve their article); was the store built from the suite's corpus?",
              file=sys.stderr)
    # The first question pays for loading indexes; keep that out of the latency figures. A failing warm-up
    # surfaces again, per case, in the run itself.
    with contextlib.suppress(Exception):
        assistant.ask(WARMUP_QUESTION, answerer="extractive")

    info = {"store": str(settings.store), "embedding_model": settings.embedding_model, "answerer": answerer,
            "judge": args.judge, "fusion": settings.fusion, "rerank": settings.rerank,
            "candidates": settings.candidates, "min_relevance": settings.min_relevance, "limit": args.limit,
            "articles": stats.get("articles"), "thresholds": thresholds, "gold_ids_missing": missing}
    bar, progress = _progress()
    try:
        result = run_suite(assistant, suite, judge, k=k, top_k=top_k, answerer=answerer, settings=info,
                           progress=progress)
    finally:
        if bar is not None:
            bar.close()

    compare = compare_results(result, before, str(args.compare)) if before is not None else None
    gate = check_gate(result["metrics"], thresholds) if thresholds else None
    paths = None
    if args.report:
        paths = write_report(args.report, result, compare=compare, gate=gate, thresholds=thresholds)

    if args.json:
        print_json({**result, **({"compare": compare} if compare is not None else {})})
        for line in gate or []:
            print(f"gate: FAILED — {line}", file=sys.stderr)
    else:
        print(format_table(result, compare, gate))
        if paths:
            print(f"\nreport: {paths['html']} (also report.md, report.json)")
    return 1 if gate else 0


def cmd_judge(args: argparse.Namespace, settings: Any) -> int:
    """Measure a grounding judge on labelled JSONL (positive class: hallucinated)."""
    from eval.judge import read_judge_records, run_judge

    path = Path(args.data)
    judge = make_judge(args.judge, settings)
    if args.limit is not None:
        if args.limit < 1:
            raise UserError(f"--limit must be at least 1, not {args.limit}")
        # Validate the whole file first so errors name the user's file and line, then judge only the first N.
        records = read_judge_records(path)[: args.limit]
        with tempfile.TemporaryDirectory(prefix="newsdesk-judge-") as tmp:
            subset = Path(tmp) / path.name
            subset.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "_line"}, ensure_ascii=False)
                                      + "\n" for r in records), encoding="utf-8")
            result = run_judge(subset, judge)
    else:
        result = run_judge(path, judge)
    if args.json:
        print_json(result)
        return 0
    print(f"{path.name}: {result['n']} claims, judge {args.judge}, threshold {result.get('threshold', 0):g} "
          "(positive class: hallucinated)")
    names = ("precision", "recall", "f1", "balanced_accuracy", "auc")
    print(f"{'':<24}" + "".join(f"{n:>18}" for n in names))

    def row(label: str, metrics: dict[str, Any]) -> str:
        return f"{label:<24}" + "".join(f"{'—' if metrics.get(n) is None else f'{metrics[n]:.3f}':>18}"
                                        for n in names)

    print(row("all", result["metrics"]))
    for source, part in (result.get("by_source") or {}).items():
        print(row(f"{source} ({part['n']})", part["metrics"]))
    for key, part in (result.get("by_task") or {}).items():
        print(row(f"{key} ({part['n']})", part["metrics"]))
    if best := result.get("best_threshold"):
        print(f"best threshold on this file (balanced accuracy): {best['threshold']:g}")
        print(row("all @best", best["metrics"]))
        for source, part in (best.get("by_source") or {}).items():
            print(row(f"{source} @best", part["metrics"]))
        for key, part in (best.get("by_task") or {}).items():
            print(row(f"{key} @best", part["metrics"]))
    if timing := result.get("timing"):
        print(f"time: {timing['ms_per_claim_sentence']:.1f} ms per claim sentence, "
              f"{timing['cpu_ms_per_claim_sentence']:.1f} ms of CPU ({timing['claim_sentences']} sentences in "
              f"{timing['seconds']:.1f} s)")
    for err in (result.get("errors") or [])[:5]:
        print(f"judge failed on {err['id']} (line {err['line']}): {err['error']}", file=sys.stderr)
    return 0


def run_eval_command(args: argparse.Namespace, settings: Any) -> int:
    """Dispatch `eval run` / `eval judge`; returns the exit code."""
    command = getattr(args, "eval_command", None)
    if command == "run":
        return cmd_run(args, settings)
    if command == "judge":
        return cmd_judge(args, settings)
    raise UserError(f"unknown eval command {command!r}; use run or judge")


def cmd_eval(args: argparse.Namespace) -> int:
    return run_eval_command(args, settings_from(args))


def register(sub: Any) -> None:
    """Add the `eval` subcommand (`eval run`, `eval judge`) to the `newsdesk` parser's subparsers."""
    s = sub.add_parser("eval", help="evaluate answers and judges")
    esub = s.add_subparsers(dest="eval_command", required=True, metavar="EVAL_COMMAND")
    r = esub.add_parser("run", help="run a suite and print metrics")
    r.add_argument("suite")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--report", default=None, metavar="DIR")
    r.add_argument("--json", action="store_true")
    r.add_argument("--compare", default=None, metavar="OTHER.json")
    r.add_argument("--threshold", action="append", default=[], metavar="METRIC=VALUE",
                   help="fail (exit 1) when METRIC falls below VALUE; repeatable")
    r.add_argument("--answerer", choices=["extractive", "openai"], default=None)
    r.add_argument("--top-k", type=int, default=None)
    r.add_argument("--judge", choices=JUDGES, default="model")
    r.add_argument("--limit", type=int, default=None, help="only the first N cases")
    j = esub.add_parser("judge", help="measure the grounding judge on labelled data")
    j.add_argument("data")
    j.add_argument("--json", action="store_true")
    j.add_argument("--judge", choices=JUDGES, default="model")
    j.add_argument("--limit", type=int, default=None)
    s.set_defaults(func=cmd_eval)
