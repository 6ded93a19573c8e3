import itertools
from pathlib import Path

import pytest

from ingest.chunk import chunk_article, chunk_id
from rag.text.tokens import count_tokens
from rag.types import Article

SEED = Path(__file__).resolve().parents[2] / "ingest" / "sample" / "azerbaijan-iran-normalization.txt"


def words(text: str) -> int:
    return len(text.split())


def make(text: str, title: str = "A title") -> Article:
    return Article(id="art1", title=title, text=text)


def long_text(n_sentences: int = 60) -> str:
    return " ".join(f"Sentence number {i} says that the committee met on day {i} to discuss item {i}."
                    for i in range(n_sentences))


def test_chunk__text_equals_article_text_at_offsets():
    art = make(long_text() + "\n\n" + long_text(20))
    chunks = chunk_article(art, target_tokens=60, overlap_tokens=15, count_model_tokens=words, max_model_tokens=80)
    assert len(chunks) > 3
    for c in chunks:
        assert art.text[c.start:c.end] == c.text


def test_chunk__never_exceeds_model_window_with_header():
    art = make(long_text(), title="A rather long title " * 3)
    limit = 40
    chunks = chunk_article(art, target_tokens=500, overlap_tokens=0, count_model_tokens=words, max_model_tokens=limit)
    for c in chunks:
        assert words(c.embed_text) <= limit + 1  # the header and the text are joined by a newline, not a word


def test_chunk__single_overlong_sentence_is_split_at_words():
    art = make("word " * 1000 + "end.")
    chunks = chunk_article(art, target_tokens=100, overlap_tokens=10, count_model_tokens=words, max_model_tokens=120)
    assert len(chunks) >= 9
    assert all(words(c.text) <= 120 for c in chunks)
    assert chunks[-1].text.endswith("end.")


def test_chunk__target_size_in_cl100k_tokens_and_overlap_repeats_sentences():
    art = make(long_text())
    chunks = chunk_article(art, target_tokens=80, overlap_tokens=20, count_model_tokens=words, max_model_tokens=500)
    assert all(count_tokens(c.text) <= 80 for c in chunks)
    # consecutive chunks overlap (the next starts before the previous ends) and always move forward
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end
        assert b.start > a.start
    assert chunks[-1].end == len(art.text.rstrip())


def test_chunk__sentence_boundaries_are_respected():
    art = make(long_text(30))
    chunks = chunk_article(art, target_tokens=50, overlap_tokens=0, count_model_tokens=words, max_model_tokens=500)
    for c in chunks:
        assert c.text.startswith("Sentence number")
        assert c.text.endswith(".")


def test_chunk__ids_are_stable_and_depend_on_content():
    art = make(long_text(10))
    a = chunk_article(art, target_tokens=40, overlap_tokens=0, count_model_tokens=words, max_model_tokens=500)
    b = chunk_article(art, target_tokens=40, overlap_tokens=0, count_model_tokens=words, max_model_tokens=500)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    assert chunk_id("x", 0, 5, "hello") != chunk_id("x", 0, 5, "hellO")


def test_chunk__empty_text_gives_no_chunks():
    assert chunk_article(make("   "), target_tokens=50, overlap_tokens=0, count_model_tokens=words,
                         max_model_tokens=100) == []


@pytest.mark.slow
def test_chunk__real_model_window_is_respected_on_real_text():
    from rag.models.minilm import MiniLMEmbedder

    emb = MiniLMEmbedder()
    text = SEED.read_text() * 3
    art = make(text, title="Azerbaijan – Iran normalization process may foster regional partnership")
    chunks = chunk_article(art, target_tokens=400, overlap_tokens=32, count_model_tokens=emb.count_tokens,
                           max_model_tokens=emb.max_tokens)
    assert chunks
    for c in chunks:
        assert emb.count_tokens(c.embed_text) <= emb.max_tokens
        assert art.text[c.start:c.end] == c.text
