"""The LLM answerer: the `openai` answerer, a chat model prompted with the numbered passages (rag.answer.prompts).

It streams the model's reply as written; a reply that says the articles do not answer becomes a draft with no
text. Failures of the model raise LLMError (the Assistant may then fall back to the extractive answerer).

>>> from rag.testing import ScriptedChat
>>> from rag.types import Passage
>>> ps = [Passage(chunk_id="c1", article_id="a", text="Trade grew to $688 million.", start=0, end=27, title="T",
...               score=0.5)]
>>> events = list(LLMAnswerer(ScriptedChat(["Trade grew to $688 million [1]."])).write("q", "q", ps))
>>> "".join(e for e in events if isinstance(e, str)), events[-1]
('Trade grew to $688 million [1].', Draft(text='Trade grew to $688 million [1].', reason=''))
>>> list(LLMAnswerer(ScriptedChat(["The articles don't say."])).write("q", "q", ps))[-1].reason
'the LLM found no answer in the passages'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag.answer.base import Draft
from rag.answer.prompts import answer_messages, is_refusal
from rag.models.chat import ChatModel
from rag.types import Passage


class LLMAnswerer:
    """An Answerer over a ChatModel."""

    name = "openai"
    streams = True

    def __init__(self, chat: ChatModel) -> None:
        self.chat = chat

    def write(self, question: str, query: str, passages: Sequence[Passage],
              history: Sequence[dict[str, str]] | None = None) -> Iterator[str | Draft]:
        parts: list[str] = []
        for delta in self.chat.stream(answer_messages(question, passages, history)):
            parts.append(delta)
            yield delta
        draft = "".join(parts)
        if is_refusal(draft):
            yield Draft(None, "the LLM found no answer in the passages")
            return
        yield Draft(draft)
