"""Judges, their metrics (positive class: hallucinated) and the labelled-data runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.judge import (
    JUDGE_PROMPT_VERSION,
    Judge,
    LLMJudge,
    OfflineJudge,
    best_threshold,
    judge_metrics,
    parse_verdict,
    rank_auc,
    run_judge,
)
from rag.errors import LLMError, NewsdeskError, UserError
from rag.verify.judge_model import VetoedScorer

CONTEXT = (
    "The bridge will be about 100 meters long with a width of 31 meters. "
    "Construction is expected to cost $608 million, officials said on Monday."
)


class ScriptedChat:
    """Replays canned replies in order and records the messages it was sent."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.calls: list[list[dict[str, str]]] = []

    def complete(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        return self.replies.pop(0)


# --- metrics -----------------------------------------------------------------------------------------------------


def test_judge_metrics__hand_computed():
    # hallucinated: 0, 1; supported: 2, 3. Support scores -> flagged when < 0.5: only record 0.
    # tp=1 fp=0 fn=1 tn=2. Hallucination scores 0.9, 0.2 vs 0.3, 0.1: 3 of 4 pairs ordered right.
    m = judge_metrics([True, True, False, False], [0.1, 0.8, 0.7, 0.9], threshold=0.5)
    assert m["precision"] == 1.0
    assert m["recall"] == 0.5
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["auc"] == pytest.approx(0.75)
    assert set(m) == {"precision", "recall", "f1", "balanced_accuracy", "auc"}


def test_judge_metrics__false_positive_counts_against_precision():
    # flagged: 0 (hallucinated) and 2 (supported) -> precision 1/2; recall 1/1; specificity 1/2
    m = judge_metrics([True, False, False], [0.2, 0.9, 0.3], threshold=0.5)
    assert m["precision"] == 0.5 and m["recall"] == 1.0
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["balanced_accuracy"] == pytest.approx(0.75)


def test_judge_metrics__threshold_is_strict_below():
    assert judge_metrics([True, False], [0.5, 0.9], threshold=0.5)["recall"] == 0.0


def test_rank_auc__ties_count_half():
    # positives 0.9, 0.5 vs negatives 0.1, 0.5: three pairs won, one tied -> 3.5 / 4
    assert rank_auc([True, False, True, False], [0.9, 0.1, 0.5, 0.5]) == pytest.approx(0.875)
    assert rank_auc([True, False, True, False], [0.4] * 4) == pytest.approx(0.5)


def test_rank_auc__perfect_and_inverted_rankings():
    labels = [True, True, False, False, False]
    assert rank_auc(labels, [0.9, 0.8, 0.3, 0.2, 0.1]) == 1.0
    assert rank_auc(labels, [0.1, 0.2, 0.3, 0.8, 0.9]) == 0.0
    # judge_metrics ranks by 1 - support, so a judge that supports exactly the supported claims scores 1.0
    assert judge_metrics(labels, [0.1, 0.2, 0.7, 0.8, 0.9], threshold=0.5)["auc"] == 1.0


def test_metrics__undefined_cases():
    m = judge_metrics([False, False], [0.9, 0.8], threshold=0.5)
    assert m["recall"] is None and m["auc"] is None and m["balanced_accuracy"] is None
    assert m["precision"] == 0.0 and m["f1"] == 0.0
    with pytest.raises(ValueError):
        judge_metrics([True], [0.1, 0.2], threshold=0.5)


# --- offline judge -----------------------------------------------------------------------------------------------


def test_offline_judge__separates_supported_from_contradicted_claims():
    judge = OfflineJudge()
    assert isinstance(judge, Judge)
    good = "The bridge will be about 100 meters long. It is expected to cost $608 million [1]."
    bad = "The bridge will be about 100 meters long. It is expected to cost $806 million."
    assert judge.support([CONTEXT], good) >= judge.threshold
    assert judge.support([CONTEXT], bad) < judge.threshold


def test_offline_judge__threshold_override():
    assert OfflineJudge(threshold=0.7).threshold == 0.7


# --- LLM judge ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ('{"supported": true, "score": 0.93}', 0.93),
        ('```json\n{"supported": false, "score": 0.1}\n```', 0.1),
        ('Verdict: {"supported": false, "score": 0.05} because the number differs.', 0.05),
        ('{"supported": true}', 1.0),
        ('{"supported": "no"}', 0.0),
        ('{"score": "0.4"}', 0.4),
        ("{'supported': False, 'score': 0.2}", 0.2),  # Python-style quotes
        ('{"supported": true, "score": 0.8,}', 0.8),  # trailing comma
    ],
)
def test_llm_judge__reads_tolerable_replies(reply, score):
    judge = LLMJudge(ScriptedChat(reply))
    assert judge.support([CONTEXT], "The bridge is 100 m long.") == pytest.approx(score)


def test_llm_judge__boolean_wins_over_a_contradicting_score():
    assert parse_verdict('{"supported": true, "score": 0.1}', threshold=0.5) == 0.5
    assert parse_verdict('{"supported": false, "score": 0.9}', threshold=0.5) < 0.5


def test_llm_judge__sends_passages_and_claim_without_markers():
    chat = ScriptedChat('{"supported": true, "score": 1}')
    LLMJudge(chat).support(["First passage.", "Second passage."], "A claim [2].")
    system, user = chat.calls[0]
    assert system["role"] == "system" and "JSON" in system["content"]
    assert "[1] First passage." in user["content"] and "[2] Second passage." in user["content"]
    assert "Claim: A claim." in user["content"]
    assert JUDGE_PROMPT_VERSION


def test_llm_judge__retries_once_after_an_unreadable_reply():
    chat = ScriptedChat("I think it is supported.", '{"supported": false, "score": 0.2}')
    assert LLMJudge(chat).support([CONTEXT], "claim") == 0.2
    assert len(chat.calls) == 2
    assert chat.calls[1][-2] == {"role": "assistant", "content": "I think it is supported."}


@pytest.mark.parametrize(
    "replies",
    [
        ("Yes, it is supported.", "Definitely supported!"),
        ('{"verdict": "ok"}', "{}"),
        ('{"supported": true, "score": 7}', '{"supported": true, "score": 7}'),
        ("", ""),
    ],
)
def test_llm_judge__unreadable_replies_raise_never_support(replies):
    with pytest.raises(LLMError, match="judge reply"):
        LLMJudge(ScriptedChat(*replies)).support([CONTEXT], "claim")


# --- running over labelled data ----------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def record(i: int, claim: str, label: str, source: str | None = "src") -> dict:
    rec = {"id": f"r{i}", "context": CONTEXT, "question": None, "claim": claim, "label": label}
    if source is not None:
        rec["source"] = source
    return rec


def test_run_judge__metrics_and_by_source(tmp_path: Path):
    path = write_jsonl(tmp_path / "j.jsonl", [
        record(1, "The bridge will be about 100 meters long.", "supported", "a"),
        record(2, "The bridge will be about 400 meters long.", "hallucinated", "a"),
        record(3, "Construction is expected to cost $608 million.", "supported", "b"),
        "",
        record(4, "Construction is expected to cost $608 million, the mayor of Paris said.", "hallucinated", "b"),
    ])
    result = run_judge(path, OfflineJudge())
    assert result["n"] == 4
    assert result["metrics"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "balanced_accuracy": 1.0, "auc": 1.0}
    assert set(result["by_source"]) == {"a", "b"}
    assert result["by_source"]["a"]["n"] == 2
    assert "errors" not in result


def test_run_judge__by_task_and_the_best_threshold_on_the_file(tmp_path: Path):
    rows = [record(1, "The bridge will be about 100 meters long.", "supported", "a"),
            record(2, "The bridge will be about 400 meters long.", "hallucinated", "a"),
            record(3, "Construction is expected to cost $608 million.", "supported", "b")]
    rows[0]["task"] = rows[1]["task"] = "summary"
    rows[2]["task"] = "qa"
    result = run_judge(write_jsonl(tmp_path / "j.jsonl", rows), OfflineJudge())
    assert set(result["by_task"]) == {"a/summary", "b/qa"}
    assert result["by_task"]["a/summary"]["n"] == 2
    best = result["best_threshold"]
    assert best["metrics"]["balanced_accuracy"] == 1.0
    assert 0.0 < best["threshold"] <= 1.0
    assert set(best["by_source"]) == {"a", "b"}


class RecordingScorer:
    """A sentence scorer that records the sentences it is asked to score."""

    threshold = 0.5

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def support_sentences(self, passages, sentences) -> float:
        self.seen.append(list(sentences))
        return 1.0


def test_run_judge__a_short_answer_is_read_after_its_question_a_long_one_sentence_by_sentence(tmp_path: Path):
    rows = [record(1, "$608 million", "supported"),
            record(2, "It will cost $608 million. Work starts in May.", "hallucinated"),
            record(3, "The bridge will be about 100 meters long.", "supported")]
    rows[0]["question"] = rows[1]["question"] = "How much will the bridge cost?"
    scorer = RecordingScorer()
    run_judge(write_jsonl(tmp_path / "j.jsonl", rows), OfflineJudge(scorer))
    assert scorer.seen == [["How much will the bridge cost? $608 million"],
                           ["It will cost $608 million.", "Work starts in May."],
                           ["The bridge will be about 100 meters long."]]
    chat = ScriptedChat('{"supported": true, "score": 1}')
    LLMJudge(chat).support([CONTEXT], "$608 million", question="How much will the bridge cost?")
    assert "(the answer to 'How much will the bridge cost?') $608 million" in chat.calls[0][1]["content"]


class ScriptedVetoScorer(VetoedScorer):
    """A scorer with vetoes whose (score, vetoed) per claim is scripted by the claim's text."""

    def __init__(self, parts: dict[str, tuple[float, bool]]) -> None:
        super().__init__(0.5)
        self.scripted = parts

    def parts(self, passages, sentences):
        return self.scripted[" ".join(sentences)]


def test_run_judge__the_best_threshold_flags_vetoed_claims_at_any_threshold(tmp_path: Path):
    # A supported claim vetoed by a hard check scores just under the threshold judged at (0.45 at 0.5): a sweep
    # over those scores would report 0.475 as best (balanced accuracy 0.75), where the judge would put the vetoed
    # claim under 0.475 and flag it (0.5). Flagging vetoed claims at every threshold, the best is 0.8 (0.75).
    parts = {"A.": (0.2, False), "B.": (0.55, False), "C.": (0.9, True), "D.": (0.8, False)}
    rows = [record(1, "A.", "hallucinated"), record(2, "B.", "hallucinated"), record(3, "C.", "supported"),
            record(4, "D.", "supported")]
    result = run_judge(write_jsonl(tmp_path / "j.jsonl", rows), OfflineJudge(ScriptedVetoScorer(parts)))
    assert result["threshold"] == 0.5 and result["metrics"]["balanced_accuracy"] == 0.5
    best = result["best_threshold"]
    assert best["threshold"] == 0.8 and best["metrics"]["balanced_accuracy"] == 0.75
    assert best_threshold([True, True, False, False], [0.2, 0.55, 0.9, 0.8], [False, False, True, False]) == 0.8


def test_best_threshold__maximises_balanced_accuracy():
    # flagged = support below the threshold; 0.6 flags both hallucinated claims and neither supported one
    assert best_threshold([True, True, False, False], [0.1, 0.3, 0.6, 0.9]) == 0.6
    assert best_threshold([False, False], [0.2, 0.4]) == 0.5  # one class only: nothing to choose by


def test_run_judge__no_source_field_no_by_source(tmp_path: Path):
    path = write_jsonl(tmp_path / "j.jsonl", [
        record(1, "The bridge will be about 100 meters long.", "supported", None),
        record(2, "The bridge will be about 400 meters long.", "hallucinated", None),
    ])
    assert "by_source" not in run_judge(path, OfflineJudge())


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a", "list"]', "expected a JSON object"),
        (json.dumps({"id": "x", "context": "c", "label": "supported"}), "field 'claim' must be a string"),
        (json.dumps({"id": "x", "context": "c", "claim": "y", "label": "maybe"}), "label must be"),
    ],
)
def test_run_judge__bad_line_names_the_line(tmp_path: Path, bad, message):
    path = write_jsonl(tmp_path / "j.jsonl", [record(1, "ok", "supported"), bad])
    with pytest.raises(UserError, match=message) as info:
        run_judge(path, OfflineJudge())
    assert f"{path}:2:" in str(info.value)


def test_run_judge__missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(UserError, match="cannot read judge data"):
        run_judge(tmp_path / "absent.jsonl", OfflineJudge())


def test_run_judge__llm_failures_listed_not_counted_as_supported(tmp_path: Path):
    path = write_jsonl(tmp_path / "j.jsonl", [
        record(1, "a", "supported"), record(2, "b", "hallucinated"), record(3, "c", "hallucinated"),
    ])
    chat = ScriptedChat('{"supported": true, "score": 0.9}', '{"supported": false, "score": 0.1}',
                        "no idea", "still no idea")
    result = run_judge(path, LLMJudge(chat))
    assert result["n"] == 2
    assert result["metrics"]["auc"] == 1.0
    assert [e["id"] for e in result["errors"]] == ["r3"]
    assert result["errors"][0]["line"] == 3


def test_run_judge__every_record_failing_is_an_error(tmp_path: Path):
    path = write_jsonl(tmp_path / "j.jsonl", [record(1, "a", "supported")])
    with pytest.raises(NewsdeskError, match="failed on every record"):
        run_judge(path, LLMJudge(ScriptedChat("?", "?")))


def test_cross_judge__judges_labelled_data_at_the_card_s_dev_threshold_and_verification_keeps_its_own():
    from eval.judge import CrossJudge
    from rag.verify.cross_judge import CrossSupportScorer

    judge = CrossJudge()
    card = judge.scorer.model.card
    assert judge.threshold == card["judge_threshold"] != card["threshold"]
    assert CrossSupportScorer(judge.scorer.model).threshold == card["threshold"]


def test_cross_judge__a_vetoed_claim_is_flagged_at_the_threshold_it_is_judged_at():
    # the card's two thresholds differ (dev: 0.28; verification: 0.59): a veto scaled to the higher one left
    # "It will open in 2031" (the passage: 2029) above the lower, judged supported
    from eval.judge import CrossJudge

    judge = CrossJudge()
    passage = "The line will run 14 miles from the airport and is expected to open in 2029."
    assert judge.support([passage], "The line is expected to open in 2031.") < judge.threshold
    assert judge.support([passage], "The line is expected to open in 2029.") >= judge.threshold
    assert judge.scorer.threshold == judge.threshold
