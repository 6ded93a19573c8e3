"""Suites carry the day each question is asked (`as_of`), and the runner passes it to the Assistant."""

import json

import pytest

from eval.judge import OfflineJudge
from eval.runner import run_suite
from eval.suite import load_suite
from rag.errors import UserError


def _suite(tmp_path, *records):
    path = tmp_path / "s.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_load_suite__as_of_is_read_and_optional(tmp_path):
    suite = load_suite(_suite(tmp_path, {"id": "a", "question": "Who won this week?", "answers": ["x"],
                                         "as_of": "2022-06-17", "week": "20220617"},
                              {"id": "b", "question": "Who won?", "answers": ["x"]}))
    assert [c.as_of for c in suite.cases] == ["2022-06-17", None]


@pytest.mark.parametrize("bad", ["17 June 2022", "2022-06-31", 20220617])
def test_load_suite__a_bad_as_of_names_the_file_and_line(tmp_path, bad):
    path = _suite(tmp_path, {"id": "a", "question": "q?", "answers": []},
                  {"id": "b", "question": "q?", "answers": [], "as_of": bad})
    with pytest.raises(UserError, match=r"s\.jsonl:2: .*as_of") as err:
        load_suite(path)
    assert "\n" not in str(err.value)


def test_run_suite__passes_each_case_as_of_through(tmp_path, scripted_assistant):
    suite = load_suite(_suite(tmp_path, {"id": "a", "question": "Who won this week?", "answers": ["x"],
                                         "as_of": "2022-06-17"},
                              {"id": "b", "question": "Who won?", "answers": ["x"]}))
    assistant = scripted_assistant({})
    result = run_suite(assistant, suite, OfflineJudge(), resamples=10)
    assert [c["as_of"] for c in assistant.calls] == ["2022-06-17", None]
    assert result["per_case"][0]["as_of"] == "2022-06-17" and "as_of" not in result["per_case"][1]
