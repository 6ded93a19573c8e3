"""The embedding variant (int8 | fp32) a store was built with is recorded and enforced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.sync import ingest_paths
from rag.assistant import Assistant
from rag.errors import SettingsError, StoreMismatchError
from rag.settings import load_settings
from rag.store.store import Store, read_manifest

ROOT = Path(__file__).resolve().parents[2]
TEXT = ("Bridge over the Astarachay\n\nThe new bridge over the Astarachay river will be 1.2 km long, officials said. "
        "Work on it starts in the spring and should take two years.\n")


@pytest.fixture(scope="module")
def int8_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("precision")
    (root / "bridge.txt").write_text(TEXT, encoding="utf-8")
    store = root / "store"
    result = ingest_paths([root / "bridge.txt"], load_settings(store=store))  # the default variant
    assert result.added == 1 and not result.failed
    return store


def test_default_variant_is_int8_and_recorded(int8_store: Path) -> None:
    assert load_settings().embedding_precision == "int8"
    assert read_manifest(int8_store).embedding_precision == "int8"
    assert json.loads((int8_store / "manifest.json").read_text())["embedding_precision"] == "int8"


def test_other_variant_is_refused_with_the_fix(int8_store: Path) -> None:
    with pytest.raises(StoreMismatchError, match="NEWSDESK_EMBEDDING_PRECISION=int8"):
        Assistant.open(int8_store, embedding_precision="fp32")
    with pytest.raises(StoreMismatchError, match="NEWSDESK_EMBEDDING_PRECISION=int8"):
        ingest_paths([int8_store.parent / "bridge.txt"], load_settings(store=int8_store, embedding_precision="fp32"))
    answer = Assistant.open(int8_store).ask("How long will the bridge over the Astarachay be?")
    assert not answer.refused and "1.2 km" in answer.text


def test_store_without_the_field_is_fp32(int8_store: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((int8_store / "manifest.json").read_text())
    del manifest["embedding_precision"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(old).embedding_precision == "fp32"
    settings = load_settings(store=old, embedding_precision="fp32")
    from rag.models.embedding import make_embedder

    Store.open(settings, make_embedder("all-MiniLM-L6-v2", precision="fp32"))  # accepted
    with pytest.raises(StoreMismatchError, match="NEWSDESK_EMBEDDING_PRECISION=fp32"):
        Store.open(settings, make_embedder("all-MiniLM-L6-v2", precision="int8"))


def test_bad_value_names_the_setting() -> None:
    with pytest.raises(SettingsError, match="NEWSDESK_EMBEDDING_PRECISION"):
        load_settings(embedding_precision="int4")


def test_cli_refusal_is_one_line_exit_2(int8_store: Path) -> None:
    env = {**os.environ, "NEWSDESK_EMBEDDING_PRECISION": "fp32", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "--store", str(int8_store), "ask", "How long?", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "NEWSDESK_EMBEDDING_PRECISION=int8" in lines[0]
