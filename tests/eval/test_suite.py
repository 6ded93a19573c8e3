"""Loading suites and thresholds: good files load, bad ones fail with a message naming the line."""

import json

import pytest

from eval.suite import load_suite, load_thresholds, merged_thresholds, parse_threshold_args, sidecar_path
from rag.errors import UserError


def write(tmp_path, *lines, name="suite.jsonl"):
    path = tmp_path / name
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines), encoding="utf-8")
    return path


def test_load_suite__reads_cases_and_ignores_unknown_fields(tmp_path):
    path = write(tmp_path,
                 {"id": "q1", "question": "How wide?", "answers": ["31 meters"], "gold_ids": ["a1"],
                  "choices": ["x"], "evidence": "e", "week": "20220617"},
                 "",
                 {"id": "q2", "question": "And how long?", "answers": [],
                  "history": [{"role": "user", "content": "How wide?"}, {"role": "assistant", "content": "31 m"}],
                  "filters": {"since": "2024-01-01"}})
    suite = load_suite(path)
    assert [c.id for c in suite.cases] == ["q1", "q2"]
    assert suite.cases[0].gold_ids == ("a1",) and not suite.cases[0].should_refuse
    assert suite.cases[1].should_refuse and suite.cases[1].filters == {"since": "2024-01-01"}
    assert suite.cases[1].history[0] == {"role": "user", "content": "How wide?"}
    assert suite.cases[1].line == 3
    assert len(suite.sha1) == 40


def test_load_suite__limit_keeps_the_first_cases(tmp_path):
    path = write(tmp_path, *({"id": f"q{i}", "question": "Q?", "answers": []} for i in range(5)))
    assert [c.id for c in load_suite(path, limit=2).cases] == ["q0", "q1"]


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "not valid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"id": "x", "answers": []}', "'question' must be a non-empty string"),
    ('{"id": "x", "question": "Q?"}', "'answers' is missing"),
    ('{"id": "x", "question": "Q?", "answers": "31 meters"}', "'answers' must be a list of strings"),
    ('{"id": "x", "question": "Q?", "answers": [], "gold_ids": [1]}', "'gold_ids' must be a list of strings"),
    ('{"id": "x", "question": "Q?", "answers": [], "history": [{"role": "bot", "content": "hi"}]}', "history turn 1"),
    ('{"id": "x", "question": "Q?", "answers": [], "filters": {"year": "2023"}}', "unknown filter(s) ['year']"),
    ('{"id": "x", "question": "Q?", "answers": [], "filters": {"since": "last week"}}', "must be a date"),
])
def test_load_suite__a_bad_line_names_the_file_and_line(tmp_path, line, message):
    path = write(tmp_path, {"id": "ok", "question": "Fine?", "answers": []}, line)
    with pytest.raises(UserError) as err:
        load_suite(path)
    assert f"{path}:2:" in str(err.value)
    assert message in str(err.value)


def test_load_suite__duplicate_ids_empty_and_missing_files_are_errors(tmp_path):
    dup = write(tmp_path, {"id": "a", "question": "Q?", "answers": []}, {"id": "a", "question": "R?", "answers": []})
    with pytest.raises(UserError, match=r":2: duplicate id 'a' \(first on line 1\)"):
        load_suite(dup)
    with pytest.raises(UserError, match="no cases"):
        load_suite(write(tmp_path, "", name="empty.jsonl"))
    with pytest.raises(UserError, match="cannot read suite"):
        load_suite(tmp_path / "missing.jsonl")
    one = write(tmp_path, {"id": "a", "question": "Q?", "answers": []}, name="one.jsonl")
    with pytest.raises(UserError, match="--limit"):
        load_suite(one, limit=0)


def test_thresholds__sidecar_is_read_and_command_line_overrides(tmp_path):
    suite = write(tmp_path, {"id": "a", "question": "Q?", "answers": []}, name="seed.jsonl")
    assert sidecar_path(suite) == tmp_path / "seed.thresholds.json"
    assert load_thresholds(suite) == {}
    (tmp_path / "seed.thresholds.json").write_text(json.dumps({"_comment": "why", "hit@5": 0.6, "token_f1": 0.1}))
    assert load_thresholds(suite) == {"hit@5": 0.6, "token_f1": 0.1}
    cli = parse_threshold_args(["hit@5=0.8"])
    assert merged_thresholds(suite, cli) == {"hit@5": 0.8, "token_f1": 0.1}


def test_thresholds__bad_values_and_unknown_metrics_are_errors(tmp_path):
    with pytest.raises(UserError, match="expected METRIC=VALUE"):
        parse_threshold_args(["hit@5"])
    with pytest.raises(UserError, match="expected METRIC=VALUE"):
        parse_threshold_args(["hit@5=high"])
    with pytest.raises(UserError, match=r"unknown metric\(s\) \['hit@7'\]"):
        parse_threshold_args(["hit@7=0.5"], known=["hit@5"])
    suite = write(tmp_path, {"id": "a", "question": "Q?", "answers": []}, name="s.jsonl")
    (tmp_path / "s.thresholds.json").write_text('{"hit@5": "high"}')
    with pytest.raises(UserError, match="must be a number"):
        load_thresholds(suite)
    (tmp_path / "s.thresholds.json").write_text("[1, 2]")
    with pytest.raises(UserError, match="expected an object"):
        load_thresholds(suite)
