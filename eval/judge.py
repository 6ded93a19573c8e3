"""Grounding judges and how well they spot hallucinated claims.

A judge scores how well passages support a claim (1.0 = supported). `run_judge` runs one over labelled JSONL
(`{"id", "context", "question"?, "claim", "label": "supported"|"hallucinated", "source"?}`) and measures it with
"hallucinated" as the positive class, so its hallucination score is 1 - support.

>>> judge_metrics([True, False, False], [0.2, 0.9, 0.4], threshold=0.5)["recall"]
1.0
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from eval.jsonl import read_jsonl
from rag.errors import LLMError, NewsdeskError, UserError
from rag.verify.support import OfflineSupportScorer, claim_sentences, split_sentences, strip_citations

__all__ = [
    "JUDGE_PROMPT_VERSION",
    "ChatClient",
    "CrossJudge",
    "Judge",
    "LLMJudge",
    "ModelJudge",
    "OfflineJudge",
    "judge_metrics",
    "parse_verdict",
    "rank_auc",
    "read_judge_records",
    "run_judge",
]


@runtime_checkable
class Judge(Protocol):
    """Scores support of a claim by passages: 1.0 supported, 0.0 not; supported when >= threshold."""

    threshold: float

    def support(self, passages: Sequence[str], sentence: str, question: str | None = None) -> float: ...


class OfflineJudge:
    """The offline support scorer as a judge: the claim is split into sentences and judged as a whole.

    >>> judge = OfflineJudge()
    >>> passage = "The bridge is 100 m long. It opened in May."
    >>> judge.support([passage], "The bridge is 100 m long. It opened in June.") < judge.threshold
    True
    """

    def __init__(self, scorer: SentenceScorer | None = None, threshold: float | None = None) -> None:
        self.scorer: SentenceScorer = scorer if scorer is not None else OfflineSupportScorer()
        self.threshold = float(threshold) if threshold is not None else self.scorer.threshold

    def support(self, passages: Sequence[str], sentence: str, question: str | None = None) -> float:
        """Every sentence is checked; the scorer combines their mismatches into one score. A one-sentence
        answer is read after its `question` (rag.verify.support.claim_sentences): "Smith" claims nothing
        until it answers "Who won?".
        """
        return self.scorer.support_sentences(passages, claim_sentences(sentence, question))

    def verdict(self, passages: Sequence[str], sentence: str,
                question: str | None = None) -> tuple[float, bool] | None:
        """(the support before the vetoes, whether a hard check vetoes the claim) for a scorer with vetoes
        (rag.verify.judge_model.VetoedScorer); None for one whose score has them inside.
        """
        if not hasattr(self.scorer, "vetoed_score"):
            return None
        return self.scorer.parts(passages, claim_sentences(sentence, question))  # type: ignore[attr-defined]

    def vetoed_score(self, score: float, threshold: float) -> float:
        """The support of a vetoed claim whose model score is `score`, judged at `threshold`."""
        return float(self.scorer.vetoed_score(score, threshold))  # type: ignore[attr-defined]


class SentenceScorer(Protocol):
    threshold: float

    def support_sentences(self, passages: Sequence[str], sentences: Sequence[str]) -> float: ...


class CrossJudge(OfflineJudge):
    """The cross-encoder judge (rag.verify.cross_judge): each sentence read with its own evidence by the fine-tuned
    MiniLM, the claim as its weakest sentence, the hard checks as vetoes. The default of `eval judge` and `eval run`.
    """

    def __init__(self, scorer: SentenceScorer | None = None, threshold: float | None = None) -> None:
        if scorer is None:
            from rag.verify.cross_judge import CrossSupportScorer, load_cross_model

            # judged at the card's threshold for labelled data (chosen on dev), which is also the one a vetoed
            # claim is put under: vetoes scaled to answer verification's higher threshold could stay above it
            model = load_cross_model()
            scorer = CrossSupportScorer(model, threshold if threshold is not None else model.judge_threshold)
        if threshold is None:
            model = getattr(scorer, "model", None)
            threshold = getattr(model, "judge_threshold", None)
        super().__init__(scorer, threshold)


class ModelJudge(OfflineJudge):
    """The token-alignment judge (rag.verify.judge_model): each sentence's MiniLM token alignment with its own
    evidence, the claim read as its weakest sentence, the hard checks as vetoes (`--judge align`).
    """

    def __init__(self, scorer: SentenceScorer | None = None, threshold: float | None = None) -> None:
        if scorer is None:
            from rag.verify.judge_model import ModelSupportScorer

            scorer = ModelSupportScorer()
        super().__init__(scorer, threshold)


# --------------------------------------------------------------------------------------------------------------
# LLM judge


class ChatClient(Protocol):
    """An OpenAI-compatible chat client: messages in, the assistant's reply text out."""

    def complete(self, messages: list[dict[str, str]]) -> str: ...


JUDGE_PROMPT_VERSION = "judge-v1"
JUDGE_SYSTEM_PROMPT = (
    "You check claims against source passages. A claim is supported only if every statement in it -- every "
    "name, number, date, negation and relation -- is stated in or directly implied by the passages. Outside "
    "knowledge does not count. Reply with only a JSON object: "
    '{"supported": true or false, "score": a number from 0 to 1 for how well the passages support the claim}.'
)
JUDGE_USER_TEMPLATE = "Passages:\n{passages}\n\nClaim: {claim}\n\nIs the claim supported by the passages? JSON only."
JUDGE_RETRY_PROMPT = 'That was not a JSON verdict. Reply with only {"supported": true or false, "score": 0 to 1}.'

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_BOOL_FIELD = re.compile(r"""["']?supported["']?\s*[:=]\s*["']?(true|false|yes|no)\b""", re.IGNORECASE)
_SCORE_FIELD = re.compile(r"""["']?score["']?\s*[:=]\s*["']?(-?\d+(?:\.\d+)?)""", re.IGNORECASE)
_TRUTHY = {"true": True, "yes": True, "false": False, "no": False}


def parse_verdict(reply: str, threshold: float = 0.5) -> float:
    """Support score from a judge reply `{"supported": bool, "score": float}`; raises LLMError when unreadable.

    Code fences and prose around the object are tolerated. With only one field the other is implied
    (supported -> 1.0 / 0.0). When the two disagree the boolean wins: the score is moved to its side of
    `threshold`, because the verdict is what the judge was asked for.

    >>> parse_verdict('```json\\n{"supported": false, "score": 0.2}\\n```')
    0.2
    >>> parse_verdict('{"supported": true}')
    1.0
    """
    text = _FENCE.sub("", reply.strip())
    supported: bool | None = None
    score: float | None = None
    start, end = text.find("{"), text.rfind("}")
    data: Any = None
    if start != -1 and end > start:
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            data = None
    if isinstance(data, dict):
        raw_s, raw_score = data.get("supported"), data.get("score")
        if isinstance(raw_s, bool):
            supported = raw_s
        elif isinstance(raw_s, str) and raw_s.strip().lower() in _TRUTHY:
            supported = _TRUTHY[raw_s.strip().lower()]
        if isinstance(raw_score, int | float) and not isinstance(raw_score, bool):
            score = float(raw_score)
        elif isinstance(raw_score, str):
            try:
                score = float(raw_score)
            except ValueError:
                score = None
    else:
        # not valid JSON (single quotes, trailing commas, cut off): read the two fields where they stand
        if m := _BOOL_FIELD.search(text):
            supported = _TRUTHY[m.group(1).lower()]
        if m := _SCORE_FIELD.search(text):
            score = float(m.group(1))
    if score is not None and not 0.0 <= score <= 1.0:
        raise LLMError(f"judge reply has score {score} outside [0, 1]: {_clip(reply)}")
    if supported is None and score is None:
        raise LLMError(f'judge reply is not a JSON verdict {{"supported": bool, "score": float}}: {_clip(reply)}')
    if score is None:
        return 1.0 if supported else 0.0
    if supported is True and score < threshold:
        return threshold
    if supported is False and score >= threshold:
        return max(0.0, threshold - 1e-6)
    return score


def _clip(text: str, n: int = 120) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= n else text[:n] + "...")


class LLMJudge:
    """A judge that asks a chat model for a JSON verdict; unreadable replies raise LLMError, never "supported".

    >>> class Replies:
    ...     def complete(self, messages): return '{"supported": true, "score": 0.9}'
    >>> LLMJudge(Replies()).support(["The bridge is 100 m long."], "It is 100 m long.")
    0.9
    """

    def __init__(self, client: ChatClient, threshold: float = 0.5, retries: int = 1) -> None:
        self.client = client
        self.threshold = threshold
        self.retries = retries  # extra asks after an unreadable reply

    def messages(self, passages: Sequence[str], sentence: str, question: str | None = None) -> list[dict[str, str]]:
        numbered = "\n\n".join(f"[{i}] {p.strip()}" for i, p in enumerate(passages, 1))
        claim = strip_citations(sentence).strip()
        if question and question.strip():  # an answer claims what it answers
            claim = f"(the answer to {question.strip()!r}) {claim}"
        user = JUDGE_USER_TEMPLATE.format(passages=numbered, claim=claim)
        return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def support(self, passages: Sequence[str], sentence: str, question: str | None = None) -> float:
        messages = self.messages(passages, sentence, question)
        error: LLMError | None = None
        for _attempt in range(self.retries + 1):
            reply = self.client.complete(messages)
            try:
                return parse_verdict(reply, self.threshold)
            except LLMError as exc:
                error = exc
                messages = [*messages, {"role": "assistant", "content": reply},
                            {"role": "user", "content": JUDGE_RETRY_PROMPT}]
        assert error is not None
        raise error


# --------------------------------------------------------------------------------------------------------------
# Metrics


def rank_auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Probability that a random positive scores above a random negative (Mann-Whitney U, ties count half).

    None when either class is absent.

    >>> rank_auc([True, False, True, False], [0.9, 0.1, 0.5, 0.5])
    0.875
    """
    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels but {len(scores)} scores")
    n_pos = sum(1 for y in labels if y)
    n_neg = len(labels) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average = (i + j) / 2 + 1  # tied scores share the mean of their ranks
        for k in range(i, j + 1):
            ranks[order[k]] = average
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def judge_metrics(labels: Sequence[bool], scores: Sequence[float], threshold: float) -> dict[str, float | None]:
    """Hallucination-detection metrics. `labels[i]` is True when claim i is hallucinated (the positive class);
    `scores[i]` is the judge's SUPPORT score, so a claim is flagged when its score < threshold and its
    hallucination score is 1 - score.

    - precision: flagged claims that are hallucinated / flagged claims (0.0 when nothing is flagged)
    - recall: hallucinated claims flagged / hallucinated claims (None when there are none)
    - f1: harmonic mean of precision and recall (0.0 when both are 0)
    - balanced_accuracy: mean of recall on hallucinated and recall on supported claims (None if a class is absent)
    - auc: chance a random hallucinated claim has a higher hallucination score than a random supported one,
      ties counted half (rank-based Mann-Whitney; None if a class is absent)

    >>> m = judge_metrics([True, True, False, False], [0.1, 0.8, 0.7, 0.9], threshold=0.5)
    >>> m["precision"], m["recall"], m["balanced_accuracy"], m["auc"]
    (1.0, 0.5, 0.75, 0.75)
    """
    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels but {len(scores)} scores")
    flagged = [s < threshold for s in scores]
    return classification_metrics(labels, flagged) | {"auc": rank_auc(labels, [1.0 - s for s in scores])}


def classification_metrics(labels: Sequence[bool], flagged: Sequence[bool]) -> dict[str, float | None]:
    """precision, recall, f1 and balanced_accuracy of hard flags against labels (True = hallucinated)."""
    tp = sum(1 for y, f in zip(labels, flagged, strict=True) if y and f)
    fp = sum(1 for y, f in zip(labels, flagged, strict=True) if not y and f)
    fn = sum(1 for y, f in zip(labels, flagged, strict=True) if y and not f)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if recall is not None and precision + recall else 0.0
    specificity = tn / (tn + fp) if tn + fp else None
    balanced = (recall + specificity) / 2 if recall is not None and specificity is not None else None
    return {"precision": precision, "recall": recall, "f1": f1, "balanced_accuracy": balanced}


# --------------------------------------------------------------------------------------------------------------
# Running a judge over labelled data

_LABELS = {"supported": False, "hallucinated": True}


def read_judge_records(path: Path) -> list[dict[str, Any]]:
    """Read judge JSONL; a bad line raises UserError naming the file and line.

    >>> import tempfile, os
    >>> p = Path(tempfile.mkdtemp()) / "j.jsonl"
    >>> _ = p.write_text('{"id": "a", "context": "c", "claim": "x", "label": "supported"}\\n\\n')
    >>> [r["id"] for r in read_judge_records(p)]
    ['a']
    """
    path = Path(path)
    records: list[dict[str, Any]] = []
    for lineno, where, rec in read_jsonl(path, "judge data")[1]:
        if not isinstance(rec, dict):
            raise UserError(f"{where}: expected a JSON object, got {type(rec).__name__}")
        for key in ("context", "claim"):
            if not isinstance(rec.get(key), str):
                raise UserError(f"{where}: field {key!r} must be a string")
        if rec.get("label") not in _LABELS:
            raise UserError(f"{where}: label must be \"supported\" or \"hallucinated\", got {rec.get('label')!r}")
        rec.setdefault("id", f"line-{lineno}")
        rec["_line"] = lineno
        records.append(rec)
    if not records:
        raise UserError(f"{path}: no judge records")
    return records


def run_judge(path: Path, judge: Judge) -> dict[str, Any]:
    """Judge every record of a labelled JSONL file and measure the judge (positive class: "hallucinated").

    Returns `{"n", "threshold", "metrics", "timing", "by_source"?, "by_task"?, "best_threshold", "errors"?}`.
    `by_source` appears when records carry "source", `by_task` ("source/task" keys) when they carry "task";
    `timing` gives the wall and CPU time per claim sentence. `best_threshold`
    is the threshold with the highest balanced accuracy on this very file, with the metrics at it: an upper
    bound for a threshold tuned to the data, printed beside the judge's own. A record the judge fails on (an LLM
    reply it cannot read) is listed under `errors` and left out of the metrics rather than counted as supported.
    """
    records = read_judge_records(path)
    labels: list[bool] = []
    scores: list[float] = []
    raw: list[float] = []  # the support before the vetoes, and the vetoes, of a judge that has them
    vetoes: list[bool] = []
    verdict = getattr(judge, "verdict", None)
    sources: list[str | None] = []
    tasks: list[str | None] = []
    errors: list[dict[str, Any]] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    n_sentences = 0
    for rec in records:
        n_sentences += len(split_sentences(strip_citations(rec["claim"])))
        try:
            question = rec.get("question")
            parts = verdict([rec["context"]], rec["claim"], question) if verdict is not None else None
            if parts is not None:
                raw_score, vetoed = float(parts[0]), bool(parts[1])
                score = judge.vetoed_score(raw_score, judge.threshold) if vetoed else raw_score  # type: ignore[attr-defined]
            else:
                score = float(judge.support([rec["context"]], rec["claim"], question=question) if question
                              else judge.support([rec["context"]], rec["claim"]))
                raw_score, vetoed = score, False
        except NewsdeskError as exc:
            errors.append({"id": rec["id"], "line": rec["_line"], "error": str(exc)})
            continue
        labels.append(_LABELS[rec["label"]])
        scores.append(score)
        raw.append(raw_score)
        vetoes.append(vetoed)
        sources.append(rec.get("source"))
        tasks.append(rec.get("task"))
    if not scores:
        raise NewsdeskError(f"{path}: the judge failed on every record; first error: {errors[0]['error']}")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    result: dict[str, Any] = {"n": len(scores), "threshold": judge.threshold,
                              "metrics": judge_metrics(labels, scores, judge.threshold),
                              "timing": {"seconds": round(seconds, 3), "claim_sentences": n_sentences,
                                         "ms_per_claim_sentence": round(1000 * seconds / max(1, n_sentences), 2),
                                         # CPU time of all threads: on a busy machine, what the work itself cost
                                         "cpu_ms_per_claim_sentence": round(1000 * cpu / max(1, n_sentences), 2)}}
    if any(s is not None for s in sources):
        result["by_source"] = _grouped([s or "unknown" for s in sources], labels, scores, judge.threshold)
    if any(t is not None for t in tasks):
        keys = [f"{s or 'unknown'}/{t or 'unknown'}" for s, t in zip(sources, tasks, strict=True)]
        result["by_task"] = _grouped(keys, labels, scores, judge.threshold)
    # A vetoed claim is flagged at whatever threshold the judge judges at, its score put just under it: the best
    # threshold is chosen so, and measured with the vetoed scores put under it.
    best = best_threshold(labels, raw, vetoes)
    at_best = [judge.vetoed_score(r, best) if v else r  # type: ignore[attr-defined]
               for r, v in zip(raw, vetoes, strict=True)] if any(vetoes) else scores
    result["best_threshold"] = {"threshold": round(best, 6), "metrics": judge_metrics(labels, at_best, best)}
    if "by_source" in result:
        result["best_threshold"]["by_source"] = _grouped([s or "unknown" for s in sources], labels, at_best, best)
    if "by_task" in result:
        keys = [f"{s or 'unknown'}/{t or 'unknown'}" for s, t in zip(sources, tasks, strict=True)]
        result["best_threshold"]["by_task"] = _grouped(keys, labels, at_best, best)
    if errors:
        result["errors"] = errors
    return result


def _grouped(keys: Sequence[str], labels: Sequence[bool], scores: Sequence[float],
             threshold: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(set(keys)):
        pick = [i for i, k in enumerate(keys) if k == name]
        out[name] = {"n": len(pick), "metrics": judge_metrics(
            [labels[i] for i in pick], [scores[i] for i in pick], threshold)}
    return out


def best_threshold(labels: Sequence[bool], scores: Sequence[float], forced: Sequence[bool] | None = None) -> float:
    """The support threshold with the highest balanced accuracy (labels: True = hallucinated); `forced` claims
    (vetoed by a hard check) are flagged whatever the threshold, as the judge flags them.

    >>> best_threshold([True, True, False, False], [0.1, 0.3, 0.6, 0.9])
    0.6
    >>> best_threshold([True, True, False, False], [0.1, 0.7, 0.6, 0.9], forced=[False, True, False, False])
    0.6
    """
    forced = forced if forced is not None else [False] * len(scores)
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    if not pos or not neg:
        return 0.5
    best, best_t = -1.0, 0.5
    for t in sorted(set(scores)):
        flagged = [f or s < t for s, f in zip(scores, forced, strict=True)]
        hit = sum(1 for y, f in zip(labels, flagged, strict=True) if y and f)
        ok = sum(1 for y, f in zip(labels, flagged, strict=True) if not y and not f)
        ba = (hit / pos + ok / neg) / 2
        if ba > best + 1e-12:
            best, best_t = ba, t
    return float(best_t)
