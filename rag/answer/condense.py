"""Make a follow-up question standalone before retrieval, without an LLM.

A follow-up ("And how wide is it?") borrows the content words of the conversation's earlier questions that
it lacks, so retrieval finds the passage the conversation is about.

>>> condense("And how wide is it?", [{"role": "user", "content": "How long will the Astarachay bridge be?"},
...                                   {"role": "assistant", "content": "About 100 meters [1]."}])
'And how wide is it? (Astarachay bridge)'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text.words import SUBJECT_STOPWORDS

_WORD = re.compile(r"[\w'’-]+")
_PRONOUNS = frozenset("it its it's they them their theirs he him his she her hers this that these those there "
                      "then".split())
_OPENERS = ("and ", "but ", "what about", "how about", "also", "so ", "then ", "why ", "and?", "what else")



def content_words(text: str) -> list[str]:
    """Words of `text` that carry meaning (not function words), in order, original case."""
    return [w for w in _WORD.findall(text)
            if (w.lower() not in SUBJECT_STOPWORDS and not w.isdigit()) or any(c.isdigit() for c in w)]


def is_follow_up(question: str) -> bool:
    """Looks like it leans on the conversation: opens with "and/what about", points back with a pronoun,
    or has almost no content words of its own.
    """
    q = question.strip().lower()
    words = _WORD.findall(q)
    if q.startswith(_OPENERS):
        return True
    if any(w in _PRONOUNS for w in words) and len(content_words(question)) <= 3:
        return True
    return len(content_words(question)) <= 1


def condense(question: str, history: Sequence[dict[str, str]] | None) -> str:
    """`question` plus the earlier questions' content words it lacks, when it is a follow-up."""
    if not history or not is_follow_up(question):
        return question
    have = {w.lower() for w in content_words(question)}
    borrowed: list[str] = []
    # Most recent user turns first; stop once we have enough to anchor retrieval.
    for turn in reversed(history):
        if turn.get("role") != "user":
            continue
        for w in content_words(turn.get("content", "")):
            if w.lower() not in have:
                have.add(w.lower())
                borrowed.append(w)
        if len(borrowed) >= 3:
            break
    return f"{question} ({' '.join(borrowed)})" if borrowed else question
