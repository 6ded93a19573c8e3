"""One Assistant, many threads: concurrent questions give exactly the sequential answers, without errors.

The sample store with the real embedding model (the session fixture), so the model, Chroma, BM25 and the
support scorer are all shared between the threads. `python -m eval.stress_load --n 50` runs the full burst.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from eval.stress_load import DEFAULT_ASKS, python_burst, strip_timings
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
        assert partials and all(b.startswith(a) for a, b in zip(partials, partials[1:], strict=False))
