"""The rerank training data and fit (eval/train_rerank.py): questions made from articles, true date phrases, and a
fit that learns what separates the label from the other candidates."""

import datetime as dt
import random

import numpy as np

from eval.train_rerank import Example, TrainQuestion, evaluate, fit, held_out, make_questions, temporal_phrase
from rag.retrieve.features import FEATURES
from rag.text.dates import resolve
from rag.types import Passage

ARTICLES = [
    {"id": f"art{i}", "title": f"Council {i} approves the new harbour bridge budget - CNN", "published": "2022-06-14",
     "text": ("The city council approved a budget of 40 million dollars for the harbour bridge on Tuesday. "
              "Mayor Jane Porter said construction would start in August. Residents have waited ten years. ") * 3}
    for i in range(30)
]


def test_make_questions__deterministic_labelled_and_split_by_article():
    first, again = make_questions(ARTICLES, 2, seed=1), make_questions(ARTICLES, 2, seed=1)
    assert first == again and len(first) >= 40
    assert {q.article_id for q in first} <= {a["id"] for a in ARTICLES}
    assert all(q.question.endswith("?") and q.as_of >= dt.date(2022, 6, 14) for q in first)
    assert all(q.held_out == held_out(q.article_id) for q in first)
    assert 0 < sum(q.held_out for q in first) < len(first)
    assert make_questions(ARTICLES, 2, seed=2) != first


def test_temporal_phrase__always_resolves_to_a_window_holding_the_publication_day():
    rng = random.Random(0)
    published = dt.date(2022, 6, 14)
    checked = 0
    for offset in [*range(30), 100, 200, 400, 700]:
        as_of = published + dt.timedelta(days=offset)
        for _ in range(5):
            phrase = temporal_phrase(published, as_of, rng)
            if phrase is None:
                continue
            windows = resolve(f"What happened {phrase}?", as_of)
            assert windows and min(w.distance(published) for w in windows) == 0, (offset, phrase, windows)
            checked += 1
    assert checked > 50


def _example(i, label_first_feature):
    """Candidates where only `sent_cover` tells the label apart (the retrievers' ranks are noise)."""
    rng = np.random.default_rng(i)
    passages, rows = [], []
    for j in range(8):
        aid = "gold" if j == 3 else f"other{j}"
        passages.append(Passage(f"c{j}", aid, "t", 0, 1, "T", 0.5, ranks={"dense": j + 1}))
        row = np.zeros(len(FEATURES), np.float32)
        row[FEATURES.index("rr_dense")] = rng.random()
        row[FEATURES.index("sent_cover")] = (0.9 if aid == "gold" else 0.3) if label_first_feature else rng.random()
        rows.append(row)
    q = TrainQuestion("q?", "gold", dt.date(2022, 6, 17), "sentence", False)
    return Example(q, passages, np.array(rows))


def test_fit__learns_the_feature_that_marks_the_label():
    train = [_example(i, True) for i in range(40)]
    w = fit(train, "rerank", steps=200)
    assert w[FEATURES.index("sent_cover")] > 0 and w[FEATURES.index("sent_cover")] > abs(w[FEATURES.index("rr_dense")])
    assert w[FEATURES.index("rr_window")] == 0.0  # not a feature of this variant
    assert evaluate([_example(100 + i, True) for i in range(10)], "rerank", w)["hit@1"] == 1.0
