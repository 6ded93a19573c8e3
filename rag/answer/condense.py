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

_WORD = re.compile(r"[\w'’-]+")
_PRONOUNS = frozenset("it its it's they them their theirs he him his she her hers this that these those there "
                      "then".split())
_OPENERS = ("and ", "but ", "what about", "how about", "also", "so ", "then ", "why ", "and?", "what else")
_STOP = frozenset("""a an the and or but if of to in on at by for with from as is are was were be been being do does
did done have has had will would shall should can could may might must what which who whom whose when where why how
that this these those it its they them their he she his her we you i me my our your there here about into over under
than then so not no yes also just only very more most much many some any all each other such own same too again
long wide big large tall high far old new many much say said says tell told know""".split())


def content_words(text: str) -> list[str]:
    """Words of `text` that carry meaning (not function words), in order, original case."""
    return [w for w in _WORD.findall(text)
            if (w.lower() not in _STOP and not w.isdigit()) or any(c.isdigit() for c in w)]


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
