"""Each rule that several stages apply has one home; these tests pin where two former copies disagreed."""

import os
import shutil

import pytest

from rag.store.bm25 import BM25Index, FilterColumns, tokenize
from rag.text import tokens
from rag.text.markers import parse_markers, strip_markers
from rag.text.sentences import split_sentences
from rag.text.words import MONTHS, stem
from rag.verify.check import draft_sentences
from rag.verify.support import OfflineSupportScorer


@pytest.mark.parametrize(
    ("text", "numbers"),
    [("A [1-2].", [1, 2]), ("A [1–3].", [1, 2, 3]), ("A [1; 3].", [1, 3]), ("A [1,2].", [1, 2]),
     ("A [2, 4-5].", [2, 4, 5]), ("A [7].", [7])],
)
def test_markers__every_form_parses_once_for_verification_and_support(text, numbers):
    assert parse_markers(text) == numbers
    assert strip_markers(text) == "A."
    assert draft_sentences(text) == [("A.", numbers)]


def test_markers__a_wide_span_is_read_as_its_two_ends_and_a_year_is_no_marker():
    assert parse_markers("It ran [3-90].") == [3, 90]
    assert parse_markers("It ran [2019-2023].") == []


def test_support__range_marker_is_stripped_before_scoring():
    scorer = OfflineSupportScorer()
    passage = "The bridge will be about 100 meters long."
    plain = scorer.features([passage], "The bridge will be about 100 meters long.")
    assert scorer.features([passage], "The bridge will be about 100 meters long [1-2].") == plain
    assert scorer.features([passage], "The bridge will be about 100 meters long [1; 2].") == plain


def test_support__claims_split_by_the_shared_splitter():
    # "U.S." may end a sentence before "The": the support scorer's own splitter kept the two sentences as one, so
    # the word pair across them ("US", "talks") was looked for in one passage sentence.
    assert split_sentences("He lives in the U.S. The talks failed.") == ["He lives in the U.S.", "The talks failed."]
    features = OfflineSupportScorer().features(["He lives in the U.S.", "The talks failed."],
                                               "He lives in the U.S. The talks failed.")
    assert features["pairs"] == 1.0


@pytest.mark.parametrize(("a", "b"), [("wide", "width"), ("long", "length"), ("tall", "height"), ("said", "says"),
                                      ("metres", "meters"), ("grew", "grow"), ("defence", "defense")])
def test_words__retrieval_and_verification_fold_forms_alike(a, b):
    assert stem(a) == stem(b)
    assert tokenize(a) == tokenize(b)


def test_bm25__british_spelling_finds_the_american_one():
    idx = BM25Index.build(["c1", "c2"], ["The tower is 31 meters tall", "Rates rose"], FilterColumns.empty(2))
    assert [c for c, _ in idx.search("how many metres high", 2)] == ["c1"]


def test_bm25__the_fed_is_not_feeding():
    assert tokenize("the Fed raised rates") != tokenize("they feed raised rates")


def test_months__one_table_for_every_reader():
    from ingest._dates import parse_date

    assert parse_date("Sept 28, 2023") == "2023-09-28" and MONTHS["sept"] == 9
    assert parse_date("28 June 2023") == "2023-06-28"


def test_cl100k__honours_a_user_set_cache_dir(tmp_path, monkeypatch):
    bundled = tokens._llama_index_cache()
    mine = tmp_path / "tiktoken"
    shutil.copytree(bundled, mine)
    monkeypatch.setattr(tokens, "_llama_index_cache", lambda: tmp_path / "absent")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(mine))
    import tiktoken.registry

    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    tokens.encoding.cache_clear()
    try:
        assert tokens.encoding().encode("The bridge") and os.environ["TIKTOKEN_CACHE_DIR"] == str(mine)
    finally:
        tokens.encoding.cache_clear()


def test_cl100k__bundled_cache_leaves_the_environment_as_found(monkeypatch):
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    tokens.encoding.cache_clear()
    try:
        assert tokens.count_tokens("The bridge will be about 100 meters long.") == 10
        assert "TIKTOKEN_CACHE_DIR" not in os.environ
    finally:
        tokens.encoding.cache_clear()


def test_openai_embedder__counts_with_the_one_loader():
    from rag.models.openai_embed import OpenAIEmbedder

    emb = OpenAIEmbedder("text-embedding-3-small", api_key="k", base_url="http://127.0.0.1:9")
    assert emb.count_tokens("The bridge will be about 100 meters long.") == tokens.count_tokens(
        "The bridge will be about 100 meters long.")
