"""Suites and labelled judge data are read by one JSONL reader (eval.jsonl): the same errors for both."""

import pytest

from eval.judge import read_judge_records
from eval.suite import load_suite
from rag.errors import UserError

RECORD = '{"id": "a", "context": "The bridge is 100 m long.", "claim": "It is 100 m long.", "label": "supported"}'


def test_judge_data__a_byte_order_mark_is_read_as_the_suites_are(tmp_path):
    path = tmp_path / "judge.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + RECORD.encode() + b"\n")
    assert [r["id"] for r in read_judge_records(path)] == ["a"]


def test_judge_data__not_utf8_is_one_clear_error(tmp_path):
    # The judge's own reader let UnicodeDecodeError escape (a traceback, exit 1); the suite's named the byte.
    path = tmp_path / "judge.jsonl"
    path.write_bytes(RECORD.replace("100 m", "100 m \xe9").encode("latin-1") + b"\n")
    with pytest.raises(UserError, match=r"judge\.jsonl: not UTF-8 text"):
        read_judge_records(path)


@pytest.mark.parametrize("reader", [read_judge_records, load_suite], ids=["judge", "suite"])
def test_bad_json__names_file_line_and_column(tmp_path, reader):
    path = tmp_path / "data.jsonl"
    path.write_text('\n{"id": "a",\n')
    with pytest.raises(UserError, match=r"data\.jsonl:2: not valid JSON \(.* at column \d+\)"):
        reader(path)
