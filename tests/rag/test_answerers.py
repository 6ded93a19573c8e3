"""The Answerer seam: both answerers satisfy it, and the Assistant streams each the way it always has."""

from rag.answer.base import Answerer
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.llm import LLMAnswerer
from rag.errors import LLMError
from rag.testing import ScriptedChat
from rag.types import Passage

PASSAGES = [Passage(chunk_id="c1", article_id="a", text="The bridge will be about 100 meters long.", start=0,
                    end=42, title="Bridge", score=0.9)]


def test_answerers__both_satisfy_the_protocol():
    assert isinstance(ExtractiveAnswerer(), Answerer)
    assert isinstance(LLMAnswerer(ScriptedChat(["x"])), Answerer)
    assert not ExtractiveAnswerer.streams and LLMAnswerer.streams


def test_llm_answerer__streams_deltas_then_the_draft():
    chat = ScriptedChat(["The bridge will be about 100 meters long [1]."])
    events = list(LLMAnswerer(chat).write("How long?", "How long is the bridge?", PASSAGES))
    deltas = [e for e in events if isinstance(e, str)]
    assert len(deltas) > 1 and "".join(deltas) == events[-1].text
    assert "How long?" in chat.calls[0].prompt  # the question as asked goes to the model


def test_llm_answerer__failure_propagates_for_the_fallback_to_catch():
    chat = ScriptedChat([LLMError("down")])
    try:
        list(LLMAnswerer(chat).write("q", "q", PASSAGES))
    except LLMError as exc:
        assert "down" in str(exc)
    else:
        raise AssertionError("LLMError expected")


def test_extractive_answerer__one_draft_no_deltas():
    events = list(ExtractiveAnswerer().write("How long will the bridge be?", "How long will the bridge be?",
                                             PASSAGES))
    assert len(events) == 1 and events[0].text == "The bridge will be about 100 meters long [1]."
