"""The passage index: every fact of the cited passages, looked up by the claim checks.

Built once per passage (and per tuple of passages, merged) and cached, since verification checks several
sentences against the same passages and popular passages come back question after question.

>>> idx = _index(("The bridge will be about 100 meters long.", "Trade grew to $688 million."))
>>> 100.0 in idx.numbers, 688e6 in idx.numbers, _word_in(idx, "bridges"), len(idx.sent_stems)
(True, True, True, 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.text.sentences import split_sentences
from rag.text.words import stem as _stem
from rag.verify.facts import _ALIASES, _DEMONYM_END, _Facts, _facts, _normalize, _num_key, _round_sig, _sig_digits


@dataclass
class _Index:
    stems: set[str] = field(default_factory=set)
    lowers: set[str] = field(default_factory=set)
    prefixes: dict[str, set[str]] = field(default_factory=dict)  # 4-letter prefix -> words ("Argentin...")
    stem_sents: dict[str, set[int]] = field(default_factory=dict)  # stem -> ids of the sentences holding it
    sent_stems: list[set[str]] = field(default_factory=list)  # per passage sentence: its content stems
    sent_heads: list[dict[str, str]] = field(default_factory=list)  # per sentence: negated head stem -> cue
    sent_scopes: list[set[str]] = field(default_factory=list)  # per sentence: stems inside a negation's scope
    negated_heads: set[str] = field(default_factory=set)  # every negated head in the passages
    numbers: set[float] = field(default_factory=set)
    number_list: list[float] = field(default_factory=list)
    months: set[int] = field(default_factory=set)
    month_days: set[tuple[int, int]] = field(default_factory=set)
    weekdays: set[str] = field(default_factory=set)
    acronyms: set[str] = field(default_factory=set)  # "dea" for "Drug Enforcement Administration"


# A run of capitalised words, small words allowed inside: "Drug Enforcement Administration", "Bureau of Labor
# Statistics". Its initials are an acronym the passage implies.
_CAPITAL_RUN = re.compile(r"\b[A-Z][a-z]+(?:(?:\s+(?:of|and|for|on|the|&))?\s+[A-Z][a-z]+)+")
_RUN_WORD = re.compile(r"[A-Z][a-z]+")


def _acronyms(sentence: str) -> set[str]:
    """The lower-case initials of every run of two to six capitalised words in the sentence (the run's first
    word may be the sentence's own, so every tail of a run counts too).

    >>> sorted(_acronyms("Officers of the Drug Enforcement Administration met the Bureau of Labor Statistics."))
    ['bls', 'dea', 'ea', 'ls']
    """
    out: set[str] = set()
    for run in _CAPITAL_RUN.finditer(sentence):
        initials = "".join(w[0] for w in _RUN_WORD.findall(run.group(0))).lower()
        for start in range(len(initials) - 1):
            if len(initials) - start <= 6:
                out.add(initials[start:])
    return out


@lru_cache(maxsize=1024)
def _passage_index(passage: str) -> _Index:
    """Index one passage; cached, since verification checks several sentences against the same passages."""
    idx = _Index()
    for sid, sentence in enumerate(split_sentences(_normalize(passage))):
        f = _passage_facts(sentence)
        stems = {stem for stem, _s, _w in f.content}
        for stem in stems:
            idx.stem_sents.setdefault(stem, set()).add(sid)
        idx.stems |= stems
        idx.sent_stems.append(stems)
        idx.sent_heads.append({head: cue for cue, head, _scope in f.negations})
        idx.negated_heads.update(idx.sent_heads[-1])
        idx.sent_scopes.append(set().union(*(scope for _c, _h, scope in f.negations)))
        for _s, values, _h in f.numbers:
            for v in values:
                idx.numbers.add(_num_key(v))
        idx.numbers.update(f.days)  # "on the 12th" may meet "May 12"
        for month, day in f.months:
            idx.months.add(month)
            if day is not None:
                idx.month_days.add((month, day))
        idx.weekdays.update(f.weekdays)
        idx.lowers.update(f.words)
        idx.acronyms |= _acronyms(sentence)
    for w in idx.lowers:
        idx.stems.add(_stem(w))  # stopwords and negations too, so names like "Will" still match
        if len(w) >= 4:
            idx.prefixes.setdefault(w[:4], set()).add(w)
    idx.number_list = sorted(idx.numbers)
    return idx


@lru_cache(maxsize=256)
def _index(passages: tuple[str, ...]) -> _Index:
    """The passages' indexes merged: a sentence citing [1][2] is checked against both together."""
    if len(passages) == 1:
        return _passage_index(passages[0])
    idx = _Index()
    for part in map(_passage_index, passages):
        offset = len(idx.sent_stems)
        for stem, ids in part.stem_sents.items():
            idx.stem_sents.setdefault(stem, set()).update(i + offset for i in ids)
        for prefix, words in part.prefixes.items():
            idx.prefixes.setdefault(prefix, set()).update(words)
        idx.sent_stems += part.sent_stems
        idx.sent_heads += part.sent_heads
        idx.sent_scopes += part.sent_scopes
        for name in ("stems", "lowers", "negated_heads", "numbers", "months", "month_days", "weekdays", "acronyms"):
            getattr(idx, name).update(getattr(part, name))
    idx.number_list = sorted(idx.numbers)
    return idx


@lru_cache(maxsize=16384)
def _passage_facts(sentence: str) -> _Facts:
    # overlapping chunks share sentences, and popular passages come back question after question
    return _facts(sentence, passage=True)


def _word_in(idx: _Index, lower: str) -> bool:
    """A name part is found when the word, its stem, an alias ("Dutch"/"Netherlands") or a demonym of it
    ("Italian"/"Italy", "Argentinian"/"Argentina") is in the passages.
    """
    if lower in idx.lowers or _stem(lower) in idx.stems:
        return True
    if _ALIASES.get(lower, set()) & idx.lowers:
        return True
    if len(lower) >= 4:
        for cand in idx.prefixes.get(lower[:4], ()):
            short, long_ = sorted((lower, cand), key=len)
            common = len(_common_prefix(lower, cand))
            if common >= 6 and common >= 0.7 * len(short):
                return True  # "Argentinian" / "Argentina"
            if common >= 0.6 * len(short) and len(long_) - common <= 4 and (
                _DEMONYM_END.search(long_) or _DEMONYM_END.search(short)
            ):
                return True  # "Italian" / "Italy", "Chinese" / "China", "Texan" / "Texas"
            if len(short) >= 3 and long_.startswith(short) and len(long_) - len(short) <= 1:
                return True  # "LGBTQ" / "LGBT"
    return False


def _common_prefix(a: str, b: str) -> str:
    k = 0
    while k < len(a) and k < len(b) and a[k] == b[k]:
        k += 1
    return a[:k]


def _number_found(idx: _Index, values: tuple[float, ...], hedged: bool) -> bool:
    for v in values:
        if _num_key(v) in idx.numbers:
            return True
    # A round number may be a rounding of a precise one ("$400 million" for "$402 million"), but a year is
    # never "about" another year.
    v = values[0]
    if v >= 10 and not (1000 <= v <= 2100 and v == int(v)):
        sig = _sig_digits(v)
        tolerance = 0.1 if hedged else 0.05
        for p in idx.number_list:
            if p > 0 and abs(p - v) <= tolerance * v and _round_sig(p, sig) == v:
                return True
    return False
