"""The Answerer seam: what every answerer (extractive, LLM) offers the Assistant.

An answerer writes a draft over the numbered passages, with [n] markers; it never sees the store, and its draft
is verified afterwards (rag.verify), so an answerer need not be trusted. `write` yields the text deltas as they
are written (an LLM streams; `streams` says whether it does), then one draft: its `text` (None when the answerer
found no answer in the passages) and its `reason` (why not, "" otherwise).

>>> from rag.types import Passage
>>> from rag.answer.extractive import ExtractiveAnswerer
>>> ps = [Passage(chunk_id="c1", article_id="a", text="The bridge will be about 100 meters long.", start=0,
...               end=42, title="Bridge", score=0.9)]
>>> answerer: Answerer = ExtractiveAnswerer()
>>> [e.text for e in answerer.write("How long will the bridge be?", "How long will the bridge be?", ps)]
['The bridge will be about 100 meters long [1].']
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rag.types import Passage

__all__ = ["Answerer", "Draft", "Drafted"]


class Drafted(Protocol):
    """A draft answer as the Assistant reads it."""

    @property
    def text(self) -> str | None: ...  # the draft with [n] markers; None: no answer in the passages

    @property
    def reason(self) -> str: ...  # why there is no answer ("" when there is one)


@dataclass(frozen=True)
class Draft:
    """The plain Drafted."""

    text: str | None
    reason: str = ""


@runtime_checkable
class Answerer(Protocol):
    """Writes a draft answer with [n] markers (1-based indexes into `passages`)."""

    name: str  # "extractive", "openai": the Answer's `answerer`
    streams: bool  # True when `write` yields the draft's text as it is written

    def write(self, question: str, query: str, passages: Sequence[Passage],
              history: Sequence[dict[str, str]] | None = None) -> Iterator[str | Drafted]:
        """Yield text deltas (when `streams`), then one Drafted. `query` is the standalone (condensed) question."""
        ...
