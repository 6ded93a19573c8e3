"""`newsdesk ask --batch` and `Assistant.ask_many` over the sample store (real embedding model), and the progress
lines a long command prints when stderr is not a terminal."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from rag.console import Progress
from rag.errors import UserError
from tests.ui.servers import ROOT, newsdesk_env
from ui.cli import main

BRIDGE_Q = "How long will the Astarachay bridge be?"
WIDE_Q = "How wide will the Astarachay bridge be?"
CUP_Q = "Who won the 2022 football World Cup?"


def test_ask_many__answers_in_input_order_with_errors_in_place(sample_assistant):
    questions = [BRIDGE_Q, CUP_Q, {"question": WIDE_Q, "as_of": "2023-10-01"}, "  ", {"question": 42},
                 {"question": BRIDGE_Q, "filters": {"until": "1990-01-01"}}, {"question": WIDE_Q, "as_of": "soon"}]
    results = list(sample_assistant.ask_many(questions, workers=3))
    assert len(results) == len(questions)
    assert results[0].text == sample_assistant.ask(BRIDGE_Q).text and "100 meters" in results[0].text
    assert results[1].refused and "31 meters" in results[2].text
    assert isinstance(results[3], UserError) and "empty" in str(results[3])
    assert isinstance(results[4], UserError) and "question" in str(results[4])
    assert results[5].refused  # the record's filters applied
    assert isinstance(results[6], UserError) and "as_of" in str(results[6])


def test_ask_batch__one_json_line_per_question_in_order(sample_store, tmp_path, capsys):
    lines = [BRIDGE_Q, "", json.dumps({"id": "w", "question": WIDE_Q, "answers": ["31 meters"], "as_of": "2023-10-01"}),
             "{not json", json.dumps({"id": "h", "question": "How long will it be?", "history": [
                 {"role": "user", "content": "Tell me about the Astarachay bridge."},
                 {"role": "assistant", "content": "Iran and Azerbaijan agreed to build it."}]}),
             json.dumps({"text": "no question here"}), CUP_Q]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(lines) + "\n")
    code = main(["--store", str(sample_store.store), "ask", "--batch", str(path), "--workers", "2"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 3 and len(rows) == 6  # the blank line is skipped
    assert rows[0]["question"] == BRIDGE_Q and "100 meters" in rows[0]["answer"] and rows[0]["citations"]
    assert rows[1]["id"] == "w" and "31 meters" in rows[1]["answer"]
    assert rows[2] == {"line": 4, "error": rows[2]["error"]} and "not valid JSON" in rows[2]["error"]
    assert rows[3]["id"] == "h" and "bridge" in rows[3]["query"].lower() and "100 meters" in rows[3]["answer"]
    assert rows[4]["line"] == 6 and "question" in rows[4]["error"]
    assert rows[5]["refused"] is True
    assert set(rows[0]) >= {"question", "query", "answer", "refused", "citations", "timings_ms", "as_of"}
    assert "ask: 4 answered, 2 failed" in err


def test_ask_batch__bad_usage_exits_2_before_loading_anything(sample_store, tmp_path, capsys):
    assert main(["--store", str(sample_store.store), "ask", "--batch", str(tmp_path / "nope.txt")]) == 2
    assert "no such questions file" in capsys.readouterr().err
    assert main(["--store", str(sample_store.store), "ask"]) == 2
    assert "ask needs a question" in capsys.readouterr().err


def test_progress__a_line_every_interval_without_a_terminal():
    stream = io.StringIO()
    progress = Progress("ask", total=10, stream=stream, interval=0)
    progress.update(questions=3, errors=1)
    progress.close()
    assert stream.getvalue().startswith("ask: 3/10 questions, 1 errors (")


def test_ingest__prints_progress_lines_when_stderr_is_redirected(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text("".join(json.dumps({"id": f"a{i}", "title": f"Story {i}", "text": (
        f"Story {i} says the council met on day {i}. " * 40)}) + "\n" for i in range(300)))
    run = subprocess.run([sys.executable, "-m", "ui.cli", "--store", str(tmp_path / "store"), "ingest", str(corpus)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env=newsdesk_env(NEWSDESK_EMBEDDING_MODEL="hash", NEWSDESK_PROGRESS_SECONDS="0.05"))
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("ingest: ")]
    assert lines and "articles" in lines[-1] and "chunks_embedded" in lines[-1], run.stderr
    assert "300 added" in run.stdout


def test_chat__a_follow_up_shows_what_it_searched_for_and_as_of_is_taken(sample_store, monkeypatch, capsys):
    lines = iter([BRIDGE_Q, "And how wide will it be?", "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["--store", str(sample_store.store), "chat", "--as-of", "2023-10-01"]) == 0
    out = capsys.readouterr().out
    assert "100 meters" in out and "31 meters" in out
    assert "(searched for: How wide will it be?" in out or "(searched for: And how wide will it be?" in out
    assert main(["--store", str(sample_store.store), "chat", "--as-of", "soon"]) == 2
