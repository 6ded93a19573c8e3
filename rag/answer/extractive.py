"""The extractive answerer: decides what the question asks for, then picks the sentence(s) of the retrieved
articles that supply exactly that, and cites each one. It needs no LLM and no network, and it never writes a
word the articles did not (metadata answers quote the catalog's fields).

Candidate sentences come from the retrieved chunks and the sentences just around them in the article (the
answer is often one sentence past the chunk's end); each is scored on the question's terms (IDF weighted), on
holding the kind of thing asked for (a name, a date, a number with its unit), on naming the question's
entities and on its passage's rank; MiniLM similarity to the question can break ties between close candidates
(`semantic_top`, off by default, see the class).

A sentence is only given when its context carries every entity, year, date and figure the question names (see
`rag.answer.evidence`); otherwise the answer is a refusal that says what the articles have instead. Factoid
questions get one sentence (or two of the same article that both hold the slot); why/how/what-happened
questions up to three of the same article; summaries the article's central sentences in article order
(`rag.answer.summary`).

>>> from rag.types import Passage
>>> p = Passage(chunk_id="c", article_id="a", text="Talks resumed. The bridge will be 100 meters long.",
...             start=0, end=51, title="Bridge", score=0.8)
>>> ExtractiveAnswerer().draft("How long will the bridge be?", [p]).text
'The bridge will be 100 meters long [1].'
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

import numpy as np

from rag.answer import evidence, summary
from rag.answer.metadata import metadata_answer
from rag.answer.question import (
    _NOT_NAMES,
    _PLACE_NOUNS,
    _PRISON_TERM,
    FOR_A_LIVING,
    SUPERLATIVE,
    YEAR,
    Question,
    analyze,
    topic_terms,
)
from rag.store.bm25 import tokenize
from rag.text.dates import DateWindow, resolve
from rag.text.markers import cite, strip_markers
from rag.text.sentences import dateline_end, sentence_spans, split_sentences
from rag.text.words import MONTH_PATTERN, QUERY_STOPWORDS, WEEKDAYS
from rag.types import Citation, Passage
from rag.verify.facts import _ALIASES, _DEMONYM_END, ALIAS_PLACES
from rag.verify.injection import is_instruction_like

_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter)\b", re.I)
# A figure glued to letters is a name ("Wrangler 4xe", "5G", "3D"), unless they are its unit or ordinal ("5km",
# "10th", "1960s", "$2bn").
_FIGURE = re.compile(r"(?<![A-Za-z\d.,])\d[\d,.]*(?:(?![A-Za-z])|(?=(?:st|nd|rd|th|s|k|m|bn|mn|b|km|cm|mm|kg|lbs?|"
                     r"ft|mph|kph|pm|am|gb|mb|tb|hz|kw|kwh|mw|gw)\b))", re.I)
_MONTHS = f"({MONTH_PATTERN})"
_DATE = re.compile(rf"\b{_MONTHS}\b|\b(1[89]|20)\d\d\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
                   r"yesterday|today|tomorrow|last (week|month|year)|next (week|month|year)|this (week|month|year)|"
                   r"(early|mid|late)[- ](\d{4}|\w+ \d{4}))\b", re.I)
_NAME = re.compile(r"\b[A-Z][a-z]+(?:[\s-]+(?:de |van |von |bin |al-)?[A-Z][a-z]+)+")
_OPENER = re.compile(r"^(?:The|A|An|In|On|At|But|And|After|Before|When|While|This|That|These|Those|His|Her|Its|"
                     r"Their|Our|It|As|If|For|From|With|Since|So|Then|Now|Last|Next|New|Former|Both|Some|Many|"
                     r"Most|Every|Each|Another|Other|Such|Despite|During|Under|Over|By|To|Of|Why|How|What|Who|"
                     r"Where|Which|According)\s+")
_PRONOUN_START = re.compile(r"^(?:He|She|They|It|His|Her|Their|Its)\b")
_CAUSAL = re.compile(r"\b(because|due to|as a result|so that|reasons?|caused|causing|amid|blamed|led to|prompted|"
                     r"triggered|thanks to|owing to|driven by|fueled by|fuelled by|to fight|to tackle|aimed at|"
                     r"part of a plan|in an effort|seeking to|over fears?|concerns? (?:about|over|that)|stemmed|"
                     r"stems from|the result of|in response to|aims? to|in order to|designed to|intended to|"
                     r"so as to|the goal|the purpose|to see if|to test whether|on the grounds|for fear|in protest|"
                     # a purpose: "called for a moratorium on boosters to allow vaccine access to countries ..."
                     r"to (?:allow|let|ensure|protect|prevent|avoid|reduce|give|free up)|"
                     # "officials seized the toys on Tuesday, saying the items promote ..."
                     r", (?:saying|citing|arguing|claiming|insisting)|"
                     # "The move comes after the state's first fatal shark attack"; "died ... from complications"
                     r"(?:comes?|came) (?:\w+ )?(?:after|amid|as)|died (?:\w+ ){0,3}?(?:of|from)|cause of death|"
                     # "announced her resignation after running a campaign on ill-advised tax cuts"
                     r"(?:resign\w*|quit|stepp\w+ down|fired|ousted|arrested|charged|banned|suspended|recalled|"
                     r"closed|cancell?ed|withdr[ae]w\w*|sued|fined) (?:\w+ ){0,6}?after)\b", re.I)
_BOILERPLATE = re.compile(r"^(editor['’]s note|read more|sign up|subscribe|follow .* on (twitter|instagram|facebook)|"
                          r"click here|contributing:|related:|photos?:|video:|►)|"
                          r"\b(newsletter|all rights reserved|cookie|"
                          r"to your inbox|up to speed and on with your day|morning fix|hide caption|just watched|"
                          r"photos:? \d+ of \d+)\b|^(?:this|the|a|an) (?:illustration|image|photo|photograph|"
                          r"picture|video|graphic|file photo|screenshot|screen grab) (?:shows|depicts|taken)\b", re.I)

# A link to another story under a label glued to its colon: "LAWSUIT:Parents sue ...", "MORE: ...",
# "Musk-Twitter battle:Elon Musk unloads ..." (prose puts a space after a colon).
_LINK_LABEL = re.compile(r"['‘’\"“]?(?:[A-Z]{2,}[ '’&-]?){1,6}:(?=[A-Z“\"])|"
                         r"(?i:more|related|watch|listen|see also|also read|"
                         r"read also|opinion|analysis|explainer|live updates)\s*:|"
                         r"['‘’\"“]?[A-Za-z][\w'’&-]*(?: [\w'’&-]+){0,6}['’\"”]?:(?=[A-Z“\"‘'])")

_LEAD_CHARS = 600  # an article's opening sentences
_MARGIN = 1500  # characters read on either side of the retrieved chunks of an article
# The best-retrieved article is read whole when no longer than this: the sentence that answers may lie in a chunk
# that ranked below the article's others ("A controversial piece of legislation passed the California Senate
# late Tuesday" opens an article whose other chunks say "AB 5"), and retrieval keeps two chunks an article.
_WHOLE_CHARS = 20000
# What the extractive answer says when the passages do not answer (a refusal names what was missing instead
# when it can).
REFUSAL = "The articles don't say: nothing in the store answers this question."
# How well a sentence must hold the asked-for slot: a name for who/which organisation/where, a date for when,
# a figure not already in the question for how many/much.
_SLOT_MATCH = {"person": 0.8, "organisation": 0.8, "place": 0.8, "date": 0.6, "number": 0.6}
_SLOT_WORDS = {"person": "a person's name", "organisation": "an organisation's name", "place": "a place name",
               "date": "a date", "number": "the figure asked for"}
_UNITS = {
    "long": r"(meters?|metres?|km|kilomet(er|re)s?|miles?|feet|foot|ft|inch(es)?|cm|mm|yards?|years?|months?|weeks?|"
            r"days?|hours?|minutes?|seconds?|decades?|centuries|century)",
    "wide": r"(meters?|metres?|km|kilomet(er|re)s?|miles?|feet|foot|ft|inch(es)?|cm|mm|yards?|lanes?)",
    "tall": r"(meters?|metres?|feet|foot|ft|inch(es)?|cm|stor(e)?(y|ies)|floors?)",
    "high": r"(meters?|metres?|feet|foot|ft|inch(es)?|cm|stor(e)?(y|ies)|floors?|per ?cent|%)",
    "far": r"(meters?|metres?|km|kilomet(er|re)s?|miles?|feet|light[- ]years?)",
    "deep": r"(meters?|metres?|feet|foot|ft|km|kilomet(er|re)s?|miles?)",
    "heavy": r"(kg|kilo(gram)?s?|grams?|tons?|tonnes?|pounds?|lbs?|ounces?)",
    "big": r"(square|sq|hectares?|acres?|meters?|metres?|km|miles?|feet|people|seats?)",
    "large": r"(square|sq|hectares?|acres?|meters?|metres?|km|miles?|feet|people|seats?)",
    "old": r"(years?[- ]old|years? of age|-year-old)",
    "fast": r"(mph|km/h|kph|miles per hour|knots|per (hour|second))",
    # a wind's speed, a quake's magnitude, a storm's category
    "strong": r"(mph|km/h|kph|miles per hour|knots|magnitude|category)",
    "powerful": r"(mph|km/h|kph|miles per hour|knots|magnitude|category|horsepower|hp|megawatts?|mw|kilowatts?|kw)",
    "hot": r"(degrees?|°\s*[cf]?|fahrenheit|celsius)",
    "cold": r"(degrees?|°\s*[cf]?|fahrenheit|celsius)",
    "warm": r"(degrees?|°\s*[cf]?|fahrenheit|celsius)",
    "often": r"(times|daily|weekly|monthly|annually|a (day|week|month|year)|per (day|week|month|year))",
    "much": r"(\$|£|€|dollars?|cents?|(?<!-)pounds?|euros?|yuan|yen|rupees?|million|billion|trillion|per ?cent|%|"
            r"tons?|tonnes?)",
}
_HOW = re.compile(r"\bhow (many|much|long|wide|tall|high|far|big|large|old|deep|heavy|often|fast|strong|powerful|"
                  r"hot|cold|warm)\b\s*([\w.]+)?"
                  r"(?:\s+(\w+))?", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTHS}\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{_MONTHS}\b", re.I)
_YEAR = re.compile(r"\b(1[89]|20)\d\d\b")
_SCORE = re.compile(r"(?<![\d.,-])\d{1,3}\s?[-–]\s?\d{1,3}(?![\d.,-])")  # a result: "4-0", "3-6, 6-2"


def _has_currency(sentence: str) -> bool:
    """Does the sentence give a sum of money? Pounds are a weight in a sentence that weighs something ("a pumpkin
    that weighed 2,554 pounds", "a 2,560-pound pumpkin").

    >>> _has_currency("It sold for £5m."), _has_currency("A pumpkin that weighed 2,554 pounds.")
    (True, False)
    """
    if re.search(r"[$£€¥]|\b(?:dollars?|euros?|yuan|yen|rupees?|pesos?|cents?)\b", sentence, re.I):
        return True
    return bool(re.search(r"(?<!-)\bpounds?\b", sentence, re.I)) and not re.search(r"\bweigh\w*|-pound\b", sentence,
                                                                                 re.I)


def _number_match(sentence: str, question: str, asked: str | None = None) -> float:
    """How well the sentence holds the quantity a "how many/much/long ..." question asks for:
    1.0 a figure with the asked-for unit or counted noun ("239 people", "100 meters long"), 0.6 a figure,
    0.3 a number word only, 0.0 nothing. The question's own figures do not count. `asked` is the unit word when
    the question has no "how X" ("much" for "what is the price ...").
    """
    q_figs = set(_figures(question))
    figs = [f for f in _figures(sentence) if f not in q_figs]
    for f in q_figs:  # "$5" of "fell below $5" is not an answer to it
        sentence = re.sub(rf"(?<![\d.,]){re.escape(f)}(?![\d,]|\.\d)", " ", sentence)
    m = _HOW.search(question)
    counts: frozenset[str] = frozenset()  # the words after "how many", when it counts a noun ("drivers")
    unit = _UNITS.get(asked) if asked and not m else None
    if asked and not m and unit is None and (noun := tokenize(asked)):  # a counted noun ("three-pointers")
        unit = rf"({re.escape(noun[-1])}\w*)"
    if m:
        word = m.group(1).lower()
        if word == "many" and m.group(2):
            # The counted noun: "how many US subscribers" counts subscribers, not the US.
            counted = m.group(3) if m.group(2)[:1].isupper() and m.group(3) else m.group(2)
            noun = tokenize(counted)
            unit = rf"({re.escape(noun[0])}\w*)" if noun else None
            counts = frozenset(tokenize(" ".join(question[m.start(2):].split()[:4]))) if noun else frozenset()
            if noun and noun[0] in _PEOPLE:
                unit = rf"({re.escape(noun[0])}\w*|people|persons|individuals)"
        else:
            unit = _UNITS.get(word)
    if (m.group(1).lower() if m else asked) == "old" and re.search(r"\b(?:aged|ages? of)\s+\d+", sentence):
        return 1.0  # "aged 91", "at the ages of 12 and 16"
    if m and m.group(1).lower() in ("big", "large", "tall", "long", "wide", "heavy") and re.search(
            r"\b(?:the )?(?:size|length|height|width|weight) of (?:a|an|the|two|three|\d)\b", sentence, re.I):
        return 0.8  # "about the size of a school bus" answers "how big"
    number = r"(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens|hundreds|" \
             r"thousands|millions|an? (?=(?:hundred|thousand|million|billion)\b))"  # "a million miles"
    money = (m.group(1).lower() if m else asked) in ("much", "high")
    if figs and money and re.search(r"\b(?:cost|costs|price|prices|priced|pay|paid|charge|charges|fee|fine|fined|"
                                    r"spend|spent|worth|profits?|revenues?|earnings|income|losses|sales|budget|"
                                    r"salary|wages?|donat\w+|raised|invest\w*|money|prize|reward|rent|fare|"
                                    r"tuition|bonus|payout)\b", question, re.I) and not _has_currency(
                                        sentence) and not (
            re.search(r"\d\s*%|\bper ?cent\b", sentence, re.I) and _CHANGE.search(question)):
        return 0.3  # "about 40 countries", "79 million subscribers" are no price (a rise of 9.1% is a change in one)
    if figs and money and _ASKS_CHANGE.search(question) and not _CHANGE_FIGURE.search(sentence):
        return 0.6  # "how much have prices increased?": "fell below the $5 mark" gives a level, not the change
    if unit and re.search(rf"{number}(\s*(million|billion|thousand|hundred))?[\s-]+(\w+[\s-]+){{0,2}}{unit}\b"
                          + (rf"|\${number}|{number}\s*%" if money else ""), sentence, re.I):
        if figs and money and _other_money(sentence, question):
            return 0.7  # "a net worth of $11 billion" is no price paid
        if figs or not unit:
            return 1.0
        return 0.8  # a number word with the right unit ("six months")
    if figs and counts and _counted_event(question) is None and \
            all(_counts_other(sentence, f, counts) for f in figs):
        # "more than 50 industries" does not count the drivers asked about (a death toll's words have their own
        # list: "12 bodies")
        return 0.4
    if figs and m and unit and (m.group(1).lower() in _UNIT_ASKED or (
            m.group(1).lower() == "many" and _MEASURE_UNIT.match(m.group(2) or ""))):
        # "How many miles of range?": a figure of no miles ("the Ram 1500 pickup") is no distance; "How fast
        # will it go?": "21 contingency plans" is no speed
        return 0.3
    if figs:
        return 0.6
    return 0.3 if _NUMBER.search(sentence) else 0.0


# "How fast / far / tall ...?" asks for a measure in its units; a figure in none of them is no answer.
_UNIT_ASKED = frozenset("fast far tall heavy hot cold warm deep wide long".split())
# Units of measure a "how many X" question counts: a figure without one gives no such measure.
_MEASURE_UNIT = re.compile(r"(?:miles?|kilomet(?:er|re)s?|km|meters?|metres?|feet|foot|inch(?:es)?|yards?|acres?|"
                           r"hectares?|pounds?|kilo(?:gram)?s?|kg|tons?|tonnes?|ounces?|gallons?|lit(?:er|re)s?|"
                           r"degrees?|calories|watts?|kilowatts?|megawatts?|gigawatts?|volts?|hours?|minutes?|"
                           r"seconds?|days?|weeks?|months?|years?|decades?)$", re.I)


_PRICE_ASKED = re.compile(r"\b(?:price|pay|pays|paid|paying|cost|costs|buy|bought|sell|sold|purchas\w*|spend|"
                          r"spent|deal)\b", re.I)
_MONEY_MENTION = re.compile(r"[$£€]\s?\d[\d,.]*(?:\s*(?:million|billion|trillion|[mb]n?)\b)?")
_MONEY_NOUN = re.compile(r"\b(net worth|worth|revenues?|sales|profits?|salary|salaries|budget|income|earnings|"
                         r"valuation|valued at|fortune|assets|wealth|debt|losses)\b", re.I)


def _other_money(sentence: str, question: str) -> bool:
    """Is every sum of money in `sentence` a measure of another kind than the price a question about a purchase
    asks for? "Tepper ... with a reported net worth of $11 billion" for "What price did Tepper pay?", unlike
    "Tepper's $2.2 billion purchase".

    >>> _other_money("He has a net worth of $11 billion.", "What price did he pay for the team?")
    True
    >>> _other_money("The NFL approved his $2.2 billion purchase.", "What price did he pay for the team?")
    False
    """
    if not _PRICE_ASKED.search(question):
        return False
    asked = {m.group(1).lower() for m in _MONEY_NOUN.finditer(question)}
    mentions = list(_MONEY_MENTION.finditer(sentence))
    return bool(mentions) and all(
        (noun := _MONEY_NOUN.search(sentence[max(0, m.start() - 30):m.start()] + " " +
                                    sentence[m.end():m.end() + 20])) is not None and noun.group(1).lower() not in asked
        for m in mentions)


def _counts_other(sentence: str, figure: str, asked: frozenset[str]) -> bool:
    """Does every mention of `figure` in `sentence` count a plural noun that none of the `asked` words (the
    stems after the question's "how many") name? "50 industries" for "how many Uber drivers"; not "10,000
    monkeypox cases" for "how many positive monkeypox cases".
    """
    found = list(re.finditer(rf"(?<![\d.,]){re.escape(figure)}(?:\s+(?:million|billion|thousand|hundred))?"
                             rf"\s+((?:[a-z][\w-]*\s+)?[a-z][\w-]*s)\b", sentence))
    mentions = re.findall(rf"(?<![\d.,]){re.escape(figure)}(?![\d,]|\.\d)", sentence)
    return bool(found) and len(found) == len(mentions) and not any(set(tokenize(m.group(1))) & asked for m in found)


# A figure that is a change: "up nearly 60%", "rose by $1.20", "86 cents lower", "doubled".
_CHANGE_FIGURE = re.compile(r"\d\s*%|\bper ?cent\b|\b(?:by|up|down|more than doubled)\s+(?:about |nearly |almost |"
                            r"roughly |more than |over )?[$£€]?\d|\b(?:doubl|tripl|halv)\w*|\d+\s*cents\b", re.I)
_ASKS_CHANGE = re.compile(r"\bhow much\b[^?.]*?\b(?:(?:increas|ris|rose|rais|fell|fall|drop|jump|grow|grew|climb|surg|"
                          r"declin|cut|soar|plung|slump)\w*|(?:go|goes|gone|went|gone)\s+(?:up|down))", re.I)
_CHANGE = re.compile(r"\b(?:increas|ris|rose|raise|fell|fall|drop|jump|grow|grew|climb|surg|declin|cut)\w*", re.I)


@lru_cache(maxsize=64)
def _entity_stems(entities: tuple[str, ...]) -> frozenset[str]:
    """The stems of the words of a question's names (Question.entities), worked out once per question."""
    return frozenset(t for e in entities for t in tokenize(e))


@lru_cache(maxsize=64)
def _question_names(question: str) -> tuple[str, ...]:
    """The names a question gives (analyze(question).entities), read once per question for the sentences."""
    return analyze(question).entities


def _aliased(name: str, question: str) -> bool:
    """Is `name` another name of one the question gives ("United States" for "US")?"""
    key = " ".join(evidence.entity_tokens(name))
    return (key in evidence.ALIAS_KEYS or key.removesuffix("s") in evidence.ALIAS_KEYS) and \
        any(evidence.mentions(e, name) for e in _question_names(question))


@lru_cache(maxsize=64)
def _name_words(question: str) -> frozenset[str]:
    """The lower-case words of the names a question gives ("pelosi" of "Paul Pelosi")."""
    return frozenset(w for e in _question_names(question) for w in re.findall(r"[\w'’]+", e.lower()) if len(w) > 2)


def _type_match(kind: str, sentence: str, question: str, unit: str | None = None) -> float:
    """1.0 when the sentence holds the kind of thing asked for (and not only the question's own words)."""
    if kind == "number":
        return _number_match(sentence, question, unit)
    if kind == "date":
        q_dates = {m.group(0).lower() for m in _DATE.finditer(question)}
        found = [m.group(0) for m in _DATE.finditer(sentence) if m.group(0).lower() not in q_dates]
        if not found:
            return 0.0
        # A calendar date or a year answers "when" better than a month alone, and that better than "Thursday".
        if _MONTH_DAY.search(sentence) or any(_YEAR.fullmatch(f) for f in found):
            return 1.0
        return 0.8 if any(re.fullmatch(_MONTHS, f, re.I) for f in found) else 0.6
    if kind in ("person", "place", "organisation", "thing"):
        q_lower = question.lower()
        q_names = _name_words(question)  # a name the question gives ("Paul Pelosi") is not the one it asks for
        # An opener is dropped only where it opens the sentence: "The Hague" but "in New Mexico".
        spotted = [(_OPENER.sub("", m.group(0)) if m.start() == 0 else m.group(0), m.start(), m.end())
                   for m in _NAME.finditer(sentence)]
        # ("the United States" is the question's "US": "Where in the US ...?" is not answered by it)
        aliased_names = {n for n, _, _ in spotted if _aliased(n, question)}
        aliased = {w for n in aliased_names for w in n.split()}
        spotted = [(n, lo, hi) for n, lo, hi in spotted if " " in n.replace("-", " ") and n.lower() not in q_lower
                   and not any(w in q_names for w in re.findall(r"[\w'’]+", n.lower())) and n not in aliased_names]
        names = [n for n, _, _ in spotted]
        # (not a word opening the sentence or a quotation: "“Thanks to ...,” she said" names no one)
        caps = [w for w in re.findall(r"(?<!^)(?<![.!?]\s)(?<![“\"‘(])\b(?:[A-Z][a-z]{2,}|[A-Z]{2,}|"
                                      r"[A-Z][a-z]*\.[a-z]+)", sentence)
                if w.lower() not in q_lower and w.lower() not in _NOT_NAMES  # nor "Monday", "September"
                and w not in aliased and not _aliased(w, question)]  # ("Americans")
        if kind == "thing":  # "which show ...": a name, a quoted title, a code ("BA.5") or a figure will do
            quoted = re.search(r"[“\"'‘][^”\"'’]{2,60}[”\"'’]", sentence)
            named = re.search(r"\b(?:called|named|dubbed|known as|titled)\s+[“\"‘]?[A-Z]", sentence)
            coded = any(c.lower() not in q_lower for c in _CODE.findall(sentence))
            return 1.0 if names or quoted or named or coded else 0.6 if caps or _figures(sentence) else 0.0
        if kind == "person":  # "the Aras Corridor", "the Non-Aligned Movement", "a New York man" name no one
            names = [n for n, lo, hi in spotted if not _NOT_A_PERSON.search(n)
                     and not _PLACED_BEFORE.search(sentence, 0, lo) and not _PLACED_AFTER.match(sentence, hi)]
        return 1.0 if names else 0.8 if caps and kind != "person" else 0.5 if caps else 0.0
    return 0.0




def _off_time(passages: Sequence[Passage], windows: Sequence[DateWindow]) -> set[int]:
    """Indexes of the passages dated well outside the days the question points at ("this week"), when some
    other passage is dated inside them; empty when the question names no time or nothing is inside.
    """
    if not windows:
        return set()
    outside = set()
    for i, p in enumerate(passages):
        if not p.published:
            continue
        try:
            day = _dt.date.fromisoformat(p.published[:10])
        except ValueError:
            continue
        if min(w.distance(day) - (3 if w.explicit else 10) for w in windows) > 0:
            outside.add(i)
    inside = any(p.published and i not in outside for i, p in enumerate(passages))
    return outside if inside else set()


def _echo(terms: frozenset[str], wanted: set[str], weights: dict[str, float]) -> bool:
    """The sentence's words are (nearly) all the question's: it restates what was asked."""
    if not terms:
        return False
    new = sum(weights.get(t, 0.0) for t in terms if t not in wanted)
    return new < 0.2 * (sum(weights.get(t, 0.0) for t in terms) or 1.0)


_ROLE_QUALIFIERS = frozenset("""the a an former then new acting vice deputy foreign prime defense defence finance
interior health education justice chief executive first senior junior assistant interim incoming outgoing
state federal general attorney""".split())


def _role_holder(sentence: str, q: Question) -> bool | None:
    """For "Who is the president of Azerbaijan?": True when the sentence names the role for the question's
    place or body ("Azerbaijani President Ilham Aliyev"), False when only for another ("Turkish President"),
    None when it names the role without saying whose.
    """
    found = None
    for role in q.roles:
        for m in re.finditer(rf"\b((?:[A-Z][\w'’.-]*\s+){{1,3}})(?i:{re.escape(role)})s?\b", sentence):
            words = [w for w in m.group(1).split() if w.lower() not in _ROLE_QUALIFIERS]
            modifier = " ".join(words)
            if not modifier or modifier.lower() == role:
                continue  # "Foreign Minister", "Prime Minister" say which post, not whose
            if any(evidence.mentions(t, modifier) for e in q.entities for t in evidence.entity_tokens(e)):
                return True  # "Azerbaijani President", "Dartmouth President" (of Dartmouth College)
            found = False
    return found


def _subheading(text: str) -> bool:
    """A short line without a full stop ("How the edit button will work"), or a short question ("Where is it
    going?").
    """
    stripped = text.strip()
    return len(stripped) < 90 and (stripped.endswith("?") or not re.search(r"[.!\"”’')\]]$", stripped))


def _share(text: str, wanted: set[str], weights: dict[str, float], total: float) -> float:
    """Share of the question's term weight that `text` holds."""
    return sum(weights.get(t, 0.0) for t in set(tokenize(text)) & wanted) / (total or 1.0)


def _located(sentence: str, names: Sequence[str]) -> bool:
    """One of the question's names is placed in a named place: "the Great Pumpkin Farm in Clarence"."""
    return any(re.search(rf"{re.escape(n)}\W+(?:[\w'’-]+\s+){{0,3}}?(?:in|at|near|outside|of)\s+(?:the\s+)?[A-Z]",
                         sentence) for n in names if len(n) > 2)


def _surname(sentence: str, question: str, surnames: frozenset[str]) -> bool:
    """The sentence names someone by the surname of a full name its article gives, and the question does not."""
    q = question.lower()
    for m in re.finditer(r"(?<!^)\b[A-Z][a-z]{2,}\b", sentence):
        before = sentence[:m.start()].split()
        alone = not before or not before[-1][:1].isupper()  # "Sunak said", not the end of "New York"
        if alone and m.group(0) in surnames and m.group(0).lower() not in q:
            return True
    return False


def outlet_key(source: str | None) -> str:
    """The letters of an outlet's name as its domain spells them: "cnn.com" -> "cnn", "theweek.co.uk" -> "theweek"."""
    if not source:
        return ""
    labels = [x for x in source.lower().split(".") if x not in ("www", "com", "co", "uk", "org", "net", "news")]
    return labels[-1] if labels else ""


# The speaker named after a quotation: '"...," Gary Best, state park regional manager, told the Times Record.'
_SPEAKER_TAIL = re.compile(r"[,.!?]?\s*[”\"]\s*,?\s+(?:said\s+|says\s+|added\s+|told\s+\w+\s+)?"
                           r"[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}\b.*$")
_SPEECH_ASKED = re.compile(r"\b(?:said|say|says|told|tell|spoke|speak|spokes\w+|quoted|wrote|write|announc\w*|"
                           r"stated|comment\w*)\b", re.I)


def _without_speaker(sentence: str, q: Question) -> str:
    """The sentence without the speaker it names after a quotation, when the question asks neither who said
    something nor about the speaker's post: "Gary Best, state park regional manager ..." is no answer to "What was
    the name of the woman killed by a shark?".

    >>> q = analyze("What was the name of the woman killed by a shark?")
    >>> _without_speaker('"The tragedy raised awareness," Gary Best, a park manager, told the Times Record.', q)
    '"The tragedy raised awareness'
    """
    m = _SPEAKER_TAIL.search(sentence)
    if m is None or _SPEECH_ASKED.search(q.text):
        return sentence
    asked = _stems_of(q.text) - _entity_stems(q.entities)
    if asked & frozenset(tokenize(m.group(0))) - frozenset(tokenize(sentence[:m.start()])):
        # "Who is the state park regional manager?": the speaker's post is what it asks (a word the quotation
        # shares with the question, "sharks", is only its topic)
        return sentence
    return sentence[:m.start()]


def _without_outlet(sentence: str, key: str) -> str:
    """The sentence without the name of the outlet that published it ("CNN projects", "told USA TODAY"): who
    reports is never who, or where, the question asks about.
    """
    if not key or key[:3] not in sentence.lower().replace(" ", ""):
        return sentence
    out = sentence
    for m in reversed(list(re.finditer(r"\b[A-Z][\w'’&.-]*(?:\s+[A-Z][\w'’&.-]*)*", sentence))):
        words, letters = m.group(0).split(), ""
        for k, w in enumerate(words):
            letters += re.sub(r"[^a-z]", "", w.lower())
            if letters == key:
                out = out[:m.start()] + " ".join(words[k + 1:]) + out[m.end():]
                break
            if not key.startswith(letters):
                break
    return out


_MID_NAME = re.compile(r"(?<=[a-z,;] )([A-Z][a-z]{2,})\b")
# A name standing first in its sentence ("Maryland voters approved ..."), where any word is capitalised.
_FIRST_NAME = re.compile(r"^[“\"‘]?([A-Z][a-z]{2,})\b(?!['’]\w)")


def _opening_name(sentence: str, names: frozenset[str], question: str) -> bool:
    """The sentence opens with a word its article also capitalises mid-sentence ("... in Arkansas, Maryland,
    Missouri"), so a name, not merely the capital of a sentence's first word; and the question lacks it.
    """
    m = _FIRST_NAME.match(sentence)
    word = m.group(1).lower() if m else ""
    return bool(word) and word in names and word not in question.lower() and word not in _NOT_NAMES and \
        not _OPENER.match(sentence)


def _corroborated(q: Question, cands: list[Candidate], passages: Sequence[Passage], top: int = 20) -> list[Candidate]:
    """For a how-many/how-much question: a figure that other articles among the best candidates give too
    ("187 minutes" in three articles, "20 minutes" in one) is more likely the answer; its sentences gain a little.
    """
    if q.kind != "number" or q.present or len(cands) < 2:
        return cands  # (for "the latest price", a figure repeated by older articles is the superseded one)
    asked = set(_figures(q.text))
    figures = [set(_figures(c.text)) - asked if c.match >= 0.6 else set() for c in cands[:top]]
    boosted = []
    for i, c in enumerate(cands[:top]):
        article = passages[c.passage_index].article_id
        others = {passages[d.passage_index].article_id for d, f in zip(cands[:top], figures, strict=True)
                  if f & figures[i] and passages[d.passage_index].article_id != article}
        boosted.append(replace(c, score=c.score + 0.04 * min(2, len(others))) if others else c)
    out = boosted + cands[top:]
    out.sort(key=lambda c: (-c.score, c.passage_index, c.start))
    return out


def _full_name_before(best: Candidate, art: _Article) -> Candidate | None:
    """For an answer naming someone by surname alone: the first sentence of the ten before it in its article that
    gives the full name ("... it might be all over for Rishi Sunak.").
    """
    if best.match != 0.9:  # the surname rule's match (`_surname`)
        return None
    # Surnames standing alone, not places ("in Charlotte").
    names = [n for n in art.surnames if re.search(rf"(?<!\bin )(?<!\bat )(?<!\bof )(?<!\bto )(?<!\bfrom )"
                                                  rf"(?<!\bnear )\b{re.escape(n)}\b", best.text)
             and not re.search(rf"[A-Z][\w'’.-]+ {re.escape(n)}\b", best.text)]

    def in_full(text: str) -> bool:
        return any(m.group(1).lower() not in _NOT_NAMES
                   for n in names for m in re.finditer(rf"\b([A-Z][\w'’.-]+) {re.escape(n)}\b", text))

    for order in range(max(0, best.order - 10), min(best.order, len(art.spans))):
        found = _span_candidate(best, art, order)
        if found is not None and in_full(found.text):
            return found
    return None


def _discussed(passages: Sequence[Passage], articles: dict[str, _Article],
               history: Sequence[dict[str, str]] | None) -> frozenset[str]:
    """The retrieved articles that hold a sentence of the conversation's last answer (the article a follow-up
    such as "When might they ask the FDA to approve it?" is about).
    """
    quoted: list[str] = []
    for turn in reversed(history or ()):  # the last answer that quoted anything (a refusal quotes nothing)
        if turn.get("role") == "assistant":
            said = split_sentences(strip_markers(turn.get("content", "")))
            sentences = [re.sub(r"\s+", " ", s).strip() for s in said]
            quoted = [s.rstrip(".") for s in sentences if len(s) >= 40 and not s.startswith("The articles don't say")]
            if quoted:
                break
    if not quoted:
        return frozenset()
    texts: dict[str, str] = {}
    for p in passages:  # (each article once: several of its chunks are often retrieved)
        art = articles.get(p.article_id)
        texts.setdefault(p.article_id, art.text if art is not None else p.text)
    return frozenset(aid for aid, text in texts.items()
                     if any(s in re.sub(r"\s+", " ", text) for s in quoted))


def _fillers(q: Question, sentence: str) -> set[str]:
    """What a sentence offers for a factoid's slot: its figures for a number, its dates for a date, its names
    (that the question lacks) for a person, place or body.
    """
    if q.kind == "number":
        return set(_figures(sentence)) - set(_figures(q.text))
    if q.kind == "date":
        return {m.group(0).lower() for m in _DATE.finditer(sentence)} - {m.group(0).lower() for m in
                                                                          _DATE.finditer(q.text)}
    q_lower = q.text.lower()
    return {m.group(0) for m in re.finditer(r"\b[A-Z][\w'’.-]+(?:\s+[A-Z][\w'’.-]+)*", sentence)
            if m.group(0).lower() not in q_lower and m.group(0).lower() not in _NOT_NAMES and m.start() > 0}


def _span_candidate(best: Candidate, art: _Article, order: int) -> Candidate | None:
    """The article's sentence at `order`, as a candidate that comes with `best` (None when it is no sentence to
    quote: boilerplate, a caption).
    """
    lo, hi = art.spans[order]
    lo, text = without_dateline(lo, art.text[lo:hi])
    if not _usable(text):
        return None
    return Candidate(best.passage_index, lo, hi, text, best.coverage, best.score, frozenset(), 1.0, False, order)


def _country_of(demonym: str, name: str) -> bool:
    """Is `name` the country (or region) that `demonym` is the adjective of: "Chinese" of China, "French" of
    France, "Texan" of Texas?
    """
    d, n = demonym.lower(), name.lower()
    if d == n:
        return False
    if d in _ALIASES:
        return n in _ALIASES[d] and n in ALIAS_PLACES
    common = next((k for k, (a, b) in enumerate(zip(d, n, strict=False)) if a != b), min(len(d), len(n)))
    return len(n) >= 4 and len(d) > len(n) - 1 and common >= max(4, 0.6 * len(n)) and len(d) - common <= 4 and \
        bool(_DEMONYM_END.search(d))


# What a name is, said right after it, when that is no place: "in the Nouvelle Vague, the filmmaking movement".
_NOT_A_PLACE = re.compile(r"(?:\s+[A-Z][\w'’.-]+)*,\s+(?:the|a|an)\s+(?!(?:[\w-]+\s+){0,3}?" + _PLACE_NOUNS +
                          r"\b)(?:[\w-]+\s+){0,3}?[a-z][\w-]+\b(?:,|\s+(?:that|which|who|of|for)\b)")
_LOCATIVE = re.compile(r"\b(?:in|at|near|from|outside|inside|across|of|to)\s+(?:the\s+)?([A-Z][\w'’.-]+)")


def _country_sentence(best: Candidate, art: _Article, question: str) -> Candidate | None:
    """For a where-question answered by a sentence that gives the place only by its adjective ("one billion
    Chinese citizens"): the nearest sentence of the article (of those read) that names the place itself ("China
    is home to 1.4 billion people").
    """
    q_lower = question.lower()
    demonyms = [w for w in re.findall(r"(?<![\w'’])[A-Z][a-z]{3,}\b", best.text.replace("-", " "))
                if w.lower() not in q_lower and w.lower() not in ALIAS_PLACES and
                (w.lower() in _ALIASES or _DEMONYM_END.search(w.lower()))]
    if not demonyms:
        return None
    named = [m.group(1) for m in _LOCATIVE.finditer(best.text) if m.group(1).lower() not in q_lower
             and m.group(1).lower() not in _NOT_NAMES and not _NOT_A_PLACE.match(best.text, m.end())]
    caps = set(re.findall(r"\b[A-Z][a-z]{2,}\b", best.text))
    if any(not any(_country_of(d, n) for d in demonyms) for n in named) or \
            any(_country_of(d, c) for d in demonyms for c in caps):
        return None  # it names a place ("in the Ukrainian city of Kharkiv"), or the country itself
    for step in range(1, len(art.spans)):
        for order in (best.order - step, best.order + step):
            if not 0 <= order < len(art.spans):
                continue
            lo, hi = art.spans[order]
            words = set(re.findall(r"\b[A-Z][a-z]{2,}\b", art.text[lo:hi]))
            if any(_country_of(d, w) for d in demonyms for w in words):
                found = _span_candidate(best, art, order)
                if found is not None:
                    return found
    return None


# What a count is of, when the question says what befell those counted ("How many people died?"): the words
# that ask it, and the words a sentence giving that count uses ("the death toll", "lost their lives").
_COUNTED_EVENTS = tuple((frozenset(tokenize(ask)), frozenset(tokenize(f"{ask} {said}"))) for ask, said in (
    ("die died killed fatalities perished", "toll bodies lives"),
    ("injured injuries hurt wounded", "hospitalized"),
    ("arrested detained detention custody", "charged"),
    ("evacuated evacuations fled displaced", "homes"),
    ("earn earned earnings gross grossed revenue", "sales box office haul opening debut took"),  # not its cost
))


_SENTENCED = frozenset(tokenize("sentence sentenced"))

_WEEKDAY = re.compile(rf"\b({'|'.join(WEEKDAYS)})\b", re.I)


def _counted_event(question: str) -> frozenset[str] | None:
    """The words a sentence must use for the count a question asks for, when it asks how many died, were hurt,
    arrested or evacuated, how much something earned, or for a prison term; None for any other count.
    """
    if _PRISON_TERM.search(question):
        return _SENTENCED  # "What sentence did she get?": "sentenced to nine years", not "five months have passed"
    m = re.search(r"\bhow (?:many|much)\b(.*?)(?:\b(?:in|at|on|by|due|after|because|from|during|since|when|as)\b|"
                  r"[,;?]|$)", question, re.I)
    asked = frozenset(tokenize(m.group(1))) if m else frozenset()  # "how many swings were recalled", not "due to
    return next((said for ask, said in _COUNTED_EVENTS if ask & asked), None)  # reports of injuries"


_STILL = frozenset("first finally officially actually last again ever really formally publicly".split())


def _event_verb(q: Question) -> str | None:
    """The stem of what a when-question says its subject did: "When did Rishi Sunak resign?" -> "resign" (the
    word after a name the question gives, past an adverb; not after a possessive, "Maine's fatal attack").
    """
    m = re.match(r"\s*when\s+(?:did|does|do|will|would|could|can|has|have|had)\s+(.+)", q.focus or q.text, re.I)
    if not m:
        return None
    rest = m.group(1)
    for e in q.entities:
        after = re.search(rf"\b{re.escape(e)}(?!['’])\s+((?:\w+\s+)?)(\w+)", rest[:60])
        if after:
            word = after.group(2) if after.group(1).strip().lower() in _STILL else (after.group(1).strip() or
                                                                                  after.group(2))
            stems = tokenize(word)
            return stems[0] if stems and word.lower() not in _GENERIC_VERBS and word[:1].islower() else None
    return None


# A leaving said another way: "set off" is "took off", "departed", "left", "began the journey".
_DEPARTED = frozenset(tokenize("take takes took taking taken depart departs departed departing leave leaves left "
                               "leaving start starts started starting began begin begins launch launched embark "
                               "embarked"))
_PHRASAL = re.compile(r"\b(?:set|sets|setting|head|heads|headed|take|takes|took|start|started|kick|kicked)\s+"
                      r"(?:off|out)\b", re.I)


def _event_kin(q: Question) -> frozenset[str]:
    """Other words for what a when-question's verb says, where it is a leaving ("When did she set off?")."""
    return _DEPARTED if _PHRASAL.search(q.focus or q.text) else frozenset()


_AUX_WORDS = frozenset("is was are were will would could can has have had did does do should may might must "
                       "be been being shall".split())
# What else says that someone did what a who-question asks ("Who won ...?": "beat", "champion", "title").
_DOER_KIN = {stem: frozenset(tokenize(kin)) for stem, kin in (
    ("win", "won wins winner winners beat beats defeated defeat champion champions title crowned victory triumph "
            "triumphed clinched claimed"),
    ("kill", "killed shot murdered assassinated stabbed killer gunman shooter"),
    ("replac", "succeed succeeded successor replaced replacement"),
    ("lead", "led leads leader head heads chief chairman president"),
    ("buy", "bought acquire acquired purchase purchased buyer"),
)}


def _doer_verb(q: Question) -> frozenset[str] | None:
    """The words a sentence answering "Who <verb> ...?" uses for that verb, for the verbs of _DOER_KIN: its
    stem, its doer ("winner") and its kin; None for any other verb ("Who holds the record?": "set the record"
    says it too) or an auxiliary ("Who is ...").
    """
    m = re.match(r"\s*who\s+([a-z]+)\b", q.focus or q.text, re.I)
    stems = tokenize(m.group(1)) if m and m.group(1).lower() not in _AUX_WORDS else []
    if stems and stems[0] in _DOER_KIN:
        return frozenset({stems[0], f"{stems[0]}er"}) | _DOER_KIN[stems[0]]
    # the one it befell: "What was the name of the woman killed by a shark?" is answered where the death is said
    victim = _VICTIM.search(q.focus or q.text)
    stems = tokenize(victim.group(1)) if victim else []
    if stems and stems[0] in _DOER_KIN:
        return frozenset({stems[0]}) | _DOER_KIN[stems[0]] | _BEFELL.get(stems[0], frozenset())
    return None


_VICTIM = re.compile(r"\b(?:man|woman|boy|girl|child|person|teen(?:ager)?|victim|student|officer|swimmer|surfer|"
                     r"driver|passenger|worker|soldier|journalist|reporter|hiker|diver)\s+(?:who\s+was\s+)?"
                     r"([a-z]+ed)\b", re.I)
_BEFELL = {"kill": frozenset(tokenize("died dies death dead fatal fatally victim body"))}


# Verbs that ask without saying what about: "What happened at the farm?" is about the farm alone.
_GENERIC_VERBS = frozenset(tokenize("happen happened happens happening do does did done doing say says said make "
                                    "makes made get gets got go goes went take takes took know new"))
# "his own texts": the intensifier is no word an answer must share ("owned" would match it), unlike "Who owns ...?"
_OWN = re.compile(r"\b(his|her|their|its|my|our|your)\s+own\b", re.I)
# "How old was he?" asks for a figure: "He was 81" answers it without the word "old".
_HOW_MEASURE = re.compile(r"\bhow\s+(?:old|long|far|tall|big|large|high|deep|wide|heavy|fast|often|soon|late|early)\b",
                          re.I)
_ROLE = re.compile(r"\b(?:role|part)s?\b", re.I)
_PLAY = re.compile(r"\bplay(?:s|ed|ing)?\b", re.I)


def _without_asking(question: str) -> str:
    """The question without the words that only say how it asks, which an answer need not repeat: "do for a
    living", "how old", the "play" of "What role did he play?" ("best known as Dr. Johnny Fever on WKRP").

    >>> _without_asking("What role did Hesseman play on WKRP?")
    'What role did Hesseman   on WKRP?'
    """
    text = _HOW_MEASURE.sub(" ", FOR_A_LIVING.sub(" ", question))
    return _PLAY.sub(" ", text) if _ROLE.search(text) else text
# Plural nouns pointed back at ("these devices"): what they are is named in the sentence before.
_POINTED = re.compile(r"\b(?:these|those)\s+([a-z]{3,}s)\b")
_TIME_NOUNS = frozenset("days weeks months years decades times hours minutes moments seasons nights".split())


def _points_back(sentence: str, question: str) -> bool:
    """The sentence speaks of "these devices", a kind the question does not name: it refers to things named
    before it.
    """
    asked = _stems_of(question)
    return any(m.group(1) not in _TIME_NOUNS and not set(tokenize(m.group(1))) & asked
               for m in _POINTED.finditer(sentence))


# Last words of names that are places, bodies or things, not people.
_NOT_A_PERSON = re.compile(r"\b(?:Corridor|Movement|River|Sea|Ocean|Lake|Mountains?|Island|Islands|Street|Square|"
                           r"Province|Region|County|City|State|States|Union|Nations|Republic|Kingdom|Party|Bank|"
                           r"Council|Committee|Court|University|College|School|Agency|Department|Ministry|"
                           r"Organi[sz]ation|Institute|Foundation|Company|Corporation|Group|Airport|Station|Bridge|"
                           r"Act|Agreement|Treaty|Summit|Forum|Conference|Festival|Games|Cup|Open|Championships?|"
                           r"Awards?|Prize|Museum|Hospital|Stadium|Park|Center|Centre|Street|Avenue|Road|Highway|"
                           r"Railway|Canal|Strait|Gulf|Bay|Valley|Desert|Coast|Peninsula|Plan|Program|Programme|"
                           r"Project|Initiative|Fund|Index|Exchange|Times|Post|News|Network|Channel|League|"
                           r"Association|Federation|Club|Team|Office|Service|Administration|Authority|Board|"
                           r"Commission|Senate|House|Assembly|Parliament|Army|Navy|Force|Police|Reserve|Series|"
                           r"Tour|Bowl|Trophy|Marathon|Olympics|Motors|Airlines?|Records|Inc|Corp|Ltd|LLC)$|^The\s")


@dataclass(frozen=True)
class Candidate:
    passage_index: int  # 0-based index into the passages given to draft()
    start: int  # offsets of the sentence in its article's text (the passage's own offsets when no text is known)
    end: int
    text: str
    coverage: float
    score: float
    terms: frozenset[str]
    match: float = 0.0  # how well it holds the kind of thing asked for (1.0 = exactly)
    inside: bool = True  # inside the retrieved chunk (False: read from the article around it)
    order: int = 0  # the sentence's position in its article


@dataclass(frozen=True)
class Draft:
    """An unverified answer: text with [n] markers indexing `passages` (1-based), or None when nothing fits.

    `passages` are the cited spans (a retrieved chunk, or a sentence of its article outside the chunk);
    `citations`, when given, are final (metadata answers quote the catalog and need no verification);
    `refusal` is the plain-words reason shown when `text` is None.
    """

    text: str | None
    sentences: tuple[Candidate, ...] = ()
    reason: str = ""
    passages: tuple[Passage, ...] = ()
    citations: tuple[Citation, ...] = ()
    refusal: str = ""


def answer_type(question: str) -> str:
    """The kind of answer asked for; see `rag.answer.question.answer_kind`."""
    return analyze(question).kind


def _figures(text: str) -> list[str]:
    """Numbers written with digits that are not part of a date ("March 8, 2014" holds none) nor of a name
    ("MH370", "Boeing 777" count as names only when glued to letters).
    """
    cleaned = _CLOCK.sub(" ", _MONTH_DAY.sub(" ", text))  # nor a time of day ("at 8:30 a.m.")
    return [f.rstrip(".,") for f in _FIGURE.findall(cleaned) if not _YEAR.fullmatch(f.rstrip(".,"))]


# A name placed as a place: "in the New Mexico desert", "a New York man", "Texas-based".
_PLACED_BEFORE = re.compile(r"\b(?:in|at|near|from|outside|across|of) (?:the )?$")
_PLACED_AFTER = re.compile(r"[\s-]+(?:man|woman|men|women|teen|teenager|boy|girl|resident|residents|native|family|"
                           r"based|official|officials)\b")
_CODE = re.compile(r"\b[A-Z]{1,5}[.-]?\d+(?:\.\d+)?[A-Za-z]?\b")  # "BA.5", "MH370", "H5N1", "F-35"
_CLOCK = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:a\.m\.|p\.m\.|am\b|pm\b)|\b\d{1,2}:\d{2}\b", re.I)
# People counted by what they are: "2,700 people were taken off the island" counts the visitors.
_PEOPLE = frozenset(tokenize("""visitors passengers tourists residents workers employees fans students soldiers troops
migrants refugees civilians patients children adults voters attendees spectators pilgrims evacuees victims survivors
inmates staff participants"""))  # (not "prisoners": its stem is also that of "prisons")


_SCOPE_FRAME = re.compile(r"^(?:\(CNN\)\s*)?(?:In|For|Across|Outside) (?:the )?([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*)*),")
_WORLD = re.compile(r"\b(?:in the world|world record|worldwide|globally|around the world)\b", re.I)


_WITHIN = re.compile(r"\bwhere in\b|\b(?:which|what) (?:part|state|city|county|region|province|town|area|"
                     r"neighbou?rhood|district)s? (?:of|in)\b", re.I)


def _other_scope(sentence: str, q: Question) -> bool:
    """The sentence is framed for another place than the question names: it opens with "In Canada, ..." (a name
    the question lacks) or speaks of the world when the question does not.
    """
    m = _SCOPE_FRAME.match(sentence)
    if m and not any(evidence.mentions(e, m.group(1)) for e in q.entities):
        return True
    outside = re.search(r"\b(?:outside|beyond|excluding|except(?:ing)?)\s+(?:of\s+)?(?:the\s+)?"
                        r"([A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*)", sentence)
    if outside and any(evidence.mentions(e, outside.group(1)) for e in q.entities):
        return True  # "79 million subscribers outside the U.S." does not answer about the US
    # "the world" is another scope only for a question set in a place it names ("How many subscribers in the
    # US?"): "the youngest person to fly around the world" still answers "When did Mack Rutherford set off?"
    return bool(_WORLD.search(sentence)) and not re.search(r"\b(?:world|global|worldwide)\b", q.text, re.I) and any(
        re.search(rf"\b(?:in|across|throughout|within|inside|for)\s+(?:the\s+)?{re.escape(e)}\b", q.text)
        for e in q.entities)


def _thing_match(q: Question, sentence: str, terms: frozenset[str]) -> float:
    """For "which condiment ...": a sentence naming the kind asked for ("the condiment") next to something the
    question does not say, or a name or quoted title the question lacks.
    """
    rest = _undescribed(q, sentence)
    if rest is not None:  # names inside "the wildly popular South Korean show" say what it is like, not which
        return _type_match("thing", rest, q.text) if isinstance(rest, str) else 1.0
    base = _type_match("thing", sentence, q.text)
    words = set(tokenize(sentence))
    if q.head and words & set(q.head) and words - _stems_of(q.text):
        return max(base, 1.0)
    if base < 1.0 and _LAUNCH.search(q.text) and _NEW_THING.search(sentence):
        return 1.0  # "Which menu item did KFC roll out?": "KFC is trying out a new type of chicken nugget"
    return base


_LAUNCH = re.compile(r"\b(?:roll(?:s|ed|ing)? out|launch\w*|introduc\w*|debut\w*|unveil\w*|releas\w*|add(?:s|ed)?|"
                     r"offer\w*|test\w*|try(?:ing)? out|new)\b", re.I)
_NEW_THING = re.compile(r"\b(?:a|an|its|their) (?:new|first) (?:(?:type|kind|version|line|flavou?r|model|series|range|"
                        r"style|form) of )?(?:[a-z][\w-]+ ){0,2}[a-z][\w-]+", re.I)


def _undescribed(q: Question, sentence: str, *, antecedent: bool = False) -> str | Literal[True] | None:
    """For "which <noun> ..." questions whose noun the sentence uses only to describe something named elsewhere
    (`_descriptions`): the sentence without those descriptions, whose own names may still answer; True when a
    description stands beside the name it describes ("Parler, the alternative social media platform"); None when
    the sentence has no such description.
    """
    described = _descriptions(sentence, q.head[-1], _stems_of(q.text)) if q.head else []
    if not described:
        return None
    q_lower = q.text.lower()
    for lo, _ in described:
        m = re.search(r"([A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*)[”\"’]?,\s*$", sentence[:lo])
        if m and m.group(1).lower() not in q_lower:
            return True
    if antecedent:  # "Australia, which ..., announced a plan for the species in the country": the country named
        before = sentence[:described[0][0]]
        if any(w.lower() not in q_lower and w.lower() not in _NOT_NAMES
               for w in re.findall(r"\b[A-Z][\w'’-]+", before)):
            return True
    rest = sentence
    for lo, hi in reversed(described):
        rest = rest[:lo] + rest[hi:]
    return rest


_BACK = frozenset(("the", "this", "these", "that", "those", "its", "their", "his", "her", "our"))


_FEATURE = re.compile(r"\b(?:River|Lake|Sea|Ocean|Bay|Gulf|Strait|Mountains?|Mount|Hills?|Park|Airport|Field|Bridge|"
                      r"Street|Avenue|Road|Highway|Stadium|Arena|Hospital|Center|Centre|Square|Island|Valley|Canyon|"
                      r"Forest|Desert|Coast|Beach|Zoo|Museum|Hall|Palace|Station|Port|Dam|Falls)$")


_NOT_A_BODY = re.compile(r"\b(?:Act|Law|Bill|Treaty|Agreement|Accord|Plan|Program|Programme|Initiative|Rule|Code|"
                         r"Amendment|Constitution|Convention|Protocol)$")


def _named_kind(sentence: str, q: Question) -> bool | None:
    """For "Which court ...?": True when a name the question lacks is of that kind ("... Court of Appeal"), False
    when every such name is a law or a plan rather than a body, None otherwise.
    """
    q_lower = q.text.lower()
    head = q.head[-1]
    names = [m.group(0) for m in _NAME.finditer(sentence) if m.group(0).lower() not in q_lower]
    if any(head in tokenize(n) for n in re.findall(r"[A-Z][\w'’.-]*(?:\s+(?:of\s+)?[A-Z][\w'’.-]*)*", sentence)
           if n.lower() not in q_lower):
        return True
    return False if names and all(_NOT_A_BODY.search(n) for n in names) else None


def _other_feature(sentence: str, q: Question) -> bool:
    """Every name the sentence gives (that the question lacks) is another kind of place than the one asked for:
    a river, a park or an airport for "which state", "which city".
    """
    q_lower = q.text.lower()
    names = [m.group(0) for m in _NAME.finditer(sentence) if " " in m.group(0) and m.group(0).lower() not in q_lower]
    return bool(names) and all(_FEATURE.search(n) and q.head[-1] not in tokenize(n) for n in names)


@lru_cache(maxsize=64)
def _stems_of(text: str) -> frozenset[str]:
    """The stemmed words of a question, worked out once per question rather than once per sentence."""
    return frozenset(tokenize(text))


def _head_nouns(sentence: str, head: str) -> Iterator[re.Match[str]]:
    """The words of `sentence` whose stem is `head` (the prefix is compared first: stemming every word of every
    sentence costs).
    """
    for m in re.finditer(r"[\w'’-]+", sentence):
        if m.group(0).lower().startswith(head[:3]) and tokenize(m.group(0)) == [head]:
            yield m


def _described_answer(sentence: str, head: str, asked: frozenset[str], question: str = "") -> bool:
    """The kind asked for, told apart by a word the question lacks: "the old town", "a rural hospital"; not
    many of that kind where the question asks for one ("a handful of states" for "Which state ...?").
    """
    single = {m.group(0).lower() for m in _head_nouns(question, head)}
    for m in _head_nouns(sentence, head):
        if single and m.group(0).lower() not in single and m.group(0).lower().endswith("s") and \
                not any(w.endswith("s") for w in single):
            continue
        if not m.group(0)[0].isupper():
            before = re.findall(r"[\w'’-]+", sentence[max(0, m.start() - 40):m.start()])[-3:]
            det = next((i for i in range(len(before) - 1, -1, -1) if before[i].lower() in _BACK | {"a", "an"}), None)
            if det is not None and any(w[0].islower() and not set(tokenize(w)) <= asked for w in before[det + 1:]):
                return True
    return False


def _descriptions(sentence: str, head: str, asked: frozenset[str]) -> list[tuple[int, int]]:
    """Where the kind asked for appears only as a description of something named elsewhere ("the wildly popular
    South Korean show is green lit", "acquiring the controversial social media platform", "her team"): the spans
    of those descriptions, from their determiner to the noun. Empty when the noun is absent or appears once
    without a determiner before it, as what the sentence says of a name ("Ketchup is the condiment ..."), or
    with a plain word the question (its stems `asked`) lacks: "the old town" may be all there is to say.
    """
    spans = []
    for m in _head_nouns(sentence, head):
        if (m.group(0)[0].isupper() and m.start() > 0) or re.match(r"\s+of\s+(?:the\s+)?[A-Z]", sentence[m.end():]):
            return []  # part of a name ("the Office for National Statistics"), or names it ("the city of New York")
        lead = sentence[max(0, m.start() - 60):m.start()]
        words = list(re.finditer(r"[\w'’-]+", lead))[-5:]
        det = next((w for w in reversed(words) if w.group(0).lower() in _BACK), None)
        if det is None or re.search(r"\b(?:is|was|are|were|becomes|became)\s+(?:the|a|an)\b[^,;]*$", lead, re.I):
            return []
        between = lead[det.end():]
        if any(w[0].islower() and not set(tokenize(w)) <= asked for w in re.findall(r"[\w'’-]+", between)):
            return []
        spans.append((max(0, m.start() - 60) + det.start(), m.end()))
    return spans


# A ranking said in so many words: the superlatives of question.SUPERLATIVE and their usual stand-ins.
_RANKING = re.compile(r"\b(?:heaviest|largest|biggest|tallest|longest|oldest|youngest|fastest|highest|lowest|"
                      r"smallest|richest|deadliest|busiest|(?:most|least) (?!recent|of|likely)\w+|cheapest|best|"
                      r"worst|greatest|top|record|leading|No\. ?1|number one)\b", re.I)
_DETERMINERS = r"(?:The|A|An|This|That|These|Those|Its|His|Her|Their|Our|Your|Last|Next|Every)"
# Heads that name one of many things of a kind ("the US Open", "the Federal Reserve Bank"); not surnames.
_KIND_HEAD = re.compile(r"Open|Cup|Bank|Party|Act|Games|Championships?|Prize|Awards?|University|College|Court|"
                        r"Council|Committee|Telescope|Station|Airport|Festival|Series|League|Summit|Agreement|Treaty|"
                        r"Bill|Plan|Award|Trophy|Marathon|Olympics|Grand Prix|Bowl|Classic|Masters|Tour|Stadium|"
                        r"Museum|Hospital|Airlines?|Airways|Motors|Corporation|Company|Bureau|Agency|Department|"
                        r"Ministry|Commission|Fund|Reserve|Index|Exchange|Conference|Assembly|Parliament|Senate")


@dataclass(frozen=True)
class _Rival:
    """Another thing of the same kind than the question's: "the BNP Paribas Open" for "the US Open", "Disney-branded"
    for "Marvel-branded". A superlative's noun ("the heaviest watermelon") is a constraint of `evidence.missing`.
    """

    own: re.Pattern[str]  # the question's thing, as a sentence may write it
    other: re.Pattern[str]  # the same head with another modifier


def _rivals(q: Question) -> list[_Rival]:
    out = []
    for e in q.entities:
        parts = e.split()
        if len(parts) >= 2 and _KIND_HEAD.fullmatch(parts[-1]):
            # The nearest modifier: "JFK" of "New York's JFK Airport".
            head, mod = parts[-1], re.sub(r"['’]s$", "", parts[-2])
            out.append(_Rival(re.compile(rf"\b{re.escape(mod)}\s+{re.escape(head)}\b", re.I),
                              re.compile(rf"\b(?!{re.escape(mod)}\s)(?:(?!{_DETERMINERS}\s)[A-Z][\w.'’&-]*\s+){{1,4}}"
                                         rf"{re.escape(head)}\b")))
    for e in q.entities:
        after = re.search(rf"\b{re.escape(e)}['’]?s?\s+([a-z]+)\b", q.text)
        if after and _KIND_HEAD.fullmatch(after.group(1).capitalize()):
            head, mod = after.group(1), e.split()[-1]
            out.append(_Rival(re.compile(rf"\b{re.escape(mod)}\b", re.I),
                              re.compile(rf"\b(?!{re.escape(mod)}\s)(?:(?!{_DETERMINERS}\s)[A-Z][\w.'’&-]*\s+){{1,4}}"
                                         rf"{head.capitalize()}\b")))
    for m in re.finditer(r"\b([A-Z][\w.'’&]*)-(branded|based|owned|led|backed|made|themed|era)\b", q.text):
        out.append(_Rival(re.compile(rf"\b{re.escape(m.group(1))}-{m.group(2)}\b", re.I),
                          re.compile(rf"\b(?!{re.escape(m.group(1))}-)[A-Z][\w.'’&]*-{m.group(2)}\b")))
    return out


_PREFIXES = r"(?:quarter|semi|under|post|pre|non|sub|vice|ex|anti|mid|inter|super)"


@lru_cache(maxsize=64)
def _compounds(question: str) -> re.Pattern[str] | None:
    """The question's words under a prefix that makes them another thing: "final" as "quarterfinal" or
    "semi-final", "graduate" as "undergraduate" (one pattern for all; `_prefixed_only` reads it). Words the
    question itself prefixes are left out.
    """
    lower = question.lower()
    prefixed = {m.group(1) for m in re.finditer(rf"{_PREFIXES}-?([a-z]+)", lower)}
    words = [w for w in dict.fromkeys(re.findall(r"[a-z]{5,}", lower))
             if w not in QUERY_STOPWORDS and w not in prefixed]
    if not words:
        return None
    return re.compile(rf"\b{_PREFIXES}-?({'|'.join(map(re.escape, words))})", re.I)


def _prefixed_only(text: str, compounds: re.Pattern[str]) -> tuple[str, str] | None:
    """The prefixed word and the question's word when `text` has the word only under a prefix ("his US Open
    quarterfinal", no "final"), else None.
    """
    for m in compounds.finditer(text):
        if not re.search(rf"(?<![\w-]){m.group(1)}", text, re.I):
            rest = re.findall(r"^[\w-]*", text[m.end():])[0]  # "quarterfinals": the whole word
            return text[m.start():m.end()] + rest, m.group(1).lower()
    return None


def _about_a_rival(text: str, rivals: Sequence[_Rival]) -> bool:
    """The sentence is about another thing of the question's kind and not about the question's own."""
    return any(r.other.search(text) and not r.own.search(text) for r in rivals)


def _conflicting_figures(question: str) -> list[re.Pattern[str]]:
    """Patterns of the same unit with another figure than the question's ("2,554-pound" -> any other
    "N-pound").
    """
    out = []
    for m in re.finditer(r"(?<![\w.])\$?(\d[\d,.]*)[\s-]+([a-z]{3,})\b", question):
        number, unit = m.group(1).rstrip(".,"), m.group(2)
        if _YEAR.fullmatch(number):
            continue
        stem = re.escape(unit[:-1] if unit.endswith("s") else unit)
        out.append(re.compile(rf"(?<![\w.,])(?!{re.escape(number)}\b)\d[\d,.]*[\s-]+{stem}s?\b", re.I))
    return out


def passage_coverage(query: str, passage: Passage, idf: Callable[[Sequence[str]], dict[str, float]] | None) -> float:
    """Share of the query's term weight (IDF) that the passage and its title contain: 1.0 = every term."""
    q_terms = list(dict.fromkeys(tokenize(query)))
    if not q_terms:
        return 0.0
    weights = idf(q_terms) if idf else {t: 1.0 for t in q_terms}
    have = set(tokenize(passage.title)) | set(tokenize(passage.text))
    return sum(w for t, w in weights.items() if t in have) / (sum(weights.values()) or 1.0)


def without_dateline(start: int, text: str) -> tuple[int, str]:
    """A sentence without its opening dateline, and its new start: "(CNN) A California court has ruled ..." is
    quoted from "A California", and the cited span, starting later, is still a span of the article.

    >>> without_dateline(10, "WIMBLEDON, England (AP) — Rybakina won the title.")
    (36, 'Rybakina won the title.')
    """
    cut = dateline_end(text)
    return start + cut, text[cut:]


# A news photo's caption: someone doing something in the present tense, dated at the end ("People in Seoul watch a
# TV news report about the outbreak on May 16, 2022."); prose says "watched" or "will watch".
_CAPTION = re.compile(
    r"^[^.;:]*?(?<!\bcan )(?<!\bwill )(?<!\bto )(?<!\bwould )(?<!\bcould )(?<!\bmay )(?<!\bmight )"
    r"\b(?:watch|walk|stand|wait|sit|look|pass|hold|gather|wear|ride|attend|pose|react|queue|shop|arrive|leave|"
    r"speak|gesture|march|protest|cheer|celebrate|mourn|pray|greet|wave|listen|light|take|carry|kiss|embrace|"
    r"visit|lay|stage)(?:s|es)?\b[^.;]*\bon (?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.? \d{1,2},? (?:19|20)\d\d\.?[\"”’')]*$"
    # an agency's dateline caption: "MILL VALLEY, CA - MARCH 03: A customer pumps gasoline ..."
    r"|^[A-Z][A-Z .'’-]+,(?: [A-Z][A-Za-z.]*)+ ?[-–—] ?[A-Z]{3,9} \d{1,2}:")


def _usable(text: str) -> bool:
    """A sentence that can answer: long enough, has words, is not page furniture or text aimed at the reader's
    assistant.
    """
    stripped = text.strip()
    heading = len(stripped) < 90 and not re.search(r"[.!?\"”’')\]]$", stripped)
    if re.search(r"\?[\"”’')\]]*$", stripped):
        return False  # a question ("Which new product did Tesla debut?" in a quiz) answers nothing
    if re.match(r"[A-F][.)]\s", stripped) and len(stripped) < 90:
        return False  # nor one of its choices ('A. "Game of Thrones"')
    if re.match(r"(?:--|[—–])\s*[A-Z]|[,;:]", stripped):
        # nor the line that attributes a pull quote ("-- First lady Jill Biden, on what she learned"), nor a
        # fragment a scraped page repeats (", on what she learned ...")
        return False
    return (len(text) >= 12 and re.search(r"[a-z]", text) is not None and not is_instruction_like(text)
            and not _BOILERPLATE.search(stripped) and not _LINK_LABEL.match(stripped) and not heading
            and not _CAPTION.search(stripped))


@dataclass
class _Article:
    """An article's text and sentence spans, fetched once per answer."""

    text: str
    spans: list[tuple[int, int]]
    surnames: frozenset[str] = frozenset()  # last words of the full names the article gives ("Sunak")
    names: frozenset[str] = frozenset()  # words it capitalises mid-sentence ("in Arkansas, Maryland"), lower case
    whole: bool = False  # split whole (_WHOLE_CHARS): its sentences beyond the chunks' windows are read too


# Causal cues that put the cause first ("Extreme rainfall prompted the flooding"); the others put it last
# ("... cut off because the flooding closed the park", "was caused by ...").
_CAUSE_FIRST = re.compile(r"\b(?:prompted|prompting|triggered|triggering|caused|causing|led to|leading to|sparked|"
                          r"resulted in|drove)\b(?!\s+by\b)", re.I)


def _explains_by(sentence: str, event: frozenset[str]) -> bool:
    """Does the sentence give the question's event (its stems `event`) only as the cause of something else? "She
    is at the end of a rope because the flooding cut the town off" explains her plight, not the flooding.

    >>> _explains_by("She is at the end of a rope because the flooding cut us off.", frozenset({"flood"}))
    True
    >>> _explains_by("The flooding was so bad because rain fell on deep snow.", frozenset({"flood"}))
    False
    >>> _explains_by("Extreme rainfall and snowmelt prompted the flash flooding.", frozenset({"flood"}))
    False
    >>> _explains_by("The move comes after the state's first fatal shark attack.", frozenset({"shark"}))
    False
    """
    cue = _CAUSAL.search(sentence)
    if cue is None or not event:
        return False
    first = _CAUSE_FIRST.search(sentence)
    if first is not None and first.start() <= cue.start():
        effect_side, cause_side = sentence[first.end():], sentence[:first.start()]  # the cause brought it about
    else:
        effect_side, cause_side = sentence[:cue.start()], sentence[cue.end():]
    if _POINTS_TO_EVENT.match(effect_side):
        return False  # "The move comes after the state's first fatal shark attack": the move is what was asked about
    return not event & frozenset(tokenize(effect_side)) and bool(event & frozenset(tokenize(cause_side)))


# A subject that stands for the event the article reports ("The move", "This decision"), as an effect of a cause.
_POINTS_TO_EVENT = re.compile(r"\s*(?:the|this|that|its|their)\s+(?:latest\s+|new\s+)?(?:move|decision|change|step|"
                              r"plan|announcement|ban|policy|measure|rule|shift|closure|action|order|proposal|"
                              r"program|programme|effort|push|campaign)\b", re.I)


def _names_the_kind(sentence: str, head: str) -> bool:
    """Does the sentence give the name of a thing of the kind asked for ("an asteroid called Dimorphos", "a tiny
    'moon' asteroid, named Dimorphos")? `head` is the kind's stem ("asteroid").

    >>> _names_the_kind("A NASA spacecraft will slam into an asteroid called Dimorphos.", "asteroid")
    True
    >>> _names_the_kind("We are moving an asteroid, said Tom Statler.", "asteroid")
    False
    """
    return re.search(rf"\b{re.escape(head)}\w*[”\"]?,?\s+(?:(?:is|was)\s+)?(?:called|named|dubbed|known as|"
                     rf"nicknamed|titled)\s+[“\"‘']?[A-Z]", sentence, re.I) is not None


def _names_for(q: Question, sentence: str, before: str) -> bool:
    """Does `before` give a word of the question's names that `sentence` (opening with a pronoun) leaves out?"""
    return bool(_entity_stems(q.entities) & frozenset(tokenize(before)) - frozenset(tokenize(sentence)))


# Words that say one thing of a sale: "Tepper's $2.2 billion purchase" says what "What price did Tepper pay?" asks.
_TRADE = frozenset(tokenize("pay pays paid paying price prices cost costs buy buys bought buying purchase purchased "
                            "purchases sell sells sold selling sale sales deal acquire acquired acquisition"))


def _says(said: frozenset[str], words: frozenset[str]) -> bool:
    """Does a passage with the stems `words` say any of the question's own words `said` (or, for a sale, another
    word of it)?
    """
    return bool(said & words) or bool(said & _TRADE and words & _TRADE)


class ExtractiveAnswerer:
    """Reads the question (what it asks for, what it constrains), scores the candidate sentences and keeps the
    one (factoid) or few (why/how/what happened) that answer.

    `idf` maps stemmed terms to weights (the store's BM25 statistics; all terms weigh the same without it);
    `in_corpus` says whether a stemmed term occurs anywhere in the store; `article_text` returns an article's
    full text by id (without it only the chunks are read); `embed` gives unit vectors for sentences (MiniLM),
    blended into the `semantic_top` best candidates' scores when they are within 10% of each other. It is off by
    default (0): on the RealTime QA dev questions it moved answer_contains from 0.500 to 0.531 (4 candidates)
    while adding about 50 ms to an answer on a loaded two-core machine, more than the ask latency budget allows.
    `min_coverage` is the share of the question's term weight the answer's context must cover.
    """

    name = "extractive"
    streams = False

    def __init__(self, *, idf: Callable[[Sequence[str]], dict[str, float]] | None = None,
                 min_coverage: float = 0.4, max_sentences: int = 3,
                 in_corpus: Callable[[str], bool] | None = None,
                 article_text: Callable[[str], str | None] | None = None,
                 embed: Callable[[Sequence[str]], np.ndarray] | None = None,
                 window: int = 3, semantic_top: int = 0, query_vector: np.ndarray | None = None,
                 asked_on: _dt.date | None = None) -> None:
        self.idf = idf
        self.min_coverage = min_coverage
        self.max_sentences = max_sentences
        self.in_corpus = in_corpus
        self.article_text = article_text
        self.embed = embed
        self.window = window
        self.semantic_top = semantic_top
        self.query_vector = query_vector  # the retrieval's query vector, for `write` (the seam passes none)
        self.asked_on = asked_on  # the date the question is asked, for `write`

    # -- reading -------------------------------------------------------------------------------------------

    def _articles(self, passages: Sequence[Passage]) -> dict[str, _Article]:
        out: dict[str, _Article] = {}
        if self.article_text is None:
            return out
        regions: dict[str, tuple[int, int]] = {}
        for p in passages:
            lo, hi = regions.get(p.article_id, (p.start, p.end))
            regions[p.article_id] = (min(lo, p.start), max(hi, p.end))
        for aid, (lo, hi) in regions.items():
            text = self.article_text(aid)
            if not text or not any(p.article_id == aid and text[p.start:p.end] == p.text for p in passages):
                continue
            whole = aid == passages[0].article_id and len(text) <= _WHOLE_CHARS
            # Only the stretch around the retrieved chunks is split: a 100,000-character live blog is not.
            a, b = (0, len(text)) if whole else (max(0, lo - _MARGIN), min(len(text), hi + _MARGIN))
            spans = sentence_spans(text, a, b)
            if a > 0 and spans:
                spans = spans[1:]  # may start mid-sentence
            if b < len(text) and spans:
                spans = spans[:-1]
            surnames = frozenset(n.split()[-1] for n in _NAME.findall(text[a:b])
                                 if " " in n and not _NOT_A_PERSON.search(n))
            names = frozenset(m.group(1).lower() for m in _MID_NAME.finditer(text, a, b))
            out[aid] = _Article(text, spans, surnames, names, whole)
        return out

    def _spans(self, p: Passage, art: _Article | None, rest: bool = False) -> list[tuple[int, int, bool, int]]:
        """(start, end, inside the chunk, position) of the sentences read for passage `p`, in article offsets;
        with `rest`, every sentence of its whole article, in order, as read outside the chunk.
        """
        if art is None:
            return [(p.start + s, p.start + e, True, i) for i, (s, e) in enumerate(sentence_spans(p.text))]
        if rest:
            return [(s, e, False, i) for i, (s, e) in enumerate(art.spans)] if art.whole else []
        idx = [i for i, (s, e) in enumerate(art.spans) if s < p.end and e > p.start]
        if not idx:
            return []
        lo, hi = max(0, idx[0] - self.window), min(len(art.spans), idx[-1] + 1 + self.window)
        return [(art.spans[i][0], art.spans[i][1], idx[0] <= i <= idx[-1], i) for i in range(lo, hi)]

    def _weights(self, terms: Sequence[str]) -> dict[str, float]:
        return self.idf(terms) if self.idf else {t: 1.0 for t in terms}

    def candidates(self, question: str, passages: Sequence[Passage], query: str | None = None, *,
                   q: Question | None = None, articles: dict[str, _Article] | None = None,
                   windows: Sequence[DateWindow] = (), others: list[tuple[int, str, str]] | None = None,
                   discussed: frozenset[str] = frozenset()) -> list[Candidate]:
        """The sentences of `passages` that may answer, best first. A sentence left out for being about another
        thing of a prefixed name ("quarterfinal" for "final") is added to `others` as (passage index, the
        prefixed word, the question's word), for the refusal to say so. `discussed` are the articles the
        conversation's last answer quoted: a follow-up's answer is most likely in them.
        """
        q_terms = list(dict.fromkeys(tokenize(_OWN.sub(r"\1", query or question))))
        if not q_terms:
            return []
        q = q or analyze(question)
        articles = self._articles(passages) if articles is None else articles
        weights = self._weights(q_terms)
        if query and query != question:
            # A follow-up's own words say what it asks; the words borrowed from the conversation only keep the topic.
            own_words = set(tokenize(question))
            weights = {t: w if t in own_words else 0.5 * w for t, w in weights.items()}
        total = sum(weights.values()) or 1.0
        wanted = set(q_terms)
        conflicts = _conflicting_figures(q.text)
        rivals = _rivals(q)
        compounds = _compounds(q.text)
        entity_stems = [frozenset(tokenize(e)) for e in q.entities]  # a name is in a sentence with all its words
        name_stems = _entity_stems(q.entities)
        seen: set[tuple[str, int]] = set()
        out = []
        focus = set(tokenize(q.focus)) & wanted if q.focus else set()
        if focus:  # the asking sentence's words say more than the scene-setting ones
            weights = {t: w * (1.5 if t in focus else 1.0) for t, w in weights.items()}
            total = sum(weights.values()) or 1.0
        off_time = _off_time(passages, windows)
        # The year of a recent window ("this week"): a sentence that speaks only of earlier years looks back.
        recent = min((w.start.year for w in windows if w.explicit and (w.end - w.start).days <= 31), default=None)
        befell = _counted_event(q.text) if q.kind == "number" else None
        days = {d.lower() for d in _WEEKDAY.findall(q.text)}
        # "What is the Spectre's range?": a figure of another kind ("$400,000") is no range.
        measured = frozenset(tokenize(q.measure)) if q.kind == "number" and not q.measure.startswith("age") \
            else frozenset()
        # The doer of what the question's verb says: "directed" -> "director", "invested" -> "investor", "voted"
        # -> "voters" (the stem "vote" takes an "r")
        agents = {f"{w}{end}": w for w in wanted if len(w) >= 4 and w.isalpha()
                  for end in (("r",) if w.endswith("e") else ("or", "er"))}
        verb = _event_verb(q) if q.kind == "date" else None
        said_verb = frozenset({verb} | _event_kin(q)) if verb is not None else frozenset()
        doer = _doer_verb(q) if q.kind == "person" else None
        # "Where in the US ...?" asks for a place inside the one it names: "In New Jersey, ..." answers it
        within = q.kind == "place" and bool(_WITHIN.search(q.text))
        echo_check = q.factoid or q.kind == "thing"
        # A follow-up's borrowed names ("Who replaced her? (Liz Truss ...)") are whom it asks about, not answers.
        named_text = f"{q.text} {query}" if q.kind == "person" and query and query != question else q.text
        ranked = bool(q.superlatives) and bool(SUPERLATIVE.search(q.focus or q.text))  # not the scene-setting's
        terms_of: list[frozenset[str]] = []  # each candidate's words, for the echo check after the loop
        # A whole article's sentences beyond its chunks' windows are read with its best passage, after them all
        # (the sentences already read are skipped).
        best_of = {p.article_id: i for i, p in reversed(list(enumerate(passages)))}
        reads = [(i, p, False) for i, p in enumerate(passages)] + [
            (i, passages[i], True) for aid, i in sorted(best_of.items(), key=lambda kv: kv[1])
            if (art := articles.get(aid)) is not None and art.whole]

        for i, p, whole in reads:
            prior = max(p.score, 0.0) / (1.0 + 0.15 * i)
            art = articles.get(p.article_id)
            outlet = outlet_key(p.source)
            # A passage that has the question's word only under a prefix ("Alcaraz reaches US Open quarterfinal")
            # is about that other thing, in every sentence that does not say the word itself.
            passage_prefixed = _prefixed_only(f"{p.title}\n{p.text}", compounds) if compounds is not None else None
            # Terms the passage's article supplies as context (its title, the chunk): a sentence in an article
            # about "Flight MH370" need not repeat the name to answer a question about it.
            # (Only the title's, for the rest of a whole article: a chunk about the variant says nothing of the
            # digest's paragraph on another story.)
            context = (frozenset(tokenize(p.title)) | (frozenset() if whole else frozenset(tokenize(p.text)))) & wanted
            before, before_end = "", 0  # the sentence read just before, for a pronoun standing for its name
            source, base = (art.text, 0) if art else (p.text, p.start)
            for s, e, inside, order in self._spans(p, art, whole):
                text = source[s - base:e - base]
                # A line of its own before this sentence: a sub-heading, when short and without a full stop.
                own_line = "\n" in source[max(0, before_end - base):max(0, s - base)]
                previous, before, before_end = before, text, e
                if (p.article_id, s) in seen:
                    continue  # the same sentence through an overlapping chunk of the same article
                seen.add((p.article_id, s))
                s, text = without_dateline(s, text)
                if not _usable(text):
                    continue
                all_terms = frozenset(tokenize(text))
                terms = all_terms & wanted
                if agents and all_terms & agents.keys():
                    terms |= {agents[t] for t in all_terms & agents.keys()}  # "directors" for "directed"
                if name_stems and previous and _PRONOUN_START.match(text):
                    # "It has ... an estimated range of 320 miles": "it" is the Spectre the sentence before names
                    terms |= frozenset(tokenize(previous)) & name_stems & wanted
                own = sum(weights[t] for t in terms) / total
                coverage = own + 0.5 * sum(weights[t] for t in context - terms) / total
                typed = _without_speaker(_without_outlet(text, outlet), q) if q.kind == "person" else \
                    _without_outlet(text, outlet) if q.kind == "place" else text
                match = _thing_match(q, text, terms) if q.kind == "thing" else \
                    _type_match(q.kind, typed, named_text, q.unit) if q.factoid else (
                    # a reason for something else: "sued Jones over ..., arguing that ..." shares only the name
                    # with "Why was Jones confronted with his texts?"
                    (1.0 if (terms - name_stems or not name_stems) and not _explains_by(text, terms - name_stems)
                     else 0.3)
                    if q.kind == "reason" and _CAUSAL.search(text) else 0.0)
                if q.kind in ("place", "organisation") and match < 0.8 and art is not None and \
                        _opening_name(typed, art.names, q.text):
                    match = 0.8  # "Maryland voters approved ...", where the article also says "in Arkansas, Maryland"
                if q.kind in ("person", "organisation", "place") and match >= 0.8 and \
                        isinstance(rest := _undescribed(q, text, antecedent=True), str):
                    # "acquiring the controversial social media platform" stands where the answer would: the
                    # sentence's other names ("after being removed from Twitter") are about something else
                    # (a full name elsewhere still answers: "the voice of the Los Angeles Dodgers ..., the team said")
                    match = _type_match(q.kind, rest, q.text)
                    match = match if match >= 1.0 else min(0.7, match)
                if q.measure == "score" and _SCORE.search(text):
                    match = 1.0  # "by beating Sweden 4-0" gives the score without the word
                elif measured and match < 1.0 and not all_terms & measured:
                    match *= 0.5
                if befell is not None and not all_terms & befell:
                    match = min(match, 0.3)  # "3.3 million people visited" is no count of the people who died
                kind_lead = 0.0
                if q.kind == "organisation" and q.head and match >= 0.8:
                    kind_named = _named_kind(typed, q)
                    if kind_named is True:
                        kind_lead = 0.08  # "California's Third District Court of Appeal" for "Which court ...?"
                    elif kind_named is False:
                        match = 0.6  # "the California Endangered Species Act" is a law, not the court asked for
                if q.kind == "place" and match >= 1.0 and q.head and _other_feature(text, q):
                    match = 0.8  # "flooding of the Pearl River" names a river, not the state asked for
                if q.kind in ("organisation", "place") and match < 0.8 and q.head and \
                        _described_answer(text, q.head[-1], _stems_of(q.text), q.text):
                    match = 0.8  # "The river flooded the old town": the town it names by what it is
                if q.kind == "person" and match < 0.8 and _PRONOUN_START.match(text) and \
                        _type_match("person", previous, q.text) >= 0.5:
                    match = 0.8  # "She beat Ons Jabeur ...": the sentence before names her (and comes with it)
                held = _role_holder(text, q) if q.roles and q.entities else None
                if held is not None:
                    # "Azerbaijani President", not "Turkish President"; a holder the question names is no answer
                    match = (1.0 if match >= 0.5 else match) if held else match * 0.5
                if q.kind == "place" and match < 1.0 and _located(text, q.entities):
                    match = 1.0  # "at the Great Pumpkin Farm in Clarence" says where the farm is
                if q.kind == "person" and match == 0.5 and art is not None and _surname(text, q.text, art.surnames):
                    match = 0.9  # "Sunak said ..." where the article gives "Rishi Sunak" in full
                if q.years and (years := {m.group(0) for m in _YEAR.finditer(text)} | evidence.relative_years(
                        text, p.published)) and not years & set(q.years):
                    continue  # "In 1996 she won Wimbledon" does not answer about the 2013 title, nor "last year"
                if verb is not None and not all_terms & said_verb:
                    match *= 0.5  # "When did Sunak resign?": "Sunak will be named prime minister on Sept. 5"
                if doer is not None and not all_terms & doer and not (
                        previous and _PRONOUN_START.match(text) and set(tokenize(previous)) & doer):
                    match *= 0.5  # "Who won the US Open?": "after she was knocked out of the US Open, Williams ..."
                if compounds is not None and (other := _prefixed_only(text, compounds) or (
                        passage_prefixed if passage_prefixed and not re.search(
                            rf"(?<![\w-]){passage_prefixed[1]}", text, re.I) else None)):
                    if others is not None:
                        others.append((i, *other))
                    continue  # "his second US Open quarterfinal" does not answer about the final
                if rivals and _about_a_rival(text, rivals):
                    continue  # "A crowd attended the BNP Paribas Open" does not answer about the US Open
                # "A 2,528-pound pumpkin" does not answer about "the 2,554-pound pumpkin": it ranks lower, but it still
                # holds a name (the sentence may name the grower and, in passing, another record).
                other_figure = bool(conflicts) and any(c.search(text) for c in conflicts)
                if recent is not None and not q.years and (said_years := YEAR.findall(text)) and \
                        max(int(y) for y in said_years) < recent:
                    other_figure = True  # "had passed in South Dakota in 2020" does not answer "this week"
                brevity = 1.0 / (1.0 + max(0, len(text) - 250) / 500)
                weight = 0.1 if q.kind == "thing" else 0.25  # "which show ...": any name will do, so it says little
                named = sum(bool(st) and st <= all_terms for st in entity_stems) / len(entity_stems) \
                    if entity_stems else 0.0
                if q.entities and named < 1.0 and not within and _other_scope(text, q):
                    match *= 0.4  # "In Canada, ..." does not answer about the US; "in the world" not about a country
                # News puts the gist in its first sentences (for a factoid; a why-question's lead restates it).
                lead = (0.05 if s < _LEAD_CHARS and not q.explains else 0.0) + kind_lead
                if own_line and previous and _subheading(previous) and \
                        _share(previous, wanted, weights, total) >= 0.6:
                    # An explainer's sub-heading asks the question ("How Twitter edit button will work"): the
                    # sentence under it answers it.
                    lead += 0.15
                    match = match if q.factoid else max(match, 1.0)
                    terms = terms | (frozenset(tokenize(previous)) & wanted)  # the heading's words are its words
                lead += 0.1 if held else 0.0  # the role held for the question's place or body
                if q.kind == "thing" and any(_names_the_kind(text, h) for h in q.head):
                    lead += 0.25  # "an asteroid called Dimorphos" for "What is the name of the asteroid ...?"
                lead += 0.06 if p.article_id in discussed else 0.0
                if days and days & {d.lower() for d in _WEEKDAY.findall(text)}:
                    lead += 0.12  # "by Sunday evening": the sentence that says Sunday, of the articles that do
                # "Which state has the highest average price?" is answered where a ranking is said.
                unranked = ranked and not _RANKING.search(text)
                # A question that sets the scene first asks in its last sentence: a sentence with none of that
                # sentence's words ("leave out" of "Which measure did lawmakers leave out?") retells the scene.
                unasked = bool(focus) and not terms & focus
                lead += 0.1 * len(terms & focus) / len(focus) if focus else 0.0
                if unranked and q.factoid:
                    match *= 0.85  # it may still say what was asked, but not that it is the highest
                score = (0.55 * coverage + weight * match + 0.1 * prior + 0.08 * named + lead) * brevity * (
                    1.0 if inside else 0.93) * (0.65 if i in off_time else 1.0) * (0.8 if other_figure else 1.0) * (
                    0.85 if unranked else 1.0) * (0.8 if unasked else 1.0) * (
                    # a follow-up asks about what the last answer quoted: another article's sentence that shares
                    # its words ("expected to re-sign with the Wizards" for "Who is expected to sign it?") is
                    # about something else
                    0.9 if discussed and p.article_id not in discussed else 1.0)
                out.append(Candidate(i, s, e, text, coverage, score, terms, match, inside, order))
                terms_of.append(all_terms)
        if echo_check and out:
            # A sentence that restates the question adds nothing that could answer it (one IDF lookup for all).
            known = self._weights(sorted(frozenset().union(*terms_of)))
            out = [c for c, t in zip(out, terms_of, strict=True) if not _echo(t, wanted, known)]
        out.sort(key=lambda c: (-c.score, c.passage_index, c.start))
        return out

    def _semantic(self, cands: list[Candidate], query_vector: np.ndarray | None) -> list[Candidate]:
        """Blend MiniLM similarity to the question into the scores of the best few candidates."""
        if self.embed is None or query_vector is None or not cands or not self.semantic_top:
            return cands
        if len(cands) > 1 and cands[1].score < 0.9 * cands[0].score:
            return cands  # a clear winner: similarity is only worth its cost between close candidates
        top = cands[: self.semantic_top]
        vecs = np.asarray(self.embed([c.text[:300] for c in top]), dtype=np.float32)
        qv = np.asarray(query_vector, dtype=np.float32)
        sims = vecs @ qv / (np.linalg.norm(vecs, axis=1) * (np.linalg.norm(qv) or 1.0) + 1e-9)
        blended = [replace(c, score=0.65 * c.score + 0.35 * max(0.0, float(s))) for c, s in zip(top, sims,
                                                                                               strict=True)]
        rest = [replace(c, score=c.score * 0.65) for c in cands[self.semantic_top:]]
        return sorted(blended + rest, key=lambda c: (-c.score, c.passage_index, c.start))

    def _context(self, c: Candidate, p: Passage, art: _Article | None) -> evidence.Context:
        if art is None:
            return evidence.Context(p.text, p.title, p.published, p.text)
        lo, hi = max(0, c.order - 2), min(len(art.spans), c.order + 3)
        close = art.text[art.spans[max(0, c.order - 1)][0]:art.spans[c.order][1]] if c.order < len(art.spans) else ""
        return evidence.Context(art.text[art.spans[lo][0]:art.spans[hi - 1][1]], p.title, p.published, art.text,
                                close=close)

    def _absent(self, question: str) -> tuple[str, ...]:
        """Names in the question that occur nowhere in the store (then no article can be about them)."""
        if self.in_corpus is None:
            return ()
        out = []
        topic = set(topic_terms(question))
        for name in analyze(question).entities:
            for word in re.split(r"[\s-]+", name):
                stems = [s for s in tokenize(word) if s in topic]
                if stems and len(word) > 2 and not any(self.in_corpus(s) for s in stems):
                    out.append(word)
        return tuple(dict.fromkeys(out))

    # -- answering -----------------------------------------------------------------------------------------

    def draft(self, question: str, passages: Sequence[Passage], query: str | None = None, *,
              query_vector: np.ndarray | None = None, asked_on: _dt.date | None = None,
              history: Sequence[dict[str, str]] | None = None) -> Draft:
        """The answer drafted from `passages` (best first); articles published after `asked_on` are left out,
        and a refusal names the best of them. For a follow-up, the articles the `history`'s last answer quoted
        are preferred.
        """
        draft = self._draft(question, passages, query, query_vector=query_vector, asked_on=asked_on,
                            history=history)
        day = asked_on.isoformat() if asked_on is not None else ""
        later = next((p for p in passages if day and p.published and p.published[:10] > day), None)
        if draft.text is None and later is not None and later.published:
            from rag.answer.metadata import human_date

            note = (f"The articles don't say as of {human_date(day)}. An article published later, on "
                    f"{human_date(later.published[:10])}, may: “{later.title or 'untitled'}”.")
            return replace(draft, refusal=note)
        return draft

    def _draft(self, question: str, passages: Sequence[Passage], query: str | None, *,
               query_vector: np.ndarray | None, asked_on: _dt.date | None,
               history: Sequence[dict[str, str]] | None = None) -> Draft:
        q = analyze(question)
        if q.kind in ("other", "thing") and query and query != question:
            # An elliptical follow-up ("And the premium plan?") asks what its standalone query asks.
            qq = analyze(query)
            if qq.kind not in ("other", "thing"):
                q = replace(q, text=query, kind=qq.kind, unit=qq.unit)
        if asked_on is not None:
            passages = [p for p in passages if not p.published or p.published[:10] <= asked_on.isoformat()] \
                or list(passages)
        if not passages:
            return Draft(None, reason="nothing retrieved")
        absent = self._absent(question)
        if q.kind == "metadata":
            return metadata_answer(q, passages, query or question, self._weights, absent, self.article_text)
        articles = self._articles(passages)
        if q.kind == "summary":
            return summary.summarize(q, passages, query or question, articles=articles, weights=self._weights,
                                     embed=self.embed, absent=absent)
        windows = resolve(question, asked_on) if asked_on is not None else []
        others: list[tuple[int, str, str]] = []
        discussed = _discussed(passages, articles, history) if query and query != question else frozenset()
        cands = self.candidates(question, passages, query, q=q, articles=articles, windows=windows, others=others,
                                discussed=discussed)
        cands = _corroborated(q, cands, passages)
        draft = self._choose(q, question, self._semantic(cands, query_vector), passages, articles, absent,
                             follow_up=bool(query) and query != question, discussed=discussed) \
            if cands else Draft(None, reason="no sentence shares a word with the question")
        if draft.text is None and others and others[0][0] <= min((c.passage_index for c in cands[:3]), default=0):
            # The best passages speak of another thing under the question's word: say so, not what they lack.
            _, prefixed, word = others[0]
            return replace(draft, reason=f"the best passages speak of {prefixed!r}, not {word!r}",
                           refusal=f"The articles don't say: they mention “{prefixed}”, not “{word}”.")
        return draft

    def _choose(self, q: Question, question: str, cands: list[Candidate], passages: Sequence[Passage],
                articles: dict[str, _Article], absent: tuple[str, ...], *, follow_up: bool = False,
                discussed: frozenset[str] = frozenset()) -> Draft:
        top = cands[0]
        # The words of the question's names and of the kind it asks for ("company"): a sentence sharing only
        # these with a question that says more ("recalled", "sanitizers") is about the name, not what is asked.
        named = _entity_stems(q.entities) | frozenset(q.head)
        said = frozenset(tokenize(_without_asking(question))) - named - _GENERIC_VERBS
        # A follow-up's own words ("directed" of "Who directed it?") should be in its answer: the words it
        # borrows from the conversation are the topic, which every sentence of the article shares. Where no
        # sentence with them answers ("Which city will that line end in?" of a railroad), any may.
        qualified, first_missing, slotless = self._qualify(q, cands, passages, articles, absent, named, said,
                                                           said if follow_up else frozenset())
        if not qualified and follow_up and said:
            qualified, first_missing, slotless = self._qualify(q, cands, passages, articles, absent, named, said,
                                                               frozenset())
        if not qualified:
            return self._refuse(q, top, None if slotless else first_missing, passages, articles)
        best = qualified[0]
        if q.kind == "reason" and best.match < 1.0:
            # a close second that gives the cause answers a why-question better than one that only restates it
            best = next((c for c in qualified if c.match >= 1.0 and c.score >= 0.85 * best.score), best)
        if q.present:
            best = self._newest(best, qualified, passages, discussed)
        chosen = [best]
        article = passages[best.passage_index].article_id
        prev = next((c for c in cands if c.order == best.order - 1 and
                     passages[c.passage_index].article_id == article), None)
        if prev is not None and (
                (_PRONOUN_START.match(best.text) and (q.kind in ("person", "organisation") or _names_for(
                    q, best.text, prev.text)))
                or (q.kind == "thing" and best.match < 1.0 and prev.match >= 1.0)):
            # "She beat Ons Jabeur ..." names the winner only in the sentence before, which the pronoun stands
            # for (as "It has ... a range of 320 miles" the car asked about); "the wildly popular South Korean show
            # is green lit" follows the sentence naming the show.
            chosen.append(prev)
        elif q.kind == "person" and (art := articles.get(article)) is not None and \
                (full := _full_name_before(best, art)) is not None:
            # "Sunak has returned triumphant ... to replace Truss" names him as the article does after it has
            # given his name in full: that sentence comes first.
            chosen.append(full)
        elif q.kind == "place" and (art := articles.get(article)) is not None and \
                (country := _country_sentence(best, art, q.text)) is not None:
            chosen.append(country)  # "... one billion Chinese citizens ...": and where that is
        elif q.kind == "thing" and _points_back(best.text, q.text) and (art := articles.get(article)) is not None \
                and 0 < best.order <= len(art.spans) and \
                (before := prev or _span_candidate(best, art, best.order - 1)) is not None:
            chosen.append(before)  # "able to buy these devices without a prescription": the devices named before
        also = self._also(q, best, qualified, passages) if not q.explains and len(chosen) == 1 else []
        if q.explains:
            chosen += self._more(q, best, qualified, passages)
            if q.kind == "reason" and not any(_CAUSAL.search(c.text) for c in chosen):
                # The sentence that restates the event is often followed by the one that explains it.
                article = passages[best.passage_index].article_id
                nxt = next((c for c in cands if c.order == best.order + 1 and
                            passages[c.passage_index].article_id == article), None)
                if nxt is not None and all(nxt.text != c.text for c in chosen):
                    chosen.append(nxt)
        # in reading order: by article (as first retrieved), then where each sentence stands in it
        first: dict[str, int] = {}
        for c in chosen:
            aid = passages[c.passage_index].article_id
            first[aid] = min(first.get(aid, c.passage_index), c.passage_index)
        chosen.sort(key=lambda c: (first[passages[c.passage_index].article_id], c.start))
        # A factoid's second sentence, one that also holds the slot, comes after the answer, not before it
        # (a factoid's answer is two sentences at most).
        return self._cite(chosen + also, passages, articles)

    def _qualify(self, q: Question, cands: list[Candidate], passages: Sequence[Passage],
                 articles: dict[str, _Article], absent: tuple[str, ...], named: frozenset[str], said: frozenset[str],
                 own: frozenset[str]) -> tuple[list[Candidate], tuple[evidence.Missing, Candidate] | None, bool]:
        """The candidates that may answer, best first (six at most), the first constraint a better one missed,
        and whether the best readable sentences lack the asked-for slot.
        """
        top = cands[0]
        floor = 0.6 * self.min_coverage
        need_slot = q.factoid
        doer = (_doer_verb(q) if q.kind == "person" else None) or frozenset()
        first_missing: tuple[evidence.Missing, Candidate] | None = None
        slotless = False
        qualified: list[Candidate] = []
        for c in cands[:40]:
            if len(qualified) >= 6:
                break  # enough to choose from (the best, a second sentence, a newer article's)
            if c.score < 0.5 * top.score or c.coverage < floor or not c.terms or (own and not c.terms & own):
                continue  # (a sentence that shares no word with the question answers nothing, whatever its context)
            if all(t.isdigit() for t in c.terms):
                continue  # nor one sharing only a figure: "qualified for the 2022 tournament" of "the 2022 World Cup"
            if c.coverage < self.min_coverage and not ((need_slot or q.kind == "thing") and c.match >= 1.0 and (
                    not q.entities or c.terms & named or c.terms - doer)):
                # (a thin sentence that holds the slot answers when it shares more than the doer's verb: "had been
                # shot and killed" of another article is no answer to "the woman killed by a shark in Maine")
                continue
            p = passages[c.passage_index]
            if said and c.terms <= named and not _says(said, frozenset(tokenize(f"{p.title} {p.text}"))) and not (
                    q.kind == "number" and c.match >= 1.0):
                # "the Marvel movie" in a passage that says nothing of recalls or sanitizers (a figure with the
                # unit asked for does: "an estimated range of 320 miles" of "How far can the Spectre drive?")
                continue
            ctx = self._context(c, p, articles.get(p.article_id))
            gaps = evidence.missing(q, ctx, absent)
            if gaps:
                if first_missing is None:
                    first_missing = (gaps[0], c)
                continue
            if need_slot and c.match < _SLOT_MATCH[q.kind]:
                slotless = slotless or first_missing is None  # the best readable sentences lack the slot
                continue
            qualified.append(c)
        return qualified, first_missing, slotless

    def _newest(self, best: Candidate, qualified: list[Candidate], passages: Sequence[Passage],
                discussed: frozenset[str] = frozenset()) -> Candidate:
        """For a question about the present, the newest article that answers about as well wins: an older
        article's fact may have been superseded. A follow-up answered from an article the conversation
        `discussed` stays with those articles ("Who is expected to sign it?" of a 2019 bill is not answered by
        a newer article on basketball contracts).
        """
        keep = discussed if passages[best.passage_index].article_id in discussed else None
        rivals = [c for c in qualified if c.score >= 0.8 * best.score and c.match >= best.match - 0.2
                  and (keep is None or passages[c.passage_index].article_id in keep)]
        dated = [c for c in rivals if passages[c.passage_index].published]
        if not dated:
            return best
        return max(dated, key=lambda c: (passages[c.passage_index].published or "", c.score))

    def _also(self, q: Question, best: Candidate, qualified: list[Candidate],
              passages: Sequence[Passage]) -> list[Candidate]:
        """A factoid answer is one sentence, or two when another sentence of the same article holds the asked-for
        slot nearly as well (an answer given as "X said ... . The deal, worth $5m, ..."); never a sentence of
        another article.
        """
        article = passages[best.passage_index].article_id
        slot = _SLOT_MATCH.get(q.kind, 1.0)
        given = _fillers(q, best.text) if q.factoid else set()
        for c in qualified[1:6]:
            if passages[c.passage_index].article_id != article or c.text == best.text:
                continue
            if q.factoid and not _fillers(q, c.text) - given:
                continue  # it gives no name, date or figure the answer does not: padding
            if c.score >= 0.75 * best.score and c.match >= max(slot, best.match) and c.coverage >= self.min_coverage:
                return [c]
        return []

    def _more(self, q: Question, best: Candidate, qualified: list[Candidate],
              passages: Sequence[Passage]) -> list[Candidate]:
        """Up to two more sentences of the same article for a why/how/what-happened question, each one that
        answers too (not just shares words).
        """
        article = passages[best.passage_index].article_id
        extra: list[Candidate] = []
        covered = set(best.terms)
        for c in qualified:
            if len(extra) >= self.max_sentences - 1:
                break
            if c is best or passages[c.passage_index].article_id != article or c.text == best.text:
                continue
            if c.score < 0.75 * best.score or c.coverage < self.min_coverage:
                continue
            if q.kind == "reason" and not _CAUSAL.search(c.text) and abs(c.order - best.order) > 1:
                continue
            if not (c.terms - covered) and abs(c.order - best.order) > 1:
                continue
            extra.append(c)
            covered |= c.terms
        return extra

    def _cite(self, chosen: Sequence[Candidate], passages: Sequence[Passage],
              articles: dict[str, _Article]) -> Draft:
        """The draft text; a sentence read outside its chunk is cited as a span of its article."""
        cited: list[Passage] = []
        index: dict[tuple[str, int, int], int] = {}
        parts = []
        for c in chosen:
            p = passages[c.passage_index]
            if c.inside or p.article_id not in articles:
                span = p
            else:
                span = Passage(chunk_id=p.chunk_id, article_id=p.article_id, text=c.text, start=c.start, end=c.end,
                               title=p.title, score=p.score, url=p.url, published=p.published, source=p.source,
                               author=p.author, section=p.section)
            key = (span.article_id, span.start, span.end)
            if key not in index:
                cited.append(span)
                index[key] = len(cited)
            parts.append(cite(c.text, [index[key]]))
        return Draft(" ".join(parts), tuple(chosen), passages=tuple(cited))

    def _refuse(self, q: Question, top: Candidate, first_missing: tuple[evidence.Missing, Candidate] | None,
                passages: Sequence[Passage], articles: dict[str, _Article]) -> Draft:
        if first_missing is not None:
            gap, c = first_missing
            p = passages[c.passage_index]
            ctx = self._context(c, p, articles.get(p.article_id))
            ctx_text = ctx.text
            if gap.kind == "entity" and (evidence.mentions(gap.text, f"{p.title}\n{ctx.article}") or any(
                    evidence.mentions(gap.text, f"{x.title}\n{x.text}") for x in passages)):
                # An article names it (this one or another retrieved), just not beside anything that answers:
                # "they mention X, not Batgirl" would be untrue.
                return Draft(None, reason=f"no sentence near {gap.text!r} answers",
                             refusal=f"The articles don't say: they mention {evidence.the_name(gap.text)}, but "
                                     f"nothing near it answers this question.")
            return Draft(None, reason=f"the question's {gap.kind} {gap.text!r} is not in the best passages",
                         refusal=evidence.refusal(gap, f"{c.text} {ctx_text}", p.published, q.text))
        if q.factoid:
            slot = _SLOT_WORDS[q.kind]
            return Draft(None, reason=f"no sentence gives {slot}",
                         refusal=f"The articles don't say: the closest passages do not give {slot}.")
        return Draft(None, reason=f"the best sentence covers {top.coverage:.2f} of the question's terms",
                     refusal=REFUSAL)

    def write(self, question: str, query: str, passages: Sequence[Passage],
              history: Sequence[dict[str, str]] | None = None) -> Iterator[Draft]:
        """The Answerer seam (rag.answer.base): no deltas, since the draft is chosen whole, then the draft."""
        yield self.draft(question, passages, query, query_vector=self.query_vector, asked_on=self.asked_on,
                         history=history)
