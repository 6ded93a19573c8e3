"""One Assistant, many threads: concurrent questions give exactly the sequential answers, without errors.

The sample store with the real embedding model (the session fixture), so the model, Chroma, BM25 and the
support scorer are all shared between the threads. `python -m eval.bench.stress_load --n 50` runs the full burst.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest

from eval.bench.stress_load import DEFAULT_ASKS, python_burst, strip_timings
from rag.types import Answer

pytestmark = pytest.mark.integration

N = 20  # the CI burst; the script runs 50


def test_threads__concurrent_asks_equal_the_sequential_answers(sample_assistant, capsys):
    result = python_burst(sample_assistant, DEFAULT_ASKS, N, timeout=300)
    summary = result.summary()
    with capsys.disabled():
        print(f"\npython API, {N} concurrent: p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
              f"errors {summary['errors']}, mismatches {summary['mismatches']}")
    assert result.errors == [] and result.mismatches == [] and result.timed_out == 0
    assert len(result.latencies_ms) == N


def test_threads__concurrent_streams_with_history_end_in_the_sequential_answers(sample_assistant):
    question = "And how wide is it?"
    first = sample_assistant.ask("How long will the Astarachay bridge be?")
    history = [{"role": "user", "content": "How long will the Astarachay bridge be?"},
               {"role": "assistant", "content": first.text}]
    expected = strip_timings(sample_assistant.ask(question, history=history).to_dict())

    def consume(_: int) -> tuple[list[str], dict]:
        partials, final = [], None
        for event in sample_assistant.stream(question, history=history):
            if isinstance(event, Answer):
                final = event
            else:
                partials.append(event.text)
        assert final is not None
        return partials, strip_timings(final.to_dict())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(consume, range(8), timeout=300))
    for partials, final in results:
        assert final == expected
        assert partials and all(b.startswith(a) for a, b in itertools.pairwise(partials))


def test_reader__keeps_answering_while_another_process_ingests_and_then_sees_its_changes(tmp_path):
    # The web chat runs for days while `newsdesk ingest` adds and deletes articles from another process. An
    # embedded Chroma opened before the ingest served its old vectors: questions then failed on every new chunk
    # ("Error finding id") until a restart.
    import json
    import os
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from rag.assistant import Assistant
    from rag.testing import HashEmbedder

    bridge = {"id": "bridge", "title": "Bridge agreed", "text": "Iran and Azerbaijan agreed to build a bridge on "
              "the Astarachay River. The bridge will be about 100 meters long with a width of 31 meters."}
    ferry = {"id": "ferry", "title": "New ferry", "text": "The new ferry from Baku to Turkmenbashi carries 300 "
             "passengers and 40 trucks. It sails twice a week from the port of Alat."}
    filler = [{"id": f"f{i}", "title": f"Market {i}", "text": f"The market in town {i} set a record of {i * 7} stalls "
               f"in week {i}, the council of town {i} said."} for i in range(30)]
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    corpus.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")} | {"NEWSDESK_EMBEDDING_MODEL": "hash"}

    def ingest(records: list[dict]) -> None:
        (corpus / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        run = subprocess.run([str(Path(sys.executable).with_name("newsdesk")), "--store", str(store), "ingest",
                              str(corpus), "--sync"], env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr

    ingest([bridge, *filler])
    reader = Assistant.open(store, embedding_model="hash", embedder=HashEmbedder())
    questions = ["How long will the Astarachay bridge be?", "How many passengers does the ferry to Turkmenbashi carry?",
                 "How many stalls did the market in town 7 have?"]
    assert not reader.ask(questions[0]).refused
    errors: list[str] = []
    stop = threading.Event()

    def ask_forever() -> None:
        while not stop.is_set():
            for q in questions:
                try:
                    reader.ask(q)
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(repr(exc))

    threads = [threading.Thread(target=ask_forever) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        ingest([ferry, *filler[5:]])  # the bridge and five markets deleted, the ferry added
        ingest([ferry, *filler])
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    assert errors == []
    ferry_answer = reader.ask(questions[1])
    assert not ferry_answer.refused and "300 passengers" in ferry_answer.text
    assert [c.article_id for c in ferry_answer.citations] == ["ferry"]
    assert ferry_answer.citations[0].score > 0.1  # found by its vector too, not by its words alone
    assert reader.ask(questions[0]).refused  # deleted from the store, so gone from the answers too
