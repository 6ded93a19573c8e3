"""Sentences with one checkable fact changed, for the adversarial verification set (eval.bench.adversarial).

`perturb(sentence, context, other, rng)` changes one number, date, name, negation or antonym, swaps two names,
or replaces the sentence with one from another text (`other`). Replacements come from the same context where
they can (a number or name the article does hold, in the wrong place), so the change is not betrayed by a word
the evidence lacks.

>>> import random
>>> perturb("The bridge is 100 meters long.", "The bridge is 100 meters long. It cost 608 million.", "",
...         random.Random(1))[1] in {"number", "negation", "off-topic"}
True
"""

from __future__ import annotations

import random
import re

from rag.verify.support import split_sentences

__all__ = ["KINDS", "perturb"]

_NUM = re.compile(r"\b\d+(?:[.,]\d+)*\b")
_NUM_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_AUX = re.compile(r"\b(is|was|are|were|has|have|had|will|can|could|would|should|did|does|do)\b")
_NEG = re.compile(r"\b(?:(is|was|are|were|has|have|had|will|can|could|would|should|did|does|do) not|never)\b")
_ANTONYMS = [("increase", "decrease"), ("increased", "decreased"), ("rose", "fell"), ("won", "lost"),
             ("before", "after"), ("more", "fewer"), ("higher", "lower"), ("largest", "smallest"),
             ("first", "last"), ("accepted", "rejected"), ("approved", "rejected"), ("arrested", "released"),
             ("husband", "wife"), ("son", "daughter"), ("father", "mother"), ("brother", "sister"),
             ("north", "south"), ("east", "west"), ("older", "younger"), ("guilty", "innocent"),
             ("died", "survived"), ("killed", "injured"), ("male", "female"), ("up", "down")]
_ANTONYM = {a: b for a, b in _ANTONYMS} | {b: a for a, b in _ANTONYMS}
_ANT_RE = re.compile(r"\b(" + "|".join(sorted(_ANTONYM, key=len, reverse=True)) + r")\b")


KINDS = ("number", "date", "name", "swap", "negation", "antonym", "off-topic")


def _names(text: str) -> list[str]:
    return [m.group(0) for m in _NAME.finditer(text) if m.group(0) not in _MONTHS + _DAYS]


def perturb(sentence: str, context: str, other: str, rng: random.Random,
            kinds: tuple[str, ...] = KINDS) -> tuple[str, str] | None:
    """`sentence` with one fact changed, and the kind of change (one of `kinds`); None when none applies."""
    names = _names(sentence)
    applicable = {
        "number": bool(_NUM.search(sentence)),
        "date": any(m in sentence for m in _MONTHS + _DAYS),
        "name": bool(names),
        "swap": len(set(names)) >= 2,
        "negation": bool(_AUX.search(sentence) or _NEG.search(sentence)),
        "antonym": bool(_ANT_RE.search(sentence)),
        "off-topic": True,
    }
    order = [k for k in KINDS if k in kinds and applicable[k]]
    rng.shuffle(order)
    for kind in order:
        out = _apply(kind, sentence, context, other, names, rng)
        if out and out != sentence:
            return out, kind
    return None


def _apply(kind: str, s: str, context: str, other: str, names: list[str], rng: random.Random) -> str | None:
    if kind == "number":
        found = list(_NUM.finditer(s))
        m = rng.choice(found)
        pool = [n for n in set(_NUM.findall(context)) if n != m.group(0)]
        if pool and rng.random() < 0.6:
            new = rng.choice(sorted(pool))
        else:
            digits = m.group(0).replace(",", "")
            try:
                value = float(digits)
            except ValueError:
                return None
            new_value = value + rng.choice([1, 2, 3, 5, 10]) if value < 20 else value * rng.choice([0.5, 1.5, 2, 3])
            new = f"{int(new_value):,}" if new_value == int(new_value) else f"{new_value:.1f}"
        return s[: m.start()] + new + s[m.end() :]
    if kind == "date":
        for group in (_MONTHS, _DAYS):
            present = [w for w in group if re.search(rf"\b{w}\b", s)]
            if present:
                w = rng.choice(present)
                return re.sub(rf"\b{w}\b", rng.choice([x for x in group if x != w]), s, count=1)
        return None
    if kind == "name":
        target = rng.choice(names)
        pool = [n for n in set(_names(context)) if n not in s and n.split()[-1] not in target]
        if not pool:
            pool = [n for n in set(_names(other)) if n not in s]
        if not pool:
            return None
        return s.replace(target, rng.choice(sorted(pool)), 1)
    if kind == "swap":
        a, b = rng.sample(sorted(set(names)), 2)
        if a in b or b in a:
            return None
        return s.replace(a, "\0").replace(b, a).replace("\0", b)
    if kind == "negation":
        m = _NEG.search(s)
        if m:
            return s[: m.start()] + (m.group(1) or "") + s[m.end() :] if m.group(1) else s.replace("never ", "", 1)
        m = _AUX.search(s)
        return s[: m.end()] + " not" + s[m.end() :] if m else None
    if kind == "antonym":
        m = _ANT_RE.search(s)
        return s[: m.start()] + _ANTONYM[m.group(1)] + s[m.end() :] if m else None
    if kind == "off-topic":
        pool = [x for x in split_sentences(other) if len(x.split()) >= 6]
        return rng.choice(pool) if pool else None
    return None
