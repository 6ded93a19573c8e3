"""What the reranker knows about one (question, candidate chunk) pair, as a row of numbers.

Every feature is cheap: ranks and similarities the retrievers already computed, word statistics of the
candidate's sentences against the question (the store's BM25 idf), the entities and numbers they share, the
title, and the date prior. The names in FEATURES are the columns of the weight file (rerank_weights.json);
GROUPS says which addition each belongs to, so the ablation can switch them on one at a time.

>>> q = QueryInfo.build("How many tons of grain did Ukraine export in June?", idf=None)
>>> sorted(q.entities), q.numbers
(['ukraine'], set())
"""

from __future__ import annotations

import bisect
import datetime as _dt
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rag.text.dates import DateWindow, days_between, resolve
from rag.text.words import MONTHS, QUERY_STOPWORDS, WEEKDAYS, stem
from rag.types import Passage

Idf = Callable[[Sequence[str]], dict[str, float]]

# Column order of a feature row. Keep in step with rerank_weights.json (its "features" list is checked on load).
FEATURES = (
    "rr_dense", "rr_bm25", "cos", "cos_gap",                          # fusion: what the two retrievers said
    "rr_window", "date_window", "date_age", "date_future", "undated",  # date prior
    "sent_cover", "chunk_cover", "bigram", "title_cover", "entity", "number", "lead",  # rerank
    "art_chunks", "art_second", "art_cover",                           # article-level evidence
)
GROUPS = {
    "fusion": ("rr_dense", "rr_bm25", "cos", "cos_gap"),
    "date": ("rr_window", "date_window", "date_age", "date_future", "undated"),
    "rerank": ("sent_cover", "chunk_cover", "bigram", "title_cover", "entity", "number", "lead"),
    "article": ("art_chunks", "art_second", "art_cover"),
}
ARTICLE_FEATURES = GROUPS["article"]
_RR_K = 10.0  # reciprocal-rank features are k / (k + rank): 1 at the top, 0.5 at rank 10, 0 when absent
_ENTITY = re.compile(r"\b(?:[A-Z][\w'’&.-]*[A-Za-z0-9]|[A-Z])(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’&.-]*)*")
_NUMBER = re.compile(r"\d[\d,.]*")
# Capitalised words that are no names: question openers, and the months and weekdays the date prior reads.
_NOT_NAMES = frozenset("what which who whom whose when where why how is are was were do does did can could will "
                       "would should has have had in on at the a an according".split()) | set(MONTHS) | set(WEEKDAYS)


def _numbers(text: str) -> set[str]:
    return {n.rstrip(".,").replace(",", "") for n in _NUMBER.findall(text)} - {""}


def _entities(text: str) -> set[str]:
    """Lower-cased capitalised words of `text`, leaving out question openers ("Which", "The") and dates."""
    out: set[str] = set()
    for m in _ENTITY.finditer(text):
        for word in m.group(0).split():
            w = word.strip(".'’").lower()
            if w and w not in _NOT_NAMES and len(w) > 1:
                out.add(w)
    return out


# Sentence ends for the features: cheaper than the offset-keeping splitter, and exact enough to score by.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)\]]*\s+(?=[\"“(\[]?[A-Z0-9])")
_WORDS = re.compile(r"\w+")


def terms(text: str) -> list[str]:
    """The BM25 tokens of `text` (as rag.store.bm25.tokenize), word by word through the per-word stem cache."""
    return [stem(w) for w in _WORDS.findall(text.lower()) if w not in QUERY_STOPWORDS]


@dataclass(frozen=True)
class Scan:
    """Where a question's words occur in one text: the question terms of each sentence, the question's term
    bigrams found (as adjacent content words), and its entities found.
    """

    sentences: tuple[frozenset[str], ...]
    bigrams: int
    entities: frozenset[str]

    @property
    def terms(self) -> frozenset[str]:
        return frozenset().union(*self.sentences)


@dataclass(frozen=True)
class QueryInfo:
    """The question's terms with their idf weights, its entities, numbers, bigrams and date windows.

    `scan(text)` finds them in a candidate's text with one regular expression built for the question (each word
    that starts like a question term is stemmed and compared), instead of tokenizing every candidate in full:
    the rerank stage reads some 60 chunks per question within a few milliseconds.
    """

    terms: tuple[str, ...]
    weights: dict[str, float]
    entities: frozenset[str]
    numbers: set[str]
    bigrams: frozenset[tuple[str, str]]
    as_of: _dt.date | None = None
    windows: tuple[DateWindow, ...] = field(default=())
    pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, query: str, idf: Idf | None, as_of: _dt.date | None = None) -> QueryInfo:
        found = terms(query)
        unique = tuple(dict.fromkeys(found))
        weights = idf(list(unique)) if idf and unique else {t: 1.0 for t in unique}
        windows = tuple(resolve(query, as_of)) if as_of else ()
        entities = frozenset(_entities(query))
        # A stem is a prefix of its words, but for a final y turned i ("citi" for "city").
        prefixes = {t[:-1] if t.endswith("i") and len(t) > 3 else t for t in unique} | set(entities)
        pattern = None
        if prefixes:
            alternatives = "|".join(re.escape(x) for x in sorted(prefixes, key=len, reverse=True))
            pattern = re.compile(rf"\b(?:{alternatives})\w*")
        return cls(unique, weights, entities, _numbers(query), frozenset(itertools.pairwise(found)),
                   as_of, windows, pattern)

    @property
    def mass(self) -> float:
        return sum(self.weights.values()) or 1.0

    def cover(self, terms: frozenset[str]) -> float:
        """Share of the question's idf mass found in `terms`."""
        return sum(w for t, w in self.weights.items() if t in terms) / self.mass

    def scan(self, text: str) -> Scan:
        """The question's terms per sentence of `text`, its bigrams and entities found there."""
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        sentences: list[set[str]] = [set() for _ in range(len(ends) + 1)]
        entities: set[str] = set()
        pairs = 0
        last: tuple[str, int] | None = None  # the previous question term found and where it ended
        if self.pattern is not None:
            lower = text.lower()
            wanted = set(self.weights)
            for m in self.pattern.finditer(lower):
                word = m.group(0)
                if word in self.entities:
                    entities.add(word)
                term = stem(word) if word not in QUERY_STOPWORDS else ""
                if term not in wanted:
                    continue
                sentences[bisect.bisect_right(ends, m.start())].add(term)
                if last is not None and (last[0], term) in self.bigrams and _adjacent(lower, last[1], m.start()):
                    pairs += 1
                last = (term, m.end())
        return Scan(tuple(frozenset(x) for x in sentences), pairs, frozenset(entities))


def _adjacent(text: str, end: int, start: int) -> bool:
    """Only stop words and punctuation lie between text[:end] and text[start:]."""
    return all(w in QUERY_STOPWORDS for w in _WORDS.findall(text, end, start))


def date_features(published: str | None, q: QueryInfo) -> tuple[float, float, float, float]:
    """(date_window, date_age, date_future, undated) for an article published on `published`.

    date_window: -log(1 + days to the nearest window the question names), 0 when it names none;
    date_age: -log(1 + days the article is older than as_of, in weeks); date_future: -log(1 + days it is newer);
    undated: 1 when the article has no date (then the others are 0).

    >>> import datetime as dt
    >>> q = QueryInfo.build("Who won this week?", None, dt.date(2022, 6, 17))
    >>> [round(x, 2) for x in date_features("2022-06-15", q)]
    [0.0, -0.25, 0.0, 0.0]
    """
    if q.as_of is None:
        return 0.0, 0.0, 0.0, 0.0
    age = days_between(published, q.as_of)
    if age is None:
        return 0.0, 0.0, 0.0, 1.0
    day = q.as_of - _dt.timedelta(days=age)
    window = _neg_log1p(min(w.distance(day) for w in q.windows)) if q.windows else 0.0
    return window, _neg_log1p(max(age, 0) / 7.0), _neg_log1p(max(-age, 0)), 0.0


def _neg_log1p(x: float) -> float:
    return -math.log1p(x) if x else 0.0


def _rr(rank: int | None) -> float:
    return _RR_K / (_RR_K + rank) if rank else 0.0


def chunk_features(q: QueryInfo, passages: Sequence[Passage], cosines: Sequence[float]) -> np.ndarray:
    """One row of FEATURES per passage (the article columns are filled by `article_features`)."""
    x = np.zeros((len(passages), len(FEATURES)), dtype=np.float32)
    col = {name: i for i, name in enumerate(FEATURES)}
    best_cos = max(cosines, default=0.0)
    dates: dict[str | None, tuple[float, float, float, float]] = {}
    titles: dict[str, Scan] = {}
    for r, (p, cos) in enumerate(zip(passages, cosines, strict=True)):
        ranks = p.ranks
        found = q.scan(p.text)
        if p.article_id not in titles:
            titles[p.article_id] = q.scan(p.title)
        if p.published not in dates:
            dates[p.published] = date_features(p.published, q)
        row = x[r]
        row[col["rr_dense"]] = _rr(ranks.get("dense"))
        row[col["rr_bm25"]] = _rr(ranks.get("bm25"))
        row[col["rr_window"]] = _rr(ranks.get("window"))
        row[col["cos"]] = cos
        row[col["cos_gap"]] = cos - best_cos
        (row[col["date_window"]], row[col["date_age"]], row[col["date_future"]],
         row[col["undated"]]) = dates[p.published]
        title = titles[p.article_id]
        row[col["sent_cover"]] = max(q.cover(s) for s in found.sentences)
        row[col["chunk_cover"]] = q.cover(found.terms)
        row[col["bigram"]] = min(1.0, found.bigrams / len(q.bigrams)) if q.bigrams else 0.0
        row[col["title_cover"]] = q.cover(title.terms)
        if q.entities:
            row[col["entity"]] = len(found.entities | title.entities) / len(q.entities)
        if q.numbers:
            row[col["number"]] = len(q.numbers & _numbers(p.text)) / len(q.numbers)
        row[col["lead"]] = 1.0 if p.start == 0 else 0.0
    return x


def article_features(passages: Sequence[Passage], x: np.ndarray) -> tuple[list[str], np.ndarray, list[list[int]]]:
    """Group chunk rows by article: (article ids in first-seen order, one row each, the rows of each article).

    An article's row is the column-wise best of its chunks' rows, plus art_chunks = log(1 + chunks of it among
    the candidates), art_second = the cosine of its second-best chunk, art_cover = the share of the question's
    idf mass its candidate chunks cover together (the best sentence cover summed over chunks, capped at 1).
    """
    col = {name: i for i, name in enumerate(FEATURES)}
    order: list[str] = []
    members: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        if p.article_id not in members:
            members[p.article_id] = []
            order.append(p.article_id)
        members[p.article_id].append(i)
    rows = np.zeros((len(order), x.shape[1]), dtype=np.float32)
    for a, aid in enumerate(order):
        idx = members[aid]
        block = x[idx]
        rows[a] = block.max(axis=0)
        cos = np.sort(block[:, col["cos"]])[::-1]
        rows[a, col["art_chunks"]] = math.log1p(len(idx))
        rows[a, col["art_second"]] = float(cos[1]) if len(cos) > 1 else 0.0
        rows[a, col["art_cover"]] = min(1.0, float(block[:, col["sent_cover"]].sum()))
    return order, rows, [members[a] for a in order]
