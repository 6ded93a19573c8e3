"""Fit the rerank weights (rag/retrieve/rerank_weights.json) on questions made from the store's own articles.

Training data: for each article of the store, questions built from one of its sentences (a named entity,
number or content word taken out and asked for, a few other words dropped) or from its title, asked on a day
`as_of` after its publication, sometimes with a true temporal phrase for that day ("this week", "on Tuesday",
"in June"); the article is the label. Articles are split by a hash of their id: one in five is held out, and
the validation figures in the weight file come from their questions only. The evaluation suites are never
read.

Each variant of rag/retrieve/rerank.py gets its own weights: a listwise softmax (the label article's share of
the candidates' probability) over the variant's features, standardised, with an L2 penalty, fitted by Adam.

    python -m eval.train_rerank --store /work/stores/rtqa-full --per-article 1 --out rag/retrieve/rerank_weights.json
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.retrieve.features import FEATURES, QueryInfo, article_features, chunk_features
from rag.retrieve.rerank import (
    VARIANTS,
    WEIGHTS_FILE,
    WEIGHTS_VERSION,
    Weights,
    order_passages,
    uses_dates,
    variant_features,
)
from rag.retrieve.retriever import diversify, reciprocal_rank_fusion
from rag.text.sentences import sentence_spans
from rag.text.words import MONTH_NAMES, QUERY_STOPWORDS, WEEKDAYS
from rag.types import Passage

GENERATOR_VERSION = 2
# A question shares part of its words with the sentence it asks about, not all: each content word is kept with
# this probability, and a long sentence is cut to a window around the word asked for.
KEEP_WORD = 0.55
MAX_QUESTION_WORDS = 24
# Share of questions made from the title instead of a sentence (`--title-share`).
TITLE_SHARE = 0.25
_WORD = re.compile(r"[A-Za-z0-9][\w'’.-]*")
_NUMBER = re.compile(r"^\d[\d,.]*$")
_TITLE_TAIL = re.compile(r"\s*[-|–]\s*(CNN|USA TODAY|The Week.*|CNN Politics|CNN Business)\s*$", re.I)


@dataclass(frozen=True)
class TrainQuestion:
    question: str
    article_id: str
    as_of: _dt.date
    kind: str  # "sentence" | "title"
    held_out: bool


def held_out(article_id: str) -> bool:
    """One article in five, by a hash of its id, is kept for validation."""
    return int(hashlib.sha1(article_id.encode()).hexdigest(), 16) % 5 == 0


def temporal_phrase(published: _dt.date, as_of: _dt.date, rng: random.Random) -> str | None:
    """A phrase that is true of `published` when asked on `as_of` ("this week", "on Tuesday", "in June")."""
    age = (as_of - published).days
    monday = as_of - _dt.timedelta(days=as_of.weekday())
    options: list[str] = []
    if published >= monday:
        options.append("this week")
    elif published >= monday - _dt.timedelta(days=7):
        options.append("last week")
    if 0 < age <= 6:
        options.append(f"on {WEEKDAYS[published.weekday()].title()}")
    if age <= 14:
        options.append("recently")
    if age > 20 and age < 330:
        options.append(f"in {MONTH_NAMES[published.month]}")
    if age > 330:
        options.append(f"in {published.year}")
    return rng.choice(options) if options else None


def _ask_for(words: list[str], i: int) -> str:
    w = words[i]
    if _NUMBER.match(w):
        return "how many"
    return "who" if i > 0 and w[:1].isupper() and words[i - 1].lower() in ("said", "by", "told") else "what"


def sentence_question(sentence: str, rng: random.Random) -> str | None:
    """A question from a sentence: an entity, number or content word asked for, other content words dropped
    (each kept with probability KEEP_WORD), cut to MAX_QUESTION_WORDS around the word asked for.
    """
    words = _WORD.findall(sentence)
    if not 8 <= len(words) <= 45:
        return None
    stop = QUERY_STOPWORDS
    numbers = [i for i, w in enumerate(words) if _NUMBER.match(w)]
    names = [i for i, w in enumerate(words) if i > 0 and w[:1].isupper() and w.lower() not in stop]
    content = [i for i, w in enumerate(words) if w.lower() not in stop and len(w) > 3]
    pool = numbers or names or content
    if not pool:
        return None
    target = rng.choice(pool)
    asked = _ask_for(words, target)
    lo = max(0, min(target - MAX_QUESTION_WORDS // 2, len(words) - MAX_QUESTION_WORDS))
    out = []
    for i in range(lo, min(len(words), lo + MAX_QUESTION_WORDS)):
        w = words[i]
        if i == target:
            out.append(asked)
        elif w.lower() in stop or rng.random() < KEEP_WORD:
            out.append(w)
    return " ".join(out).rstrip(".") + "?"


def title_question(title: str, rng: random.Random) -> str | None:
    title = _TITLE_TAIL.sub("", title).rstrip(".… ")
    words = _WORD.findall(title)
    if len(words) < 4:
        return None
    keep = [w for w in words if rng.random() < KEEP_WORD] or words
    return rng.choice(("What happened: ", "What is the news on ", "What do we know about ")) + " ".join(keep) + "?"


def make_questions(articles: Sequence[dict[str, Any]], per_article: int, seed: int = 0,
                   title_share: float = TITLE_SHARE) -> list[TrainQuestion]:
    """`per_article` questions per article (deterministic for a seed); see the module docstring."""
    dated = sorted(a["published"] for a in articles if a.get("published"))
    fallback = _dt.date.fromisoformat(dated[len(dated) // 2]) if dated else _dt.date(2022, 1, 1)
    out: list[TrainQuestion] = []
    for art in articles:
        rng = random.Random(f"{seed}:{art['id']}")
        text = art["text"]
        spans = [(s, e) for s, e in sentence_spans(text[:6000])]
        published = _dt.date.fromisoformat(art["published"][:10]) if art.get("published") else None
        for _ in range(per_article):
            if rng.random() < title_share and art.get("title"):
                q, kind = title_question(art["title"], rng), "title"
            else:
                early = [sp for sp in spans if sp[0] < 1500]
                choices = early if early and rng.random() < 0.5 else spans
                q = sentence_question(text[slice(*rng.choice(choices))], rng) if choices else None
                kind = "sentence"
            if not q:
                continue
            base = published or fallback
            offset = rng.randint(0, 6) if rng.random() < 0.65 else rng.randint(0, 730)
            as_of = base + _dt.timedelta(days=offset)
            if published is not None and rng.random() < 0.5:
                phrase = temporal_phrase(published, as_of, rng)
                if phrase:
                    q = q[:-1] + f" {phrase}?"
            out.append(TrainQuestion(q, art["id"], as_of, kind, held_out(art["id"])))
    return out


class _Capture:
    """A reranker that changes nothing and keeps the candidates it was shown."""

    def __init__(self) -> None:
        self.seen: list[Passage] = []

    def rerank(self, query: str, passages: Sequence[Passage], *, as_of: _dt.date | None = None) -> list[Passage]:
        self.seen = list(passages)
        return list(passages)


@dataclass
class Example:
    question: TrainQuestion
    passages: list[Passage]
    x: np.ndarray  # chunk rows


def collect(assistant: Any, questions: Sequence[TrainQuestion], progress: bool = True) -> list[Example]:
    """Retrieve candidates for every question the way `ask` does and compute their features."""
    capture = _Capture()
    retriever = assistant.retriever
    retriever.reranker, retriever.date_channel = capture, True
    idf = assistant._idf()
    out = []
    started = time.perf_counter()
    for i, q in enumerate(questions, 1):
        retriever.retrieve(q.question, 10, None, as_of=q.as_of)
        passages = capture.seen
        x = chunk_features(QueryInfo.build(q.question, idf, q.as_of), passages, [p.score for p in passages])
        out.append(Example(q, passages, x))
        if progress and i % 200 == 0:
            print(f"  {i}/{len(questions)} questions ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return out


def _without_window(ex: Example) -> tuple[list[Passage], np.ndarray]:
    """The candidates a variant without the date channel would have seen (no chunk only the window found)."""
    keep = [i for i, p in enumerate(ex.passages) if set(p.ranks) - {"window"}]
    return [ex.passages[i] for i in keep], ex.x[keep]


def _rows(ex: Example, variant: str) -> tuple[np.ndarray, np.ndarray]:
    """(candidate rows, 1 for the label's rows) for one example under one variant."""
    passages, x = (ex.passages, ex.x) if uses_dates(variant) else _without_window(ex)
    if VARIANTS[variant][1]:
        order, rows, _ = article_features(passages, x)
        return rows, np.array([a == ex.question.article_id for a in order], dtype=bool)
    return x, np.array([p.article_id == ex.question.article_id for p in passages], dtype=bool)


def fit(examples: Sequence[Example], variant: str, *, l2: float = 1e-3, steps: int = 400, lr: float = 0.05
        ) -> np.ndarray:
    """Weights over FEATURES (raw scale) maximising the mean log share of the label's candidates."""
    names = variant_features(variant)
    cols = [FEATURES.index(n) for n in names]
    groups = []
    for ex in examples:
        rows, label = _rows(ex, variant)
        if label.any() and not label.all():
            groups.append((rows[:, cols].astype(np.float64), label))
    if not groups:
        raise SystemExit("no training question has its article among the candidates; is the store empty?")
    allx = np.concatenate([g[0] for g in groups])
    mean, scale = allx.mean(axis=0), allx.std(axis=0) + 1e-6
    z = [((x - mean) / scale, y) for x, y in groups]
    sizes = np.array([len(x) for x, _ in z])
    big = np.concatenate([x for x, _ in z])
    lab = np.concatenate([y for _, y in z])
    seg = np.repeat(np.arange(len(z)), sizes)
    w = np.zeros(len(cols))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        s = big @ w
        smax = np.full(len(z), -np.inf)
        np.maximum.at(smax, seg, s)
        e = np.exp(s - smax[seg])
        tot = np.bincount(seg, e)
        pos = np.bincount(seg, e * lab)
        p_all = e / tot[seg]
        p_pos = np.where(lab, e / pos[seg], 0.0)
        grad = (big.T @ (p_all - p_pos)) / len(z) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    raw = np.zeros(len(FEATURES))
    raw[cols] = w / scale
    return raw


def _ranked_articles(passages: list[Passage], k: int = 10) -> list[str]:
    return list(dict.fromkeys(p.article_id for p in diversify(passages, k)))


def evaluate(examples: Sequence[Example], variant: str | None, w: np.ndarray | None) -> dict[str, float]:
    """hit@1, hit@10 and MRR@10 of the article ranking the variant gives (None: the plain RRF order)."""
    hits1 = hits10 = rr = 0.0
    for ex in examples:
        if variant is None:
            passages = [p for p in ex.passages if set(p.ranks) - {"window"}]
            order = [c for c, _ in reciprocal_rank_fusion(
                [[p.chunk_id for p in sorted(passages, key=lambda p: p.ranks.get(n, 10**6)) if n in p.ranks]
                 for n in ("dense", "bm25")], k=60)]
            by_id = {p.chunk_id: p for p in passages}
            ordered = [by_id[c] for c in order]
        else:
            weights = Weights(variant, w.astype(np.float32), VARIANTS[variant][1])
            passages, x = (ex.passages, ex.x) if uses_dates(variant) else _without_window(ex)
            art = None
            if weights.article:
                aids, rows, _ = article_features(passages, x)
                art = dict(zip(aids, weights.score(rows).tolist(), strict=True))
            ordered = order_passages(passages, weights.score(x), art)
        ranked = _ranked_articles(ordered)
        rank = ranked.index(ex.question.article_id) + 1 if ex.question.article_id in ranked else None
        hits1 += rank == 1
        hits10 += rank is not None
        rr += 1.0 / rank if rank else 0.0
    n = max(1, len(examples))
    return {"n": len(examples), "hit@1": round(hits1 / n, 4), "hit@10": round(hits10 / n, 4),
            "mrr@10": round(rr / n, 4)}


def store_articles(store: Any, limit: int | None) -> list[dict[str, Any]]:
    rows = store.list_articles(limit=10**7)
    rows.sort(key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
    rows = rows[:limit] if limit else rows
    out = []
    for r in rows:
        art = store.article(r["id"])
        if art is not None and len(art.text) >= 400:
            out.append({"id": art.id, "title": art.title, "text": art.text, "published": art.published})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="the store whose articles the questions are made from")
    ap.add_argument("--per-article", type=int, default=1)
    ap.add_argument("--articles", type=int, default=None, help="use only this many articles (by id hash)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--title-share", type=float, default=TITLE_SHARE, help="share of questions made from titles")
    ap.add_argument("--out", default=str(WEIGHTS_FILE))
    args = ap.parse_args(argv)

    from rag.assistant import Assistant

    assistant = Assistant.open(args.store, rerank="off")
    articles = store_articles(assistant.store, args.articles)
    questions = make_questions(articles, args.per_article, args.seed, args.title_share)
    print(f"{len(articles)} articles, {len(questions)} questions "
          f"({sum(q.held_out for q in questions)} held out)", file=sys.stderr)
    examples = collect(assistant, questions)
    train = [e for e in examples if not e.question.held_out]
    valid = [e for e in examples if e.question.held_out]
    result: dict[str, Any] = {
        "version": WEIGHTS_VERSION, "features": list(FEATURES),
        "training": {"store": str(args.store), "articles": len(articles), "questions": len(questions),
                     "train": len(train), "validation": len(valid), "per_article": args.per_article,
                     "seed": args.seed, "title_share": args.title_share, "generator": GENERATOR_VERSION,
                     "fitted": _dt.date.today().isoformat(),
                     "validation_rrf": evaluate(valid, None, None)},
        "variants": {}}
    print(f"validation, plain RRF: {result['training']['validation_rrf']}", file=sys.stderr)
    for variant in VARIANTS:
        w = fit(train, variant)
        metrics = evaluate(valid, variant, w)
        print(f"validation, {variant}: {metrics}", file=sys.stderr)
        result["variants"][variant] = {
            "weights": {f: round(float(x), 6) for f, x in zip(FEATURES, w, strict=True) if x != 0.0},
            "validation": metrics}
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
