"""The answerability check any answerer runs before answering: is there a retrieved passage whose article text
carries every entity, year, date and figure the question names?

The extractive answerer applies it per sentence (see `ExtractiveAnswerer._choose`); an LLM answerer applies it
per passage before it is called, so a question about the European Central Bank is refused, with the reason,
when only Federal Reserve articles were retrieved, instead of inviting the model to answer from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.answer import evidence
from rag.answer.question import analyze
from rag.types import Passage

if TYPE_CHECKING:
    from rag.answer.extractive import ExtractiveAnswerer


def answerable(question: str, passages: Sequence[Passage], reader: ExtractiveAnswerer) -> str:
    """"" when some passage carries all of the question's constraints; else the plain-words refusal."""
    q = analyze(question)
    if q.kind in ("metadata", "summary") or not passages:
        return ""
    absent = reader._absent(question)
    first: tuple[evidence.Missing, Passage] | None = None
    for p in passages:
        article = reader.article_text(p.article_id) if reader.article_text else None
        gaps = evidence.missing(q, evidence.Context(p.text, p.title, p.published, article or p.text), absent)
        if not gaps:
            return ""
        if first is None:
            first = (gaps[0], p)
    assert first is not None
    gap, p = first
    return evidence.refusal(gap, p.text, p.published, q.text)
