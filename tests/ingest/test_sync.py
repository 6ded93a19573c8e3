"""Sync into a real embedded Chroma with the deterministic hash embedder (fast; the real model has its own tests)."""

import json
import threading
from pathlib import Path

import pytest

from ingest.sync import ingest_paths
from rag.errors import StoreLockedError, StoreMismatchError
from rag.settings import load_settings
from rag.store.store import Store
from rag.testing import HashEmbedder


def record(i: int, text: str | None = None, **extra) -> dict:
    body = text or (f"Article {i} reports that the council of town {i} voted on budget item {i}. "
                    f"The vote passed with {i + 3} votes in favour. Officials said the next meeting is in spring.")
    return {"id": f"a{i}", "title": f"Town {i} budget", "text": body, **extra}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def env(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = load_settings(store=tmp_path / "store", embedding_model="hash")
    return corpus, settings, HashEmbedder()


def store_state(settings, emb) -> tuple[set[str], set[str], set[str]]:
    """(catalog chunk ids, Chroma ids, BM25 ids)."""
    st = Store.open(settings, emb)
    chroma = set(st.collection.get(include=[])["ids"])
    bm25 = set(st.bm25_index().ids) if st.bm25_index() else set()
    return set(st.chunk_ids()), chroma, bm25


def ingest(corpus, settings, emb, **kw):
    return ingest_paths([corpus], settings, embedder=emb, **kw)


def test_sync__article_ids_come_from_records(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "a.jsonl", [record(i) for i in range(3)])
    ingest(corpus, settings, emb)
    st = Store.open(settings, emb)
    assert {a["id"] for a in st.list_articles()} == {"a0", "a1", "a2"}


def test_sync__changed_article_replaces_exactly_its_chunks(env):
    corpus, settings, emb = env
    records = [record(i) for i in range(4)]
    write_jsonl(corpus / "a.jsonl", records)
    ingest(corpus, settings, emb)
    before, _, _ = store_state(settings, emb)
    records[2] = record(2, text="A completely different report about a harbour that reopened after repairs. "
                                "Boats returned on Monday.")
    write_jsonl(corpus / "a.jsonl", records)
    result = ingest(corpus, settings, emb)
    assert (result.updated, result.unchanged, result.added) == (1, 3, 0)
    after, chroma, bm25 = store_state(settings, emb)
    assert after == chroma == bm25
    assert {c for c in before if not c.startswith("a2-")} <= after
    assert not {c for c in before if c.startswith("a2-")} & after
    st = Store.open(settings, emb)
    assert "harbour" in st.article("a2").text


def test_sync__deleted_source_removes_chunks_only_with_sync(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "a.jsonl", [record(0), record(1)])
    write_jsonl(corpus / "b.jsonl", [record(2)])
    ingest(corpus, settings, emb)
    (corpus / "b.jsonl").unlink()
    kept = ingest(corpus, settings, emb)
    assert kept.deleted == 0 and kept.chunks_total == len(store_state(settings, emb)[0])
    dry = ingest(corpus, settings, emb, sync=True, dry_run=True)
    assert dry.deleted == 1
    assert "a2" in {a["id"] for a in Store.open(settings, emb).list_articles()}
    synced = ingest(corpus, settings, emb, sync=True)
    assert synced.deleted == 1
    catalog, chroma, bm25 = store_state(settings, emb)
    assert catalog == chroma == bm25
    assert not any(c.startswith("a2-") for c in catalog)


def test_sync__record_removed_from_a_file_is_deleted_with_sync(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "a.jsonl", [record(0), record(1), record(2)])
    ingest(corpus, settings, emb)
    write_jsonl(corpus / "a.jsonl", [record(0), record(2)])
    result = ingest(corpus, settings, emb, sync=True)
    assert result.deleted == 1
    assert {a["id"] for a in Store.open(settings, emb).list_articles()} == {"a0", "a2"}


def test_sync__dry_run_changes_nothing(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "a.jsonl", [record(0), record(1)])
    dry = ingest(corpus, settings, emb, dry_run=True)
    assert dry.added == 2 and dry.dry_run and dry.chunks_embedded > 0
    assert not (Path(settings.store) / "manifest.json").exists()
    ingest(corpus, settings, emb)
    write_jsonl(corpus / "a.jsonl", [record(0), record(1, text="Changed text about a new library opening downtown.")])
    dry = ingest(corpus, settings, emb, dry_run=True)
    assert (dry.updated, dry.unchanged) == (1, 1)
    assert "library" not in Store.open(settings, emb).article("a1").text


def test_sync__exact_duplicate_text_is_stored_once_and_reported(env):
    corpus, settings, emb = env
    body = "The museum reopened on Friday after a two-year renovation costing 12 million euros."
    write_jsonl(corpus / "a.jsonl", [{"id": "x1", "title": "Museum", "text": body}])
    write_jsonl(corpus / "b.jsonl", [{"id": "x2", "title": "Museum again", "text": body}])
    result = ingest(corpus, settings, emb)
    assert result.added == 1
    assert result.duplicates and result.duplicates[0]["duplicate_of"] == "x1"
    assert Store.open(settings, emb).stats()["articles"] == 1


def test_sync__bad_files_are_reported_and_the_rest_ingested(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "good.jsonl", [record(0)])
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (corpus / "broken.json").write_text('{"title": "x", "text": ')
    (corpus / "notes.xyz").write_text("what is this")
    result = ingest(corpus, settings, emb)
    assert result.added == 1
    assert result.exit_code == 3
    failed = {Path(f["path"]).name for f in result.failed}
    assert {"empty.txt", "binary.txt", "broken.json", "notes.xyz"} <= failed
    assert all(f["error"] and "\n" not in f["error"] for f in result.failed)


def test_store__other_chunker_settings_are_refused_for_ingest(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "a.jsonl", [record(0)])
    ingest(corpus, settings, emb)
    other = settings.model_copy(update={"chunk_tokens": 100})
    with pytest.raises(StoreMismatchError, match="NEWSDESK_CHUNK_TOKENS"):
        ingest(corpus, other, emb)


def test_store__second_writer_fails_clearly_while_first_holds_the_lock(env):
    _, settings, emb = env
    st = Store.open(settings, emb, create=True, chunker="x")
    entered, release = threading.Event(), threading.Event()

    def hold():
        with st.lock():
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    entered.wait(5)
    try:
        with pytest.raises(StoreLockedError, match="another newsdesk ingest"), \
                Store.open(settings, emb).lock(wait_seconds=0.3):
            pass
    finally:
        release.set()
        t.join()


def test_store__stats_report_articles_sources_and_dates(env):
    corpus, settings, emb = env
    write_jsonl(corpus / "a.jsonl", [record(0, source="cnn.com", published="2022-05-01"),
                                     record(1, source="cnn.com", published="2023-07-01"), record(2)])
    ingest(corpus, settings, emb)
    stats = Store.open(settings, emb).stats()
    assert stats["articles"] == 3 and stats["chunks"] >= 3
    assert stats["sources"]["cnn.com"] == 2
    assert stats["date_range"] == ["2022-05-01", "2023-07-01"]
    assert stats["embedding_model"] == "hash-256"
