"""Reading a sentence into facts: content words, numbers, names, dates and negations, in comparable form.

The support scorer reads both sides with this: each passage sentence (rag.verify.index) and each claim
(rag.verify.scorer). Words are folded and stemmed by rag.text.words; number words and scales become values
("one hundred" -> 100, "$5m" -> 5e6), a month beside a day number becomes a date, a run of capitalised words a
name, and the first content word after "not" the head of a negation.

>>> f = _facts("Putin did not meet Aliyev in Sochi on 12 March, about 400 km away.")
>>> [n[1] for n in f.numbers], f.months, [s for s, _p, _i in f.names], [(c, h) for c, h, _s in f.negations]
([(400.0,)], [(3, 12)], ['Putin', 'Aliyev', 'Sochi'], [('not', 'meet')])
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from rag.text.markers import MARKER
from rag.text.words import IRREGULAR, MONTHS, STOPWORDS, WEEKDAYS
from rag.text.words import stem as _stem

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
# The place each group names first ("france" of "france french frenchman"), and the words for its people.
ALIAS_PLACES = frozenset(g.split()[0] for g in _ALIAS_GROUPS)
ALIAS_DEMONYMS = frozenset(w for g in _ALIAS_GROUPS for w in g.split()[1:] if len(w) > 3 and w not in
                           ("holland", "america", "zealand"))
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
    r"|^(?:(?:sure|certainly|okay|ok)\W+)?(?:here(?:'s|\u2019s| is| are)|below is)\b.*:$"  # "Here's the summary ...:"
    # a chat answer's sign-off: "I hope this helps!", "Let me know if you have any other questions."
    r"|^(?:i hope (?:this|that|it) helps|(?:please )?let me know if|feel free to"
    r"|if you have any (?:other |further |more )?questions)\b",
    re.IGNORECASE,
)
# The sources an answer cites: "the given passages", "passage 2", "passages 1 and 3", "the article".
_SOURCES = (r"(?:the\s+)?(?:given\s+|provided\s+|above\s+|retrieved\s+)?"
            r"(?:passages?|texts?|context|articles?|information|sources?|documents?)"
            r"(?:\s+\[?\d+\]?(?:\s*(?:,|and|&)\s*\[?\d+\]?)*)?(?:\s+(?:provided|given|above))?")
# A lead-in that cites the sources instead of stating a fact: "Based on the given passages, ...", "According to
# passage 2, it is stated that ..."
_SOURCE_LEAD = re.compile(r"^(?:based on|according to|as per|from|in|as (?:stated|mentioned|reported|described|noted) "
                          r"in)\s+" + _SOURCES + r"\s*,\s*(?:it (?:is|was|can be) (?:mentioned|stated|noted|seen|"
                          r"inferred|concluded|said|reported) that\s+)?", re.IGNORECASE)
# A lead-in that says what the sources, the article or its author do instead of stating what they say: "The
# article discusses the trial of ...", "The author argues that ...", "Passage 1 states that ...". What follows is
# the claim. "The report says" is left alone: in news a report is often a document the article quotes.
_FRAME_VERBS = (
    r"discuss(?:es|ed)?|describ(?:es|ed)|report(?:s|ed)|not(?:es|ed)|argu(?:es|ed)|explain(?:s|ed)|highlight(?:s|ed)"
    r"|mention(?:s|ed)|suggest(?:s|ed)|stat(?:es|ed)|claim(?:s|ed)|conclud(?:es|ed)|emphasi[sz](?:es|ed)"
    r"|stress(?:es|ed)|detail(?:s|ed)|examin(?:es|ed)|explor(?:es|ed)|reveal(?:s|ed)|point(?:s|ed)\s+out"
    r"|warn(?:s|ed)|says|said|tells|told|acknowledg(?:es|ed)|express(?:es|ed)|focus(?:es|ed)\s+on|cover(?:s|ed)"
    r"|look(?:s|ed)\s+at|rais(?:es|ed)|recount(?:s|ed)|shar(?:es|ed)|provid(?:es|ed)|offer(?:s|ed)|outlin(?:es|ed)"
    r"|present(?:s|ed)|observ(?:es|ed)|add(?:s|ed)|contend(?:s|ed)|believ(?:es|ed)|assert(?:s|ed)|insist(?:s|ed)"
    r"|call(?:s|ed)\s+for|urg(?:es|ed)|critici[sz](?:es|ed)|prais(?:es|ed)|touch(?:es|ed)\s+on|delv(?:es|ed)\s+into"
    r"|shed(?:s)?\s+light\s+on|reflect(?:s|ed)\s+on|question(?:s|ed)"
    # the bare forms, after a plural ("the passages state that ...")
    r"|state|mention|say|indicat(?:e|es|ed)|suggest|note|show(?:s|ed)?|describe|explain|report|reveal"
    r"|confirm(?:s|ed)?|specif(?:y|ies|ied)|highlight"
)
_SOURCE_FRAME = re.compile(
    r"^(?:in\s+(?:the|this)\s+(?:article|piece|essay|column|op-ed)\s*,\s*)?"
    r"(?:(?:the|this)\s+(?:news\s+)?(?:author|writer|piece|story|essay|column|op-ed|editorial|commentary)|"
    + _SOURCES + r")\s+(?:also\s+|further\s+|then\s+|briefly\s+|finally\s+|clearly\s+)?(?:" + _FRAME_VERBS + r")\s+"
    r"(?:by\s+\w+ing\s+)?(?:that\s+|how\s+)?(?=\w)",
    re.IGNORECASE,
)
# A sentence that only says what the sources lack: "The passages do not mention the cost.", "I could not find any
# information about the toll." (not "There is no evidence that ...", which is a claim about the world)
_SOURCE_SILENT = re.compile(r"^(?:(?:however|unfortunately),?\s+)?(?:" + _SOURCES + r"\s+(?:do|does|did)\s+not\s+"
                            r"(?:mention|provide|contain|say|specify|include|state|give|discuss)\b"
                            r"|i (?:could not|couldn't|cannot|can't|did not|didn't|was unable to) find\b"
                            r"|there (?:is|was) no (?:specific |further |other )?(?:information|mention|details?)\b"
                            r"[^.]*\b(?:in|from) " + _SOURCES + r")(?!.*\b(?:but|while)\b)",
                            re.IGNORECASE)


def claim_part(sentence: str) -> str:
    """What a sentence claims about the world: "" for one that introduces claims ("Here's the summary:") or only
    says what the sources lack, else the sentence without a lead-in citing them.

    >>> claim_part("Based on the given passages, the bridge is 100 m long.")
    'the bridge is 100 m long.'
    >>> claim_part("The provided passages do not mention the cost."), claim_part("Sure! Here's a summary:")
    ('', '')
    >>> claim_part("The passages do not give the cost, but the bridge is 100 m long.")
    'The passages do not give the cost, but the bridge is 100 m long.'
    >>> claim_part("The author also argues that the bridge is too long."), claim_part("The article discusses a trial.")
    ('the bridge is too long.', 'a trial.')
    >>> claim_part("The report says the bridge is 100 m long.")
    'The report says the bridge is 100 m long.'
    >>> claim_part("According to passage 2, it is stated that the toll is $5."), claim_part("Passage 1 says it's open.")
    ('the toll is $5.', "it's open.")
    >>> claim_part("I hope this helps!"), claim_part("I could not find any information about the toll.")
    ('', '')
    >>> claim_part("There is no information about the toll in the given passages.")
    ''
    >>> claim_part("There is no evidence that the bridge is unsafe.")
    'There is no evidence that the bridge is unsafe.'
    """
    s = sentence.strip()
    if _META.match(s) or _SOURCE_SILENT.match(s):
        return ""
    return _SOURCE_FRAME.sub("", _SOURCE_LEAD.sub("", s, count=1), count=1)

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
    return round(value, sig - math.floor(math.log10(abs(value))) - 1)


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
    stem since they can head a negation); an empty stem means a stopword or negation word.
    """
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
    (so "no" there is not a negation).
    """
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
    return not (t.lower == "no" and nxt is not None and (nxt.kind == "num" or nxt.text[:1].isupper()))


_BACK_COUNTS = frozenset({"two", "three", "four"})
_BACK_DETERMINERS = frozenset({"the", "both", "these", "those"})


def _facts(sentence: str, passage: bool = False) -> _Facts:
    """Read one sentence into facts; a passage sentence skips what only claims need (names, hedges)."""
    toks = [t for t in _tokenize(sentence) if t.kind != "skip"]
    facts = _Facts()
    n = len(toks)
    if not passage:
        for before, tok in itertools.pairwise(toks):
            if tok.kind == "num" and tok.text.lower() in _BACK_COUNTS and before.lower in _BACK_DETERMINERS:
                tok.kind = "word"  # "the two states": a count of what the passage names, not a figure it gives

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
