"""Offline support scoring: do these passages support this sentence?

Answer verification calls this on every answer sentence, so it is plain Python over token sets, with no model
download and no network. A sentence is read into facts -- content words, numbers, names, dates and negations --
and each fact is looked up in an index of the passages (built once per passage tuple and cached).

The score has two parts:
- agreement of words: the rarity-weighted share of content words found in the passages (stemmed, with British
  and irregular forms folded), and the share of neighbouring word pairs found in one passage sentence. A small
  logistic model turns these shares into a probability; its numbers live in `support_model.json`, trained by
  `python -m eval.train_judge`. Shares, not counts, so the score does not reward short or long claims.
- hard checks: a number, name, date or negation that contradicts the passages pushes the score below the
  threshold, whatever the word overlap.
A multi-sentence claim is scored as a whole: words pooled over its sentences, and every sentence must pass the
hard checks.

>>> scorer = OfflineSupportScorer()
>>> passage = "The bridge will be about 100 meters long with a width of 31 meters."
>>> scorer.support([passage], "The bridge will be 100 metres long [1].") >= scorer.threshold
True
>>> report = scorer.explain([passage], "The bridge will be 400 meters long.")
>>> report.supported, report.reasons[0]
(False, 'number 400 not in passage')
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rag.text.markers import MARKER
from rag.text.markers import strip_markers as strip_citations
from rag.text.sentences import split_sentences
from rag.text.words import IRREGULAR, MONTH_NAMES, MONTHS, STOPWORDS, WEEKDAYS
from rag.text.words import stem as _stem

__all__ = [
    "FEATURE_NAMES",
    "HARD_CHECKS",
    "MODEL_FORMAT",
    "MODEL_VERSION",
    "OfflineSupportScorer",
    "SupportModel",
    "SupportReport",
    "SupportScorer",
    "split_sentences",
    "strip_citations",
]

MODEL_FORMAT = "newsdesk-support-model"
MODEL_VERSION = 1  # bump when FEATURE_NAMES or their meaning change; old model files are then refused
DEFAULT_MODEL_PATH = Path(__file__).with_name("support_model.json")


@runtime_checkable
class SupportScorer(Protocol):
    """Scores how well passages support one sentence: 1.0 fully supported, 0.0 not at all."""

    threshold: float  # a sentence counts as supported when support(...) >= threshold

    def support(self, passages: Sequence[str], sentence: str) -> float: ...


@dataclass(frozen=True)
class SupportReport:
    """A score, its verdict and the mismatches found, e.g. ("number 400 not in passage",)."""

    score: float
    supported: bool
    reasons: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------------------------
# Words

# Words so common in news prose that their absence from a passage says little; they get half weight.
_GENERIC = """say says said tell told report reported reports year years time times day days week weeks month
months people person new old last next also like make made take took get got go went come came just many much
well way back first second include including included according know known see seen want use used find found
give given think thought look show shown help call called work part place case member members group number
news latest good great big large small high low long little lot lots set put keep left right end start
started begin began become became including important major recent recently currently current later early
according added added add adding told statement believe believed expected expect reportedly allegedly
comes going continue continued several various certain different possible following during area areas
official officials world country city state local public national international life home family
woman women man men child children former top key latest click story full here today yesterday""".split()

# The vocabulary of summarising and attributing ("the author argues", "highlighting the importance of"):
# words that frame a claim without adding a checkable fact. They are left out of coverage.
_DISCOURSE = frozenset(
    """author authors article articles writer piece passage text summary argue argues argued arguing discuss
    discusses discussed discussing note notes noted noting emphasize emphasizes emphasized emphasizing
    emphasise emphasises emphasised highlight highlights highlighted highlighting conclude concludes concluded
    acknowledge acknowledges acknowledged express expresses expressed mention mentions mentioned suggest
    suggests suggested describe describes described explain explains explained overall however meanwhile
    additionally furthermore moreover despite due including includes various particularly ultimately
    significant significantly notably reminder serves serve importance stance aims aim efforts effort regarding
    thousands hundreds dozens millions billions""".split()
)

_NEGATION_WORDS = frozenset(
    """not no never none nobody nothing neither nor nowhere without cannot refuse refused refuses refusing deny
    denied denies denying decline declined declines declining fail failed fails failing unable""".split()
)

_GENERIC_STEMS = frozenset(_stem(w) for w in _GENERIC)

# --------------------------------------------------------------------------------------------------------------
# Numbers and dates

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "dozen": 12,
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
           "bn": 1e9, "mn": 1e6, "k": 1e3}
# "first" and "second" are left out: "for the first time" and "a second look" are rarely numeric claims.
_ORDINALS = {
    "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
    "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "sixteenth": 16,
    "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fiftieth": 50,
    "hundredth": 100,
}
_WEEKDAYS = frozenset(WEEKDAYS)
# "May" is also a verb; it is a month only next to a number or after one of these words.
_MAY_CUES = frozenset("in on of since until till by early late last next mid this from to through".split())
_HEDGES = frozenset("about around nearly almost roughly approximately some over more less than up under".split())
_NAME_JOINERS = frozenset("of de da del der van von la le bin al".split())
_TITLES = frozenset(
    """president governor gov senator sen representative rep congressman congresswoman minister prime chancellor
    king queen prince princess duke duchess lord lady sir dame judge justice mayor coach manager captain
    general gen colonel officer chief ceo chairman director secretary spokesman spokeswoman suspect professor
    prof doctor dr detective sergeant inspector pope bishop archbishop father rev reverend former""".split()
)
_AUXILIARIES = frozenset(
    "is was are were has had have will would could can may might should must did does says told".split())
_COMMON_END = re.compile(r"(?:ing|ings|ed|ly|ers|ists|tion|tions|ment|ments|ness|ity|ities|ies|ous|ive|able|ful|"
                         r"less|ism|ance|ence|ors|als)$")
_DEMONYM_END = re.compile(r"(?:ian|ean|an|ese|ish|i|ic|er|ns)$")
_ALIAS_GROUPS = (
    "britain british brits uk", "spain spanish spaniard", "france french frenchman", "netherlands dutch holland "
    "dutchman", "wales welsh", "scotland scottish scots scot", "ireland irish", "switzerland swiss",
    "greece greek", "denmark danish dane", "sweden swedish swede", "norway norwegian", "finland finnish",
    "poland polish pole", "turkey turkish turk", "portugal portuguese", "philippines filipino", "thailand thai",
    "america american americans us usa", "england english", "iceland icelandic", "new zealand kiwi",
)
_ALIASES: dict[str, set[str]] = {}
for _group in _ALIAS_GROUPS:
    for _w in _group.split():
        _ALIASES.setdefault(_w, set()).update(set(_group.split()) - {_w})
_PHRASE_ALIASES = {
    "united states": {"us", "usa", "america", "american", "americans"},
    "united kingdom": {"uk", "britain", "british"},
    "united nations": {"un"},
    "european union": {"eu"},
}
_META = re.compile(
    r"^(?:sure|certainly|of course|okay|ok)\b[\s!,.]*$"  # a bare "Sure!"
    r"|^(?:(?:sure|certainly|okay|ok)\W+)?(?:here(?:'s|\u2019s| is| are)|below is)\b.*:$",  # "Here's the summary ...:"
    re.IGNORECASE,
)

# Words come first because they are the most common; the date must come before plain numbers.
_TOKEN = re.compile(
    r"(?P<word>[A-Za-z]+(?:['\u2019][A-Za-z]+)*)"
    r"|(?P<punct>[.,;:!?()\"\u201c\u201d])"
    r"|(?P<iso>\b\d{4}-\d{2}-\d{2}\b)"
    r"|(?P<num>[$£€]?\d+(?:,\d{3})+(?:\.\d+)?|[$£€]?\d+(?:\.\d+)?)(?P<suffix>%|st\b|nd\b|rd\b|th\b|s\b|bn\b|mn\b|m\b|k\b)?"
)


def _sig_digits(value: float) -> int:
    """Significant digits of a round-looking number: 400 -> 1, 1600 -> 2, 1.5e6 -> 2, 402 -> 3."""
    if value == 0:
        return 1
    digits = f"{abs(value):.6g}".replace(".", "").lstrip("0")
    if "e" in digits:
        digits = digits.split("e")[0]
    return max(1, len(digits.rstrip("0")))


def _round_sig(value: float, sig: int) -> float:
    if value == 0:
        return 0.0
    return round(value, sig - int(math.floor(math.log10(abs(value)))) - 1)


def _num_key(value: float) -> float:
    return float(f"{value:.9g}")


@dataclass(slots=True)
class _Tok:
    kind: str  # "word" | "num" | "punct" | "date" (ISO) | "dateword" (month, weekday) | "skip" (merged away)
    text: str
    lower: str = ""
    stem: str = ""
    cap: bool = False  # capitalised and not the first word of its sentence (so probably a name)
    values: tuple[float, ...] = ()
    ordinal: bool = False
    consumed: bool = False  # a number already used as the day of a date


@dataclass
class _Facts:
    """What a piece of text asserts, in comparable form."""

    content: list[tuple[str, str, float]] = field(default_factory=list)  # (stem, surface, weight)
    numbers: list[tuple[str, tuple[float, ...], bool]] = field(default_factory=list)  # (surface, values, hedged)
    # (surface, lowercase parts, starts the sentence): the first word may be an ordinary capitalised word
    names: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)
    months: list[tuple[int, int | None]] = field(default_factory=list)  # (month, day or None)
    weekdays: list[str] = field(default_factory=list)
    # (cue, head, scope): the first content word after the cue, and the first two
    negations: list[tuple[str, str, frozenset[str]]] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # every word, lowercased
    days: list[float] = field(default_factory=list)  # day numbers read as part of a date


_DOTTED = re.compile(r"\b(?:[A-Z]\.){2,}")
_NEG_PREFIX = re.compile(r"\b([Nn]on?)-(?=[A-Za-z])")


@lru_cache(maxsize=65536)
def _surface(text: str) -> tuple[str, bool, bool]:
    """(lowercase without a possessive 's, starts uppercase, is an acronym) of a word as written."""
    lower = text.lower().replace("\u2019", "'")
    if lower.endswith("'s"):
        lower = lower[:-2]
    return lower, text[0].isupper(), len(text) >= 2 and text.isupper()


@lru_cache(maxsize=65536)
def _content(lower: str) -> tuple[str, float]:
    """(stem, base weight) of a lowercase word; weight 0.0 leaves it out of coverage (discourse words keep a
    stem since they can head a negation); an empty stem means a stopword or negation word."""
    if (lower in STOPWORDS or lower in _NEGATION_WORDS or len(lower) < 2 or lower.endswith("n't")
            or ("'" in lower and lower.split("'")[0] in STOPWORDS)):  # "they're", "he'd"
        return "", 0.0
    stem = _stem(lower)
    if lower in _DISCOURSE:
        return stem, 0.0
    weight = 0.5 if stem in _GENERIC_STEMS else 1.0
    if len(lower) >= 8:
        weight += 0.25  # long words are rarer
    return stem, weight


def _normalize(text: str) -> str:
    """Text as both sides are read: no [n] markers, "U.S." as "US", "no-fly" and "non-profit" as one word
    (so "no" there is not a negation)."""
    text = MARKER.sub("", text)
    if "-" in text:
        text = _NEG_PREFIX.sub(r"\1", text)
    return _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)


def _tokenize(sentence: str) -> list[_Tok]:
    toks: list[_Tok] = []
    first_word = True
    for m in _TOKEN.finditer(sentence):
        kind = m.lastgroup
        if kind == "word":
            text = m.group()
            lower, upper, acronym = _surface(text)
            # capitalised past the first word (or an acronym anywhere): probably part of a name
            toks.append(_Tok("word", text, lower=lower, cap=acronym or (upper and not first_word)))
            first_word = False
        elif kind == "punct":
            p = m.group()
            toks.append(_Tok("punct", p))
            if p in ".!?:\"\u201c":
                first_word = True  # the next word starts a sentence or a quotation
        elif kind == "iso":
            y, mo, d = (int(x) for x in m.group().split("-"))
            toks.append(_Tok("date", m.group(), values=(float(y), float(mo), float(d))))
            first_word = False
        else:  # a number, perhaps with a suffix
            raw = m.group("num")
            suffix = (m.group("suffix") or "").lower()
            value = float(raw.lstrip("$£€").replace(",", ""))
            values: tuple[float, ...] = (value,)
            if suffix:
                if suffix in ("bn", "k", "mn"):
                    values = (value * _SCALES[suffix],)
                elif suffix == "s" and value < 100 and value % 10 == 0:
                    values = (value, 1900 + value)  # "the '50s" is the 1950s
                elif suffix == "m":
                    # "$5m" is money; "100m" may be metres, so it keeps both readings
                    values = (value * 1e6,) if raw[0] in "$£€" else (value, value * 1e6)
            toks.append(_Tok("num", m.group(), values=values, ordinal=suffix in ("st", "nd", "rd", "th")))
            first_word = False
    _read_number_words(toks)
    return toks


def _read_number_words(toks: list[_Tok]) -> None:
    """Turn number words and scales into values in place: "one hundred" -> 100, "1.5 million" -> 1.5e6."""
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "num" and not t.ordinal:
            j = i + 1
            if j < len(toks) and toks[j].kind == "word" and toks[j].lower in _SCALES and toks[j].lower != "k":
                scale = _SCALES[toks[j].lower]
                t.values = tuple(v * scale for v in t.values[:1])
                t.text = f"{t.text} {toks[j].text}"
                toks[j].kind = "skip"
            i += 1
            continue
        if t.kind == "word" and (t.lower in _UNITS or t.lower in _TENS) and t.lower != "dozen":
            total, current, j = 0.0, 0.0, i
            parts: list[str] = []
            while j < len(toks) and toks[j].kind == "word":
                w = toks[j].lower
                if w in _UNITS:
                    current += _UNITS[w]
                elif w in _TENS:
                    current += _TENS[w]
                elif w in _SCALES and w not in ("k", "bn", "mn"):
                    scale = _SCALES[w]
                    if scale == 100:
                        current = max(current, 1) * 100
                    else:
                        total += max(current, 1) * scale
                        current = 0
                elif w == "and" and parts and j + 1 < len(toks) and toks[j + 1].lower in _UNITS | _TENS:
                    pass
                else:
                    break
                parts.append(toks[j].text)
                j += 1
            value = total + current
            for k in range(i + 1, j):
                toks[k].kind = "skip"
            if parts == ["one"] or (parts == ["One"]):
                t.kind = "word"  # a lone "one" is usually a pronoun ("one of the"), not a count
                i = j
                continue
            t.kind, t.text, t.values = "num", " ".join(parts), (value,)
            i = j
            continue
        if t.kind == "word" and t.lower in _ORDINALS:
            t.kind, t.values, t.ordinal = "num", (float(_ORDINALS[t.lower]),), True
        i += 1


def _is_day(t: _Tok | None) -> bool:
    return t is not None and t.kind == "num" and not t.consumed and t.values[0] in _DAYS


_DAYS = frozenset(float(d) for d in range(1, 32))


def _is_negation(t: _Tok, nxt: _Tok | None) -> bool:
    """Whether a negation word negates here: not in "not only", "No Man's Fort", "world No 1", "failing grades"."""
    after = nxt.lower if nxt is not None and nxt.kind == "word" else ""
    if t.lower.startswith(("fail", "refus", "declin")):
        return after == "to"  # "failed to pay" negates paying; "declining sales" does not
    if after in ("only", "just", "merely"):
        return False  # "not only ... but also", "isn't just about"
    if t.lower == "no" and nxt is not None and (nxt.kind == "num" or nxt.text[:1].isupper()):
        return False
    return True


def _facts(sentence: str, passage: bool = False) -> _Facts:
    """Read one sentence into facts; a passage sentence skips what only claims need (names, hedges)."""
    toks = [t for t in _tokenize(sentence) if t.kind != "skip"]
    facts = _Facts()
    n = len(toks)

    # dates first, so a day number inside a date is not also checked as a bare number
    for i, t in enumerate(toks):
        if t.kind == "date":
            facts.months.append((int(t.values[1]), int(t.values[2])))
            facts.numbers.append((t.text[:4], (t.values[0],), False))
            continue
        if t.kind != "word" or not t.text[0].isupper():
            continue
        if t.lower in _WEEKDAYS:
            facts.weekdays.append(t.lower)
            t.kind = "dateword"
            continue
        month = MONTHS.get(t.lower)
        if month is None:
            continue
        prev = toks[i - 1] if i > 0 else None
        nxt = toks[i + 1] if i + 1 < n else None
        nxt_day, prev_day = _is_day(nxt), _is_day(prev)
        year_next = nxt is not None and nxt.kind == "num" and 1000 <= nxt.values[0] <= 2100
        beside_number = nxt_day or prev_day or year_next
        if t.lower == "may" and not (beside_number or (prev is not None and prev.lower in _MAY_CUES)):
            continue  # "may" the verb
        if len(t.lower) <= 4 and t.lower not in ("may", "june", "july") and not beside_number:
            continue  # short forms ("Mar", "Sept") only count beside a number
        day: int | None = None
        if nxt_day and nxt is not None:
            day, nxt.consumed = int(nxt.values[0]), True
        elif prev_day and prev is not None:
            day, prev.consumed = int(prev.values[0]), True
        if day is not None:
            facts.days.append(float(day))
        facts.months.append((month, day))
        t.kind = "dateword"

    # numbers, words, and content words with weights (rare-looking words count more; names most)
    negated = False
    for i, t in enumerate(toks):
        kind = t.kind
        if kind == "word":
            facts.words.append(t.lower)
            t.stem, weight = _content(t.lower)
            if weight:
                facts.content.append((t.stem, t.text, weight + 0.5 if t.cap else weight))
            elif not t.stem:
                negated = negated or t.lower in _NEGATION_WORDS or t.lower.endswith("n't")
        elif kind == "num" and not t.consumed:
            # a hedge one or two words back ("about 400", "more than 400") allows a looser rounding
            hedged = not passage and any(toks[k].lower in _HEDGES for k in range(max(0, i - 2), i))
            facts.numbers.append((t.text, t.values, hedged))
        elif kind == "dateword":
            facts.words.append(t.lower)

    # names: runs of capitalised words (plus joiners such as "of" inside a run)
    first_word = next((k for k, tk in enumerate(toks) if tk.kind == "word"), -1)
    i = n if passage else 0
    while i < n:
        t = toks[i]
        if t.kind == "word" and t.cap and t.lower not in STOPWORDS and len(t.lower) > 1:
            j = i + 1
            while j < n and toks[j].kind == "word" and (
                toks[j].cap or (toks[j].lower in _NAME_JOINERS and j + 1 < n and toks[j + 1].cap)
            ):
                j += 1
            run = toks[i:j]
            shouted = all(tk.text.isupper() for tk in run) and (
                len(run) > 1 or (j < n and toks[j].text == ":"))  # "CLICK HERE", "READ:" are not names
            parts = tuple(tk.lower for tk in run if tk.lower not in _NAME_JOINERS and tk.lower not in STOPWORDS
                          and len(tk.lower) > 1)
            if parts and not shouted:
                facts.names.append((" ".join(tk.text for tk in run), parts, i == first_word))
            i = j
            continue
        if (i == first_word and t.kind == "word" and not t.cap and len(t.lower) > 1 and t.text[:1].isupper()
                and t.lower not in STOPWORDS and t.lower not in _DISCOURSE and t.lower not in _NEGATION_WORDS):
            if i + 1 < n and toks[i + 1].kind == "word" and toks[i + 1].cap:
                t.cap = True  # a sentence-initial word that opens a multi-word name ("Esteban Cambiasso says")
                continue
            verb = toks[i + 1].lower if i + 1 < n and toks[i + 1].kind == "word" else ""
            paired = verb in ("and", "or") and i + 2 < n and toks[i + 2].cap  # "Armenia and Iran"
            if (_stem(t.lower) not in _GENERIC_STEMS and not _COMMON_END.search(t.lower)
                    and (verb in _AUXILIARIES or verb in IRREGULAR or verb.endswith("ed") or paired)):
                # "Erdogan met Aliyev": a lone first word followed by a verb is checked like a name (flagged
                # only when the passages lack it entirely); "Create a list" and "Tune in" are not names
                facts.names.append((t.text, (t.lower,), True))
        i += 1

    # negations: the head is the first content word after the cue ("did not WIN"); the scope adds one more,
    # and stops at punctuation
    for i, t in enumerate(toks if negated else ()):
        if t.kind != "word" or not (t.lower in _NEGATION_WORDS or t.lower.endswith("n't")):
            continue
        if not _is_negation(t, toks[i + 1] if i + 1 < n else None):
            continue
        scope: list[str] = []
        for k in range(i + 1, n):
            tk = toks[k]
            if tk.kind == "punct" or len(scope) >= 2:
                break
            if tk.kind == "word" and tk.stem:
                scope.append(tk.stem)
        if scope:
            cue = "not" if t.lower.endswith("n't") else t.lower
            facts.negations.append((cue, scope[0], frozenset(scope)))
    return facts


# --------------------------------------------------------------------------------------------------------------
# The passage index


@dataclass
class _Index:
    stems: set[str] = field(default_factory=set)
    lowers: set[str] = field(default_factory=set)
    prefixes: dict[str, set[str]] = field(default_factory=dict)  # 4-letter prefix -> words ("Argentin...")
    stem_sents: dict[str, set[int]] = field(default_factory=dict)  # stem -> ids of the sentences holding it
    sent_stems: list[set[str]] = field(default_factory=list)  # per passage sentence: its content stems
    sent_heads: list[dict[str, str]] = field(default_factory=list)  # per sentence: negated head stem -> cue
    sent_scopes: list[set[str]] = field(default_factory=list)  # per sentence: stems inside a negation's scope
    negated_heads: set[str] = field(default_factory=set)  # every negated head in the passages
    numbers: set[float] = field(default_factory=set)
    number_list: list[float] = field(default_factory=list)
    months: set[int] = field(default_factory=set)
    month_days: set[tuple[int, int]] = field(default_factory=set)
    weekdays: set[str] = field(default_factory=set)


@lru_cache(maxsize=1024)
def _passage_index(passage: str) -> _Index:
    """Index one passage; cached, since verification checks several sentences against the same passages."""
    idx = _Index()
    for sid, sentence in enumerate(split_sentences(_normalize(passage))):
        f = _passage_facts(sentence)
        stems = {stem for stem, _s, _w in f.content}
        for stem in stems:
            idx.stem_sents.setdefault(stem, set()).add(sid)
        idx.stems |= stems
        idx.sent_stems.append(stems)
        idx.sent_heads.append({head: cue for cue, head, _scope in f.negations})
        idx.negated_heads.update(idx.sent_heads[-1])
        idx.sent_scopes.append(set().union(*(scope for _c, _h, scope in f.negations)))
        for _s, values, _h in f.numbers:
            for v in values:
                idx.numbers.add(_num_key(v))
        idx.numbers.update(f.days)  # "on the 12th" may meet "May 12"
        for month, day in f.months:
            idx.months.add(month)
            if day is not None:
                idx.month_days.add((month, day))
        idx.weekdays.update(f.weekdays)
        idx.lowers.update(f.words)
    for w in idx.lowers:
        idx.stems.add(_stem(w))  # stopwords and negations too, so names like "Will" still match
        if len(w) >= 4:
            idx.prefixes.setdefault(w[:4], set()).add(w)
    idx.number_list = sorted(idx.numbers)
    return idx


@lru_cache(maxsize=256)
def _index(passages: tuple[str, ...]) -> _Index:
    """The passages' indexes merged: a sentence citing [1][2] is checked against both together."""
    if len(passages) == 1:
        return _passage_index(passages[0])
    idx = _Index()
    for part in map(_passage_index, passages):
        offset = len(idx.sent_stems)
        for stem, ids in part.stem_sents.items():
            idx.stem_sents.setdefault(stem, set()).update(i + offset for i in ids)
        for prefix, words in part.prefixes.items():
            idx.prefixes.setdefault(prefix, set()).update(words)
        idx.sent_stems += part.sent_stems
        idx.sent_heads += part.sent_heads
        idx.sent_scopes += part.sent_scopes
        for name in ("stems", "lowers", "negated_heads", "numbers", "months", "month_days", "weekdays"):
            getattr(idx, name).update(getattr(part, name))
    idx.number_list = sorted(idx.numbers)
    return idx


@lru_cache(maxsize=16384)
def _passage_facts(sentence: str) -> _Facts:
    # overlapping chunks share sentences, and popular passages come back question after question
    return _facts(sentence, passage=True)


def _word_in(idx: _Index, lower: str) -> bool:
    """A name part is found when the word, its stem, an alias ("Dutch"/"Netherlands") or a demonym of it
    ("Italian"/"Italy", "Argentinian"/"Argentina") is in the passages."""
    if lower in idx.lowers or _stem(lower) in idx.stems:
        return True
    if _ALIASES.get(lower, set()) & idx.lowers:
        return True
    if len(lower) >= 4:
        for cand in idx.prefixes.get(lower[:4], ()):
            short, long_ = sorted((lower, cand), key=len)
            common = len(_common_prefix(lower, cand))
            if common >= 6 and common >= 0.7 * len(short):
                return True  # "Argentinian" / "Argentina"
            if common >= 0.6 * len(short) and len(long_) - common <= 4 and (
                _DEMONYM_END.search(long_) or _DEMONYM_END.search(short)
            ):
                return True  # "Italian" / "Italy", "Chinese" / "China", "Texan" / "Texas"
            if len(short) >= 3 and long_.startswith(short) and len(long_) - len(short) <= 1:
                return True  # "LGBTQ" / "LGBT"
    return False


def _common_prefix(a: str, b: str) -> str:
    k = 0
    while k < len(a) and k < len(b) and a[k] == b[k]:
        k += 1
    return a[:k]


def _number_found(idx: _Index, values: tuple[float, ...], hedged: bool) -> bool:
    for v in values:
        if _num_key(v) in idx.numbers:
            return True
    # A round number may be a rounding of a precise one ("$400 million" for "$402 million"), but a year is
    # never "about" another year.
    v = values[0]
    if v >= 10 and not (1000 <= v <= 2100 and v == int(v)):
        sig = _sig_digits(v)
        tolerance = 0.1 if hedged else 0.05
        for p in idx.number_list:
            if p > 0 and abs(p - v) <= tolerance * v and _round_sig(p, sig) == v:
                return True
    return False


# --------------------------------------------------------------------------------------------------------------
# Features

FEATURE_NAMES: tuple[str, ...] = (
    "coverage",  # weighted share of the claim's content words found in the passages
    "pairs",  # share of its neighbouring content-word pairs found together in one passage sentence
)
# Contradictions that make a sentence unsupported whatever its word overlap. They are rules rather than model
# features: the dev labels would teach the model to ignore them (see eval/train_judge.py), and a sentence with a
# changed number must fail verification.
HARD_CHECKS: tuple[str, ...] = ("number", "name", "date", "negation")


@dataclass
class _SentenceCheck:
    coverage: float
    covered_weight: float
    total_weight: float
    pairs_found: int
    pairs_total: int
    numbers_missed: list[str]
    names_missed: list[str]
    dates_missed: list[str]
    negation: str | None  # the reason text, when the negation disagrees
    missed_words: list[str]


def _check(idx: _Index, sentence: str) -> _SentenceCheck:
    f = _facts(sentence)

    total = covered = 0.0
    missed_words: list[str] = []
    seen: set[str] = set()
    for stem, surface, weight in f.content:
        if stem in seen:
            continue
        seen.add(stem)
        total += weight
        if stem in idx.stems or (surface[:1].isupper() and _word_in(idx, surface.lower())):
            covered += weight
        else:
            missed_words.append(surface)

    # neighbouring content words that share a passage sentence: words found far apart may be facts recombined
    stems = [stem for stem, _s, _w in f.content]
    pairs_total = pairs_found = 0
    for a, b in zip(stems, stems[1:], strict=False):
        if a == b:
            continue
        pairs_total += 1
        sa, sb = idx.stem_sents.get(a), idx.stem_sents.get(b)
        if sa and sb and not sa.isdisjoint(sb):
            pairs_found += 1

    numbers_missed = [s for s, values, hedged in f.numbers if not _number_found(idx, values, hedged)]

    names_missed = []
    for surface, parts, initial in f.names:
        if _PHRASE_ALIASES.get(" ".join(parts), set()) & idx.lowers:
            continue
        if any(p not in _TITLES for p in parts):
            parts = tuple(p for p in parts if p not in _TITLES)  # "Governor Mike Pence" may be "Gov. Mike Pence"
        found = [_word_in(idx, p) for p in parts]
        if all(found) or (initial and len(parts) > 1 and all(found[1:])):
            continue  # "Suspect Kenneth Morgan Stancil": the sentence's first word need not be part of the name
        names_missed.append(surface)

    dates_missed: list[str] = []
    for month, day in f.months:
        if month not in idx.months:
            dates_missed.append(MONTH_NAMES[month])
        elif day is not None and (month, day) not in idx.month_days and (
            _num_key(day) not in idx.numbers or any(m == month for m, _d in idx.month_days)
        ):
            # a bare day number in the passages may be "on the 12th" -- unless they date that month otherwise
            dates_missed.append(f"{MONTH_NAMES[month]} {day}")
    for wd in f.weekdays:
        if wd not in idx.weekdays:
            dates_missed.append(wd.capitalize())

    return _SentenceCheck(
        coverage=covered / total if total else 1.0, covered_weight=covered, total_weight=total,
        pairs_found=pairs_found, pairs_total=pairs_total, numbers_missed=numbers_missed, names_missed=names_missed,
        dates_missed=dates_missed, negation=_negation_check(idx, f), missed_words=missed_words,
    )


def _negation_check(idx: _Index, f: _Facts) -> str | None:
    """A reason when the sentence negates what the passages affirm, or affirms what they negate.

    Only the head of a negation counts (the first content word after the cue: "did not WIN"), and only passage
    sentences that share at least half the sentence's content are compared, so "is not connected to the deal"
    does not contradict "signed the deal". Either direction needs every related passage sentence to disagree,
    because a passage may state a fact twice, once negated in another context.
    """
    weights: dict[str, float] = {}
    for stem, _s, w in f.content:
        weights.setdefault(stem, w)
    total = sum(weights.values())
    claim_scope: set[str] = set()
    for _cue, _head, scope in f.negations:
        claim_scope |= scope
    heads = [(cue, head) for cue, head, _scope in f.negations if head in weights]
    negated_there = [st for st in weights if st in idx.negated_heads and st not in claim_scope]
    if not total or not (heads or negated_there):
        return None  # the common case: nothing negated on either side

    # how much of the sentence each passage sentence shares
    shared_weight: dict[int, float] = {}
    shared_count: dict[int, int] = {}
    for st, w in weights.items():
        for sid in idx.stem_sents.get(st, ()):
            shared_weight[sid] = shared_weight.get(sid, 0.0) + w
            shared_count[sid] = shared_count.get(sid, 0) + 1
    min_count = min(3, len(weights))  # the stem itself and two more words, when the sentence has them

    def related(stem: str) -> list[int]:
        return [sid for sid in idx.stem_sents.get(stem, ())
                if shared_weight[sid] >= 0.5 * total and shared_count[sid] >= min_count]

    for cue, head in heads:
        near = related(head)
        if near and not any(head in idx.sent_scopes[sid] for sid in near):
            return f"negation mismatch: '{cue}'"
    for stem in negated_there:
        near = related(stem)
        if near and all(stem in idx.sent_heads[sid] for sid in near):
            return f"negation mismatch: '{idx.sent_heads[near[0]][stem]}' in passage only"
    return None


def _features(checks: Sequence[_SentenceCheck]) -> dict[str, float]:
    """Model features (FEATURE_NAMES) and hard-check flags ("number", ...: 1.0 when any sentence fails it)."""
    total = sum(c.total_weight for c in checks)
    pairs_total = sum(c.pairs_total for c in checks)
    return {
        "coverage": sum(c.covered_weight for c in checks) / total if total else 1.0,
        "pairs": sum(c.pairs_found for c in checks) / pairs_total if pairs_total else 1.0,
        "number": float(any(c.numbers_missed for c in checks)),
        "name": float(any(c.names_missed for c in checks)),
        "date": float(any(c.dates_missed for c in checks)),
        "negation": float(any(c.negation for c in checks)),
    }


# --------------------------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class SupportModel:
    """Logistic weights over FEATURE_NAMES (standardised by `mean` and `scale`), plus the hard checks.

    A claim that fails a check in `hard` scores `p * threshold * hard_factor`: below the threshold, whatever
    its overlap, yet still ordered by overlap among other contradicted claims.

    >>> m = SupportModel.heuristic()
    >>> round(m.predict({"coverage": 1.0, "pairs": 1.0}), 2)
    0.99
    """

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = 0.5
    hard: tuple[str, ...] = HARD_CHECKS
    hard_factor: float = 0.9
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def predict(self, features: dict[str, float]) -> float:
        """The logistic part alone: support before hard checks."""
        z = self.bias
        for name, w, mu, sd in zip(FEATURE_NAMES, self.weights, self.mean, self.scale, strict=True):
            z += w * (features[name] - mu) / sd
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        ez = math.exp(z)  # the two branches keep exp() from overflowing
        return ez / (1.0 + ez)

    def score(self, features: dict[str, float], threshold: float | None = None) -> float:
        """Support after hard checks, relative to `threshold` (the model's own by default)."""
        p = self.predict(features)
        if any(features.get(kind, 0.0) for kind in self.hard):
            p *= (self.threshold if threshold is None else threshold) * self.hard_factor
        return p

    @classmethod
    def heuristic(cls) -> SupportModel:
        """Hand-set weights for when no trained model file is at hand: about 0.5 at 75% coverage."""
        return cls(weights=(2.0, 1.0), bias=0.0, mean=(0.75, 0.6), scale=(0.15, 0.25),
                   threshold=0.5, meta={"source": "heuristic"})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "features": list(FEATURE_NAMES),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(m, 6) for m in self.mean],
            "scale": [round(s, 6) for s in self.scale],
            "threshold": round(self.threshold, 6),
            "hard": list(self.hard),
            "hard_factor": self.hard_factor,
            "meta": self.meta,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str = "support model") -> SupportModel:
        """Build from the saved form; a foreign, outdated or malformed one raises ValueError naming the fix."""
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ValueError(f"{origin}: not a {MODEL_FORMAT} file")
        if data.get("version") != MODEL_VERSION:
            raise ValueError(f"{origin}: model version {data.get('version')} but this code reads version "
                             f"{MODEL_VERSION}; retrain with `python -m eval.train_judge`")
        if tuple(data.get("features", ())) != FEATURE_NAMES:
            raise ValueError(f"{origin}: its features differ from this code's {list(FEATURE_NAMES)}; "
                             "retrain with `python -m eval.train_judge`")
        try:
            weights, mean, scale = (tuple(float(x) for x in data[k]) for k in ("weights", "mean", "scale"))
            bias, threshold = float(data["bias"]), float(data["threshold"])
            hard = tuple(str(k) for k in data.get("hard", HARD_CHECKS))
            hard_factor = float(data.get("hard_factor", 0.9))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{origin}: malformed model ({exc!r})") from exc
        n = len(FEATURE_NAMES)
        if not (len(weights) == len(mean) == len(scale) == n) or any(s <= 0 for s in scale):
            raise ValueError(f"{origin}: expected {n} weights, means and positive scales")
        if unknown := set(hard) - set(HARD_CHECKS):
            raise ValueError(f"{origin}: unknown hard checks {sorted(unknown)}; known: {list(HARD_CHECKS)}")
        if not 0.0 <= threshold <= 1.0 or not 0.0 < hard_factor <= 1.0:
            raise ValueError(f"{origin}: threshold must be in [0, 1] and hard_factor in (0, 1]")
        return cls(weights=weights, bias=bias, mean=mean, scale=scale, threshold=threshold, hard=hard,
                   hard_factor=hard_factor, meta=dict(data.get("meta", {})))

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL_PATH) -> SupportModel:
        """Read a model file; a missing, foreign or outdated file raises ValueError naming the fix."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ValueError(f"support model {path} not found; train it with `python -m eval.train_judge`") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"support model {path} is not JSON: {exc}") from exc
        return cls.from_json(data, origin=str(path))


@lru_cache(maxsize=1)
def _bundled_model() -> SupportModel:
    if DEFAULT_MODEL_PATH.exists():
        return SupportModel.load(DEFAULT_MODEL_PATH)
    return SupportModel.heuristic()


# --------------------------------------------------------------------------------------------------------------
# The scorer


class OfflineSupportScorer:
    """Support from word, number, name, date and negation agreement with the passages.

    `model` defaults to the bundled `support_model.json` (hand-set weights when that file is absent);
    `threshold` defaults to the model's own. Passages are indexed once and cached, so scoring many sentences
    against the same passages costs only the sentences.

    >>> s = OfflineSupportScorer()
    >>> s.explain(["Putin met Aliyev in Sochi on Monday."], "Erdogan met Aliyev in Sochi on Monday.").reasons[0]
    "name 'Erdogan' not in passage"
    """

    def __init__(self, model: SupportModel | None = None, threshold: float | None = None) -> None:
        self.model = model if model is not None else _bundled_model()
        self.threshold = float(threshold) if threshold is not None else self.model.threshold

    def _checks(self, passages: Sequence[str], sentences: Iterable[str]) -> list[_SentenceCheck]:
        idx = _index(tuple(passages))
        out = []
        for sentence in sentences:
            text = _normalize(sentence).strip()
            if text and not _META.match(text):  # "Sure! Here's the summary:" introduces claims, makes none
                out.append(_check(idx, text))
        return out

    def features(self, passages: Sequence[str], text: str) -> dict[str, float]:
        """FEATURE_NAMES and the HARD_CHECKS flags for a sentence or a multi-sentence claim.

        >>> OfflineSupportScorer().features(["It is 100 m long."], "It is 400 m long.")["number"]
        1.0
        """
        return _features(self._checks(passages, split_sentences(strip_citations(text))))

    def support_sentences(self, passages: Sequence[str], sentences: Sequence[str]) -> float:
        """Support for a claim already split into sentences: pooled word agreement, and every sentence must
        pass the hard checks."""
        return self.model.score(_features(self._checks(passages, sentences)), self.threshold)

    def support(self, passages: Sequence[str], sentence: str) -> float:
        """Support in [0, 1] of `sentence` (or a multi-sentence claim) by the passages taken together."""
        return self.support_sentences(passages, split_sentences(strip_citations(sentence)))

    def explain(self, passages: Sequence[str], sentence: str) -> SupportReport:
        """The score, its verdict and the mismatches behind it."""
        checks = self._checks(passages, split_sentences(strip_citations(sentence)))
        score = self.model.score(_features(checks), self.threshold)
        reasons: list[str] = []
        for c in checks:
            reasons += [f"number {s} not in passage" for s in c.numbers_missed]
            reasons += [f"name '{s}' not in passage" for s in c.names_missed]
            reasons += [f"date {s} not in passage" for s in c.dates_missed]
            if c.negation:
                reasons.append(c.negation)
        for c in checks:
            if c.coverage < 0.75:
                reasons.append(f"low content overlap {c.coverage:.2f}")
            if c.missed_words:
                reasons.append("words not in passage: " + ", ".join(dict.fromkeys(c.missed_words[:8])))
        return SupportReport(score=score, supported=score >= self.threshold, reasons=tuple(dict.fromkeys(reasons)))
