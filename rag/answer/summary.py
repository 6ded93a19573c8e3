"""Extractive summaries: the central sentences of one article, in article order, each cited.

Centrality is a graph ranking (PageRank over the sentences' MiniLM cosine similarities, as TextRank does), with
a mild lead prior (news puts the gist first) and redundancy removed; the length follows the question ("in one
sentence", "briefly", default 3 to 5 by the article's length).

>>> import numpy as np
>>> sims = np.array([[0, .9, .1], [.9, 0, .2], [.1, .2, 0]])
>>> [round(float(x), 2) for x in pagerank(sims)]
[0.4, 0.44, 0.15]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.answer import evidence
from rag.answer.metadata import best_article, topic_coverage
from rag.answer.question import Question, topic_terms
from rag.store.bm25 import tokenize
from rag.text.markers import cite
from rag.text.sentences import sentence_spans
from rag.types import Passage

if TYPE_CHECKING:
    from rag.answer.extractive import Draft

MAX_SENTENCES_READ = 60  # a long live blog is summarised from its first 60 sentences
# An article whose whole text holds most of the asked-for topic's words is the one asked about; one that holds
# fewer must be about it by its headline: "Summarize the article about the Beijing airport." is not answered by a
# war story that says "Beijing" but never "airport" (MiniLM cosine of the topic and its headline 0.27), while the
# one on missing Flight MH370 says "plane" further on and is the one about "the missing plane".
SURE_COVERAGE = 0.75
MIN_HEADLINE_SIMILARITY = 0.35


def pagerank(sims: np.ndarray, damping: float = 0.85, iterations: int = 40) -> np.ndarray:
    """Stationary scores of a random walk over a similarity graph (rows normalised); sums to 1."""
    w = np.clip(np.asarray(sims, dtype=np.float64), 0.0, None)
    np.fill_diagonal(w, 0.0)
    n = len(w)
    rows = w.sum(axis=1, keepdims=True)
    trans = np.divide(w, rows, out=np.full_like(w, 1.0 / max(n, 1)), where=rows > 0)
    score = np.full(n, 1.0 / max(n, 1))
    for _ in range(iterations):
        score = (1 - damping) / n + damping * trans.T @ score
    return score / score.sum()


def _bag_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit term-count vectors, for when no embedding model is at hand."""
    vocab: dict[str, int] = {}
    rows = [tokenize(t) for t in texts]
    for r in rows:
        for t in r:
            vocab.setdefault(t, len(vocab))
    m = np.zeros((len(texts), max(1, len(vocab))), dtype=np.float32)
    for i, r in enumerate(rows):
        for t in r:
            m[i, vocab[t]] += 1.0
    return m / (np.linalg.norm(m, axis=1, keepdims=True) + 1e-9)


_LEANS_BACK = re.compile(r"^[\"“‘']?(?:(?:That|This|These|Those|Such|It|They|He|She)\b|(?:[\w’'-]+[\s,]+){1,4}?"
                         r"(?:such|these|those)\s+[a-z])")


def _length(q: Question, n: int) -> int:
    if q.summary_sentences:
        return q.summary_sentences
    return 3 if n < 15 else 4 if n < 40 else 5


def _article_coverage(query: str, p: Passage, art: Any, weights: Callable[[Sequence[str]], dict[str, float]]) -> float:
    """The rarity-weighted share of the request's topic terms that the article's title and whole text hold."""
    terms = list(dict.fromkeys(topic_terms(query)))
    if not terms:
        return 1.0
    return topic_coverage(weights(terms), p.title, art.text if art is not None else p.text)


# The topic of a request: "the Beijing airport" of "Summarize the article about the Beijing airport."
_ASKED_TOPIC = re.compile(r"\b(?:article|story|piece|analysis|report|coverage|news|one)\s+(?:about|on|regarding|"
                          r"concerning|of)\s+(.+?)[.?!]*$", re.I)


def _headline_similarity(query: str, p: Passage, art: Any, embed: Callable[[Sequence[str]], np.ndarray]) -> float:
    """MiniLM cosine of the request's topic (_ASKED_TOPIC, else the whole request) and the article's headline
    (its opening sentence when the title is a label of two words or fewer, "CNN —").
    """
    heading = p.title
    if len(heading.split()) < 3:
        text = art.text if art is not None else p.text
        spans = sentence_spans(text)
        heading = text[spans[0][0]:spans[0][1]] if spans else text[:200]
    asked = _ASKED_TOPIC.search(query)
    vecs = np.asarray(embed([asked.group(1) if asked else query, heading]), dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1) + 1e-9
    return float(vecs[0] @ vecs[1] / (norms[0] * norms[1]))


def summarize(q: Question, passages: Sequence[Passage], query: str, *, articles: dict[str, Any],
              weights: Callable[[Sequence[str]], dict[str, float]],
              embed: Callable[[Sequence[str]], np.ndarray] | None = None, absent: tuple[str, ...] = ()) -> Draft:
    from rag.answer.extractive import REFUSAL, Draft, _usable, without_dateline

    if absent:
        return Draft(None, reason=f"{absent[0]!r} is in no article",
                     refusal=evidence.refusal(evidence.Missing("term", absent[0])))
    p, coverage = best_article(q, passages, query, weights)
    art = articles.get(p.article_id) if p is not None else None
    if p is None or coverage < 0.4 or (
            embed is not None and _article_coverage(query, p, art, weights) < SURE_COVERAGE and
            _headline_similarity(query, p, art, embed) < MIN_HEADLINE_SIMILARITY):
        return Draft(None, reason="no retrieved article is clearly the one asked about",
                     refusal="The articles don't say: no article in the store is clearly the one asked about.")
    text, spans = (art.text, sentence_spans(art.text)) if art else (p.text, [(p.start + s, p.start + e)
                                                              for s, e in sentence_spans(p.text)])
    base = 0 if art else p.start
    # A sentence the page prints twice is a photo gallery's caption (scraped pages repeat each one), no summary.
    seen = Counter(re.sub(r"\s+", " ", text[s - base:e - base]).strip() for s, e in spans)
    sents = [(s, e) for s, e in spans if _usable(text[s - base:e - base]) and len(text[s - base:e - base]) >= 40
             and not text[s - base:e - base].rstrip().endswith((":", "?"))
             and seen[re.sub(r"\s+", " ", text[s - base:e - base]).strip()] < 2][:MAX_SENTENCES_READ]
    if not sents:
        return Draft(None, reason="the article has no sentence to summarise", refusal=REFUSAL)
    sents = [(without_dateline(s, text[s - base:e - base])[0], e) for s, e in sents]
    texts = [re.sub(r"\s+", " ", text[s - base:e - base]) for s, e in sents]
    title = p.title if p.title and len(tokenize(p.title)) >= 3 else ""
    vecs = np.asarray(embed([*texts, title] if title else texts), dtype=np.float32) if embed else \
        _bag_vectors([*texts, title] if title else texts)
    vecs = vecs / (np.linalg.norm(vecs, axis=1, keepdims=True) + 1e-9)
    about = vecs[-1] if title else None
    vecs = vecs[:len(texts)]
    sims = vecs @ vecs.T
    rank = pagerank(sims) * np.array([1.0 + 0.5 / (1.0 + i / 3.0) for i in range(len(texts))])
    if about is not None:
        # What the headline says the article is about weighs too: an analysis opens with background.
        rank = rank * (0.8 + 0.4 * np.clip(vecs @ about, 0.0, 1.0))
    # A sentence that leans on the one before it ("In order to refute such allegations, ...") reads wrongly alone.
    # So does a piece of a quotation that opened in an earlier sentence ("We dig out all the smokes ...,” he said).
    leaning = np.array([bool(_LEANS_BACK.match(t)) or t.count("”") > t.count("“") for t in texts])
    want = _length(q, len(texts))
    chosen: list[int] = []
    for i in np.argsort(-(rank * np.where(leaning, 0.5, 1.0))):
        if len(chosen) >= want:
            break
        if any(sims[i, j] > 0.8 for j in chosen):
            continue  # says again what a chosen sentence says
        chosen.append(int(i))
    chosen.sort()
    cited: list[Passage] = []
    parts = []
    for i in chosen:
        s, e = sents[i]
        cited.append(Passage(chunk_id=p.chunk_id, article_id=p.article_id, text=text[s - base:e - base], start=s,
                             end=e, title=p.title, score=p.score, url=p.url, published=p.published,
                             source=p.source, author=p.author, section=p.section))
        parts.append(cite(text[s - base:e - base], [len(cited)]))
    return Draft(" ".join(parts), passages=tuple(cited))
