"""The runner with a scripted assistant: what it asks, what it records, how it aggregates, and the gate."""

import json

import pytest

from eval.judge import OfflineJudge
from eval.runner import HEADLINE, check_gate, metric_names, run_suite, summarize
from eval.suite import load_suite

BRIDGE = "The bridge will be about 100 meters long with a width of 31 meters."
TRADE = "Bilateral trade grew from $608 million to $688 million in the period March 2022-March 2023."
PLUTO = "Pluto is 1,400 miles wide, roughly half the width of the continental United States."


@pytest.fixture
def suite(tmp_path):
    lines = [
        {"id": "wide", "question": "How wide is the bridge?", "answers": ["31 metres"], "gold_ids": ["az"]},
        {"id": "trade", "question": "How much did trade grow to?", "answers": ["$688 million"], "gold_ids": ["az"]},
        {"id": "pluto", "question": "How wide is Pluto?", "answers": ["1,400 miles"], "gold_ids": ["pl"],
         "history": [{"role": "user", "content": "Tell me about New Horizons."}]},
        {"id": "cup", "question": "Who won the World Cup?", "answers": []},
        {"id": "late", "question": "How long is the bridge?", "answers": [], "filters": {"since": "2024-01-01"}},
        {"id": "boom", "question": "Crash?", "answers": ["x"]},
    ]
    path = tmp_path / "suite.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return load_suite(path)


@pytest.fixture
def assistant(scripted_assistant, passage):
    az, az2, pl = passage("az", BRIDGE, 0), passage("az", TRADE, 1), passage("pl", PLUTO, 2)
    other = passage("zz", "Typhoon Maysak is churning over the Pacific Ocean.", 3)
    return scripted_assistant({
        "How wide is the bridge?": ("The bridge will be about 100 meters long with a width of 31 meters [1].",
                                    [az], [az, az2, other]),
        # answered right, but cited to the wrong passage, and the gold article is only second
        "How much did trade grow to?": ("Bilateral trade grew to $688 million [1].", [other], [other, az2, az]),
        "How wide is Pluto?": ("Pluto is 1,400 miles wide [1]. It has a moon [1].", [pl], [pl]),
        # answers a question that should be refused
        "How long is the bridge?": ("The bridge will be about 100 meters long [1].", [az], [az]),
        "Crash?": RuntimeError("the store went away"),
    })


def test_run_suite__passes_history_filters_and_a_deep_enough_top_k(suite, assistant):
    run_suite(assistant, suite, OfflineJudge(), k=10, top_k=5)
    calls = {c["question"]: c for c in assistant.calls}
    assert calls["How wide is Pluto?"]["history"] == [{"role": "user", "content": "Tell me about New Horizons."}]
    assert calls["How long is the bridge?"]["filters"] == {"since": "2024-01-01"}
    assert calls["Who won the World Cup?"]["filters"] is None
    # retrieval metrics need 10 passages: every case is asked with top_k = max(5, 10)
    assert {c["top_k"] for c in assistant.calls} == {10}


def test_run_suite__builds_the_documented_object_with_every_headline_metric(suite, assistant):
    result = run_suite(assistant, suite, OfflineJudge(), k=10, top_k=5, settings={"store": "s"})
    assert set(result) == {"suite", "n", "metrics", "intervals", "per_case", "settings"}
    assert result["n"] == 6 and len(result["per_case"]) == 6
    assert set(HEADLINE) <= set(result["metrics"]) and set(result["metrics"]) == set(result["intervals"])
    assert result["settings"]["store"] == "s" and result["settings"]["top_k"] == 10
    json.dumps(result)  # JSON-serialisable as it is


def test_run_suite__per_case_error_is_recorded_and_left_out_of_the_metrics(suite, assistant):
    result = run_suite(assistant, suite, OfflineJudge())
    boom = next(r for r in result["per_case"] if r["id"] == "boom")
    assert boom["error"] == "RuntimeError: the store went away" and not boom["passed"]
    assert result["metrics"]["error_rate"] == pytest.approx(1 / 6)
    assert result["settings"]["errors"] == 1


def test_run_suite__metrics_match_hand_counts(suite, assistant):
    m = run_suite(assistant, suite, OfflineJudge())["metrics"]
    # retrieval over wide (gold at 1), trade (gold at 2), pluto (gold at 1)
    assert m["hit@1"] == pytest.approx(2 / 3)
    assert m["hit@5"] == 1.0
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 1) / 3)
    # all three answerable questions contain their answer ("31 metres" = "31 meters", "1,400" = "1400")
    assert m["answer_contains"] == 1.0
    # should refuse: cup (refused), late (answered) -> precision 1/1, recall 1/2
    assert m["refusal_precision"] == 1.0
    assert m["refusal_recall"] == 0.5
    # latency: the scripted totals are 13 + call number for the five completed calls (14, 15, 16, 17, 18)
    assert m["latency_p50_ms"] == pytest.approx(16.0)


def test_run_suite__a_wrong_citation_fails_the_case_and_lowers_citation_recall(suite, assistant):
    result = run_suite(assistant, suite, OfflineJudge())
    trade = next(r for r in result["per_case"] if r["id"] == "trade")
    assert trade["metrics"]["citation_recall"] == 0.0
    assert trade["sentences"][0]["supported"] is False and trade["sentences"][0]["grounded"] is True
    assert any("not supported by its citation" in f for f in trade["failures"])
    wide = next(r for r in result["per_case"] if r["id"] == "wide")
    assert wide["passed"] and wide["metrics"]["citation_recall"] == 1.0
    late = next(r for r in result["per_case"] if r["id"] == "late")
    assert "answered, but this question should be refused" in late["failures"]


def test_summarize__metrics_without_applicable_cases_are_present_as_none():
    per_case = [{"id": "a", "should_refuse": True, "refused": True, "metrics": {},
                 "timings_ms": {"total": 5.0, "retrieve": 1.0, "answer": 1.0, "verify": 1.0}}]
    metrics, intervals = summarize(per_case)
    assert set(metrics) == set(metric_names(10))
    assert metrics["hit@5"] is None and intervals["hit@5"] is None
    assert metrics["refusal_recall"] == 1.0 and metrics["latency_p95_ms"] == 5.0


def test_summarize__intervals_are_deterministic():
    per_case = [{"id": str(i), "metrics": {"hit@5": float(i % 3 == 0)}, "timings_ms": {"total": float(i)}}
                for i in range(30)]
    assert summarize(per_case)[1] == summarize(per_case)[1]


def test_metric_names__add_the_k_variants_when_k_is_not_10():
    names = metric_names(20)
    assert {"hit@20", "mrr@20", "recall@20", "ndcg@20", "hit@5", "ndcg@10"} <= set(names)


def test_check_gate__floors_ceilings_and_missing_values():
    metrics = {"hit@5": 0.55, "token_f1": 0.3, "latency_p95_ms": 1200.0, "refusal_recall": None}
    failures = check_gate(metrics, {"hit@5": 0.6, "token_f1": 0.2, "latency_p95_ms": 1000, "refusal_recall": 0.5})
    assert failures == ["hit@5 = 0.550 is below the threshold 0.600",
                        "latency_p95_ms = 1200.000 is above the ceiling 1000.000",
                        "refusal_recall has no value (no case in the suite applies to it); threshold 0.5"]
    assert check_gate(metrics, {"hit@5": 0.5}) == []


def test_measure__a_metadata_citation_is_checked_against_the_catalog_field_it_quotes():
    from eval.runner import measure
    from eval.suite import Case
    from rag.types import Answer, Citation

    def answer(text: str) -> Answer:
        c = Citation(n=1, article_id="az", chunk_id="az-1", title="Bridge talks", url=None, published="2023-09-28",
                     source="example.com", passage="author: Fuad Shahbazov", start=None, end=None, score=0.9,
                     kind="metadata", field="author")
        return Answer(question="Who wrote it?", text=text, refused=False, citations=(c,))

    case = Case(id="m", question="Who wrote the article about the bridge talks?", answers=("Fuad Shahbazov",))
    right = measure(case, answer("“Bridge talks” was written by Fuad Shahbazov [1]."), OfflineJudge())
    assert right["passed"] and right["metrics"]["groundedness"] == 1.0
    assert right["citations"][0]["kind"] == "metadata"
    wrong = measure(case, answer("“Bridge talks” was written by Jane Doe [1]."), OfflineJudge())
    assert wrong["metrics"]["citation_recall"] == 0.0 and not wrong["passed"]
