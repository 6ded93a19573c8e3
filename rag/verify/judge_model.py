"""The learned grounding judge: MiniLM token alignment between a claim sentence and its evidence, and a logistic
model over it, run by onnxruntime.

Each claim sentence is read with the few passage sentences that share most of its rare words (BM25 over
stemmed words, picked per claim sentence). The bundled all-MiniLM-L6-v2 encoder (int8, dynamic quantisation,
shipped in `rag/verify/judge_weights/` with a JSON card: version, build command, data hash, metrics) gives
contextual token vectors for the claim and for each evidence sentence; every content token of the claim is
matched to its most similar evidence token. A token with no close match is a word or a sense the evidence does
not carry, whatever its spelling: "husband" for "wife" matches poorly, "metres" for "meters" well. The claim's
alignment (mean, minimum, share of poorly matched tokens, sentence similarity), pooled over its sentences as
its weakest sentence, and the lexical coverage shares go into a logistic model fitted on the HaluEval training
data (`python -m eval.train_grounding`). Nothing here imports torch.

`ModelSupportScorer` is the support scorer answer verification and `eval judge` use; the offline scorer's hard
checks (a contradicted number, name, date or negation) stay as vetoes on top of the model.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import Stemmer

from rag.errors import NewsdeskError
from rag.verify.facts import claim_part
from rag.verify.support import HARD_CHECKS, OfflineSupportScorer, split_sentences, strip_citations

__all__ = [
    "CARD_FORMAT",
    "CARD_VERSION",
    "DEFAULT_MODEL_DIR",
    "FEATURES",
    "JudgeModel",
    "JudgeModelError",
    "ModelSupportScorer",
    "aggregate",
    "passage_sentences",
    "select_evidence",
]

CARD_FORMAT = "newsdesk-judge-model"
CARD_VERSION = 1  # bump when FEATURES, their meaning or the evidence selection change; old cards are refused
DEFAULT_MODEL_DIR = Path(__file__).with_name("judge_weights")
MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
TRAIN_COMMAND = "python -m eval.train_grounding"

# Claim-level features: the alignment ones pooled over the claim's sentences as its weakest sentence (the lowest
# mean, minimum and sentence similarity, the highest share of poorly matched tokens), then the lexical shares.
FEATURES = ("align_mean", "align_min", "align_low3", "unaligned", "sentence_cos", "coverage", "pairs")
ALIGN_FLOOR = 0.5  # a claim token whose best evidence match is below this cosine counts as unaligned
MAX_TOKENS = 64  # each claim or evidence sentence is cut to this many WordPiece tokens
EVIDENCE_SENTENCES = 4
_BATCH = 64


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


def passage_sentences(passages: Sequence[str]) -> tuple[str, ...]:
    """The passage sentences select_evidence picks from, in passage order.

    >>> passage_sentences(["Rain fell in Baku. The bridge is 100 m long."])
    ('Rain fell in Baku.', 'The bridge is 100 m long.')
    """
    return _passage_index(tuple(passages)).sentences


def select_evidence(passages: Sequence[str], claim: str, k: int = EVIDENCE_SENTENCES,
                    ranked: bool = False) -> list[str]:
    """The `k` passage sentences that best match `claim` (BM25 over stems), in passage order (`ranked`: best first).

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
    return [idx.sentences[i] for i in (order if ranked else sorted(order))]


@dataclass(frozen=True)
class _Encoded:
    """One sentence through the encoder: its content tokens' unit vectors and its unit sentence vector."""

    tokens: np.ndarray  # (n, 384), n >= 0
    sentence: np.ndarray  # (384,)


def sentence_alignment(claim: _Encoded, evidence: Sequence[_Encoded]) -> dict[str, float]:
    """How well each content token of the claim finds a close token in the evidence, and sentence similarity.

    With no content token in the claim, or no evidence at all, the claim is fully aligned or not at all.
    """
    if not len(claim.tokens):
        return {"align_mean": 1.0, "align_min": 1.0, "align_low3": 1.0, "unaligned": 0.0, "sentence_cos": 1.0}
    if not evidence:
        return {"align_mean": 0.0, "align_min": 0.0, "align_low3": 0.0, "unaligned": 1.0, "sentence_cos": 0.0}
    ev = np.concatenate([e.tokens for e in evidence if len(e.tokens)] or [np.zeros((1, claim.tokens.shape[1]))])
    best = (claim.tokens @ ev.T).max(axis=1)
    low = np.sort(best)[:3]
    cos = max(float(claim.sentence @ e.sentence) for e in evidence)
    return {"align_mean": float(best.mean()), "align_min": float(best.min()), "align_low3": float(low.mean()),
            "unaligned": float((best < ALIGN_FLOOR).mean()), "sentence_cos": cos}


def aggregate(sentences: Sequence[dict[str, float]], lexical: dict[str, float]) -> dict[str, float]:
    """Claim features (FEATURES) from its sentences' alignments, as its weakest sentence, and the lexical shares.

    >>> aggregate([{"align_mean": .9, "align_min": .5, "align_low3": .6, "unaligned": .1, "sentence_cos": .8},
    ...            {"align_mean": .7, "align_min": .6, "align_low3": .65, "unaligned": .3, "sentence_cos": .9}],
    ...           {"coverage": 1.0, "pairs": 0.5})["align_mean"]
    0.7
    """
    if not sentences:
        sentences = [{"align_mean": 1.0, "align_min": 1.0, "align_low3": 1.0, "unaligned": 0.0, "sentence_cos": 1.0}]
    out = {name: min(s[name] for s in sentences) for name in ("align_mean", "align_min", "align_low3",
                                                               "sentence_cos")}
    out["unaligned"] = max(s["unaligned"] for s in sentences)
    out["coverage"] = float(lexical["coverage"])
    out["pairs"] = float(lexical["pairs"])
    return out


# --------------------------------------------------------------------------------------------------------------
# The model


def read_card(model_dir: Path, model_file: str, card_file: str, card_format: str, version: int,
              fix: str) -> dict[str, Any]:
    """A model directory's card, after checking both files are there and the card is of this format and version;
    anything else is a JudgeModelError that ends with `fix`. The caller checks the card's own fields.
    """
    path = model_dir / card_file
    for name in (model_file, card_file):
        if not (model_dir / name).is_file():
            raise JudgeModelError(f"judge model file {model_dir / name} not found; {fix}")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JudgeModelError(f"judge model card {path} is unreadable ({exc}); {fix}") from exc
    if not isinstance(card, dict) or card.get("format") != card_format:
        raise JudgeModelError(f"{path}: not a {card_format} card; {fix}")
    if card.get("version") != version:
        raise JudgeModelError(f"{path}: judge model version {card.get('version')} but this code reads "
                              f"version {version}; {fix}")
    return card


def open_session(path: Path, threads: int | None, outputs: Sequence[str], fix: str) -> Any:
    """An onnxruntime CPU session of the model at `path` (at most 2 threads, no spinning) whose outputs must be
    `outputs`; a damaged file or other outputs is a JudgeModelError that ends with `fix`.
    """
    import onnxruntime as ort

    from rag.models.minilm import default_threads

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or min(2, default_threads())
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
        raise JudgeModelError(f"judge model {path} cannot be loaded ({str(exc).splitlines()[0][:200]}); "
                              f"{fix}") from exc
    names = [o.name for o in session.get_outputs()]
    if names != list(outputs):
        raise JudgeModelError(f"judge model {path} has outputs {names}, not {' and '.join(outputs)}; {fix}")
    return session


def check_logistic(part: dict[str, Any], names: Sequence[str]) -> None:
    """A card's logistic weights over `names`: weights, means and positive scales, one per name, and a bias;
    ValueError (the caller's "malformed card") otherwise.
    """
    vectors = [[float(x) for x in part[k]] for k in ("weights", "mean", "scale")]
    if any(len(v) != len(names) for v in vectors) or any(x <= 0 for x in vectors[2]):
        raise ValueError(f"expected {len(names)} weights, means and positive scales")
    float(part["bias"])


def logistic(part: dict[str, Any], names: Sequence[str], features: dict[str, float]) -> float:
    """P(supported) from `features` by a card's logistic weights over `names` (standardised by mean and scale)."""
    z = float(part["bias"])
    for name, w, mu, sd in zip(names, part["weights"], part["mean"], part["scale"], strict=True):
        z += float(w) * (features[name] - float(mu)) / float(sd)
    return 1.0 / (1.0 + math.exp(-min(max(z, -30.0), 30.0)))


def padded_batches(ids: Sequence[Sequence[int]], size: int) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Token-id rows in batches of `size`, shortest first: (their indexes, ids and attention mask, zero-padded)."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), size):
        pick = order[start : start + size]
        width = max(len(ids[i]) for i in pick)
        x = np.zeros((len(pick), width), dtype=np.int64)
        mask = np.zeros((len(pick), width), dtype=np.int64)
        for row, i in enumerate(pick):
            x[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        yield pick, x, mask


_M = TypeVar("_M")
_models: dict[tuple[Any, Path], Any] = {}
_models_lock = threading.Lock()


def load_once(cls: Callable[[Path], _M], model_dir: Path) -> _M:
    """`cls(model_dir)`, built once per process for each class and directory."""
    key = (cls, Path(model_dir).resolve())
    with _models_lock:
        if key not in _models:
            _models[key] = cls(key[1])
        return cast(_M, _models[key])


class VetoedScorer:
    """What the learned scorers share: their support in [0, 1] from `parts` (the claim's score before the vetoes,
    and whether one of the offline scorer's hard checks vetoes it); a vetoed claim scores below the threshold
    whatever the model says (`vetoed_score`).
    """

    hard_factor = 0.9
    threshold: float

    def __init__(self, threshold: float, hard: Sequence[str] = HARD_CHECKS,
                 lexical: OfflineSupportScorer | None = None) -> None:
        self.threshold = float(threshold)
        self.hard = tuple(hard)
        self.lexical = lexical if lexical is not None else OfflineSupportScorer()

    def parts(self, passages: Sequence[str], sentences: Sequence[str]) -> tuple[float, bool]:
        raise NotImplementedError

    def vetoed(self, lexical: dict[str, float]) -> bool:
        """Whether the claim's lexical features fail one of the hard checks."""
        return any(lexical.get(kind, 0.0) for kind in self.hard)

    def vetoed_score(self, score: Any, threshold: float | None = None) -> Any:
        """The support of a vetoed claim whose model score is `score` (a float or an array): just under the
        threshold, between `hard_factor` and 0.99 of it, in the model's order. A veto is a verdict, not a
        degree: it flags the claim and leaves its rank among the flagged to the model, so that a hard check
        firing on a claim the model finds well supported (a figure the summary rounds, a name it spells
        another way) does not rank that claim below every claim the model doubts.

        >>> s = VetoedScorer(0.5)
        >>> s.vetoed_score(0.0), s.vetoed_score(1.0)
        (0.45, 0.495)
        """
        t = self.threshold if threshold is None else threshold
        return t * (self.hard_factor + (1.0 - self.hard_factor) * 0.9 * score)

    def support_sentences(self, passages: Sequence[str], sentences: Sequence[str]) -> float:
        score, vetoed = self.parts(passages, sentences)
        return float(self.vetoed_score(score)) if vetoed else score

    def support(self, passages: Sequence[str], sentence: str) -> float:
        """Support in [0, 1] of `sentence` (or a multi-sentence claim) by the passages taken together."""
        return self.support_sentences(passages, split_sentences(strip_citations(sentence)))


class JudgeModel:
    """The ONNX encoder in `model_dir` (token and sentence vectors) and its card (logistic weights, threshold).

    A missing, corrupt or outdated model raises JudgeModelError naming the fix. `encode` keeps the vectors of
    recently seen sentences, so a passage sentence that is evidence for several claims is encoded once.
    """

    def __init__(self, model_dir: Path = DEFAULT_MODEL_DIR, threads: int | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.card = self._read_card()
        self.threshold = float(self.card["threshold"])
        self.evidence_sentences = int(self.card.get("evidence_sentences", EVIDENCE_SENTENCES))
        self._tokenizer = _tokenizer()
        self._content = _content_token_mask()
        self._session = self._open(threads)
        self._cache: dict[str, _Encoded] = {}
        self._lock = threading.Lock()

    def _read_card(self) -> dict[str, Any]:
        path = self.model_dir / CARD_FILE
        fix = f"reinstall newsdesk, or rebuild the model with `{TRAIN_COMMAND}`"
        card = read_card(self.model_dir, MODEL_FILE, CARD_FILE, CARD_FORMAT, CARD_VERSION, fix)
        try:
            if tuple(card["features"]) != FEATURES:
                raise ValueError(f"features {card['features']} differ from this code's {list(FEATURES)}")
            if not 0.0 <= float(card["threshold"]) <= 1.0:
                raise ValueError("threshold must be in [0, 1]")
            check_logistic(card, FEATURES)
        except (KeyError, TypeError, ValueError) as exc:
            raise JudgeModelError(f"{path}: malformed card ({exc!r}); {fix}") from exc
        return card

    def _open(self, threads: int | None) -> Any:
        return open_session(self.model_dir / MODEL_FILE, threads, ("token_embeddings", "sentence_embedding"),
                            f"reinstall newsdesk, or rebuild it with `{TRAIN_COMMAND}`")

    def encode(self, sentences: Sequence[str]) -> list[_Encoded]:
        """Content-token and sentence vectors of each sentence (cut to MAX_TOKENS), batched by length."""
        with self._lock:
            known = {s: self._cache[s] for s in sentences if s in self._cache}
        todo = list(dict.fromkeys(s for s in sentences if s not in known))
        if todo:
            cls_id, sep_id = self._tokenizer.token_to_id("[CLS]"), self._tokenizer.token_to_id("[SEP]")
            ids = [[cls_id, *e.ids[: MAX_TOKENS - 2], sep_id]
                   for e in self._tokenizer.encode_batch(todo, add_special_tokens=False)]
            done: dict[str, _Encoded] = {}
            for pick, x, mask in padded_batches(ids, _BATCH):
                tokens, pooled = self._session.run(None, {"input_ids": x, "attention_mask": mask})
                for row, i in enumerate(pick):
                    keep = self._content[np.asarray(ids[i])]
                    vecs = tokens[row, : len(ids[i])][keep].astype(np.float64)
                    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
                    done[todo[i]] = _Encoded(vecs, pooled[row].astype(np.float64))
            with self._lock:
                if len(self._cache) > 4096:
                    self._cache.clear()
                self._cache.update(done)
            known.update(done)
        return [known[s] for s in sentences]

    def predict(self, features: dict[str, float]) -> float:
        """P(supported) from claim features (FEATURES), by the card's logistic weights."""
        return logistic(self.card, FEATURES, features)


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from rag.models.minilm import default_model_dir, load_tokenizer

    return load_tokenizer(default_model_dir())


@lru_cache(maxsize=1)
def _content_token_mask() -> np.ndarray:
    """Per vocabulary id: True for tokens that carry content (not [CLS]/[SEP]/[PAD], punctuation or stopwords)."""
    vocab = _tokenizer().get_vocab()
    mask = np.zeros(max(vocab.values()) + 1, dtype=bool)
    for piece, i in vocab.items():
        word = piece[2:] if piece.startswith("##") else piece
        mask[i] = any(ch.isalnum() for ch in word) and not piece.startswith("[") and (
            piece.startswith("##") or word not in _STOP)
    return mask


def load_model(model_dir: Path = DEFAULT_MODEL_DIR) -> JudgeModel:
    """The model in `model_dir`, loaded once per process."""
    return load_once(JudgeModel, model_dir)


# --------------------------------------------------------------------------------------------------------------
# The scorer


class ModelSupportScorer(VetoedScorer):
    """Support of a claim by passages from the learned judge, with the offline scorer's hard checks as vetoes
    (`VetoedScorer`). `threshold` defaults to the model card's (chosen by balanced accuracy on held-out training
    data).
    """

    def __init__(self, model: JudgeModel | None = None, threshold: float | None = None,
                 hard: Sequence[str] = HARD_CHECKS, lexical: OfflineSupportScorer | None = None) -> None:
        self.model = model if model is not None else load_model()
        super().__init__(threshold if threshold is not None else self.model.threshold, hard, lexical)

    def sentence_alignments(self, passages: Sequence[str], sentences: Sequence[str]) -> list[dict[str, float]]:
        """Each claim sentence's alignment with its own evidence from `passages`."""
        claims = [s.strip() for s in sentences]
        claims = [c for c in map(claim_part, claims) if c]  # "Sure! Here's the summary:" claims nothing
        if not claims:
            return []
        evidence = [select_evidence(passages, c, self.model.evidence_sentences) for c in claims]
        vectors = self.model.encode(claims + [e for ev in evidence for e in ev])
        out, at = [], len(claims)
        for i, ev in enumerate(evidence):
            out.append(sentence_alignment(vectors[i], vectors[at : at + len(ev)]))
            at += len(ev)
        return out

    def features(self, passages: Sequence[str], sentences: Sequence[str]) -> tuple[dict[str, float], bool]:
        """The claim's features (FEATURES) and whether a hard check vetoes it."""
        lexical = self.lexical.sentence_features(passages, sentences)
        return aggregate(self.sentence_alignments(passages, sentences), lexical), self.vetoed(lexical)

    def parts(self, passages: Sequence[str], sentences: Sequence[str]) -> tuple[float, bool]:
        """The claim's support before the vetoes, and whether a hard check vetoes it."""
        features, vetoed = self.features(passages, sentences)
        return self.model.predict(features), vetoed
