"""The support model: logistic weights over the scorer's features, and its versioned file format.

The numbers live in `support_model.json` next to this module, trained by `python -m eval.train_judge`; a file of
another format, version or feature set is refused with the command that fixes it.

>>> SupportModel.load().to_json()["format"], FEATURE_NAMES
('newsdesk-support-model', ('coverage', 'pairs'))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

MODEL_FORMAT = "newsdesk-support-model"
MODEL_VERSION = 1  # bump when FEATURE_NAMES or their meaning change; old model files are then refused
DEFAULT_MODEL_PATH = Path(__file__).with_name("support_model.json")

FEATURE_NAMES: tuple[str, ...] = (
    "coverage",  # weighted share of the claim's content words found in the passages
    "pairs",  # share of its neighbouring content-word pairs found together in one passage sentence
)
# Contradictions that make a sentence unsupported whatever its word overlap. They are rules rather than model
# features: the dev labels would teach the model to ignore them (see eval/train_judge.py), and a sentence with a
# changed number must fail verification.
HARD_CHECKS: tuple[str, ...] = ("number", "name", "date", "negation")


@dataclass(frozen=True)
class SupportModel:
    """Logistic weights over FEATURE_NAMES (standardised by `mean` and `scale`), plus the hard checks.

    A claim that fails a check in `hard` scores `p * threshold * hard_factor`: below the threshold, whatever
    its overlap, yet still ordered by overlap among other contradicted claims.

    >>> m = SupportModel.heuristic()
    >>> round(m.predict({"coverage": 1.0, "pairs": 1.0}), 2)
    0.99
    """

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = 0.5
    hard: tuple[str, ...] = HARD_CHECKS
    hard_factor: float = 0.9
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def predict(self, features: dict[str, float]) -> float:
        """The logistic part alone: support before hard checks."""
        z = self.bias
        for name, w, mu, sd in zip(FEATURE_NAMES, self.weights, self.mean, self.scale, strict=True):
            z += w * (features[name] - mu) / sd
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        ez = math.exp(z)  # the two branches keep exp() from overflowing
        return ez / (1.0 + ez)

    def score(self, features: dict[str, float], threshold: float | None = None) -> float:
        """Support after hard checks, relative to `threshold` (the model's own by default)."""
        p = self.predict(features)
        if any(features.get(kind, 0.0) for kind in self.hard):
            p *= (self.threshold if threshold is None else threshold) * self.hard_factor
        return p

    @classmethod
    def heuristic(cls) -> SupportModel:
        """Hand-set weights for when no trained model file is at hand: about 0.5 at 75% coverage."""
        return cls(weights=(2.0, 1.0), bias=0.0, mean=(0.75, 0.6), scale=(0.15, 0.25),
                   threshold=0.5, meta={"source": "heuristic"})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "features": list(FEATURE_NAMES),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(m, 6) for m in self.mean],
            "scale": [round(s, 6) for s in self.scale],
            "threshold": round(self.threshold, 6),
            "hard": list(self.hard),
            "hard_factor": self.hard_factor,
            "meta": self.meta,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str = "support model") -> SupportModel:
        """Build from the saved form; a foreign, outdated or malformed one raises ValueError naming the fix."""
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ValueError(f"{origin}: not a {MODEL_FORMAT} file")
        if data.get("version") != MODEL_VERSION:
            raise ValueError(f"{origin}: model version {data.get('version')} but this code reads version "
                             f"{MODEL_VERSION}; retrain with `python -m eval.train_judge`")
        if tuple(data.get("features", ())) != FEATURE_NAMES:
            raise ValueError(f"{origin}: its features differ from this code's {list(FEATURE_NAMES)}; "
                             "retrain with `python -m eval.train_judge`")
        try:
            weights, mean, scale = (tuple(float(x) for x in data[k]) for k in ("weights", "mean", "scale"))
            bias, threshold = float(data["bias"]), float(data["threshold"])
            hard = tuple(str(k) for k in data.get("hard", HARD_CHECKS))
            hard_factor = float(data.get("hard_factor", 0.9))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{origin}: malformed model ({exc!r})") from exc
        n = len(FEATURE_NAMES)
        if not (len(weights) == len(mean) == len(scale) == n) or any(s <= 0 for s in scale):
            raise ValueError(f"{origin}: expected {n} weights, means and positive scales")
        if unknown := set(hard) - set(HARD_CHECKS):
            raise ValueError(f"{origin}: unknown hard checks {sorted(unknown)}; known: {list(HARD_CHECKS)}")
        if not 0.0 <= threshold <= 1.0 or not 0.0 < hard_factor <= 1.0:
            raise ValueError(f"{origin}: threshold must be in [0, 1] and hard_factor in (0, 1]")
        return cls(weights=weights, bias=bias, mean=mean, scale=scale, threshold=threshold, hard=hard,
                   hard_factor=hard_factor, meta=dict(data.get("meta", {})))

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL_PATH) -> SupportModel:
        """Read a model file; a missing, foreign or outdated file raises ValueError naming the fix."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValueError(f"support model {path} not found; train it with `python -m eval.train_judge`") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"support model {path} is not JSON: {exc}") from exc
        return cls.from_json(data, origin=str(path))


@lru_cache(maxsize=1)
def _bundled_model() -> SupportModel:
    if DEFAULT_MODEL_PATH.exists():
        return SupportModel.load(DEFAULT_MODEL_PATH)
    return SupportModel.heuristic()
