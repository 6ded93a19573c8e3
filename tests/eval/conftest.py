"""Fixtures for the eval tests: a scripted stand-in for the Assistant, and one sample-corpus store per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rag.types import Answer, Citation, Passage

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "ingest" / "sample"
SEED_SUITE = ROOT / "eval" / "suites" / "seed.jsonl"


def make_passage(article_id: str, text: str, rank: int = 0) -> Passage:
    return Passage(chunk_id=f"{article_id}:{rank}", article_id=article_id, text=text, start=0, end=len(text),
                   title=f"Article {article_id}", score=1.0 / (rank + 1))


class ScriptedAssistant:
    """Answers from a script {question: (answer text with [n] over `cited`, cited passages, retrieved passages)};
    an Exception in the script is raised; unknown questions are refused. Records every call."""

    def __init__(self, script: dict[str, Any]) -> None:
        self.script = script
        self.calls: list[dict[str, Any]] = []

    def ask(self, question: str, *, history=None, filters=None, top_k=None, answerer=None) -> Answer:
        self.calls.append({"question": question, "history": history, "filters": filters, "top_k": top_k,
                           "answerer": answerer})
        entry = self.script.get(question)
        timings = {"retrieve": 10.0 + len(self.calls), "answer": 2.0, "verify": 1.0, "total": 13.0 + len(self.calls)}
        if isinstance(entry, Exception):
            raise entry
        if entry is None:
            return Answer(question=question, text="The articles don't say.", refused=True, timings_ms=timings,
                          passages=())
        text, cited, retrieved = entry
        citations = tuple(Citation.from_passage(n, p) for n, p in enumerate(cited, 1))
        return Answer(question=question, text=text, refused=False, citations=citations, timings_ms=timings,
                      passages=tuple(retrieved))


@pytest.fixture
def scripted_assistant() -> Callable[[dict[str, Any]], ScriptedAssistant]:
    return ScriptedAssistant


@pytest.fixture
def passage() -> Callable[..., Passage]:
    return make_passage


@pytest.fixture(scope="session")
def sample_store_path(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the sample corpus, built once per session (or the project-wide one, when there is one)."""
    try:
        shared = request.getfixturevalue("sample_store")
    except pytest.FixtureLookupError:
        shared = None
    if isinstance(shared, str | Path):
        return Path(shared)
    if shared is not None and hasattr(shared, "store"):
        return Path(shared.store)

    from ingest import ingest_paths
    from rag.settings import load_settings

    store = tmp_path_factory.mktemp("eval-sample-store")
    result = ingest_paths([SAMPLE], load_settings(store=store))
    assert not result.failed, result.failed
    return store
