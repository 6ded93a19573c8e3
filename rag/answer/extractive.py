"""The extractive answerer: picks the sentences of the retrieved passages that best answer the question and
cites each one. It needs no LLM and no network, and it never writes a word the articles did not.

>>> from rag.types import Passage
>>> p = Passage(chunk_id="c", article_id="a", text="Talks resumed. The bridge will be 100 meters long.",
...             start=0, end=51, title="Bridge", score=0.8)
>>> ExtractiveAnswerer().draft("How long will the bridge be?", [p]).text
'The bridge will be 100 meters long [1].'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from rag.store.bm25 import tokenize
from rag.text.markers import cite
from rag.text.sentences import sentence_spans
from rag.text.words import MONTH_PATTERN
from rag.types import Passage
from rag.verify.injection import is_instruction_like

_NUMBER_Q = re.compile(r"\bhow (many|much|long|wide|tall|high|far|big|large|old|deep|heavy|often|fast)\b|"
                       r"\bwhat (percentage|percent|share|number|amount|proportion|size|length|width|height|cost|"
                       r"price|population|age)\b|\bhow much\b", re.I)
_DATE_Q = re.compile(r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|date|day|month)\b|\bsince when\b",
                     re.I)
_PERSON_NOUNS = ("person|leader|president|minister|official|man|woman|player|senator|governor|mayor|chief|head|author|"
                 "writer|actor|actress|singer|star|coach|manager|ceo|founder|judge|lawyer|spokesm[ae]n|spokeswoman|"
                 "candidate|lawmaker|politician|king|queen|prince|princess|pope|general|commander|captain|director|"
                 "chairman|chairwoman|secretary|ambassador|diplomat|journalist|reporter|scientist|doctor|athlete|"
                 "company|firm|team|club|party|group|organi[sz]ation|agency|network|airline|brand|university|band")
_PERSON_Q = re.compile(rf"\bwho(m|se)?\b|\b(which|what) (\w+ ){{0,2}}({_PERSON_NOUNS})s?\b", re.I)
_PLACE_Q = re.compile(r"\bwhere\b|\b(which|what) (\w+ ){0,2}(country|city|state|region|town|place|province|nation|"
                      r"island|continent|county|capital|port|airport|venue|stadium)s?\b", re.I)
_EXPLAIN_Q = re.compile(r"^\s*(why|how (?!many|much|long|wide|tall|high|far|big|large|old))|\bexplain\b|\bdescribe\b|"
                        r"\bwhat happened\b|\bsummar", re.I)

_CAUSAL = re.compile(r"\b(because|due to|as a result|in order to|so that|reasons?|caused|amid|blamed)\b",
                     re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|hundred|thousand|million|billion|trillion|dozen|half|quarter)\b", re.I)
_FIGURE = re.compile(r"(?<![A-Za-z\d.,])\d[\d,.]*")
_MONTHS = f"({MONTH_PATTERN})"
_DATE = re.compile(rf"\b{_MONTHS}\b|\b(1[89]|20)\d\d\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
                   r"yesterday|today|tomorrow|last (week|month|year)|next (week|month|year))\b", re.I)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+")

# What the extractive answer says when the passages do not answer.
REFUSAL = "The articles don't say: nothing in the store answers this question."


@dataclass(frozen=True)
class Candidate:
    passage_index: int  # 0-based index into the passages given to draft()
    start: int  # offsets of the sentence in the passage text
    end: int
    text: str
    coverage: float
    score: float
    terms: frozenset[str]


@dataclass(frozen=True)
class Draft:
    """An unverified answer: text with [n] markers (n = 1-based passage index), or None when nothing fits."""

    text: str | None
    sentences: tuple[Candidate, ...] = ()
    reason: str = ""


def answer_type(question: str) -> str:
    """"number", "date", "person", "place", "explain" or "other", from the question's wording.

    The earliest cue wins: in "Which minister was visiting when the deal was signed?" the question asks for a
    person; the "when" belongs to a clause.
    """
    cues = [(m.start(), kind) for kind, pattern in (("number", _NUMBER_Q), ("date", _DATE_Q), ("person", _PERSON_Q),
                                                    ("place", _PLACE_Q), ("explain", _EXPLAIN_Q))
            if (m := pattern.search(question))]
    return min(cues)[1] if cues else "other"


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
    "often": r"(times|daily|weekly|monthly|annually|a (day|week|month|year)|per (day|week|month|year))",
    "much": r"(\$|£|€|dollars?|pounds?|euros?|yuan|yen|rupees?|million|billion|trillion|per ?cent|%|tons?|tonnes?)",
}
_HOW = re.compile(r"\bhow (many|much|long|wide|tall|high|far|big|large|old|deep|heavy|often|fast)\b\s*(\w+)?", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTHS}\.?\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{_MONTHS}\b", re.I)
_YEAR = re.compile(r"\b(1[89]|20)\d\d\b")


def _figures(text: str) -> list[str]:
    """Numbers written with digits that are not part of a date ("March 8, 2014" holds none) nor of a name
    ("MH370", "Boeing 777" count as names only when glued to letters).
    """
    cleaned = _MONTH_DAY.sub(" ", text)
    return [f.rstrip(".,") for f in _FIGURE.findall(cleaned) if not _YEAR.fullmatch(f.rstrip(".,"))]


def _number_match(sentence: str, question: str) -> float:
    """How well the sentence holds the quantity a "how many/much/long ..." question asks for:
    1.0 a figure with the asked-for unit or counted noun ("239 people", "100 meters long"), 0.6 a figure,
    0.3 a number word only, 0.0 nothing.
    """
    q_figs = set(_figures(question))
    figs = [f for f in _figures(sentence) if f not in q_figs]
    m = _HOW.search(question)
    unit = None
    if m:
        word = m.group(1).lower()
        if word == "many" and m.group(2):
            noun = tokenize(m.group(2))
            unit = rf"({re.escape(noun[0])}\w*)" if noun else None
        else:
            unit = _UNITS.get(word)
    if m and m.group(1).lower() == "old" and re.search(r"\b(aged|age of)\s+\d+", sentence):
        return 1.0
    number = r"(\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens|hundreds|" \
             r"thousands|millions)"
    money = m is not None and m.group(1).lower() in ("much", "high")
    if unit and re.search(rf"{number}(\s*(million|billion|thousand|hundred))?[\s-]+(\w+[\s-]+){{0,2}}{unit}\b"
                          + (rf"|\${number}|{number}\s*%" if money else ""), sentence, re.I):
        if figs or not unit:
            return 1.0
        return 0.8  # a number word with the right unit ("six months")
    if figs:
        return 0.6
    return 0.3 if _NUMBER.search(sentence) else 0.0


def _type_match(kind: str, sentence: str, question: str) -> float:
    """1.0 when the sentence holds the kind of thing asked for (and not only the question's own words)."""
    if kind == "number":
        return _number_match(sentence, question)
    if kind == "date":
        return 1.0 if _DATE.search(sentence) else 0.0
    if kind in ("person", "place"):
        q_lower = question.lower()
        names = [n for n in _NAME.findall(sentence) if n.lower() not in q_lower]
        caps = [w for w in re.findall(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]{2,}", sentence) if w.lower() not in q_lower]
        return 1.0 if names else 0.5 if caps else 0.0
    return 0.0


def passage_coverage(query: str, passage: Passage, idf: Callable[[Sequence[str]], dict[str, float]] | None) -> float:
    """Share of the query's term weight (IDF) that the passage and its title contain: 1.0 = every term."""
    q_terms = list(dict.fromkeys(tokenize(query)))
    if not q_terms:
        return 0.0
    weights = idf(q_terms) if idf else {t: 1.0 for t in q_terms}
    have = set(tokenize(passage.title)) | set(tokenize(passage.text))
    return sum(w for t, w in weights.items() if t in have) / (sum(weights.values()) or 1.0)


class ExtractiveAnswerer:
    """Scores every sentence of the passages against the question; keeps the best one to three.

    `idf` (optional) maps stemmed terms to weights (the store's BM25 statistics); without it all terms weigh
    the same. `min_coverage` is the share of the question's term weight the best sentence must cover.
    """

    name = "extractive"
    streams = False

    def __init__(self, *, idf: Callable[[Sequence[str]], dict[str, float]] | None = None,
                 min_coverage: float = 0.4, max_sentences: int = 3) -> None:
        self.idf = idf
        self.min_coverage = min_coverage
        self.max_sentences = max_sentences

    def candidates(self, question: str, passages: Sequence[Passage], query: str | None = None) -> list[Candidate]:
        q_terms = list(dict.fromkeys(tokenize(query or question)))
        if not q_terms:
            return []
        weights = self.idf(q_terms) if self.idf else {t: 1.0 for t in q_terms}
        total = sum(weights.values()) or 1.0
        kind = answer_type(question)
        out = []
        wanted = set(q_terms)
        factoid = kind in ("number", "date", "person", "place")
        for i, p in enumerate(passages):
            prior = max(p.score, 0.0) / (1.0 + 0.15 * i)
            # Terms the passage's article supplies as context (its title, the rest of the passage): a sentence
            # in an article about "Flight MH370" need not repeat the name to answer a question about it.
            context = (frozenset(tokenize(p.title)) | frozenset(tokenize(p.text))) & wanted
            for s, e in sentence_spans(p.text):
                text = p.text[s:e]
                if len(text) < 12 or not re.search(r"[a-z]", text) or is_instruction_like(text):
                    continue
                terms = frozenset(tokenize(text)) & wanted
                own = sum(weights[t] for t in terms) / total
                coverage = own + 0.5 * sum(weights[t] for t in context - terms) / total
                if factoid:
                    match = _type_match(kind, text, question)
                else:  # a "why/how" question is answered by a sentence that gives a reason
                    match = 0.6 if kind == "explain" and _CAUSAL.search(text) else 0.0
                # Long sentences cover more by chance; a mild length penalty keeps answers direct.
                brevity = 1.0 / (1.0 + max(0, len(text) - 250) / 500)
                score = (0.55 * coverage + 0.25 * match + 0.2 * prior) * brevity
                out.append(Candidate(i, s, e, text, coverage, score, terms))
        out.sort(key=lambda c: (-c.score, c.passage_index, c.start))
        return out

    def draft(self, question: str, passages: Sequence[Passage], query: str | None = None) -> Draft:
        cands = self.candidates(question, passages, query)
        if not cands:
            return Draft(None, reason="no sentence shares a word with the question")
        best = cands[0]
        kind = answer_type(question)
        typed_ok = (kind in ("number", "date", "person", "place") and best.coverage >= 0.6 * self.min_coverage
                    and _type_match(kind, best.text, question) >= 1.0)
        if best.coverage < self.min_coverage and not typed_ok:
            return Draft(None, reason=f"best sentence covers {best.coverage:.2f} of the question "
                                      f"(< {self.min_coverage})")
        if kind in ("number", "date", "person", "place"):
            # A factoid answer should hold the kind of fact asked for: prefer the best such sentence when it is
            # nearly as good as the overall best.
            typed = [c for c in cands if _type_match(kind, c.text, question) >= 0.8]
            if typed and typed[0] is not best and typed[0].score >= 0.6 * best.score \
                    and typed[0].coverage >= self.min_coverage:
                best = typed[0]
        chosen = [best]
        covered = set(best.terms)
        explain = kind == "explain"
        limit = self.max_sentences if explain else 2
        for c in cands:
            if c is best:
                continue
            if len(chosen) >= limit:
                break
            if any(c.text == x.text or (c.passage_index == x.passage_index and c.start < x.end and x.start < c.end)
                   for x in chosen):
                continue  # same sentence again (overlapping chunks) or an overlapping span
            new_terms = c.terms - covered
            good = c.score >= 0.75 * best.score and c.coverage >= self.min_coverage
            if kind in ("number", "date", "person", "place") and _type_match(kind, c.text, question) < 0.8:
                good = False  # a factoid answer adds only sentences that hold the kind of fact asked for
            if good and (new_terms or explain):
                chosen.append(c)
                covered |= c.terms
        # Read in article order within a passage, passages in rank order.
        chosen.sort(key=lambda c: (c.passage_index, c.start))
        text = " ".join(cite(c.text, [c.passage_index + 1]) for c in chosen)
        return Draft(text, tuple(chosen))

    def write(self, question: str, query: str, passages: Sequence[Passage],
              history: Sequence[dict[str, str]] | None = None) -> Iterator[Draft]:
        """The Answerer seam (rag.answer.base): no deltas, since the draft is chosen whole, then the draft."""
        yield self.draft(question, passages, query)
