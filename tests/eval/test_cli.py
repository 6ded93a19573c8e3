"""`newsdesk eval run` / `eval judge` end to end, over the sample corpus embedded with the hash test embedder."""

import json
from pathlib import Path

import pytest

from ui.cli import main

ROOT = Path(__file__).resolve().parents[2]
SUITE = [
    {"id": "wide", "question": "How wide will the Astarachay bridge be?", "answers": ["31 meters"]},
    {"id": "cup", "question": "Who won the 2022 football World Cup?", "answers": []},
]


@pytest.fixture(scope="session")
def hash_store(tmp_path_factory):
    from ingest import ingest_paths
    from rag.settings import load_settings

    store = tmp_path_factory.mktemp("eval-hash-store")
    result = ingest_paths([ROOT / "ingest" / "sample"], load_settings(store=store, embedding_model="hash"))
    assert not result.failed
    return store


@pytest.fixture
def run(hash_store, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_EMBEDDING_MODEL", "hash")

    def run(*argv):
        code = main(["--store", str(hash_store), *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def suite(tmp_path):
    path = tmp_path / "suite.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in SUITE))
    return path


def test_eval_run__json_prints_the_result_object(run, suite):
    code, out, err = run("eval", "run", suite, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert set(result) == {"suite", "n", "metrics", "intervals", "per_case", "settings"}
    for key in ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@10", "ndcg@10", "answer_contains", "token_f1",
                "refusal_precision", "refusal_recall", "citation_recall", "citation_precision", "groundedness",
                "latency_p50_ms", "latency_p95_ms"):
        assert key in result["metrics"]
    assert result["metrics"]["hit@5"] is None  # no case has gold_ids: reported as null, not left out
    assert result["n"] == 2


def test_eval_run__table_report_and_compare(run, suite, tmp_path):
    code, out, _ = run("eval", "run", suite, "--json")
    before = tmp_path / "before.json"
    before.write_text(out)
    code, out, err = run("eval", "run", suite, "--report", tmp_path / "rep", "--compare", before)
    assert code == 0, err
    assert "95% interval" in out and "answer_contains" in out
    assert "compared with" in out and "report:" in out
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"report.json", "report.md", "report.html"}


def test_eval_run__gate_fails_with_exit_1_and_names_the_metric(run, suite):
    code, out, err = run("eval", "run", suite, "--json", "--threshold", "answer_contains=1.01")
    assert code == 1
    assert "gate: FAILED — answer_contains" in err
    json.loads(out)  # stdout stays one JSON object


def test_eval_run__sidecar_thresholds_apply_and_the_command_line_overrides(run, suite):
    suite.with_name("suite.thresholds.json").write_text('{"refusal_recall": 1.01}')
    code, out, _ = run("eval", "run", suite)
    assert code == 1 and "gate: FAILED — refusal_recall" in out
    code, out, _ = run("eval", "run", suite, "--threshold", "refusal_recall=0")
    assert code == 0 and "gate: passed" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--threshold", "hit@7=0.5"], "unknown metric(s) ['hit@7']"),
    (["--threshold", "hit@5"], "expected METRIC=VALUE"),
    (["--k", "0"], "--k must be between 1 and 100"),
    (["--limit", "0"], "--limit must be at least 1"),
])
def test_eval_run__bad_arguments_exit_2_before_any_work(run, suite, argv, message):
    code, _, err = run("eval", "run", suite, *argv)
    assert code == 2 and message in err


def test_eval_run__a_bad_suite_line_exits_2_naming_the_line(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(SUITE[0]) + "\n" + '{"id": "x", "question": "Q?"}\n')
    code, _, err = run("eval", "run", bad)
    assert code == 2 and f"{bad}:2:" in err and "'answers' is missing" in err


def test_eval_judge__json_metrics_and_limit(run, tmp_path):
    data = tmp_path / "judge.jsonl"
    context = "The bridge will be about 100 meters long with a width of 31 meters."
    rows = [{"id": "j1", "context": context, "claim": "The bridge will be 100 meters long.", "label": "supported",
             "source": "a"},
            {"id": "j2", "context": context, "claim": "Putin signed a railway deal in Rasht in May.",
             "label": "hallucinated", "source": "b"},
            {"id": "j3", "context": context, "claim": "The bridge will be 31 meters wide.", "label": "supported",
             "source": "a"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run("eval", "judge", data, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 3
    assert set(result["metrics"]) == {"precision", "recall", "f1", "balanced_accuracy", "auc"}
    assert set(result["by_source"]) == {"a", "b"}
    code, out, _ = run("eval", "judge", data, "--json", "--limit", "2")
    assert json.loads(out)["n"] == 2
    code, out, _ = run("eval", "judge", data)
    assert code == 0 and "balanced_accuracy" in out


def test_eval_judge__llm_without_settings_names_the_setting(run, tmp_path, monkeypatch):
    monkeypatch.delenv("NEWSDESK_LLM_MODEL", raising=False)
    data = tmp_path / "judge.jsonl"
    data.write_text(json.dumps({"id": "j", "context": "c", "claim": "c", "label": "supported"}) + "\n")
    code, _, err = run("eval", "judge", data, "--judge", "llm")
    assert code == 2 and "NEWSDESK_LLM_MODEL" in err


def test_eval_run__warns_when_gold_ids_are_missing_from_the_store(run, tmp_path):
    from ingest.clean import article_id

    bridge = article_id(None, None, "azerbaijan-iran-normalization.txt")  # the sample page's id
    cases = [{"id": "wide", "question": SUITE[0]["question"], "answers": ["31 meters"], "gold_ids": [bridge]},
             {"id": "gone", "question": "What did the mayor say?", "answers": ["no"], "gold_ids": ["not-ingested"]}]
    for name, lines, warned in (("gold.jsonl", cases, True), ("held.jsonl", cases[:1], False)):
        path = tmp_path / name
        path.write_text("".join(json.dumps(c) + "\n" for c in lines))
        code, out, err = run("eval", "run", path, "--json")
        assert code == 0, err
        assert ("warning: 1 of 2 gold article ids" in err and "1 case(s)" in err) is warned, err
        assert json.loads(out)["settings"]["gold_ids_missing"] == int(warned)
