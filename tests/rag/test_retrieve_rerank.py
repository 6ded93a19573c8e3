"""The rerank stage: its contract, the date prior, article-level ranking, the weight file, and stores built
before it (real Chroma and BM25, the hash embedder)."""

import datetime as dt
import json
import os

import numpy as np
import pytest

from rag.assistant import Assistant
from rag.errors import SettingsError
from rag.retrieve.features import FEATURES, QueryInfo, chunk_features, date_features
from rag.retrieve.rerank import VARIANTS, WEIGHTS_FILE, LearnedReranker, Weights, load_weights, order_passages
from rag.retrieve.retriever import window_filters
from rag.testing import HashEmbedder
from rag.types import Filters, Passage

FRIDAY = dt.date(2022, 6, 17)


def _passage(cid, aid, text, *, title="", published=None, score=0.5, ranks=None, start=0):
    return Passage(chunk_id=cid, article_id=aid, text=text, start=start, end=start + len(text), title=title,
                   score=score, published=published, ranks=ranks or {})


def _weights(variant="all", **w):
    vec = np.array([w.get(f, 0.0) for f in FEATURES], dtype=np.float32)
    return Weights(variant, vec, VARIANTS[variant][1])


CANDIDATES = [
    _passage("a1", "A", "The council voted on the new bridge budget on Tuesday.", title="Bridge budget passes",
             published="2022-06-14", ranks={"dense": 2, "bm25": 1}),
    _passage("a2", "A", "The bridge will be 100 meters long.", published="2022-06-14", ranks={"bm25": 3}, start=60),
    _passage("b1", "B", "Rates rose in Brazil as the central bank met.", title="Brazil rates",
             published="2019-02-01", ranks={"dense": 1}),
    _passage("c1", "C", "A bridge collapsed in 2012 after a storm.", published=None, ranks={"dense": 3, "bm25": 2}),
]


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_rerank__shipped_weights_return_the_same_passages_reordered(variant):
    reranker = LearnedReranker(load_weights(variant=variant))
    out = reranker.rerank("How long will the new bridge be this week?", CANDIDATES, as_of=FRIDAY)
    assert sorted(p.chunk_id for p in out) == sorted(p.chunk_id for p in CANDIDATES)
    assert all(p is next(q for q in CANDIDATES if q.chunk_id == p.chunk_id) for p in out)  # passages unchanged
    assert reranker.rerank("anything", [], as_of=FRIDAY) == []
    # No date known, no ranks, no idf: still a full ordering.
    bare = [_passage(p.chunk_id, p.article_id, p.text) for p in CANDIDATES]
    assert len(reranker.rerank("bridge", bare)) == len(bare)


def test_rerank__shipped_weights_prefer_the_matching_article():
    out = LearnedReranker(load_weights()).rerank("How long will the new bridge be?", CANDIDATES, as_of=FRIDAY)
    assert out[0].article_id == "A"


def test_date_prior__same_text_ranks_by_distance_to_the_question_date():
    text = "The mayor announced a new transit plan for the city."
    old = _passage("o", "OLD", text, published="2020-06-12", ranks={"dense": 1, "bm25": 1})
    new = _passage("n", "NEW", text, published="2022-06-15", ranks={"dense": 2, "bm25": 2})
    reranker = LearnedReranker(load_weights(variant="date"))
    assert reranker.rerank("What transit plan did the mayor announce this week?", [old, new],
                           as_of=FRIDAY)[0].article_id == "NEW"
    assert reranker.rerank("What transit plan did the mayor announce this week?", [old, new],
                           as_of=dt.date(2020, 6, 12))[0].article_id == "OLD"


def test_date_prior__is_soft_a_far_better_match_from_another_time_still_wins():
    match = _passage("m", "M", "The Astarachay bridge over the river will be 100 meters long and 31 meters wide.",
                     title="Astarachay bridge", published="2019-03-01", ranks={"dense": 1, "bm25": 1})
    other = _passage("o", "O", "Weather was mild across the region.", published="2022-06-16",
                     ranks={"dense": 9}, score=0.1)
    out = LearnedReranker(load_weights()).rerank("How wide is the Astarachay bridge?", [other, match], as_of=FRIDAY)
    assert out[0].article_id == "M"


def test_date_features__window_age_future_and_undated():
    q = QueryInfo.build("Who won on Monday?", None, FRIDAY)
    assert date_features("2022-06-13", q)[0] == 0.0  # inside the window
    assert date_features("2022-06-10", q)[0] < 0.0
    assert date_features("2022-06-20", q)[2] < 0.0  # published after the question was asked
    assert date_features(None, q) == (0.0, 0.0, 0.0, 1.0)
    assert date_features("2022-06-13", QueryInfo.build("Who won?", None, None)) == (0.0, 0.0, 0.0, 0.0)


def test_features__entities_numbers_and_title_are_seen():
    q = QueryInfo.build("How many votes did Ukraine get in Turin?", None)
    x = chunk_features(q, [_passage("1", "A", "Ukraine won in Turin with 631 votes.", title="Ukraine wins"),
                           _passage("2", "B", "Nobody voted.", title="Other")], [0.5, 0.4])
    col = FEATURES.index
    assert x[0, col("entity")] == 1.0 and x[1, col("entity")] == 0.0
    assert x[0, col("title_cover")] > x[1, col("title_cover")]
    assert x[0, col("cos_gap")] == 0.0 and x[1, col("cos_gap")] < 0.0


def test_order_passages__article_level_with_a_second_passage_only_when_it_earns_it():
    ps = [_passage("a1", "A", "x"), _passage("a2", "A", "x"), _passage("a3", "A", "x"), _passage("b1", "B", "x")]
    by_article = order_passages(ps, np.array([0.9, 0.8, 0.7, 0.5]), {"A": 2.0, "B": 1.0})
    assert [p.chunk_id for p in by_article] == ["a1", "a2", "b1", "a3"]
    by_chunk = order_passages(ps, np.array([0.9, 0.3, 0.2, 0.5]), None)
    assert [p.chunk_id for p in by_chunk] == ["a1", "b1", "a2", "a3"]


def test_article_level__several_matching_chunks_lift_an_article():
    one = [_passage("s1", "S", "x", ranks={"dense": 1})]
    many = [_passage(f"m{i}", "M", "x", ranks={"dense": 2 + i}) for i in range(4)]
    reranker = LearnedReranker(_weights(rr_dense=1.0, art_chunks=2.0))
    assert reranker.rerank("q", one + many)[0].article_id == "M"


def test_load_weights__the_shipped_file_is_versioned_and_names_the_features():
    data = json.loads(WEIGHTS_FILE.read_text())
    assert data["version"] == 1 and tuple(data["features"]) == FEATURES
    assert set(data["variants"]) == set(VARIANTS)
    assert data["training"]["validation"] > 0 and "rtqa-dev" not in json.dumps(data)


def test_load_weights__bad_files_and_variants_name_the_fix(tmp_path):
    bad = tmp_path / "w.json"
    bad.write_text(json.dumps({"version": 99, "features": list(FEATURES), "variants": {}}))
    with pytest.raises(SettingsError, match=r"format version 99.*train_rerank"):
        load_weights(bad)
    with pytest.raises(SettingsError, match="NEWSDESK_RERANK"):
        load_weights(variant="cross-encoder")


def test_window_filters__inside_the_users_own_range():
    assert window_filters("Who won this week?", FRIDAY, Filters(since="2022-06-15")).since == "2022-06-15"
    assert window_filters("Who won this week?", FRIDAY, Filters(until="2021-01-01")) is None
    assert window_filters("Who won?", FRIDAY, Filters(source="cnn.com")) == Filters(
        source="cnn.com", since="2022-06-03", until="2022-06-20")


# -- over a real store -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dated_store(hash_store):
    """Two near-identical stories a year apart, one undated, and unrelated articles; built by today's ingest."""
    records = [
        {"id": "flood-2021", "title": "River floods the old town", "published": "2021-06-15",
         "text": "The river flooded the old town on Tuesday. Hundreds of homes were evacuated by the army."},
        {"id": "flood-2022", "title": "River floods the old town again", "published": "2022-06-14",
         "text": "The river flooded the old town on Tuesday. Hundreds of homes were evacuated by the army again."},
        {"id": "undated", "title": "Town history",
         "text": "The old town was founded by traders. Its river has flooded many times over the centuries."},
    ] + [{"id": f"other{i}", "title": f"Match report {i}", "published": f"2022-0{1 + i % 9}-1{i % 10}",
          "text": f"Team {i} beat their rivals {i + 2} to 1 in the cup final on Saturday."} for i in range(20)]
    return hash_store(records)


def test_store_from_before_the_rerank_stage_still_answers(dated_store):
    # Nothing was added to the store format: a store written by the ingest of before opens and answers with
    # every variant (and with the stage off), with or without a question date.
    files = {f for f in os.listdir(dated_store.store) if not f.startswith(("catalog.db-", ".lock"))}
    assert files == {"bm25", "catalog.db", "chroma", "manifest.json"}
    for variant in ("off", *VARIANTS):
        assistant = Assistant(dated_store.model_copy(update={"rerank": variant}),
                              *_open(dated_store))
        for as_of in (None, "2022-06-17"):
            ans = assistant.ask("Which town was flooded by the river?", as_of=as_of)
            assert not ans.refused, (variant, as_of, ans.notes)
            assert ans.citations[0].article_id.startswith("flood"), (variant, as_of)


def _open(settings):
    from rag.store.store import Store

    emb = HashEmbedder()
    return Store.open(settings, emb), emb


def test_retrieve__as_of_picks_the_story_of_that_week_and_keeps_two_passages_per_article(dated_store):
    assistant = Assistant(dated_store, *_open(dated_store))
    question = "Which town did the river flood this week?"
    for as_of, expected in (("2022-06-17", "flood-2022"), ("2021-06-18", "flood-2021")):
        ans = assistant.ask(question, as_of=as_of, top_k=10)
        assert ans.passages[0].article_id == expected, (as_of, [p.article_id for p in ans.passages])
        counts = {}
        for p in ans.passages:
            counts[p.article_id] = counts.get(p.article_id, 0) + 1
        assert max(counts.values()) <= 2
    timings = assistant.ask(question, as_of="2022-06-17").timings_ms
    assert "retrieve_rerank" in timings


def test_retrieve__since_until_stay_hard_filters_with_the_rerank_stage(dated_store):
    assistant = Assistant(dated_store, *_open(dated_store))
    ans = assistant.ask("Which town did the river flood this week?", as_of="2022-06-17",
                        filters={"until": "2021-12-31"}, top_k=10)
    assert ans.passages and all(p.published and p.published <= "2021-12-31" for p in ans.passages)
