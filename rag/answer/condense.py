"""Make a follow-up question standalone before retrieval, without an LLM.

Only a real follow-up is rewritten: one that opens with "and/what about/how about", or names nothing of its own
and points back ("it", "they", "that law") or is too short to stand alone ("Who cast the tiebreaking vote?").
A question that names its subject is never changed, whatever word it opens with: "Why did Liz Truss resign?"
is a fresh question. A follow-up borrows the conversation's topic: the names of the earlier user and assistant
turns (and the user's content words), the most recent and most repeated first, so "Who signed it?" two turns
after a question about a law still finds the law. An elliptical "And the premium plan?" takes the frame of the
previous question ("How much is ...").

>>> condense("And how wide is it?", [{"role": "user", "content": "How long will the Astarachay bridge be?"},
...                                   {"role": "assistant", "content": "About 100 meters [1]."}])
'And how wide is it? (Astarachay bridge)'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.question import entities
from rag.text.words import SUBJECT_STOPWORDS

_WORD = re.compile(r"[\w'’-]+")
_PRONOUNS = frozenset("it its it's they them their theirs he him his she her hers this that these those there "
                      "then".split())
_OPENERS = ("and ", "and?", "but what", "but how", "but who", "but when", "but where", "but why", "what about",
            "how about", "also ", "what else", "same for", "then what", "anything else")
_WH_FRAME = re.compile(r"^\s*((?:how (?:much|many|long|far|old|big|wide|tall|high|often)|what|who|whom|when|where|"
                       r"which|why|how)\b(?:\s+(?:is|are|was|were|did|does|do|will|would|can|could|has|have|had)\b)?)",
                       re.I)
_WH = re.compile(r"\b(?:who|whom|whose|what|when|where|which|why|how)\b", re.I)
_MARKER = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")


def content_words(text: str) -> list[str]:
    """Words of `text` that carry meaning (not function words), in order, original case."""
    return [w for w in _WORD.findall(text)
            if (w.lower() not in SUBJECT_STOPWORDS and not w.isdigit()) or any(c.isdigit() for c in w)]


def is_follow_up(question: str) -> bool:
    """Leans on the conversation: opens with "and/what about", or names no entity of its own and points back
    with a pronoun or has at most three content words. "why"/"how" alone do not make a follow-up.
    """
    q = question.strip().lower()
    if q.startswith(_OPENERS):
        return True
    if entities(question):
        return False
    words = _WORD.findall(q)
    return any(w in _PRONOUNS for w in words) or len(content_words(question)) <= 3


def _key(term: str) -> str:
    return re.sub(r"['’]s$", "", term.lower())


def topic(history: Sequence[dict[str, str]], limit: int = 6) -> list[str]:
    """The conversation's topic: names of user and assistant turns (and the user's content words), weighted
    by recency (most recent first) and repetition; user turns weigh more than answers.
    """
    scores: dict[str, float] = {}
    first: dict[str, int] = {}
    shown: dict[str, str] = {}
    turns = [t for t in history if t.get("role") in ("user", "assistant") and t.get("content")]
    for age, turn in enumerate(reversed(turns)):
        text = _MARKER.sub("", turn["content"])
        user = turn["role"] == "user"
        weight = (1.0 if user else 0.6) * 0.8 ** age
        names = list(entities(text))
        terms = [(n, weight) for n in names]
        if user:
            in_names = {w.lower() for n in names for w in n.split()}
            terms += [(w, 0.5 * weight) for w in content_words(text) if _key(w) not in in_names]
        for term, w in terms:
            term = re.sub(r"['’]s$", "", term)
            key = _key(term)
            scores[key] = scores.get(key, 0.0) + w
            first.setdefault(key, len(first))
            shown.setdefault(key, term)
    ranked = sorted(scores, key=lambda k: (-scores[k], first[k]))
    return [shown[k] for k in ranked[:limit]]


def condense(question: str, history: Sequence[dict[str, str]] | None) -> str:
    """The standalone question: `question` unchanged unless it is a follow-up; then the conversation's topic
    words it lacks are added in parentheses (and an elliptical question takes the previous question's frame).
    """
    if not history or not is_follow_up(question):
        return question
    have = {w.lower() for w in _WORD.findall(question)}
    borrowed = [t for t in topic(history) if not all(w.lower() in have for w in _WORD.findall(t))]
    base = question
    if not _WH.search(question):
        last = next((t["content"] for t in reversed(history) if t.get("role") == "user" and t.get("content")), "")
        frame = _WH_FRAME.match(last)
        if frame:
            fragment = re.sub(r"^\s*(?:and|but|also|so|then|what about|how about)\b[\s,]*", "", question,
                              flags=re.I).rstrip(" ?")
            base = f"{frame.group(1)[0].upper()}{frame.group(1)[1:]} {fragment}?"
    return f"{base} ({' '.join(borrowed)})" if borrowed else base
