"""The LLM judge through the openai SDK against a real local server speaking the OpenAI protocol."""

import json

import pytest

from eval.judge import LLMJudge, run_judge
from rag.errors import LLMError
from rag.models.chat import OpenAIChat
from rag.testing import FakeOpenAIServer


def judge_for(server: FakeOpenAIServer) -> LLMJudge:
    return LLMJudge(OpenAIChat("fake-chat", base_url=server.base_url, api_key=None, timeout=5.0, max_retries=0))


def test_llm_judge__verdicts_over_http_become_scores():
    with FakeOpenAIServer(['{"supported": true, "score": 0.95}', '{"supported": false, "score": 0.05}']) as server:
        judge = judge_for(server)
        good = judge.support(["The bridge will be 100 meters long."], "The bridge will be 100 meters long.")
        bad = judge.support(["The bridge will be 100 meters long."], "The bridge will be 400 meters long.")
        assert good > judge.threshold > bad
        prompt = json.dumps(server.chat_requests[0].messages)
        assert "100 meters" in prompt and server.chat_requests[0].model == "fake-chat"


def test_llm_judge__unreadable_reply_is_an_error_not_a_pass():
    with FakeOpenAIServer(default="I think it is probably fine") as server, pytest.raises(LLMError):
        judge_for(server).support(["A passage."], "A claim.")


def test_llm_judge__run_judge_measures_it_on_labelled_data(tmp_path):
    data = tmp_path / "judge.jsonl"
    rows = [{"id": "j1", "context": "The bridge is 100 m long.", "claim": "The bridge is 100 m long.",
             "label": "supported"},
            {"id": "j2", "context": "The bridge is 100 m long.", "claim": "The bridge is 400 m long.",
             "label": "hallucinated"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def verdict(request):
        claim_400 = "400 m" in json.dumps(request.messages)
        return json.dumps({"supported": not claim_400, "score": 0.1 if claim_400 else 0.9})

    with FakeOpenAIServer(default=verdict) as server:
        result = run_judge(data, judge_for(server))
    assert result["n"] == 2
    assert result["metrics"]["f1"] == 1.0 and result["metrics"]["auc"] == 1.0
