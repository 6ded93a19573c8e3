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

from rag.answer.question import ARTICLE_WORDS, entities
from rag.store.bm25 import tokenize
from rag.text.sentences import dateline_end, split_sentences
from rag.text.words import SUBJECT_STOPWORDS

_WORD = re.compile(r"\w[\w'’-]*(?:,\d[\w'’-]*)*")  # "2,554-pound" is one word
_PRONOUNS = frozenset("it its it's they them their theirs he him his she her hers this that these those there "
                      "then".split())
# Pronouns that stand for someone or something of the conversation even next to a name of the question's own.
_PERSONAL = frozenset("he him his she her hers they them their theirs".split())
_ABOUT_IT = re.compile(r"\b(?:about|on|of|to|with|for|against|over|after|before|behind) (?:it|this|that|them)\b"
                       r"(?! (?:is|was|are|were|will|would)\b)")
# Titles and demonyms before a name ("British Prime Minister Liz Truss"): a pronoun stands for the person.
_TITLES = frozenset("""president prime minister secretary gov governor sen senator rep representative mayor
chancellor king queen prince princess judge justice dr mr mrs ms ceo chief general gen lt col capt sgt officer coach
director chairman chairwoman speaker vice deputy foreign first lady former state attorney star legend
pope sir dame""".split())
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
    words = _WORD.findall(q)
    if any(w in _PERSONAL for w in words):
        return True  # "Why did she go to Russia?" names a place but leans on the conversation for "she"
    if _ABOUT_IT.search(q):
        return True  # "What did Biden say about it?": "it" is the conversation's, whoever the question names
    if entities(question):
        return False
    return any(w in _PRONOUNS for w in words) or len(content_words(question)) <= 3


def _points_back(question: str) -> bool:
    """Opens with "and/what about" or holds a pronoun: a short question without either still sets a topic."""
    q = question.strip().lower()
    return q.startswith(_OPENERS) or any(w in _PRONOUNS or w in _PERSONAL for w in _WORD.findall(q))


# A quoted title: capitalised words and the small words of titles ("Thor: Love and Thunder"), not a quotation.
_QUOTED_TITLE = re.compile(r"[“\"]([A-Z0-9][\w'’:.&-]*(?:\s+(?:[A-Z0-9][\w'’:.&-]*|and|of|the|a|an|in|on|for|to|"
                           r"with|at))*)[”\"]")


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
    user_words = {_key(w) for t in turns if t["role"] == "user" for w in _WORD.findall(t["content"])}
    # The last question that stood on its own set the topic: its words do not fade with the turns after it.
    anchor = next((i for i in range(len(turns) - 1, -1, -1)
                   if turns[i]["role"] == "user" and not _points_back(turns[i]["content"])), None)
    for age, turn in enumerate(reversed(turns)):
        text = _MARKER.sub("", turn["content"])
        user = turn["role"] == "user"
        weight = 1.0 if len(turns) - 1 - age == anchor else (1.0 if user else 0.6) * 0.8 ** age
        if user:
            names = list(entities(text))
        else:
            # An answer's names, sentence by sentence (a quoted "Thanks to ..." opens a sentence, it is not a
            # name), without its datelines ("SAN FRANCISCO —", "(CNN)"); a one-word name only when a user
            # turn used it too.
            names = [person_core(n) for sentence in split_sentences(text)
                     for n in entities(sentence[dateline_end(sentence):].lstrip("\"“‘'( "))
                     if " " in n or _key(n) in user_words]  # "Liz Truss" of "British Prime Minister Liz Truss"
            # A title the answer quotes ("the $90 million “Batgirl” film") is what "it" will stand for next.
            titles = [m.group(1) for m in _QUOTED_TITLE.finditer(text) if _key(m.group(1)) not in user_words]
            names = [*titles, *(n for n in names if n not in titles)]
        terms = [(n, weight if user or n not in titles else max(weight, 1.0 * 0.8 ** age)) for n in names]
        if user:
            in_names = {w.lower() for n in names for w in n.split()}
            # (not the words of a question about the article itself: "When was it published?")
            terms += [(w, 0.7 * weight) for w in content_words(text) if _key(w) not in in_names
                      and not ARTICLE_WORDS.intersection(tokenize(w))]
        for term, w in terms:
            term = re.sub(r"['’]s$", "", term)
            key = _key(term)
            scores[key] = scores.get(key, 0.0) + w
            first.setdefault(key, len(first))
            shown.setdefault(key, term)
    ranked = sorted(scores, key=lambda k: (-scores[k], first[k]))
    return [shown[k] for k in ranked[:limit]]


def person_core(name: str) -> str:
    """A name without the titles (and what comes before them) in front of it: "British Prime Minister Liz Truss"
    -> "Liz Truss".

    >>> person_core("WNBA star Brittney Griner"), person_core("Prime Minister")
    ('Brittney Griner', 'Prime Minister')
    """
    words = name.split()
    # The last title before the final two words ends the titles: "Secretary of State Antony Blinken".
    last = max((i for i, w in enumerate(words[:-2]) if w.lower().rstrip(".") in _TITLES), default=-1)
    return " ".join(words[last + 1:]) if last >= 0 else name


def _last_person(history: Sequence[dict[str, str]]) -> str | None:
    """The most recent two- or three-word name of the conversation that looks like a person's ("Liz Truss")."""
    for turn in reversed([t for t in history if t.get("content")]):
        text = _MARKER.sub("", turn["content"])
        names = [person_core(n) for sentence in split_sentences(text)
                 for n in entities(sentence[dateline_end(sentence):].lstrip("\"“‘'( "))]
        people = [n for n in names if 2 <= len(n.split()) <= 3 and all(w[:1].isupper() for w in n.split())
                  and not any(w.lower().rstrip(".") in _TITLES for w in n.split())
                  and not re.search(r"\b(?:Party|Union|Court|House|Council|Bank|Open|Cup|Games|Series|League|"
                                    r"University|College|Department|Ministry|States|Kingdom|Republic)\b", n)]
        if people:
            return people[0]
    return None


# "Who said that?", "Who confirmed it?": the source of what the last answer said.
_SAID_THAT = re.compile(r"^\s*(?:and\s+)?who\s+(?:said|says|confirmed|announced|reported|told|claimed|stated|wrote|"
                        r"revealed|disclosed)\s+(?:that|this|it|so)\b", re.I)


def _said_words(history: Sequence[dict[str, str]], limit: int = 5) -> list[str]:
    """The longest content words of the last answer's first sentence, in its order: what "that" stands for.

    >>> _said_words([{"role": "assistant", "content": "The city is settling lawsuits, agreeing to pay [1]."}])
    ['city', 'settling', 'lawsuits', 'agreeing']
    """
    last = next((t["content"] for t in reversed(history) if t.get("role") == "assistant" and t.get("content")), "")
    sentences = split_sentences(_MARKER.sub("", last))
    if not sentences:
        return []
    words = [w for w in content_words(sentences[0]) if len(w) > 3 or any(c.isdigit() for c in w)]
    keep = set(sorted(words, key=len, reverse=True)[:limit])
    return [w for w in dict.fromkeys(words) if w in keep]


def condense(question: str, history: Sequence[dict[str, str]] | None) -> str:
    """The standalone question: `question` unchanged unless it is a follow-up; then the conversation's topic
    words it lacks are added in parentheses (and an elliptical question takes the previous question's frame).
    """
    if not history or not is_follow_up(question):
        return question
    have = {w.lower() for w in _WORD.findall(question)}
    borrowed = [t for t in topic(history) if not all(w.lower() in have for w in _WORD.findall(t))]
    if any(w in _PERSONAL - {"they", "them", "their", "theirs"} for w in _WORD.findall(question.lower())):
        # "Who replaced her?": her name first, however far back the conversation gave it.
        person = _last_person(history)
        if person and not all(w.lower() in have for w in person.split()) and not any(
                person.lower() in t.lower() for t in borrowed):
            borrowed = [person, *borrowed]
    if _SAID_THAT.match(question) and (said := _said_words(history)):
        # "Who said that?": "that" is what the last answer said, so its words lead the search
        borrowed = [*said, *(t for t in borrowed if t.lower() not in {w.lower() for w in said})]
    base = question
    if not _WH.search(question):
        last = next((t["content"] for t in reversed(history) if t.get("role") == "user" and t.get("content")), "")
        frame = _WH_FRAME.match(last)
        fragment = re.sub(r"^\s*(?:and|but|also|so|then|what about|how about)\b[\s,]*", "", question,
                          flags=re.I).rstrip(" ?")
        prep = re.match(r"(in|on|at|for|from|of|to|by|with|during|after|before)\s", fragment, re.I)
        swap = re.search(rf"\b{prep.group(1)}\s[^,;?.!]*", last, re.I) if prep and frame else None
        if swap:
            # "And in Canada?" after "How much did Netflix raise prices in the US?" asks the same of Canada.
            base = f"{last[:swap.start()]}{fragment}{last[swap.end():]}".rstrip()
            base = base if base.endswith("?") else f"{base}?"
        elif frame:
            base = f"{frame.group(1)[0].upper()}{frame.group(1)[1:]} {fragment}?"
    return f"{base} ({' '.join(borrowed)})" if borrowed else base
