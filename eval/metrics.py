"""Metrics: small functions, each defined in the first line of its docstring.

Retrieval metrics are article-level: a ranked list of article ids (retrieved passages deduplicated by article,
in order) against the case's gold article ids, with binary relevance. Answer metrics compare the answer text with
the case's accepted answers. Citation metrics follow ALCE (Gao et al., 2023, "Enabling Large Language Models to
Generate Text with Citations") with a grounding judge standing in for the NLI model. Suite-level numbers are
aggregates of the per-case values, and `bootstrap_intervals` resamples cases to give 95% intervals.

>>> hit_at_k(["a", "b", "c"], {"c"}, 2), mrr_at_k(["a", "b", "c"], {"c"}, 10)
(0.0, 0.3333333333333333)
>>> answer_contains("The bridge is about 100 metres long, 31 m wide [1].", ["100 meters"])
1.0
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import numpy as np

from rag.text.markers import strip_markers

__all__ = [
    "SentenceCheck",
    "answer_contains",
    "answer_tokens",
    "bootstrap_intervals",
    "check_sentences",
    "citation_precision",
    "citation_recall",
    "dedupe",
    "groundedness",
    "hit_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "percentile",
    "recall_at_k",
    "refusal_precision",
    "refusal_recall",
    "squad_normalize",
    "token_f1",
    "uncited_share",
]

# --------------------------------------------------------------------------------------------------------------
# Retrieval (article level, binary relevance)


def dedupe(ids: Iterable[str]) -> list[str]:
    """The ids in first-seen order without repeats: ["a", "b", "a", "c"] -> ["a", "b", "c"]."""
    return list(dict.fromkeys(ids))


def hit_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """1.0 when any gold id is among the first k ranked ids, else 0.0."""
    gold = set(gold)
    return float(any(r in gold for r in ranked[:k]))


def mrr_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """1 / rank of the first gold id within the first k (ranks from 1), 0.0 when none is there."""
    gold = set(gold)
    for rank, r in enumerate(ranked[:k], 1):
        if r in gold:
            return 1.0 / rank
    return 0.0


def recall_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """Share of the gold ids found among the first k ranked ids: |top-k ∩ gold| / |gold|."""
    gold = set(gold)
    if not gold:
        raise ValueError("recall@k needs at least one gold id")
    return len(gold & set(ranked[:k])) / len(gold)


def ndcg_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float:
    """DCG@k / ideal DCG@k with binary gains: DCG = Σ_{i≤k, ranked[i] gold} 1/log2(i+1), ideal = all gold first.

    >>> round(ndcg_at_k(["x", "a"], {"a"}, 10), 4)  # 1/log2(3) over 1/log2(2)
    0.6309
    """
    gold = set(gold)
    if not gold:
        raise ValueError("nDCG@k needs at least one gold id")
    dcg = sum(1.0 / math.log2(i + 1) for i, r in enumerate(ranked[:k], 1) if r in gold)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold), k) + 1))
    return dcg / ideal


# --------------------------------------------------------------------------------------------------------------
# Answer text

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12, "bn": 10**9}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10}
_CURRENCY = {"$": "dollar", "£": "pound", "€": "euro", "usd": "dollar", "dollars": "dollar",
             "pounds": "pound", "euros": "euro"}
_ABBREVIATED = {"km": "kilometer", "kms": "kilometer", "kg": "kilogram", "kgs": "kilogram", "mi": "mile",
                "pct": "percent"}
_ARTICLES = frozenset({"a", "an", "the"})
_TOKEN = re.compile(r"(?P<cur>[$£€])|(?P<num>\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:(?P<ord>st|nd|rd|th)\b)?"
                    r"|(?P<word>[a-z]+)")
_SPELLING = ((re.compile(r"(?<=[a-z]{2})tre$"), "ter"),  # metre -> meter, centre -> center
             (re.compile(r"(?<=[a-z]{3})our$"), "or"))  # colour -> color, favour -> favor


def _fold_word(word: str) -> str:
    """A word's comparison form: plural and British spelling folded ("metres" -> "meter")."""
    word = _CURRENCY.get(word) or _ABBREVIATED.get(word) or word
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for pattern, repl in _SPELLING:
        word = pattern.sub(repl, word)
    return word


def _number(value: Decimal) -> str:
    """Canonical digits: Decimal("1.50") -> "1.5", Decimal("6.08E+8") -> "608000000"."""
    return format(value.normalize(), "f")


def answer_tokens(text: str) -> list[str]:
    """Normalised tokens for containment: case, punctuation, articles, number formats and spellings folded.

    >>> answer_tokens("The $608 million bridge, six metres wide")
    ['608000000', 'dollar', 'bridge', '6', 'meter', 'wide']
    >>> answer_tokens("1,000 people; 70 per cent; 31st")
    ['1000', 'people', '70', 'percent', '31th']
    """
    text = unicodedata.normalize("NFKD", strip_markers(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("per cent", "percent").replace("%", " percent ")
    raw: list[tuple[str, str]] = []  # (kind, value)
    for m in _TOKEN.finditer(text):
        if m.group("cur"):
            raw.append(("cur", _CURRENCY[m.group("cur")]))
        elif m.group("num"):
            value = m.group("num").replace(",", "")
            raw.append(("ord" if m.group("ord") else "num", value))
        else:
            raw.append(("word", m.group("word")))

    out: list[str] = []
    pending_currency: str | None = None  # "$" is said after the number: "$5" reads "5 dollar"
    i = 0
    while i < len(raw):
        kind, value = raw[i]
        if kind == "cur":
            pending_currency = value
            i += 1
            continue
        if kind == "word" and value in _ARTICLES:
            i += 1
            continue
        if kind == "word" and value in _ORDINALS:
            out.append(f"{_ORDINALS[value]}th")
            i += 1
            continue
        if kind == "ord":
            out.append(f"{_number(Decimal(value))}th")
            i += 1
            continue
        number: Decimal | None = None
        if kind == "num":
            number = Decimal(value)
            i += 1
        elif kind == "word" and (value in _UNITS or value in _TENS):
            # a run of number words: "twenty one" -> 21, "three hundred" -> 300
            number = Decimal(0)
            while i < len(raw) and raw[i][0] == "word" and (raw[i][1] in _UNITS or raw[i][1] in _TENS
                                                             or raw[i][1] == "hundred"):
                w = raw[i][1]
                number = number * 100 if w == "hundred" else number + (_UNITS[w] if w in _UNITS else _TENS[w])
                i += 1
            if i < len(raw) and raw[i][0] == "word" and raw[i][1] in _ORDINALS and raw[i - 1][1] in _TENS:
                # "twenty-first" -> 21th, the same token as "21st"
                out.append(f"{_number(number + _ORDINALS[raw[i][1]])}th")
                i += 1
                pending_currency = None
                continue
        if number is not None:
            while i < len(raw) and raw[i][0] == "word" and raw[i][1] in _SCALES:
                number *= _SCALES[raw[i][1]]
                i += 1
            out.append(_number(number))
            if pending_currency:
                out.append(pending_currency)
                pending_currency = None
            continue
        pending_currency = None
        out.append(_fold_word(value))
        i += 1
    return out


def _contains(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    return n > 0 and any(list(haystack[i:i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def answer_contains(answer: str, answers: Sequence[str]) -> float:
    """1.0 when some accepted answer's normalised tokens appear as a contiguous run in the answer's, else 0.0.

    Normalisation folds case, punctuation, articles, "1,000" = "1000", "six" = "6", "$608 million" =
    "608 million dollars", "metres" = "meters", so a match is a token run: "6" does not match "16".

    >>> answer_contains("Trade grew to $688 million [1].", ["688 million dollars"])
    1.0
    >>> answer_contains("It took 16 days.", ["six"])
    0.0
    """
    have = answer_tokens(answer)
    return float(any(_contains(have, answer_tokens(a)) for a in answers))


def squad_normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, punctuation and articles removed, whitespace collapsed."""
    text = strip_markers(text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCTUATION = frozenset(string.punctuation) | frozenset("‘’“”–—…")


def token_f1(answer: str, answers: Sequence[str]) -> float:
    """Best SQuAD token F1 over the accepted answers: 2·P·R/(P+R) on the bag of normalised tokens.

    >>> round(token_f1("about 100 meters long", ["100 meters"]), 4)  # P = 2/4, R = 2/2
    0.6667
    """
    pred = squad_normalize(answer).split()
    best = 0.0
    for gold_text in answers:
        gold = squad_normalize(gold_text).split()
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        common = sum((Counter(pred) & Counter(gold)).values())
        if common == 0:
            continue
        p, r = common / len(pred), common / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


# --------------------------------------------------------------------------------------------------------------
# Refusal (positive class: "should be refused", i.e. the case has no accepted answers)


def refusal_precision(refused: Sequence[bool], should_refuse: Sequence[bool]) -> float | None:
    """Refused cases that should be refused / refused cases; None when no case should be refused,
    0.0 when some should but nothing was refused.
    """
    if not any(should_refuse):
        return None
    pred = sum(refused)
    return sum(r and s for r, s in zip(refused, should_refuse, strict=True)) / pred if pred else 0.0


def refusal_recall(refused: Sequence[bool], should_refuse: Sequence[bool]) -> float | None:
    """Cases that should be refused and were / cases that should be refused; None when there are none."""
    total = sum(should_refuse)
    if not total:
        return None
    return sum(r and s for r, s in zip(refused, should_refuse, strict=True)) / total


# --------------------------------------------------------------------------------------------------------------
# Citations and grounding

Entails = Callable[[Sequence[str], str], bool]


@dataclass(frozen=True)
class SentenceCheck:
    """The citation verdicts for one answer sentence.

    `supported`: its cited passages, concatenated, entail it. `precise[j]`: citation j is not redundant.
    `grounded`: some retrieved passage alone entails it (None when not checked).
    """

    sentence: str
    cited: tuple[int, ...]
    supported: bool
    precise: tuple[bool, ...]
    grounded: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "cited": list(self.cited), "supported": self.supported,
                "precise": list(self.precise), "grounded": self.grounded}


def check_sentence(sentence: str, cited: Sequence[str], entails: Entails) -> tuple[bool, tuple[bool, ...]]:
    """(supported, precise per citation) of one sentence under ALCE's rules.

    supported: the cited passages together entail the sentence (no citations: not supported).
    precise: a citation of an unsupported sentence is not precise; of a supported one it is precise unless it
    does not entail the sentence alone AND the other citations entail it without it. This follows ALCE's
    reference implementation, where the citations of an unsupported sentence count against precision.

    >>> facts = {"A": {"x"}, "B": {"y"}}
    >>> entails = lambda ps, s: set(s) <= set().union(*(facts[p] for p in ps))
    >>> check_sentence("xy", ["A", "B"], entails), check_sentence("x", ["A", "B"], entails)
    ((True, (True, True)), (True, (True, False)))
    """
    if not cited:
        return False, ()
    supported = entails(list(cited), sentence)
    if not supported:
        return False, tuple(False for _ in cited)
    if len(cited) == 1:
        return True, (True,)
    precise = []
    for j, passage in enumerate(cited):
        if entails([passage], sentence):
            precise.append(True)
            continue
        rest = [p for i, p in enumerate(cited) if i != j]
        precise.append(not entails(rest, sentence))
    return True, tuple(precise)


def check_sentences(sentences: Sequence[tuple[str, Sequence[int]]], citations: Mapping[int, str],
                    retrieved: Sequence[str], entails: Entails, *, grounding: bool = True) -> list[SentenceCheck]:
    """Judge every answer sentence: ALCE support and precision over its citations (`citations[n]` is the
    passage text of marker [n]; unknown markers count as citations of nothing), and groundedness against
    each retrieved passage on its own, cited passages first.
    """
    out = []
    for sentence, numbers in sentences:
        numbers = tuple(dict.fromkeys(numbers))
        texts = [citations.get(n, "") for n in numbers]
        supported, precise = check_sentence(sentence, texts, entails)
        grounded: bool | None = None
        if grounding:
            # A precise single citation that entails alone already answers the question without another call.
            order = dedupe([t for t in texts if t] + list(retrieved))
            grounded = (supported and len(texts) == 1) or any(entails([p], sentence) for p in order)
        out.append(SentenceCheck(sentence, numbers, supported, precise, grounded))
    return out


def citation_recall(checks: Sequence[SentenceCheck]) -> float | None:
    """Share of answer sentences whose cited passages together entail them (ALCE citation recall)."""
    return sum(c.supported for c in checks) / len(checks) if checks else None


def citation_precision(checks: Sequence[SentenceCheck]) -> float | None:
    """Precise citations / all citations over the answer's sentences (ALCE citation precision); 0.0 for an
    answer with sentences but no citations, None for no sentences.
    """
    if not checks:
        return None
    total = sum(len(c.precise) for c in checks)
    return sum(sum(c.precise) for c in checks) / total if total else 0.0


def groundedness(checks: Sequence[SentenceCheck]) -> float | None:
    """Share of answer sentences that some retrieved passage entails on its own."""
    judged = [c for c in checks if c.grounded is not None]
    return sum(bool(c.grounded) for c in judged) / len(judged) if judged else None


def uncited_share(checks: Sequence[SentenceCheck]) -> float | None:
    """Share of answer sentences that carry no citation marker."""
    return sum(not c.cited for c in checks) / len(checks) if checks else None


# --------------------------------------------------------------------------------------------------------------
# Aggregates and bootstrap intervals


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100, linear interpolation) of the values; None for no values.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 50)
    25.0
    """
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.percentile(vals, q)) if vals else None


def mean(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None; None when there are none."""
    vals = [v for v in values if v is not None]
    return float(sum(vals) / len(vals)) if vals else None


class Aggregate(Protocol):
    """A suite-level metric as a function of case indices, so the bootstrap can recompute it on resamples.

    An aggregate may also offer `batch(draws)`: the values for every row of a (resamples, n) index matrix at
    once, NaN where undefined; the bootstrap uses it when present because it is much faster than a loop.
    """

    def __call__(self, idx: np.ndarray) -> float | None: ...


def bootstrap_intervals(n: int, aggregates: Mapping[str, Callable[[np.ndarray], float | None]], *,
                        resamples: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, list[float] | None]:
    """Percentile-bootstrap intervals: resample the n cases with replacement, recompute every aggregate.

    The same resampled index sets serve every metric (paired resampling), and a fixed seed makes the intervals
    reproducible. A metric with no value in a resample (e.g. no gold cases drawn) skips that resample; one with
    no value at all gets None.

    >>> vals = np.array([0.0, 1.0, 1.0, 1.0])
    >>> lo, hi = bootstrap_intervals(4, {"m": lambda idx: float(vals[idx].mean())})["m"]
    >>> 0.0 <= lo <= 0.75 <= hi <= 1.0
    True
    """
    out: dict[str, list[float] | None] = {}
    if n == 0:
        return {name: None for name in aggregates}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    alpha = (1.0 - level) / 2 * 100
    for name, aggregate in aggregates.items():
        if aggregate(np.arange(n)) is None:
            out[name] = None
            continue
        batch = getattr(aggregate, "batch", None)
        if batch is not None:
            values = np.asarray(batch(draws), dtype=float)
            stats = values[~np.isnan(values)].tolist()
        else:
            stats = [v for idx in draws if (v := aggregate(idx)) is not None and not math.isnan(v)]
        if not stats:
            out[name] = None
            continue
        lo, hi = np.percentile(stats, [alpha, 100 - alpha])
        out[name] = [float(lo), float(hi)]
    return out
