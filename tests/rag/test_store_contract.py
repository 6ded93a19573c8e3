"""One contract for every store backend: the embedded Chroma and a real `chroma run` server started here.

Covers ingest, re-ingest, changes, sync deletion, filters, retrieval and the manifest check. The hash embedder
keeps it fast; the backends are real.
"""

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ingest.sync import ingest_paths
from rag.errors import SettingsError, StoreMismatchError
from rag.retrieve.retriever import Retriever
from rag.settings import load_settings
from rag.store.store import Store
from rag.testing import HashEmbedder, free_port
from rag.types import Filters

RECORDS = [
    {"id": "bridge", "title": "Border bridge", "source": "caliber.az", "author": "Fuad Shahbazov",
     "published": "2023-09-28", "text": "The bridge over the Astarachay river will be about 100 meters long with a "
                                        "width of 31 meters. It links Astara and Baku."},
    {"id": "rail", "title": "Rail section signed", "source": "caliber.az", "author": "Jane Roe",
     "published": "2023-05-17", "text": "Russia and Iran signed an agreement to build a 170-kilometre railway "
                                        "section from Astara to Rasht."},
    {"id": "storm", "title": "Typhoon nears", "source": "cnn.com", "published": "2015-04-01",
     "text": "Typhoon Maysak weakened before reaching the Philippines, with winds around 132 mph."},
]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "chroma")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data / "server.log", "w")  # noqa: SIM115 - the server writes it until the fixture ends
    proc = subprocess.Popen([str(exe), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"chroma run exited: {(data / 'server.log').read_text()[-500:]}")
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.integration)])
def backend(request, tmp_path):
    """(settings, corpus dir, embedder) for a fresh store on the backend under test."""
    extra = {}
    if request.param == "server":
        extra = {"chroma_url": request.getfixturevalue("chroma_server"),
                 "collection": f"t-{uuid.uuid4().hex[:12]}"}
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    settings = load_settings(store=tmp_path / "store", embedding_model="hash", **extra)
    return settings, corpus, HashEmbedder()


def write(corpus: Path, records: list[dict], name: str = "a.jsonl") -> None:
    (corpus / name).write_text("".join(json.dumps(r) + "\n" for r in records))


def state(settings, emb):
    st = Store.open(settings, emb)
    return set(st.chunk_ids()), set(st.collection.get(include=[])["ids"]), set(st.bm25_index().ids)


def test_contract__ingest_then_reingest_embeds_nothing(backend):
    settings, corpus, emb = backend
    write(corpus, RECORDS)
    first = ingest_paths([corpus], settings, embedder=emb)
    assert first.added == 3 and first.chunks_embedded == first.chunks_total > 0
    again = ingest_paths([corpus], settings, embedder=emb)
    assert again.unchanged == 3 and again.chunks_embedded == 0
    catalog, chroma, bm25 = state(settings, emb)
    assert catalog == chroma == bm25


def test_contract__changed_article_replaces_its_chunks_and_sync_deletes(backend):
    settings, corpus, emb = backend
    write(corpus, RECORDS[:2])
    write(corpus, RECORDS[2:], "b.jsonl")
    ingest_paths([corpus], settings, embedder=emb)
    changed = dict(RECORDS[0], text="The bridge will open in 2026 after a delay, officials said.")
    write(corpus, [changed, RECORDS[1]])
    (corpus / "b.jsonl").unlink()
    result = ingest_paths([corpus], settings, embedder=emb, sync=True)
    assert (result.updated, result.unchanged, result.deleted) == (1, 1, 1)
    catalog, chroma, bm25 = state(settings, emb)
    assert catalog == chroma == bm25
    assert {c.split("-")[0] for c in catalog} == {"bridge", "rail"}
    assert "2026" in Store.open(settings, emb).article("bridge").text


@pytest.mark.parametrize("filters, expected", [
    (Filters(), {"bridge", "rail", "storm"}),
    (Filters(source="cnn.com"), {"storm"}),
    (Filters(author="jane roe"), {"rail"}),
    (Filters(since="2023-06-01"), {"bridge"}),
    (Filters(until="2016-01-01"), {"storm"}),
    (Filters(since="2023-01-01", until="2023-06-30", source="caliber.az"), {"rail"}),
])
def test_contract__filters_apply_inside_both_indexes(backend, filters, expected):
    settings, corpus, emb = backend
    write(corpus, RECORDS)
    ingest_paths([corpus], settings, embedder=emb)
    st = Store.open(settings, emb)
    query = "bridge railway typhoon Astara winds"
    dense = {c.split("-")[0] for c, _ in st.dense(emb.embed([query])[0], 10, filters)}
    lexical = {c.split("-")[0] for c, _ in st.lexical(query, 10, filters)}
    assert dense == expected and lexical == expected


def test_contract__retrieval_ranks_the_matching_article_first(backend):
    settings, corpus, emb = backend
    write(corpus, RECORDS)
    ingest_paths([corpus], settings, embedder=emb)
    retriever = Retriever(Store.open(settings, emb), emb)
    got = retriever.retrieve("How long is the bridge over the Astarachay river?", k=3)
    assert got.passages[0].article_id == "bridge"
    assert got.passages[0].text in Store.open(settings, emb).article("bridge").text


def test_contract__another_embedding_model_is_refused(backend):
    settings, corpus, emb = backend
    write(corpus, RECORDS)
    ingest_paths([corpus], settings, embedder=emb)
    with pytest.raises(StoreMismatchError, match="NEWSDESK_EMBEDDING_MODEL"):
        Store.open(settings, HashEmbedder(dim=64))


@pytest.mark.integration
def test_server__collection_of_another_model_is_refused(chroma_server, tmp_path):
    name = f"t-{uuid.uuid4().hex[:12]}"
    corpus = tmp_path / "c"
    corpus.mkdir()
    write(corpus, RECORDS)
    first = load_settings(store=tmp_path / "s1", embedding_model="hash", chroma_url=chroma_server, collection=name)
    ingest_paths([corpus], first, embedder=HashEmbedder())
    second = load_settings(store=tmp_path / "s2", embedding_model="hash:64", chroma_url=chroma_server,
                           collection=name)
    with pytest.raises(StoreMismatchError, match="NEWSDESK_COLLECTION"):
        ingest_paths([corpus], second, embedder=HashEmbedder(dim=64))


def test_server__unreachable_server_names_the_setting(tmp_path):
    settings = load_settings(store=tmp_path / "s", embedding_model="hash",
                             chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SettingsError, match="NEWSDESK_CHROMA_URL"):
        _ = Store.open(settings, HashEmbedder(), create=True, chunker="x").collection
