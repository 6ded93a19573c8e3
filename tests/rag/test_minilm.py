"""MiniLMEmbedder against the trusted implementation: sentence-transformers running the same weights."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from rag.models.embedding import Embedder, make_embedder
from rag.models.minilm import (
    DIM,
    Encoder,
    MiniLMEmbedder,
    cache_entry,
    default_model_dir,
    truncate_ids,
)

ROOT = Path(__file__).resolve().parents[2]

_SENTENCES = [
    "How long will the Astarachay bridge be?",
    "The bridge will span 1.2 kilometres across the river.",
    "California legalizes human composting for burials.",
    "Stocks fell on Tuesday after the central bank raised interest rates by half a percentage point.",
    "Who won the 2022 World Cup final?",
    "Argentina beat France on penalties in Lusail.",
    "The senator said the bill would be put to a vote next week, according to two aides.",
    "Scientists have found water ice near the Moon's south pole.",
    "What did the minister say about the strike?",
    "Rail workers walked out for 48 hours over pay and conditions.",
    "Inflation eased to 6.4% in January, the lowest since late 2021.",
    "The storm knocked out power to 300,000 homes overnight.",
    "Read more at https://example.com/news/2023/01/15/story-123?ref=rss",
    "E-mail: press@example.org, phone +1 (555) 010-2030.",
    "COVID-19 cases rose 12% week-on-week, the CDC reported.",
    "A 7.8-magnitude earthquake struck southern Türkiye and northern Syria.",
]
_NON_ASCII = [
    "Café naïve façade résumé déjà vu",
    "Zürich, München and Göteborg",
    "北京欢迎你，上海也欢迎你。",
    "Москва — столица России.",
    "مرحبا بالعالم",
    "東京の天気は晴れです",
    "🚀 Launch succeeded 🎉🎉",
    "Ελλάδα και Κύπρος",
    "naïve “smart quotes” and ‘single’ ones — with dashes…",
    "\u00a0non-breaking\u00a0spaces\tand\ttabs\nand newlines",
]
_EDGE = ["", " ", "a", "?", "Hi!", "the", "\n\n", "1234567890", "x" * 300, "UPPERCASE HEADLINE ABOUT MARKETS"]


def _long_texts() -> list[str]:
    base = " ".join(_SENTENCES)  # ~200 word pieces
    return [
        base * 2,  # ~400 word pieces: truncated by both implementations
        (base + " ") * 5,
        " ".join(f"word{i}" for i in range(400)),
        "Ünïcödé " * 300,
        " ".join(_SENTENCES[::-1]) + " " + base,
        "In " + " and ".join(f"the {i}th district" for i in range(120)) + ".",
    ]


TEXTS = _SENTENCES + _NON_ASCII + _EDGE + _long_texts() + [s.lower() for s in _SENTENCES[:8]]


@pytest.fixture(scope="module")
def reference():
    st = pytest.importorskip("sentence_transformers")
    return st.SentenceTransformer(str(default_model_dir()), device="cpu")


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> MiniLMEmbedder:
    """The fp32 graph: the one that must agree with the reference implementation."""
    return MiniLMEmbedder(cache_dir=tmp_path_factory.mktemp("cache"), precision="fp32")


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> MiniLMEmbedder:
    return MiniLMEmbedder(cache_dir=tmp_path_factory.mktemp("cache8"), precision="int8")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_texts__cover_short_long_non_ascii_and_empty(embedder: MiniLMEmbedder) -> None:
    lengths = [embedder.count_tokens(t) for t in TEXTS]
    assert len(TEXTS) >= 50
    assert "" in TEXTS
    assert sum(n > embedder.max_tokens for n in lengths) >= 5
    assert sum(not t.isascii() for t in TEXTS) >= 10


def test_embed__matches_sentence_transformers(embedder: MiniLMEmbedder, reference) -> None:
    ours = embedder.embed(TEXTS)
    theirs = reference.encode(TEXTS, batch_size=16, convert_to_numpy=True)
    cos = _cosines(ours, theirs)
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, f"cosine {cos[worst]:.6f} for {TEXTS[worst][:60]!r}"
    # fp32 all the way: anything below this would mean a real difference in the computation, not rounding.
    assert cos.min() >= 0.99999


def test_embed__matches_reference_on_news_chunks(embedder: MiniLMEmbedder, reference) -> None:
    corpus = ROOT.parent / "shared" / "corpus" / "rtqa" / "articles.jsonl"
    if not corpus.is_file():
        pytest.skip(f"{corpus} not present")
    with open(corpus, encoding="utf-8") as f:
        words = [json.loads(line)["text"].split() for _, line in zip(range(12), f, strict=False)]
    chunks = [" ".join(w[i : i + 200]) for w in words for i in (0, 200)]
    cos = _cosines(embedder.embed(chunks), reference.encode(chunks, batch_size=8, convert_to_numpy=True))
    assert cos.min() >= 0.99999


def test_embed__truncates_beyond_the_window(embedder: MiniLMEmbedder) -> None:
    head = " ".join(f"token{i}" for i in range(300))
    a, b = embedder.embed([head + " and then one ending", head + " but quite another ending entirely"])
    assert embedder.count_tokens(head) > embedder.max_tokens
    assert np.allclose(a, b, atol=1e-6)


def test_embed__order_preserved_under_length_sorting(embedder: MiniLMEmbedder) -> None:
    rng = np.random.default_rng(0)
    texts = [TEXTS[i] for i in rng.permutation(len(TEXTS))]
    together = embedder.embed(texts)
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    assert np.allclose(together, one_by_one, atol=2e-5)
    assert np.allclose(embedder.embed(texts[::-1]), together[::-1], atol=2e-5)


def test_embed__unit_length_float32_dim_384(embedder: MiniLMEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), DIM) == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embed__empty_list_gives_empty_matrix(embedder: MiniLMEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


def test_embed__similar_texts_rank_above_unrelated(embedder: MiniLMEmbedder) -> None:
    q, near, far = embedder.embed(["How long is the new bridge?", "The bridge is 1.2 km long.", "Cats purr."])
    assert q @ near > q @ far + 0.2


def test_count_tokens__agrees_with_the_reference_tokenizer(embedder: MiniLMEmbedder, reference) -> None:
    for text in TEXTS:
        expected = len(reference.tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])
        assert embedder.count_tokens(text) == expected, text[:60]


def test_count_tokens__no_specials_no_truncation(embedder: MiniLMEmbedder) -> None:
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("hello world") == 2
    assert embedder.count_tokens("hello " * 1000) == 1000


def test_truncate_ids__keeps_head_and_final_sep() -> None:
    assert truncate_ids(list(range(300)), 256) == [*range(255), 299]
    assert truncate_ids([101, 5, 102], 256) == [101, 5, 102]


def test_embedder__satisfies_protocol_and_factory() -> None:
    emb = make_embedder("all-MiniLM-L6-v2")
    assert isinstance(emb, MiniLMEmbedder) and isinstance(emb, Embedder)
    assert (emb.name, emb.dim, emb.max_tokens, emb.precision) == ("all-MiniLM-L6-v2", 384, 254, "int8")
    assert make_embedder("all-MiniLM-L6-v2", precision="fp32").precision == "fp32"
    with pytest.raises(ValueError, match="precision"):
        MiniLMEmbedder(precision="int4")


# --- the int8 variant --------------------------------------------------------------------------------


def test_int8__agrees_with_fp32_on_sentences(embedder: MiniLMEmbedder, int8: MiniLMEmbedder) -> None:
    texts = _SENTENCES + _NON_ASCII + _long_texts()
    cos = _cosines(int8.embed(texts), embedder.embed(texts))
    worst = int(np.argmin(cos))
    # The lowest is the scraped "Read more at https://..." line (0.986 here); every plain sentence is >= 0.99.
    assert cos.min() >= 0.98, f"cosine {cos[worst]:.4f} for {texts[worst][:60]!r}"
    assert np.median(cos) >= 0.995
    # ...and it is a different computation, not the fp32 graph under another name.
    assert cos.min() < 0.99999


def test_int8__degenerate_texts_stay_close(embedder: MiniLMEmbedder, int8: MiniLMEmbedder) -> None:
    # Texts of one or two word pieces ("", "?", "Hi!") are mostly [CLS]/[SEP], whose activations set the
    # quantisation range: they agree less (0.98 here) than any sentence does.
    cos = _cosines(int8.embed(_EDGE), embedder.embed(_EDGE))
    assert cos.min() >= 0.97


def test_int8__agrees_with_fp32_on_news_chunks(embedder: MiniLMEmbedder, int8: MiniLMEmbedder) -> None:
    corpus = ROOT.parent / "shared" / "corpus" / "rtqa" / "articles.jsonl"
    if not corpus.is_file():
        pytest.skip(f"{corpus} not present")
    with open(corpus, encoding="utf-8") as f:
        words = [json.loads(line)["text"].split() for _, line in zip(range(40), f, strict=False)]
    chunks = [" ".join(w[i : i + 200]) for w in words for i in (0, 200) if len(w) > i + 50]
    cos = _cosines(int8.embed(chunks), embedder.embed(chunks))
    assert len(chunks) >= 60 and cos.min() >= 0.99


def test_int8__ranks_like_fp32(embedder: MiniLMEmbedder, int8: MiniLMEmbedder) -> None:
    questions = [t for t in _SENTENCES if t.endswith("?")]
    for emb in (embedder, int8):
        q, docs = emb.embed(questions), emb.embed(_SENTENCES)
        best = [_SENTENCES[i] for i in np.argsort(-(q @ docs.T), axis=1)[:, 1]]  # [:, 0] is the question itself
        if emb is embedder:
            expected = best
    assert best == expected


def test_int8__batch_composition_moves_vectors_only_slightly(int8: MiniLMEmbedder) -> None:
    # Activations are quantised with one scale per batch, so a text's vector depends a little on its batch.
    together = int8.embed(TEXTS)
    alone = np.vstack([int8.embed([t]) for t in TEXTS])
    assert _cosines(together, alone).min() >= 0.96  # 0.970 here, for the one-word-piece texts
    assert np.array_equal(int8.embed(TEXTS), together)  # the same batch gives the same vectors


def test_int8__graph_is_quantised_and_cached_beside_fp32(tmp_path: Path) -> None:
    import onnx

    fp32 = Encoder(default_model_dir(), 1, tmp_path, "fp32")
    q8 = Encoder(default_model_dir(), 1, tmp_path, "int8")
    assert (fp32.source, q8.source) == ("new cache entry", "new cache entry")
    weights = default_model_dir() / "model.safetensors"
    entries = {cache_entry(tmp_path, weights, p) for p in ("fp32", "int8")}
    assert {p for p in tmp_path.iterdir()} == entries  # neither variant pruned the other
    assert Encoder(default_model_dir(), 1, tmp_path, "int8").source == "cache"
    graph = onnx.load(str(cache_entry(tmp_path, weights, "int8") / "model.onnx"), load_external_data=False)
    ops = [n.op_type for n in graph.graph.node]
    assert ops.count("MatMulNBits") == 6 and ops.count("QAttention") == 6 and "MatMul" not in ops
    sizes = {e: (e / "model.onnx.data").stat().st_size for e in entries}
    assert sizes[cache_entry(tmp_path, weights, "int8")] < 0.75 * sizes[cache_entry(tmp_path, weights, "fp32")]


def test_embed__threads_at_once_match_serial(embedder: MiniLMEmbedder) -> None:
    short = _SENTENCES + _NON_ASCII + _EDGE
    batches = [short[i::4] for i in range(4)] * 2
    serial = [embedder.embed(b) for b in batches]
    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        parallel = list(pool.map(embedder.embed, batches))
    for s, p in zip(serial, parallel, strict=True):
        assert np.allclose(s, p, atol=2e-5)


def test_first_use__threads_share_one_load(tmp_path: Path) -> None:
    # A fresh process, so the per-process cache is empty when eight threads race to load it.
    code = (
        "import threading\n"
        "import rag.models.minilm as m\n"
        f"emb = m.MiniLMEmbedder(cache_dir={str(tmp_path)!r})\n"
        "out = [None] * 8\n"
        "def go(i): out[i] = emb.embed(['bridge %d' % i])\n"
        "ts = [threading.Thread(target=go, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "assert all(o.shape == (1, 384) for o in out)\n"
        "assert len(m._encoders) == 1 and len(m._tokenizers) == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_embed__never_imports_torch_or_sentence_transformers(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import rag.models.minilm as m\n"
        "assert 'onnxruntime' not in sys.modules and 'onnx' not in sys.modules  # lazy until first use\n"
        f"m.MiniLMEmbedder(cache_dir={str(tmp_path)!r}).embed(['hello'])\n"
        "bad = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


# --- the on-disk cache of the built graph -------------------------------------------------------------


def _ids() -> tuple[np.ndarray, np.ndarray]:
    return np.array([[101, 7592, 2088, 102, 0]]), np.array([[1, 1, 1, 1, 0]])


def test_cache__first_load_writes_entry_second_reads_it(tmp_path: Path) -> None:
    first = Encoder(default_model_dir(), 1, tmp_path)
    second = Encoder(default_model_dir(), 1, tmp_path)
    memory = Encoder(default_model_dir(), 1, None)
    assert (first.source, second.source, memory.source) == ("new cache entry", "cache", "memory")
    assert [p.name for p in tmp_path.iterdir()] == [
        cache_entry(tmp_path, default_model_dir() / "model.safetensors").name
    ]
    assert np.array_equal(first.run(*_ids()), second.run(*_ids()))
    assert np.allclose(first.run(*_ids()), memory.run(*_ids()), atol=1e-6)


def test_cache__unwritable_dir_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    enc = Encoder(default_model_dir(), 1, blocker / "newsdesk")
    assert enc.source == "memory"
    assert enc.run(*_ids()).shape == (1, 384)


def test_cache__corrupt_entry_is_rebuilt(tmp_path: Path) -> None:
    good = Encoder(default_model_dir(), 1, tmp_path).run(*_ids())
    entry = cache_entry(tmp_path, default_model_dir() / "model.safetensors")
    with open(entry / "model.onnx.data", "r+b") as f:
        f.truncate(1000)
    enc = Encoder(default_model_dir(), 1, tmp_path)
    assert enc.source == "new cache entry"
    assert np.array_equal(enc.run(*_ids()), good)
    assert Encoder(default_model_dir(), 1, tmp_path).source == "cache"


def test_cache__stale_entries_of_the_same_weights_are_pruned(tmp_path: Path) -> None:
    entry = cache_entry(tmp_path, default_model_dir() / "model.safetensors")
    stale = tmp_path / (entry.name.rsplit("-", 1)[0] + "-000000000000")
    other = tmp_path / "minilm-ffffffffffff-000000000000"
    stale.mkdir()
    other.mkdir()
    Encoder(default_model_dir(), 1, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([entry.name, other.name])
