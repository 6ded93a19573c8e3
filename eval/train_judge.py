"""Train the offline support model: logistic regression (numpy IRLS) over the scorer's content features.

    python -m eval.train_judge [--data ../shared/eval/grounding-train.jsonl.gz] [--records 4000]
                               [--out rag/verify/support_model.json]

Fits on training data only: `--records` records of the training file's training split (the records
eval.train_grounding does not hold out; of `--tasks`, summaries by default, both labels alike), never on the dev
files, which are for measuring. Prints 5-fold cross-validated metrics (hallucinated = positive class) overall and per
source, then fits on all those records and writes the model file. Folds are grouped by a SHA-1 of the context,
so the two HaluEval summaries of one article never sit on both sides of a split, and nothing is random:
re-running gives the same file.

Two choices here are deliberate:
- Features are shares, never lengths: HaluEval's hallucinated summaries are longer, a quirk that would not carry
  over to other data.
- Contradicted numbers, names, dates and negations are hard checks, not features the fit may down-weight. The
  claims they flag are left out of the fit, and always count as flagged when the threshold is chosen.
  HaluEval's "supported" summaries are the CNN/DailyMail highlights, which often name people and figures the
  article text does not hold; fitted freely, the model learns to ignore exactly the contradictions answer
  verification exists to catch. `--hard none` shows the difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.judge import classification_metrics, rank_auc, read_judge_records
from rag.verify.support import DEFAULT_MODEL_PATH, FEATURE_NAMES, HARD_CHECKS, OfflineSupportScorer, SupportModel

DEV_FILES = ("grounding-dev.jsonl", "rtqa-dev.jsonl")  # for measuring only
HARD_FACTOR = 0.9


def featurize(records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(model features, hard-check flags): one row per record, columns FEATURE_NAMES and HARD_CHECKS."""
    scorer = OfflineSupportScorer(model=SupportModel.heuristic())  # features do not depend on the model
    rows, flags = [], []
    for rec in records:
        f = scorer.features([rec["context"]], rec["claim"])
        rows.append([f[name] for name in FEATURE_NAMES])
        flags.append([f[kind] for kind in HARD_CHECKS])
    return np.asarray(rows, dtype=float), np.asarray(flags, dtype=bool)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float, iters: int = 50
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by iteratively reweighted least squares; the bias is barely penalised.

    A feature constant over the data, or a bias driven to saturation (every claim of a cell scored alike), would
    leave the Hessian singular: the bias carries a tiny ridge, and a step that still cannot be solved is taken by
    least squares.

    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0.0, 0.0, 1.0, 1.0])
    >>> w, b = fit_logistic(x, y, np.ones(4), l2=1.0)
    >>> bool(w[0] > 0)
    True
    """
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 1e-6
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -30, 30)))
        w = weights * p * (1 - p) + 1e-9
        grad = xb.T @ (weights * (y - p)) - penalty * beta
        hess = (xb * w[:, None]).T @ xb + np.diag(penalty)
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def sample_weights(supported: np.ndarray, sources: Sequence[str]) -> np.ndarray:
    """Each (source, label) cell gets the same total weight, so neither the larger source nor the majority
    label decides the fit on its own.
    """
    keys = [(s, bool(y)) for s, y in zip(sources, supported, strict=True)]
    counts: dict[tuple[str, bool], int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return np.array([len(keys) / (len(counts) * counts[k]) for k in keys])


def best_threshold(scores: np.ndarray, hallucinated: np.ndarray, forced: np.ndarray) -> float:
    """The support threshold with the highest balanced accuracy; `forced` claims are flagged whatever it is.

    Balanced accuracy rather than F1, so the choice does not lean on this file's share of hallucinations.
    """
    pos, neg = hallucinated.sum(), (~hallucinated).sum()
    best, best_t = -1.0, 0.5
    for t in np.unique(np.concatenate([scores, [1.0 + 1e-9]])):
        flagged = forced | (scores < t)
        ba = ((flagged & hallucinated).sum() / pos + (~flagged & ~hallucinated).sum() / neg) / 2
        if ba > best + 1e-12:
            best, best_t = ba, float(t)
    return min(best_t, 1.0)


def train(x: np.ndarray, flags: np.ndarray, supported: np.ndarray, sources: Sequence[str], l2: float,
          hard: Sequence[str]) -> SupportModel:
    """Fit on the claims no hard check flags, then pick the threshold on all of them."""
    forced: np.ndarray = np.zeros(len(x), dtype=bool)
    if hard:
        forced = np.asarray(flags[:, [HARD_CHECKS.index(k) for k in hard]].any(axis=1), dtype=bool)
    keep: np.ndarray = ~forced
    mean = x[keep].mean(axis=0)
    scale = x[keep].std(axis=0)
    scale[scale < 1e-6] = 1.0  # a constant feature keeps weight ~0 instead of dividing by zero
    w, b = fit_logistic((x[keep] - mean) / scale, supported[keep].astype(float),
                        sample_weights(supported[keep], [s for s, k in zip(sources, keep, strict=True) if k]), l2)
    model = SupportModel(weights=tuple(float(v) for v in w), bias=b, mean=tuple(float(v) for v in mean),
                         scale=tuple(float(v) for v in scale), hard=tuple(hard), hard_factor=HARD_FACTOR)
    p = predict(model, x)
    threshold = best_threshold(p, ~supported, forced)
    return SupportModel(weights=model.weights, bias=b, mean=model.mean, scale=model.scale, threshold=threshold,
                        hard=tuple(hard), hard_factor=HARD_FACTOR)


def predict(model: SupportModel, x: np.ndarray, flags: np.ndarray | None = None) -> np.ndarray:
    """Scores for feature rows; with `flags`, hard checks apply as in the scorer."""
    out = []
    for i, row in enumerate(x):
        f = dict(zip(FEATURE_NAMES, row, strict=True))
        if flags is not None:
            f |= dict(zip(HARD_CHECKS, flags[i].astype(float), strict=True))
        out.append(model.score(f))
    return np.array(out)


def folds_of(records: Sequence[dict[str, Any]], k: int) -> np.ndarray:
    return np.array([int(hashlib.sha1(r["context"].encode("utf-8")).hexdigest(), 16) % k for r in records])


def summarize(hallucinated: np.ndarray, flagged: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = classification_metrics(list(hallucinated), list(flagged))
    out["auc"] = rank_auc(list(hallucinated), list(1.0 - scores))
    out["n"] = len(hallucinated)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def cross_validate(records: Sequence[dict[str, Any]], x: np.ndarray, flags: np.ndarray, k: int, l2: float,
                   hard: Sequence[str]) -> dict[str, Any]:
    """Out-of-fold scores and flags (each fold's own threshold), measured overall and per source."""
    supported = np.array([r["label"] == "supported" for r in records])
    sources = [_cell(r) for r in records]
    fold = folds_of(records, k)
    scores = np.zeros(len(records))
    flagged = np.zeros(len(records), dtype=bool)
    for f in range(k):
        tr, te = np.where(fold != f)[0], np.where(fold == f)[0]
        model = train(x[tr], flags[tr], supported[tr], [sources[i] for i in tr], l2, hard)
        scores[te] = predict(model, x[te], flags[te])
        flagged[te] = scores[te] < model.threshold
    hallucinated = ~supported
    result = {"all": summarize(hallucinated, flagged, scores)}
    for name in sorted(set(sources)):
        pick = np.array([s == name for s in sources])
        result[name] = summarize(hallucinated[pick], flagged[pick], scores[pick])
    return result


def _cell(rec: dict[str, Any]) -> str:
    """The record's source and task ("halueval/qa"), the cells the fit weights alike and the report splits by."""
    return f"{rec.get('source') or 'unknown'}/{rec.get('task') or 'summary'}"


def signal_report(records: Sequence[dict[str, Any]], x: np.ndarray, flags: np.ndarray) -> dict[str, Any]:
    """Per source: each feature's own AUC (1 - coverage as the hallucination score) and each hard check's
    hit rate on hallucinated and on supported claims.
    """
    hallucinated = np.array([r["label"] == "hallucinated" for r in records])
    sources = np.array([r.get("source") or "unknown" for r in records])
    out: dict[str, Any] = {}
    for src in ["all", *sorted(set(sources))]:
        pick = np.ones(len(records), bool) if src == "all" else sources == src
        row: dict[str, Any] = {}
        for j, name in enumerate(FEATURE_NAMES):
            a = rank_auc(list(hallucinated[pick]), list(-x[pick, j]))
            row[f"auc {name}"] = None if a is None else round(a, 3)
        for j, kind in enumerate(HARD_CHECKS):
            h, s = flags[pick & hallucinated, j], flags[pick & ~hallucinated, j]
            row[f"{kind} flags h/s"] = f"{int(h.sum())}/{len(h)} vs {int(s.sum())}/{len(s)}"
        out[src] = row
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.train_judge", description=__doc__.split("\n")[0])
    from eval.train_grounding import DEFAULT_DATA, held_out, pick_records, read_records

    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="labelled judge JSONL(.gz) to fit on (default: %(default)s)")
    ap.add_argument("--records", type=int, default=4000,
                    help="training-split records to fit on (default: %(default)s; 0: all)")
    ap.add_argument("--tasks", default="summary",
                    help="comma-separated record tasks to fit on (default: %(default)s: the scorer verifies "
                         "sentences of news prose, which HaluEval's short QA answers are not)")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="model file to write (default: %(default)s)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty on standardised weights (default: 1)")
    ap.add_argument("--hard", default=",".join(HARD_CHECKS),
                    help="comma-separated hard checks, or 'none' (default: %(default)s)")
    ap.add_argument("--no-save", action="store_true", help="report only; leave the model file alone")
    ap.add_argument("--signals", action="store_true", help="also print each feature's AUC and each check's hits")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    hard = [] if args.hard.strip().lower() == "none" else [k.strip() for k in args.hard.split(",") if k.strip()]
    if unknown := set(hard) - set(HARD_CHECKS):
        print(f"error: unknown --hard check(s) {sorted(unknown)}; choose from {','.join(HARD_CHECKS)} or none",
              file=sys.stderr)
        return 2
    if not args.data.exists():
        print(f"error: judge data {args.data} not found; pass --data PATH", file=sys.stderr)
        return 2
    if args.data.name in DEV_FILES:
        print(f"error: {args.data.name} is for measuring only; fit on the training file "
              "(../shared/eval/grounding-train.jsonl.gz) and measure with `newsdesk eval judge`", file=sys.stderr)
        return 2

    records = read_records(args.data) if args.data.suffix == ".gz" else read_judge_records(args.data)
    tasks = {t.strip() for t in args.tasks.split(",") if t.strip()}
    records = [r for r in records if not held_out(r) and (r.get("task") or "summary") in tasks]
    if args.records:
        records = pick_records(records, args.records)
    if not records:
        print(f"error: no training-split records of task(s) {sorted(tasks)} in {args.data}", file=sys.stderr)
        return 2
    x, flags = featurize(records)
    cv = cross_validate(records, x, flags, args.folds, args.l2, hard)
    supported = np.array([r["label"] == "supported" for r in records])
    model = train(x, flags, supported, [_cell(r) for r in records], args.l2, hard)
    meta = {"trained_on": args.data.name, "split": "training split (SHA-1(context) % 10 != 0)",
            "tasks": sorted(tasks),
            "n": len(records), "folds": args.folds, "l2": args.l2,
            "cv": {src: {k: m[k] for k in ("f1", "balanced_accuracy", "auc")} for src, m in cv.items()}}
    model = SupportModel(weights=model.weights, bias=model.bias, mean=model.mean, scale=model.scale,
                         threshold=model.threshold, hard=model.hard, hard_factor=model.hard_factor, meta=meta)
    report: dict[str, Any] = {"data": str(args.data), "n": len(records), "hard": hard, "cv": cv,
                              "threshold": round(model.threshold, 4),
                              "weights": dict(zip(FEATURE_NAMES, (round(w, 3) for w in model.weights), strict=True))}
    if args.signals:
        report["signals"] = signal_report(records, x, flags)
    if not args.no_save:
        model.save(args.out)
        report["saved"] = str(args.out)

    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{args.data.name}: {len(records)} records, {args.folds}-fold CV grouped by context, "
          f"positive = hallucinated, hard checks: {','.join(hard) or 'none'}")
    print(f"{'source':<10} {'n':>4} {'precision':>9} {'recall':>7} {'f1':>6} {'bal.acc':>7} {'auc':>6}")
    for src, m in cv.items():
        cells = [m[k] for k in ("precision", "recall", "f1", "balanced_accuracy", "auc")]
        print(f"{src:<10} {m['n']:>4} " + " ".join(f"{'-' if v is None else f'{v:.3f}':>{w}}"
                                                   for v, w in zip(cells, (9, 7, 6, 7, 6), strict=True)))
    print(f"final model: threshold {model.threshold:.4f}; standardised weights "
          + ", ".join(f"{k} {v:+.2f}" for k, v in report["weights"].items()))
    if args.signals:
        for src, row in report["signals"].items():
            print(f"{src}: " + "; ".join(f"{k} {v}" for k, v in row.items()))
    if "saved" in report:
        print(f"wrote {report['saved']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
