"""The learned grounding judge: a MiniLM cross-encoder over (claim sentence, evidence sentences), run by onnxruntime.

Each claim sentence is read with the few passage sentences that share most of its rare words (BM25 over
stemmed words, picked per claim sentence), as one `[CLS] claim [SEP] evidence [SEP]` sequence of at most
`max_len` WordPiece tokens. The network is all-MiniLM-L6-v2 fine-tuned to tell supported sentences from
hallucinated ones (`python -m eval.train_grounding`); its output is P(supported). The shipped file is int8
(dynamic quantisation), in `rag/verify/judge_weights/` with a JSON card: version, training command, data hash,
metrics. Nothing here imports torch.

`ModelSupportScorer` is the support scorer answer verification and `eval judge` use: a claim's support is the
lowest of its sentences' model scores, and the offline scorer's hard checks (a contradicted number, name, date
or negation) stay as vetoes on top of the model.

>>> scorer = ModelSupportScorer()
>>> passage = "The bridge will be about 100 meters long. It will open in May 2024."
>>> scorer.support([passage], "The bridge will be 100 meters long.") >= scorer.threshold
True
>>> scorer.support([passage], "The bridge will be 400 meters long.") < scorer.threshold
True
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import Stemmer

from rag.errors import NewsdeskError
from rag.verify.support import HARD_CHECKS, OfflineSupportScorer, split_sentences, strip_citations

__all__ = [
    "BLEND_FEATURES",
    "CARD_FORMAT",
    "CARD_VERSION",
    "DEFAULT_MODEL_DIR",
    "JudgeModel",
    "JudgeModelError",
    "ModelSupportScorer",
    "pair_ids",
    "select_evidence",
]

CARD_FORMAT = "newsdesk-judge-model"
CARD_VERSION = 1  # bump when the input layout (evidence selection, pair format) changes; old models are refused
DEFAULT_MODEL_DIR = Path(__file__).with_name("judge_weights")
MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
TRAIN_COMMAND = "python -m eval.train_grounding"

BLEND_FEATURES = ("model", "coverage", "pairs")  # "model" is the logit of the model's P(supported)
MAX_CLAIM_TOKENS = 64
EVIDENCE_SENTENCES = 3
_BATCH = 32


class JudgeModelError(NewsdeskError, ValueError):
    """The judge model is missing, corrupt or from another version; the message names the fix."""


# --------------------------------------------------------------------------------------------------------------
# Evidence: the passage sentences that share most of a claim sentence's rare words

_WORD = re.compile(r"[A-Za-z]+|\d+(?:[.,]\d+)*")
_STOP = frozenset(
    """a an the of to in on at by for with from and or but is are was were be been being has have had it its
    this that these those as he she they his her their them him we our you i not no""".split()
)
_stemmer = Stemmer.Stemmer("english")
_stem_lock = threading.Lock()  # PyStemmer objects are not thread-safe


def _stems(text: str) -> list[str]:
    words = [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP]
    with _stem_lock:
        return _stemmer.stemWords(words)


@dataclass(frozen=True)
class _PassageIndex:
    sentences: tuple[str, ...]
    stems: tuple[frozenset[str], ...]
    lengths: tuple[int, ...]
    idf: dict[str, float]
    avg_len: float


@lru_cache(maxsize=256)
def _passage_index(passages: tuple[str, ...]) -> _PassageIndex:
    sentences: list[str] = []
    for p in passages:
        sentences += [s for s in split_sentences(p) if any(ch.isalnum() for ch in s)]
    stem_lists = [_stems(s) for s in sentences]
    df: dict[str, int] = {}
    for st in stem_lists:
        for w in set(st):
            df[w] = df.get(w, 0) + 1
    n = len(sentences)
    idf = {w: math.log(1.0 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
    lengths = tuple(len(st) for st in stem_lists)
    return _PassageIndex(tuple(sentences), tuple(frozenset(st) for st in stem_lists), lengths, idf,
                         (sum(lengths) / n) if n else 1.0)


def select_evidence(passages: Sequence[str], claim: str, k: int = EVIDENCE_SENTENCES) -> list[str]:
    """The `k` passage sentences that best match `claim` (BM25 over stems), in passage order.

    >>> select_evidence(["Rain fell in Baku. The bridge is 100 m long. Talks ended."], "How long is the bridge?", k=1)
    ['The bridge is 100 m long.']
    """
    idx = _passage_index(tuple(passages))
    if not idx.sentences:
        return []
    query = set(_stems(claim))
    k1, b = 1.2, 0.75
    scores = []
    for i, st in enumerate(idx.stems):
        norm = k1 * (1 - b + b * idx.lengths[i] / idx.avg_len)
        scores.append(sum(idx.idf[w] * (k1 + 1) / (1 + norm) for w in query & st))
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return [idx.sentences[i] for i in sorted(order)]


def pair_ids(tokenizer: Any, claim: str, evidence: Sequence[str], max_len: int) -> list[int]:
    """`[CLS] claim [SEP] evidence [SEP]` as token ids: the claim cut to MAX_CLAIM_TOKENS, the evidence to the rest.

    Evidence sentences come in passage order; when they do not all fit, the best-ranked are not favoured over
    the others: the joined text is cut at the end, as the model saw it in training.
    """
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    a = tokenizer.encode(claim, add_special_tokens=False).ids[:MAX_CLAIM_TOKENS]
    b = tokenizer.encode(" ".join(evidence), add_special_tokens=False).ids if evidence else []
    b = b[: max(0, max_len - len(a) - 3)]
    return [cls_id, *a, sep_id, *b, sep_id]


# --------------------------------------------------------------------------------------------------------------
# The model


class JudgeModel:
    """The ONNX cross-encoder in `model_dir` and its card; `predict` gives P(supported) per (claim, evidence).

    A missing, corrupt or outdated model raises JudgeModelError naming the fix.
    """

    def __init__(self, model_dir: Path = DEFAULT_MODEL_DIR, threads: int | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.card = self._read_card()
        self.max_len = int(self.card["max_len"])
        self.threshold = float(self.card["threshold"])
        self.evidence_sentences = int(self.card.get("evidence_sentences", EVIDENCE_SENTENCES))
        self._tokenizer = _tokenizer()
        self._session = self._open(threads)

    def _read_card(self) -> dict[str, Any]:
        path = self.model_dir / CARD_FILE
        fix = f"reinstall newsdesk, or rebuild the model with `{TRAIN_COMMAND}`"
        if not (self.model_dir / MODEL_FILE).is_file() or not path.is_file():
            missing = MODEL_FILE if not (self.model_dir / MODEL_FILE).is_file() else CARD_FILE
            raise JudgeModelError(f"judge model file {self.model_dir / missing} not found; {fix}")
        try:
            card = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise JudgeModelError(f"judge model card {path} is unreadable ({exc}); {fix}") from exc
        if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
            raise JudgeModelError(f"{path}: not a {CARD_FORMAT} card; {fix}")
        if card.get("version") != CARD_VERSION:
            raise JudgeModelError(f"{path}: judge model version {card.get('version')} but this code reads "
                                  f"version {CARD_VERSION}; {fix}")
        try:
            if not 0.0 <= float(card["threshold"]) <= 1.0 or int(card["max_len"]) < 16:
                raise ValueError("threshold must be in [0, 1] and max_len at least 16")
            if blend := card.get("blend"):
                float(blend["bias"])
                if not set(blend["weights"]) <= set(BLEND_FEATURES):
                    raise ValueError(f"blend features must be among {list(BLEND_FEATURES)}")
                [float(w) for w in blend["weights"].values()]
        except (KeyError, TypeError, ValueError) as exc:
            raise JudgeModelError(f"{path}: malformed card ({exc!r}); {fix}") from exc
        return card

    def _open(self, threads: int | None) -> Any:
        import onnxruntime as ort

        from rag.models.minilm import default_threads

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or min(2, default_threads())
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = self.model_dir / MODEL_FILE
        try:
            return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
            raise JudgeModelError(f"judge model {path} cannot be loaded ({str(exc).splitlines()[0][:200]}); "
                                  f"reinstall newsdesk, or rebuild it with `{TRAIN_COMMAND}`") from exc

    def encode(self, claims: Sequence[str], evidences: Sequence[Sequence[str]]) -> list[list[int]]:
        return [pair_ids(self._tokenizer, c, e, self.max_len) for c, e in zip(claims, evidences, strict=True)]

    def predict_ids(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """P(supported) for token-id sequences made by `encode` (batched by similar length)."""
        out = np.zeros(len(sequences), dtype=np.float64)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        for start in range(0, len(order), _BATCH):
            pick = order[start : start + _BATCH]
            width = max(len(sequences[i]) for i in pick)
            ids = np.zeros((len(pick), width), dtype=np.int64)
            mask = np.zeros((len(pick), width), dtype=np.int64)
            for row, i in enumerate(pick):
                ids[row, : len(sequences[i])] = sequences[i]
                mask[row, : len(sequences[i])] = 1
            logits = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0].reshape(-1)
            out[pick] = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -30, 30)))
        return out

    def predict(self, claims: Sequence[str], evidences: Sequence[Sequence[str]]) -> np.ndarray:
        return self.predict_ids(self.encode(claims, evidences))


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from rag.models.minilm import default_model_dir, load_tokenizer

    return load_tokenizer(default_model_dir())


_models: dict[Path, JudgeModel] = {}
_models_lock = threading.Lock()


def load_model(model_dir: Path = DEFAULT_MODEL_DIR) -> JudgeModel:
    """The model in `model_dir`, loaded once per process."""
    key = Path(model_dir).resolve()
    with _models_lock:
        if key not in _models:
            _models[key] = JudgeModel(key)
        return _models[key]


# --------------------------------------------------------------------------------------------------------------
# The scorer

# "Sure! Here's the summary within 74 words:" introduces claims and makes none
_PREAMBLE = re.compile(r"^(?:sure|certainly|okay|ok)\b[\s!,.]*$|^(?:(?:sure|certainly|okay|ok)\W+)?"
                       r"(?:here(?:'s|\u2019s| is| are)|below is)\b.*:$", re.IGNORECASE)


class ModelSupportScorer:
    """Support of a claim by passages from the learned judge, with the offline scorer's hard checks as vetoes.

    A claim's score is its least supported sentence's P(supported); a claim failing a hard check scores below
    the threshold (`hard_factor` x threshold x score), whatever the model says. `threshold` defaults to the
    model card's (chosen by balanced accuracy on held-out training data).
    """

    hard_factor = 0.9

    def __init__(self, model: JudgeModel | None = None, threshold: float | None = None,
                 hard: Sequence[str] = HARD_CHECKS, lexical: OfflineSupportScorer | None = None) -> None:
        self.model = model if model is not None else load_model()
        self.threshold = float(threshold) if threshold is not None else self.model.threshold
        self.hard = tuple(hard)
        self.lexical = lexical if lexical is not None else OfflineSupportScorer()

    def sentence_scores(self, passages: Sequence[str], sentences: Sequence[str]) -> list[float]:
        """P(supported) of each sentence, each read with its own evidence from `passages`."""
        claims = [s.strip() for s in sentences]
        claims = [s for s in claims if s and not _PREAMBLE.match(s)]
        if not claims:
            return []
        k = self.model.evidence_sentences
        return [float(p) for p in self.model.predict(claims, [select_evidence(passages, c, k) for c in claims])]

    def parts(self, passages: Sequence[str], sentences: Sequence[str]) -> dict[str, float]:
        """The inputs of the score: "model" (the least supported sentence's P(supported)), the lexical "coverage"
        and "pairs" shares, and "vetoed" (1.0 when a hard check fails)."""
        scores = self.sentence_scores(passages, sentences)
        lexical = self.lexical.features(passages, " ".join(sentences))
        return {"model": min(scores) if scores else 1.0, "coverage": lexical["coverage"], "pairs": lexical["pairs"],
                "vetoed": float(any(lexical.get(kind, 0.0) for kind in self.hard))}

    def combine(self, parts: dict[str, float]) -> float:
        """Support before the vetoes: the model's P(supported), or the card's blend of its logit with the lexical
        shares (a logistic fit on held-out training data) when the card has one."""
        blend = self.model.card.get("blend")
        if not blend:
            return parts["model"]
        p = min(max(parts["model"], 1e-6), 1 - 1e-6)
        values = {"model": math.log(p / (1 - p)), "coverage": parts["coverage"], "pairs": parts["pairs"]}
        z = float(blend["bias"]) + sum(float(w) * values[name] for name, w in blend["weights"].items())
        return 1.0 / (1.0 + math.exp(-min(max(z, -30.0), 30.0)))

    def vetoed(self, passages: Sequence[str], text: str) -> bool:
        """Whether a hard check (contradicted number, name, date, negation) fails for `text`."""
        flags = self.lexical.features(passages, text)
        return any(flags.get(kind, 0.0) for kind in self.hard)

    def support_sentences(self, passages: Sequence[str], sentences: Sequence[str]) -> float:
        parts = self.parts(passages, sentences)
        score = self.combine(parts)
        if parts["vetoed"]:
            score *= self.threshold * self.hard_factor
        return score

    def support(self, passages: Sequence[str], sentence: str) -> float:
        """Support in [0, 1] of `sentence` (or a multi-sentence claim) by the passages taken together."""
        return self.support_sentences(passages, split_sentences(strip_citations(sentence)))
