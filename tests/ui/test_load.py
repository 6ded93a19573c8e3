"""The web chat's "ask" API under concurrent clients: the real Gradio server on 127.0.0.1 over the sample store
(real embedding model), gradio_client with one client per request.

Concurrent answers must equal the sequential ones (`to_dict()` without timings), with no errors; the p95 latency
is printed, not asserted. `python -m eval.bench.stress_load --store DIR --n 50` runs the full burst against a separate
`newsdesk ui` process.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from eval.bench.stress_load import DEFAULT_ASKS, api_burst, strip_timings
from rag.testing import free_port

pytestmark = pytest.mark.integration

N = 20  # the CI burst; the script runs 50


@pytest.fixture(scope="module")
def url(sample_assistant):
    from ui.app import build_app, launch

    app = build_app(sample_assistant)
    url = launch(app, host="127.0.0.1", port=free_port(), block=False)
    assert url.startswith("http://127.0.0.1:")
    yield url
    app.close()


def test_api__concurrent_clients_get_the_sequential_answers_without_errors(url, sample_assistant, capsys):
    result = api_burst(url, DEFAULT_ASKS, N, timeout=300)
    summary = result.summary()
    with capsys.disabled():
        print(f"\ngradio API, {N} concurrent clients: p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
              f"errors {summary['errors']}, mismatches {summary['mismatches']}")
    assert result.errors == [] and result.mismatches == [] and result.timed_out == 0
    assert len(result.latencies_ms) == N
    # The API's sequential answers are the Python API's too: the web layer adds nothing and loses nothing.
    question, filters = DEFAULT_ASKS[0]
    from gradio_client import Client

    via_api = Client(url, verbose=False, download_files=False, analytics_enabled=False).predict(
        question, filters, api_name="/ask")
    assert strip_timings(via_api) == strip_timings(sample_assistant.ask(question, filters=filters).to_dict())
