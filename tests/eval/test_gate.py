"""The shipped seed suite passes its gate on the sample corpus, and a deliberately broken answerer fails it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from eval.suite import load_suite, load_thresholds
from rag.assistant import Assistant
from rag.text.markers import cite
from rag.types import Answer, Citation
from rag.verify.check import draft_sentences
from ui.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "eval" / "suites" / "seed.jsonl"


def run_eval(store: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict, str]:
    code = main(["--store", str(store), "eval", "run", str(SEED), "--json", *extra])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_seed_suite__is_well_formed_and_covers_every_kind_of_case():
    suite = load_suite(SEED)
    cases = suite.cases
    assert len(cases) >= 25
    assert sum(c.should_refuse for c in cases) >= 8
    assert any(c.history for c in cases) and any(c.filters for c in cases)
    assert any(c.filters and c.should_refuse for c in cases) and any(c.filters and c.answers for c in cases)
    assert sum(bool(c.gold_ids) for c in cases) >= 15
    thresholds = load_thresholds(SEED)
    assert {"hit@5", "answer_contains", "refusal_recall", "citation_recall"} <= set(thresholds)


@pytest.mark.integration
@pytest.mark.slow
def test_seed_suite__passes_its_gate_on_the_sample_corpus(sample_store_path, capsys, monkeypatch):
    monkeypatch.delenv("NEWSDESK_EMBEDDING_MODEL", raising=False)
    code, result, err = run_eval(sample_store_path, capsys)
    failing = [(r["id"], r["failures"]) for r in result["per_case"] if not r["passed"]]
    assert code == 0, f"{err}\nfailing cases: {failing}"
    assert result["settings"]["errors"] == 0


def _miscite(answer: Answer) -> Answer:
    """Cite every sentence to a retrieved passage from an article the answer did not use."""
    used = {c.article_id for c in answer.citations}
    others = [p for p in answer.passages if p.article_id not in used]
    if answer.refused or not others:
        return answer
    text = " ".join(cite(s, [1]) for s, _ in draft_sentences(answer.text))
    return dataclasses.replace(answer, text=text, citations=(Citation.from_passage(1, others[-1]),))


def _off_topic(answer: Answer) -> Answer:
    """Keep the citations but say something else: as if verification let an unrelated draft through."""
    if answer.refused:
        return answer
    text = "Officials said the plan would be reviewed again next year [1]. Critics were not convinced [1]."
    return dataclasses.replace(answer, text=text)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(("breakage", "metrics"), [
    (_miscite, {"citation_recall", "citation_precision"}),
    (_off_topic, {"answer_contains", "citation_recall"}),
])
def test_seed_suite__a_broken_answerer_fails_the_gate(sample_store_path, capsys, monkeypatch, breakage, metrics):
    monkeypatch.delenv("NEWSDESK_EMBEDDING_MODEL", raising=False)
    real_ask = Assistant.ask

    def broken_ask(self, question, **kwargs):
        return breakage(real_ask(self, question, **kwargs))

    monkeypatch.setattr(Assistant, "ask", broken_ask)
    code, result, err = run_eval(sample_store_path, capsys)
    assert code == 1
    thresholds = load_thresholds(SEED)
    for name in metrics:
        assert result["metrics"][name] < thresholds[name], name
        assert f"gate: FAILED — {name}" in err
