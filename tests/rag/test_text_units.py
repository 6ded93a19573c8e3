"""Sentences, citation markers, BM25 tokenisation and follow-up condensing."""

import numpy as np

from rag.answer.condense import condense, is_follow_up
from rag.store.bm25 import BM25Index, FilterColumns, norm_key, tokenize
from rag.text.markers import cite, parse_markers, strip_markers
from rag.text.sentences import sentence_spans, split_sentences
from rag.types import Filters


def test_sentences__abbreviations_and_initials_do_not_split():
    text = "Gen. Khalifa Haftar spoke to J. K. Smith in the U.S. on Monday. The U.S. Army agreed."
    assert split_sentences(text) == ["Gen. Khalifa Haftar spoke to J. K. Smith in the U.S. on Monday.",
                                     "The U.S. Army agreed."]


def test_sentences__abbreviation_can_end_a_sentence_before_a_starter_word():
    assert split_sentences("He lives in the U.S. The talks failed.") == ["He lives in the U.S.", "The talks failed."]


def test_sentences__spans_point_into_the_text_and_paragraphs_split():
    text = "Title line\n\nFirst one. Second one!\n\n  Third? Yes."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["Title line", "First one.", "Second one!", "Third?", "Yes."]


def test_sentences__decimals_and_quotes():
    assert split_sentences('It cost $3.5 million. "We won," he said. She agreed.') == [
        "It cost $3.5 million.", '"We won," he said.', "She agreed."]


def test_sentences__a_photo_credit_ends_its_caption_and_opens_nothing():
    text = ("Dana Holt was 15 when she got her pilot's license Omar Lindqvist/AFP/Getty Images Inspired by her "
            "family, she began flying at 12. Holt celebrates. Jane Roe/Getty Images\n\nShe landed in Sofia.")
    assert split_sentences(text) == [
        "Dana Holt was 15 when she got her pilot's license", "Omar Lindqvist/AFP/Getty Images",
        "Inspired by her family, she began flying at 12.", "Holt celebrates.", "Jane Roe/Getty Images",
        "She landed in Sofia."]
    assert split_sentences("The AP/NORC poll found 40% approve.") == ["The AP/NORC poll found 40% approve."]


def test_markers__parse_strip_and_cite():
    assert parse_markers("A [1][2]. B [3, 4]. C [12].") == [1, 2, 3, 4, 12]
    assert strip_markers("A [1][2].") == "A."
    assert cite("It rained.", [2, 1]) == "It rained [2][1]."
    assert cite('He said "no."', [1]) == 'He said "no [1]."' or cite('He said "no."', [1]).endswith('[1]."')
    assert cite("No punctuation", [3]) == "No punctuation [3]"


def test_bm25__tokenize_stems_and_drops_stopwords():
    assert tokenize("The bridges were being built") == ["bridg", "build"]
    assert tokenize("Trade grew") == tokenize("trade grows")


def test_bm25__filters_apply_inside_the_index():
    cols = FilterColumns(np.array(["cnn.com", "bbc.co.uk"], dtype=object), np.array(["", "jane doe"], dtype=object),
                         np.array([19000, 19500], dtype=np.int64))
    idx = BM25Index.build(["c1", "c2"], ["bridge over river", "bridge over sea"], cols)
    assert {c for c, _ in idx.search("bridge", 5)} == {"c1", "c2"}
    assert [c for c, _ in idx.search("bridge", 5, Filters(source="www.CNN.com"))] == ["c1"]
    assert [c for c, _ in idx.search("bridge", 5, Filters(author="Jane  Doe"))] == ["c2"]
    assert [c for c, _ in idx.search("bridge", 5, Filters(since="2023-05-01"))] == ["c2"]  # day 19478
    assert idx.search("unrelated words", 5) == []
    assert norm_key(" WWW.Example.com ") == "example.com"


def test_bm25__save_and_load_round_trip(tmp_path):
    idx = BM25Index.build(["c1", "c2"], ["alpha beta", "gamma delta"], FilterColumns.empty(2))
    idx.save(tmp_path / "bm25")
    again = BM25Index.load(tmp_path / "bm25")
    assert again is not None and again.search("gamma", 2)[0][0] == "c2"
    idf = again.idf(["gamma", "zzz"])
    assert idf["zzz"] > idf["gamma"] > 0


def test_condense__follow_up_borrows_the_subject():
    history = [{"role": "user", "content": "How long will the Astarachay bridge be?"},
               {"role": "assistant", "content": "About 100 meters [1]."}]
    q = condense("And how wide is it?", history)
    assert "Astarachay" in q and "bridge" in q
    assert condense("Who leads the Libyan army?", history) == "Who leads the Libyan army?"
    assert is_follow_up("What about its width?")
    assert not is_follow_up("What did Stephen Curry score against Portland?")


def test_bm25__query_scores_equal_bm25s_own_scores():
    import bm25s

    texts = [f"Report {i}: the {w} council met about the {w} budget and a bridge {i % 7}" for i, w in
             enumerate(["city", "river", "harbour", "school", "rail", "park"] * 20)]
    ids = [f"c{i}" for i in range(len(texts))]
    idx = BM25Index.build(ids, texts, FilterColumns.empty(len(texts)))
    oracle = bm25s.BM25()
    oracle.index([tokenize(t) for t in texts], show_progress=False)
    for query in ["harbour budget", "bridge 3 council", "rail park school"]:
        toks = [t for t in tokenize(query) if t in oracle.vocab_dict]
        want = oracle.get_scores(toks)
        got = idx.scores([idx.vocab[t] for t in toks])
        assert np.allclose(got, want, atol=1e-5)
