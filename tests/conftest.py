"""Store fixtures shared by the test packages; the network and environment guards are in ../conftest.py."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "ingest" / "sample"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory):
    """A store of the sample corpus built once per session with the real embedding model: (settings, result)."""
    from ingest import ingest_paths
    from rag.settings import load_settings

    settings = load_settings(store=tmp_path_factory.mktemp("sample") / "store")
    result = ingest_paths([SAMPLE], settings)
    assert not result.failed, result.failed
    return settings


@pytest.fixture(scope="session")
def sample_assistant(sample_store):
    """An Assistant over the sample store (real model, offline support scorer)."""
    from rag.assistant import Assistant

    return Assistant.open(settings=sample_store)


@pytest.fixture(scope="module")
def hash_store(tmp_path_factory):
    """Build a store of corpus records with the hash embedder (no model): `hash_store(records)` -> settings."""
    import json

    from ingest import ingest_paths
    from rag.settings import load_settings
    from rag.testing import HashEmbedder

    def build(records: list[dict]):
        root = tmp_path_factory.mktemp("hash-store")
        corpus = root / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
        settings = load_settings(store=root / "store", embedding_model="hash")
        result = ingest_paths([corpus], settings, embedder=HashEmbedder())
        assert not result.failed, result.failed
        return settings

    return build
