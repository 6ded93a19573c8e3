"""The offline support scorer: claim facts checked against the passage index, features, then the model.

See rag.verify.support for what the score means. `_check` looks each fact of one claim sentence up in the index;
`_features` pools the checks of a multi-sentence claim; the model (rag.verify.model) turns them into a score.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rag.text.markers import strip_markers
from rag.text.sentences import split_sentences
from rag.text.words import MONTH_NAMES
from rag.text.words import stem as _stem
from rag.verify.facts import _PHRASE_ALIASES, _TITLES, _Facts, _facts, _normalize, _num_key, claim_part
from rag.verify.index import _Index, _index, _number_found, _word_in
from rag.verify.model import SupportModel, _bundled_model


@runtime_checkable
class SupportScorer(Protocol):
    """Scores how well passages support one sentence: 1.0 fully supported, 0.0 not at all."""

    threshold: float  # a sentence counts as supported when support(...) >= threshold

    def support(self, passages: Sequence[str], sentence: str) -> float: ...


@dataclass(frozen=True)
class SupportReport:
    """A score, its verdict and the mismatches found, e.g. ("number 400 not in passage",)."""

    score: float
    supported: bool
    reasons: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------------------


@dataclass
class _SentenceCheck:
    coverage: float
    covered_weight: float
    total_weight: float
    pairs_found: int
    pairs_total: int
    numbers_missed: list[str]
    names_missed: list[str]
    dates_missed: list[str]
    negation: str | None  # the reason text, when the negation disagrees
    missed_words: list[str]


def _acronym_in(idx: _Index, surface: str) -> bool:
    """An all-capitals word the passages spell out: "DEA" for "Drug Enforcement Administration".

    >>> idx = _index(("Agents of the Drug Enforcement Administration made the arrest.",))
    >>> _acronym_in(idx, "DEA"), _acronym_in(idx, "FBI"), _acronym_in(idx, "Dea")
    (True, False, False)
    """
    return 2 <= len(surface) <= 6 and surface.isalpha() and surface.isupper() and surface.lower() in idx.acronyms


def _check(idx: _Index, sentence: str) -> _SentenceCheck:
    f = _facts(sentence)

    total = covered = 0.0
    missed_words: list[str] = []
    seen: set[str] = set()
    for stem, surface, weight in f.content:
        if stem in seen:
            continue
        seen.add(stem)
        total += weight
        if stem in idx.stems or (surface[:1].isupper() and _word_in(idx, surface.lower())) or _acronym_in(idx, surface):
            covered += weight
        else:
            missed_words.append(surface)

    # neighbouring content words that share a passage sentence: words found far apart may be facts recombined
    stems = [stem for stem, _s, _w in f.content]
    pairs_total = pairs_found = 0
    for a, b in itertools.pairwise(stems):
        if a == b:
            continue
        pairs_total += 1
        sa, sb = idx.stem_sents.get(a), idx.stem_sents.get(b)
        if sa and sb and not sa.isdisjoint(sb):
            pairs_found += 1

    numbers_missed = [s for s, values, hedged in f.numbers if not _number_found(idx, values, hedged)]

    names_missed = []
    for surface, parts, initial in f.names:
        if _PHRASE_ALIASES.get(" ".join(parts), set()) & idx.lowers or _acronym_in(idx, surface):
            continue  # "DEA" is the passage's "Drug Enforcement Administration"
        if all(p in _TITLES for p in parts):
            continue  # a title alone ("Rep.", "the Governor") names no one
        parts = tuple(p for p in parts if p not in _TITLES)  # "Governor Mike Pence" may be "Gov. Mike Pence"
        found = [_word_in(idx, p) for p in parts]
        if all(found) or (initial and len(parts) > 1 and all(found[1:])):
            continue  # "Suspect Kenneth Morgan Stancil": the sentence's first word need not be part of the name
        names_missed.append(surface)

    dates_missed: list[str] = []
    for month, day in f.months:
        if month not in idx.months:
            dates_missed.append(MONTH_NAMES[month])
        elif day is not None and (month, day) not in idx.month_days and (
            _num_key(day) not in idx.numbers or any(m == month for m, _d in idx.month_days)
        ):
            # a bare day number in the passages may be "on the 12th" -- unless they date that month otherwise
            dates_missed.append(f"{MONTH_NAMES[month]} {day}")
    for wd in f.weekdays:
        if wd not in idx.weekdays:
            dates_missed.append(wd.capitalize())

    return _SentenceCheck(
        coverage=covered / total if total else 1.0, covered_weight=covered, total_weight=total,
        pairs_found=pairs_found, pairs_total=pairs_total, numbers_missed=numbers_missed, names_missed=names_missed,
        dates_missed=dates_missed, negation=_negation_check(idx, f) or _antonym_check(idx, f),
        missed_words=missed_words,
    )


def _sharing(idx: _Index, weights: dict[str, float]) -> dict[int, tuple[float, int]]:
    """For each passage sentence holding some of the stems `weights` weighs: their total weight and count."""
    shared: dict[int, tuple[float, int]] = {}
    for st, w in weights.items():
        for sid in idx.stem_sents.get(st, ()):
            weight, count = shared.get(sid, (0.0, 0))
            shared[sid] = (weight + w, count + 1)
    return shared


def _negation_check(idx: _Index, f: _Facts) -> str | None:
    """A reason when the sentence negates what the passages affirm, or affirms what they negate.

    Only the head of a negation counts (the first content word after the cue: "did not WIN"), and only passage
    sentences that share at least half the sentence's content are compared, so "is not connected to the deal"
    does not contradict "signed the deal". Either direction needs every related passage sentence to disagree,
    because a passage may state a fact twice, once negated in another context.
    """
    weights: dict[str, float] = {}
    for stem, _s, w in f.content:
        weights.setdefault(stem, w)
    total = sum(weights.values())
    claim_scope: set[str] = set()
    for _cue, _head, scope in f.negations:
        claim_scope |= scope
    heads = [(cue, head) for cue, head, _scope in f.negations if head in weights]
    negated_there = [st for st in weights if st in idx.negated_heads and st not in claim_scope]
    if not total or not (heads or negated_there):
        return None  # the common case: nothing negated on either side

    shared = _sharing(idx, weights)
    min_count = min(3, len(weights))  # the stem itself and two more words, when the sentence has them

    def related(stem: str) -> list[int]:
        return [sid for sid in idx.stem_sents.get(stem, ())
                if shared[sid][0] >= 0.5 * total and shared[sid][1] >= min_count]

    for cue, head in heads:
        near = related(head)
        if near and not any(head in idx.sent_scopes[sid] for sid in near):
            return f"negation mismatch: '{cue}'"
    for stem in negated_there:
        near = related(stem)
        if near and all(stem in idx.sent_heads[sid] for sid in near):
            return f"negation mismatch: '{idx.sent_heads[near[0]][stem]}' in passage only"
    return None


# Words that say the opposite of each other, for the contradiction the "negation" check also covers: "prices rose"
# against a passage's "prices fell". Both sides are compared as stems (rag.text.words.stem: "rose" is "rise").
# Only opposites of direction and degree: a pair seen from the other side ("Madrid will sell Reus" / "Dortmund
# buy Reus", "Evans lost the frame" / "Doherty won it", "his mother" beside "her father") says the same fact.
_OPPOSITES = [tuple(pair.split("/")) for pair in """
    rise/fall increase/decrease higher/lower highest/lowest largest/smallest biggest/smallest surge/plunge
    expand/shrink strengthen/weaken majority/minority maximum/minimum stronger/weaker faster/slower longer/shorter
    older/younger oldest/youngest earlier/later north/south east/west northern/southern eastern/western
    import/export guilty/innocent acquit/convict legal/illegal approve/reject
    """.split()]
_OPPOSITE: dict[str, frozenset[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE[_stem(_a)] = _OPPOSITE.get(_stem(_a), frozenset()) | {_stem(_b)}
    _OPPOSITE[_stem(_b)] = _OPPOSITE.get(_stem(_b), frozenset()) | {_stem(_a)}


def _antonym_check(idx: _Index, f: _Facts) -> str | None:
    """A reason when the passage sentences that share the rest of the sentence's content say the opposite word:
    "Prices rose 5% in May" against "Prices fell 5% in May". The passages must not say the word itself anywhere,
    since they may say both ("rose after it fell").

    >>> from rag.verify.index import _index
    >>> idx = _index(("Consumer prices fell 5% in May, the agency said.",))
    >>> _antonym_check(idx, _facts("Consumer prices rose 5% in May."))
    "antonym mismatch: 'rose' where the passage says the opposite"
    >>> _antonym_check(_index(("Prices rose in May after they fell in April.",)), _facts("Prices rose in May."))
    """
    weights: dict[str, float] = {}
    surfaces: dict[str, str] = {}
    for stem, surface, w in f.content:
        weights.setdefault(stem, w)
        surfaces.setdefault(stem, surface)
    for stem in [st for st in weights if st in _OPPOSITE and st not in idx.stems]:
        rest = {st: w for st, w in weights.items() if st != stem}
        total = sum(rest.values())
        if not total:
            continue
        need = min(3, len(rest))
        related = [sid for sid, (weight, count) in _sharing(idx, rest).items()
                   if weight >= 0.6 * total and count >= need]
        if any(idx.sent_stems[sid] & _OPPOSITE[stem] for sid in related):
            return f"antonym mismatch: '{surfaces[stem]}' where the passage says the opposite"
    return None


def _features(checks: Sequence[_SentenceCheck]) -> dict[str, float]:
    """Model features (FEATURE_NAMES) and hard-check flags ("number", ...: 1.0 when any sentence fails it)."""
    total = sum(c.total_weight for c in checks)
    pairs_total = sum(c.pairs_total for c in checks)
    return {
        "coverage": sum(c.covered_weight for c in checks) / total if total else 1.0,
        "pairs": sum(c.pairs_found for c in checks) / pairs_total if pairs_total else 1.0,
        "number": float(any(c.numbers_missed for c in checks)),
        "name": float(any(c.names_missed for c in checks)),
        "date": float(any(c.dates_missed for c in checks)),
        "negation": float(any(c.negation for c in checks)),
    }


class OfflineSupportScorer:
    """Support from word, number, name, date and negation agreement with the passages.

    `model` defaults to the bundled `support_model.json` (hand-set weights when that file is absent);
    `threshold` defaults to the model's own. Passages are indexed once and cached, so scoring many sentences
    against the same passages costs only the sentences.

    >>> s = OfflineSupportScorer()
    >>> s.explain(["Putin met Aliyev in Sochi on Monday."], "Erdogan met Aliyev in Sochi on Monday.").reasons[0]
    "name 'Erdogan' not in passage"
    """

    def __init__(self, model: SupportModel | None = None, threshold: float | None = None) -> None:
        self.model = model if model is not None else _bundled_model()
        self.threshold = float(threshold) if threshold is not None else self.model.threshold

    def _checks(self, passages: Sequence[str], sentences: Iterable[str]) -> list[_SentenceCheck]:
        idx = _index(tuple(passages))
        out = []
        for sentence in sentences:
            text = claim_part(_normalize(sentence))
            if text:  # "Sure! Here's the summary:" introduces claims, makes none
                out.append(_check(idx, text))
        return out

    def features(self, passages: Sequence[str], text: str) -> dict[str, float]:
        """FEATURE_NAMES and the HARD_CHECKS flags for a sentence or a multi-sentence claim.

        >>> OfflineSupportScorer().features(["It is 100 m long."], "It is 400 m long.")["number"]
        1.0
        """
        return self.sentence_features(passages, split_sentences(strip_markers(text)))

    def sentence_features(self, passages: Sequence[str], sentences: Sequence[str]) -> dict[str, float]:
        """`features` of a claim already split into sentences (a preamble such as "Here's the summary in 200
        words:" stays a sentence of its own, which claims nothing).
        """
        return _features(self._checks(passages, sentences))

    def support_sentences(self, passages: Sequence[str], sentences: Sequence[str]) -> float:
        """Support for a claim already split into sentences: pooled word agreement, and every sentence must
        pass the hard checks.
        """
        return self.model.score(_features(self._checks(passages, sentences)), self.threshold)

    def support(self, passages: Sequence[str], sentence: str) -> float:
        """Support in [0, 1] of `sentence` (or a multi-sentence claim) by the passages taken together."""
        return self.support_sentences(passages, split_sentences(strip_markers(sentence)))

    def explain(self, passages: Sequence[str], sentence: str) -> SupportReport:
        """The score, its verdict and the mismatches behind it."""
        checks = self._checks(passages, split_sentences(strip_markers(sentence)))
        score = self.model.score(_features(checks), self.threshold)
        reasons: list[str] = []
        for c in checks:
            reasons += [f"number {s} not in passage" for s in c.numbers_missed]
            reasons += [f"name '{s}' not in passage" for s in c.names_missed]
            reasons += [f"date {s} not in passage" for s in c.dates_missed]
            if c.negation:
                reasons.append(c.negation)
        for c in checks:
            if c.coverage < 0.75:
                reasons.append(f"low content overlap {c.coverage:.2f}")
            if c.missed_words:
                reasons.append("words not in passage: " + ", ".join(dict.fromkeys(c.missed_words[:8])))
        return SupportReport(score=score, supported=score >= self.threshold, reasons=tuple(dict.fromkeys(reasons)))
