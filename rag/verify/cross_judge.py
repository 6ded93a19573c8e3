"""The cross-encoder grounding judge: the bundled MiniLM fine-tuned to read a claim sentence with its evidence.

Each claim sentence is paired with the few passage sentences that share most of its rare words
(rag.verify.judge_model.select_evidence, BM25 over stems, picked per claim sentence) as one WordPiece sequence
`[CLS] claim [SEP] evidence [SEP]` of at most MAX_TOKENS tokens; the fine-tuned encoder (int8 ONNX, shipped in
`rag/verify/cross_weights/` with a JSON card: version, training command, data hash, metrics) gives the logit
of "the evidence supports the sentence". A claim of several sentences is as supported as its weakest sentence.
That logit and the lexical coverage shares of the whole claim (STACK_FEATURES) go into a small logistic model
(the card's `stack`, fitted on training records the encoder was not trained on): the encoder reads meaning
within a few evidence sentences, the shares read what the claim adds to the whole passage, and each catches
what the other misses. The offline scorer's hard checks (a contradicted number, name, date or negation) stay
as vetoes on top.
Training (`python -m eval.train_cross_judge`, the `train` extra) uses torch; nothing here imports it.

>>> scorer = CrossSupportScorer()
>>> passage = "The bridge will be about 100 meters long. It will open in May 2024."
>>> scorer.support([passage], "The bridge will be 100 meters long.") >= scorer.threshold
True
>>> scorer.support([passage], "The bridge will be 400 meters long.") < scorer.threshold
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.verify.facts import claim_part
from rag.verify.judge_model import (
    JudgeModelError,
    VetoedScorer,
    _tokenizer,
    check_logistic,
    load_once,
    logistic,
    open_session,
    padded_batches,
    read_card,
    select_evidence,
)
from rag.verify.support import HARD_CHECKS, OfflineSupportScorer, claim_sentences

__all__ = [
    "CARD_FORMAT",
    "CARD_VERSION",
    "DEFAULT_MODEL_DIR",
    "CrossJudgeModel",
    "CrossSupportScorer",
    "claim_sentences",
    "load_cross_model",
    "pair_ids",
]

CARD_FORMAT = "newsdesk-cross-judge"
CARD_VERSION = 1  # bump when the pair layout (pair_ids) or the evidence selection change; old cards are refused
DEFAULT_MODEL_DIR = Path(__file__).with_name("cross_weights")
MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
TRAIN_COMMAND = "python -m eval.train_cross_judge"
MAX_TOKENS = 128  # the whole pair; the claim sentence keeps at most MAX_CLAIM_TOKENS of them
MAX_CLAIM_TOKENS = 64
EVIDENCE_SENTENCES = 4
STACK_FEATURES = ("cross_logit", "coverage", "pairs")
QUOTED_LOGIT = 10.0  # the logit of a claim sentence found word for word in the passages
_BATCH = 32


def pair_ids(passages: Sequence[str], sentence: str, k: int = EVIDENCE_SENTENCES) -> list[int]:
    """`[CLS] sentence [SEP] evidence [SEP]` as WordPiece ids, the evidence picked for the sentence, best first.

    >>> ids = pair_ids(["Rain fell in Baku. The bridge is 100 m long."], "The bridge is 100 m long.")
    >>> ids[0], ids[-1], len(ids) <= MAX_TOKENS
    (101, 102, True)
    """
    tok = _tokenizer()
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    claim = tok.encode(sentence, add_special_tokens=False).ids[:MAX_CLAIM_TOKENS]
    evidence = " ".join(select_evidence(passages, sentence, k, ranked=True))  # the cut drops the weakest
    room = MAX_TOKENS - len(claim) - 3
    ev = tok.encode(evidence, add_special_tokens=False).ids[:room] if evidence else []
    return [cls_id, *claim, sep_id, *ev, sep_id]


class CrossJudgeModel:
    """The ONNX cross-encoder in `model_dir` and its card; a missing, corrupt or outdated one raises
    JudgeModelError naming the fix.
    """

    def __init__(self, model_dir: Path = DEFAULT_MODEL_DIR, threads: int | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.card = self._read_card()
        self.threshold = float(self.card["threshold"])
        # The threshold `eval judge` and groundedness use: chosen on the labelled dev file, as the evaluation
        # asks (answer verification keeps `threshold`, chosen on held-out training data).
        self.judge_threshold = float(self.card.get("judge_threshold", self.threshold))
        self.evidence_sentences = int(self.card.get("evidence_sentences", EVIDENCE_SENTENCES))
        self._session = self._open(threads)

    def _fix(self) -> str:
        return f"reinstall newsdesk, or rebuild the model with `{TRAIN_COMMAND} --out {self.model_dir}`"

    def _read_card(self) -> dict[str, Any]:
        path = self.model_dir / CARD_FILE
        card = read_card(self.model_dir, MODEL_FILE, CARD_FILE, CARD_FORMAT, CARD_VERSION, self._fix())
        try:
            if not all(0.0 <= float(card.get(k, 0.5)) <= 1.0 for k in ("threshold", "judge_threshold")):
                raise ValueError("thresholds must be in [0, 1]")
            if int(card.get("max_tokens", MAX_TOKENS)) != MAX_TOKENS:
                raise ValueError(f"max_tokens {card['max_tokens']} differs from this code's {MAX_TOKENS}")
            stack = card["stack"]
            if tuple(stack["features"]) != STACK_FEATURES:
                raise ValueError(f"stack features {stack['features']} differ from this code's {list(STACK_FEATURES)}")
            check_logistic(stack, STACK_FEATURES)
        except (KeyError, TypeError, ValueError) as exc:
            raise JudgeModelError(f"{path}: malformed card ({exc!r}); {self._fix()}") from exc
        return card

    def _open(self, threads: int | None) -> Any:
        return open_session(self.model_dir / MODEL_FILE, threads, ("logit",), self._fix())

    def stacked(self, features: dict[str, float]) -> float:
        """P(supported) from the claim's STACK_FEATURES, by the card's logistic stack."""
        return logistic(self.card["stack"], STACK_FEATURES, features)

    def logits(self, pairs: Sequence[list[int]]) -> np.ndarray:
        """The support logit of each pair (token ids from pair_ids), batched by length."""
        out = np.zeros(len(pairs), dtype=np.float64)
        for pick, x, mask in padded_batches(pairs, _BATCH):
            (z,) = self._session.run(None, {"input_ids": x, "attention_mask": mask})
            out[pick] = np.asarray(z, dtype=np.float64).reshape(-1)
        return out


def load_cross_model(model_dir: Path = DEFAULT_MODEL_DIR) -> CrossJudgeModel:
    """The model in `model_dir`, loaded once per process."""
    return load_once(CrossJudgeModel, model_dir)


def _normal(text: str) -> str:
    """Lower case, words only, single spaces: the form in which a quoted sentence is found in its passage.

    >>> _normal("The bridge -- it's 100 m long!")
    'the bridge it s 100 m long'
    """
    return " ".join(re.findall(r"\w+", text.lower()))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(z, -30.0), 30.0)))


class CrossSupportScorer(VetoedScorer):
    """Support of a claim by passages from the cross-encoder, with the offline scorer's hard checks as vetoes
    (`VetoedScorer`). `threshold` defaults to the model card's (chosen by balanced accuracy on held-out training
    data).
    """

    def __init__(self, model: CrossJudgeModel | None = None, threshold: float | None = None,
                 hard: Sequence[str] = HARD_CHECKS, lexical: OfflineSupportScorer | None = None) -> None:
        self.model = model if model is not None else load_cross_model()
        super().__init__(threshold if threshold is not None else self.model.threshold, hard, lexical)

    def sentence_logits(self, passages: Sequence[str], sentences: Sequence[str]) -> list[float]:
        """The encoder's support logit of each claim sentence, each read with its own evidence from `passages`.

        A sentence the passages hold word for word is supported by them whatever the encoder makes of it
        (QUOTED_LOGIT): the encoder was trained on paraphrases and edits, and reads some verbatim copies as
        doubtful.
        """
        claims = [c for c in map(claim_part, sentences) if c]
        if not claims:
            return []
        text = _normal(" ".join(passages))
        quoted = [_normal(c) in text for c in claims]
        todo = [c for c, q in zip(claims, quoted, strict=True) if not q]
        logits = iter(self.model.logits([pair_ids(passages, c, self.model.evidence_sentences) for c in todo])
                      if todo else [])
        return [QUOTED_LOGIT if q else float(next(logits)) for q in quoted]

    def sentence_scores(self, passages: Sequence[str], sentences: Sequence[str]) -> list[float]:
        """The encoder's P(supported) of each claim sentence (before the stack and the vetoes)."""
        return [_sigmoid(z) for z in self.sentence_logits(passages, sentences)]

    def features(self, passages: Sequence[str], sentences: Sequence[str]) -> tuple[dict[str, float], bool]:
        """The claim's STACK_FEATURES (the weakest sentence's logit, the lexical shares) and whether a hard
        check vetoes it.
        """
        logits = self.sentence_logits(passages, sentences)
        lexical = self.lexical.sentence_features(passages, sentences)
        features = {"cross_logit": min(logits) if logits else QUOTED_LOGIT, "coverage": float(lexical["coverage"]),
                    "pairs": float(lexical["pairs"])}
        return features, self.vetoed(lexical)

    def parts(self, passages: Sequence[str], sentences: Sequence[str]) -> tuple[float, bool]:
        """The claim's support before the vetoes, and whether a hard check vetoes it."""
        features, vetoed = self.features(passages, sentences)
        return self.model.stacked(features), vetoed
