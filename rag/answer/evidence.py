"""Answerability: does a piece of article text carry everything a question constrains?

A question about "the European Central Bank in 2024" is not answered by a sentence about the Federal Reserve in
2021, however similar the words. `missing` lists the question's entities, years, dates and figures that a
sentence's context (the sentence, the sentences around it and the article's title and date) does not hold;
`refusal` says in plain words what the articles have instead.

>>> from rag.answer.question import analyze
>>> q = analyze("What did the European Central Bank decide in June 2022?")
>>> [m.text for m in missing(q, Context("The Federal Reserve raised rates by 0.75 points.", "Fed hike", "2022-06-15"))]
['European Central Bank']
>>> refusal(missing(q, Context("The Federal Reserve raised rates.", "", "2022-06-15"))[0],
...         "The Federal Reserve raised rates.")
"The articles don't say: they mention the Federal Reserve, not the European Central Bank."
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.question import _NOT_NAMES, YEAR, Question
from rag.store.bm25 import tokenize
from rag.text.sentences import split_sentences
from rag.text.words import MONTH_NAMES, QUERY_STOPWORDS
from rag.verify.facts import _TITLES, ALIAS_DEMONYMS

_ALIASES = {
    "us": ("us", "united states", "america", "american", "americans"),
    "usa": ("us", "united states", "america", "american"),
    "united states": ("us", "united states", "america", "american"),
    "america": ("us", "united states", "america", "american"),
    "american": ("us", "united states", "america", "american"),
    "uk": ("uk", "britain", "british", "united kingdom"),
    "britain": ("uk", "britain", "british", "united kingdom"),
    "british": ("uk", "britain", "british", "united kingdom"),
    "united kingdom": ("uk", "britain", "british", "united kingdom"),
    "eu": ("eu", "european union"),
    "european union": ("eu", "european union"),
    "un": ("un", "united nations"),
    "united nations": ("un", "united nations"),
    "covid-19": ("covid", "coronavirus"),
    "covid": ("covid", "coronavirus"),
}
ALIAS_KEYS = frozenset(_ALIASES)  # the names that have other names ("us", "united states", ...)
_DEMONYM = ("ians", "ian", "ans", "an", "ese", "ish", "i", "s")
_GENERIC = frozenset("the of and for de la le du von van inc co corp ltd plc llc".split())
_WORDS = re.compile(r"[^\W_][\w'’.&]*")  # letters of any script: "Türkiye" is one word
_NAME = re.compile(r"(?:[A-Z][\w'’&.-]*|[A-Z]{2,})(?:\s+(?:of\s+(?:the\s+)?|de\s+|the\s+)?(?:[A-Z][\w'’&.-]*|\d+))*")
_MONTHS = {m.lower(): i for i, m in enumerate(MONTH_NAMES) if m}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9


def _norm(text: str) -> str:
    """Lower case, dotted acronyms closed up ("U.S." -> "us"), possessives dropped, diacritics kept."""
    text = re.sub(r"\b((?:[A-Za-z]\.){2,})", lambda m: m.group(1).replace(".", ""), text)
    return re.sub(r"['’]s\b", "", text.lower())


@lru_cache(maxsize=256)
def _sequence(text: str) -> tuple[str, ...]:
    """The text's words in order, normalised (cached: an article is read for many candidate sentences)."""
    return tuple(w.strip(".'’&") for w in _WORDS.findall(_norm(text).replace("-", " ")))


@lru_cache(maxsize=256)
def _words(text: str) -> frozenset[str]:
    return frozenset(_sequence(text))


def _stems(token: str) -> list[str]:
    out = [token]
    for suffix in _DEMONYM:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            out.append(token[: -len(suffix)])
    return out


def _token_in(token: str, words: frozenset[str] | set[str]) -> bool:
    if token in words:
        return True
    for stem in _stems(token)[1:] if len(token) > 4 else ():
        if any(w.startswith(stem) and len(w) - len(stem) <= 4 for w in words):
            return True
    # "Britain" is matched by "British", "Iran" by "Iranian": the text's word may be the demonym.
    return len(token) >= 4 and any(w.startswith(token) and len(w) - len(token) <= 3 and
                                   w[len(token):] in ("ian", "ians", "an", "ans", "i", "is", "ese", "ish", "s", "n")
                                   for w in words)


def entity_tokens(entity: str) -> list[str]:
    """The words of an entity that must be found: capitalised parts, generic words ("of", "Inc") left out."""
    parts = [p for p in re.split(r"[\s-]+", entity.replace("’", "'")) if p]
    keep = [p for p in parts if p[:1].isupper() or p[:1].isdigit()] or parts
    return [t for t in (_norm(p).strip(".'&") for p in keep) if t and t not in _GENERIC]


def mentions(entity: str, text: str, words: frozenset[str] | None = None) -> bool:
    """Does `text` mention `entity`, by its words or a known alias ("U.S." = "United States" = "American")?"""
    words = _words(text) if words is None else words
    key = " ".join(entity_tokens(entity))
    aliases = _ALIASES.get(key)
    if aliases:
        low = " " + " ".join(sorted(words)) + " "
        norm = " " + " ".join(_WORDS.findall(_norm(text))) + " "
        return any((f" {a} " in norm) if " " in a else (a in words) for a in aliases) or low.find(f" {key} ") >= 0
    tokens = entity_tokens(entity)
    if not tokens:
        return False
    missing = [t for t in tokens if not _token_in(t, words)]
    acronyms = {p.lower().strip(".") for p in re.split(r"[\s-]+", entity) if re.fullmatch(r"[A-Z]{2,}\.?", p)}
    if len(tokens) >= 3 and len(missing) == 1 and missing[0] in acronyms:
        return True  # "NHL Stanley Cup Finals" is "the Stanley Cup Final" without the league's acronym
    if missing and all(t in acronyms and len(t) >= 3 and _spelled_out(t, text) for t in missing):
        missing = []  # "WWII" is "World War II", "ECB" the "European Central Bank"
    if len(tokens) >= 2 and missing == [tokens[0]] and len(tokens[0]) >= 3 and tokens[0] not in acronyms:
        # "Ash Carter" is "Ashton Carter": a short first name of the full one, right before the surname.
        return _phrase_in(tokens, text, prefix=True)
    if not missing and len(tokens) == 2 and re.fullmatch(r"[A-Z][\w.]+-[A-Z][\w.]+", entity.strip()):
        return True  # "the Texas-Mexico border" is between Texas and Mexico, however the text joins them
    return not missing and (len(tokens) == 1 or _phrase_in(tokens, text))


_LINKS = frozenset("of the and for on in".split())


@lru_cache(maxsize=1024)
def _spelled_out(acronym: str, text: str) -> bool:
    """Does `text` spell out `acronym` ("wwii") as capitalised words ("World War II"), small links allowed?"""
    words = [w for w in re.findall(r"[A-Za-z]+", text)]
    target = acronym.upper()
    for i, w in enumerate(words):
        if not w[:1].isupper() or w[0] != target[0]:
            continue
        pos, j = 0, i
        while pos < len(target) and j < len(words):
            word = words[j]
            if re.fullmatch(r"[IVX]+", word) and target[pos:].startswith(word):
                pos += len(word)
            elif word[:1].isupper() and word[0] == target[pos]:
                pos += 1
            elif word.lower() in _LINKS and pos > 0:
                pass
            else:
                break
            j += 1
        if pos == len(target) and j - i >= 2:
            return True
    return False


def _phrase_in(tokens: list[str], text: str, *, prefix: bool = False) -> bool:
    """The tokens in order, at most two other words apart: "Aras River" is not "Aras Corridor ... Astarachay
    River". With `prefix`, the first token may be the start of a longer first name, right before the next token.
    """
    seq = _sequence(text)
    for i, w in enumerate(seq):
        if prefix:
            if not (w.startswith(tokens[0]) and len(w) - len(tokens[0]) <= 5 and i + 1 < len(seq)
                    and _token_in(tokens[1], {seq[i + 1]})):
                continue
        elif not _token_in(tokens[0], {w}):
            continue
        pos = i
        for t in tokens[1:]:
            nxt = next((j for j in range(pos + 1, min(len(seq), pos + 4)) if _token_in(t, {seq[j]})), None)
            if nxt is None:
                break
            pos = nxt
        else:
            return True
    return False


@dataclass(frozen=True)
class Context:
    """What a candidate sentence is read with: the text around it, its article's title and publication date."""

    text: str
    title: str = ""
    published: str | None = None
    article: str = ""  # the whole article text, for names first given in full far from the sentence
    sentence: str = ""  # when given, the question's names must be here (and in the title), not just near
    close: str = ""  # when given, the sentence and the one before: where a possessor of the question must be


@dataclass(frozen=True)
class Missing:
    kind: str  # entity | year | date | figure | role | ordinal | term
    text: str  # as the question wrote it


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.I)


def _digits(text: str) -> set[str]:
    """The figures of `text`, number words included ("one billion" holds 1, as "1 billion" does)."""
    found = {re.sub(r"[,$£€%]", "", f).rstrip(".") for f in re.findall(r"[$£€]?\d[\d,]*(?:\.\d+)?%?", text)}
    return found | {_NUMBER_WORDS[m.group(1).lower()] for m in _NUMBER_WORD.finditer(text)}


def _roughly(plain: str, question: str, written: str, have: set[str]) -> bool:
    """A figure the question hedges ("more than $11 million", "nearly 1,000") is met by one near it in the
    text ("$11.8 million"): within a quarter below to a third above.
    """
    if not re.search(rf"\b(?:more than|over|nearly|almost|about|around|approximately|roughly|some|at least|"
                     rf"up to|less than|under|close to)\s+{re.escape(written)}", question, re.I):
        return False
    try:
        value = float(plain)
    except ValueError:
        return False
    for h in have:
        try:
            other = float(h)
        except ValueError:
            continue
        if value and 0.75 * value <= other <= 1.35 * value:
            return True
    return False


def _month_day(expr: str) -> tuple[int, int] | None:
    m = re.search(r"([A-Za-z]+)\.? (\d{1,2})|(\d{1,2})(?:st|nd|rd|th)? (?:of )?([A-Za-z]+)", expr)
    if not m:
        return None
    month, day = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    number = _MONTHS.get(month.lower().rstrip("."))
    return (number, int(day)) if number else None


def _date_near(expr: str, published: str | None) -> bool:
    """A month-day of the question matches an article published on that day or up to a week later (the text
    then says "Thursday" rather than the date).
    """
    md = _month_day(expr)
    if not md or not published:
        return False
    try:
        pub = _dt.date.fromisoformat(published[:10])
        when = _dt.date(pub.year, *md)
    except ValueError:
        return False
    return 0 <= (pub - when).days <= 7


# How articles write a role: "Sen. Jane Doe", "Gov. Gavin Newsom", "PM Rishi Sunak".
_ROLE_ALIASES = {"senator": ("sen",), "governor": ("gov",), "president": ("pres",),
                 "prime minister": ("pm", "premier"), "secretary": ("sec",), "representative": ("rep",),
                 "judge": ("justice",), "speaker": ("house speaker",), "ceo": ("chief executive",),
                 "chairman": ("chair",), "chairwoman": ("chair",)}


def _dated_event(question: str, year: str, ctx: Context) -> bool:
    """The year belongs to a full date of the question ("January 6, 2021") that a later article names by its
    month and day alone ("the January 6 attack"), published within three years after it.
    """
    if not ctx.published or not ctx.published[:4].isdigit() or not 0 < int(ctx.published[:4]) - int(year) <= 3:
        return False
    for m in re.finditer(rf"\b([A-Z][a-z]{{2,8}}\.? \d{{1,2}})(?:st|nd|rd|th)?,? {year}\b", question):
        md = _month_day(m.group(1))
        if md and any(_month_day(x.group(0)) == md for x in re.finditer(r"\b[A-Z][a-z]{2,8}\.? \d{1,2}\b",
                                                                        f"{ctx.title}\n{ctx.text}")):
            return True
    return False


def _named_figure(figure: str, q: Question) -> bool:
    """Is the figure part of a name the question gives ("Flight 302" of "Ethiopian Airlines Flight 302")? Then the
    article that names the thing need not repeat it near the answer.
    """
    return any(re.search(rf"\b{re.escape(e)}\s+{re.escape(figure)}\b", q.text) for e in q.entities)


def _by_surname(name: str, text: str, article: str, article_words: frozenset[str]) -> bool:
    """`text` names the person by surname ("Carlsen holds the record") where the article gives the full name."""
    tokens = entity_tokens(name)
    return len(tokens) >= 2 and _token_in(tokens[-1], _words(text)) and mentions(name, article, article_words) \
        and not _other_first_name(name, article)


@lru_cache(maxsize=256)
def _other_first_name(name: str, article: str) -> bool:
    """Does the article put another first name before `name`'s surname ("Donald Trump" for "Ivanka Trump")?"""
    first, surname = name.split()[0], name.split()[-1]
    for m in re.finditer(rf"(?<=[\w,;] )([A-Z][a-z]+) {re.escape(surname)}\b", article):  # mid-sentence:
        word = m.group(1)  # "Meanwhile Alcaraz" opening a sentence is no first name
        if word != first and word.lower() not in QUERY_STOPWORDS and word.lower() not in _TITLES and \
                word.lower() not in _NOT_NAMES and word.lower() not in _KIND_WORDS:
            return True
    return False


# Words naming a kind before a name ("Hurricane Roslyn", "Storm Roslyn"), no first names.
_KIND_WORDS = frozenset("hurricane storm typhoon cyclone tropical depression lake river mount fort port cape camp "
                        "saint st team club sister brother mother father son daughter wife husband".split())


_ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth".split(),
             "1st 2nd 3rd 4th 5th 6th 7th 8th 9th 10th".split())
# The n-th of a series the question asks about: "the third quarter", "the second round", "a fourth dose".
_ORDINAL_OF = re.compile(r"\b(" + "|".join(_ORDINALS[0] + _ORDINALS[1]) + r")[\s-]+(quarter|round|half|leg|stage|"
                         r"season|term|game|set|period|wave|phase|dose)\b", re.I)


def _ordinal(word: str) -> int:
    """1 for "first" or "1st", 2 for "second" ..."""
    w = word.lower()
    return (_ORDINALS[0].index(w) if w in _ORDINALS[0] else _ORDINALS[1].index(w)) + 1


def relative_years(text: str, published: str | None) -> set[str]:
    """The years "last year", "this year" and "next year" mean in an article published on `published`."""
    if not published or not published[:4].isdigit():
        return set()
    year = int(published[:4])
    return {str(year + {"last": -1, "this": 0, "next": 1}[m.group(1).lower()])
            for m in re.finditer(r"\b(last|this|next) year\b", text, re.I)
            # not a comparison: "three times what it made during the same period last year"
            if not re.search(r"\b(?:than|from|since|compared|versus|vs|period|over)\b(?:\W+\w+){0,3}\W*$",
                             text[max(0, m.start() - 40):m.start()], re.I)}


def missing(q: Question, ctx: Context, absent_terms: tuple[str, ...] = ()) -> list[Missing]:
    """The constraints of `q` that `ctx` does not carry, most telling first (entities, years, dates, figures,
    then words the store holds nowhere).
    """
    near = f"{ctx.title}\n{ctx.text}"
    words = _words(near)
    own = f"{ctx.title}\n{ctx.sentence}" if ctx.sentence else near
    own_words = _words(own) if ctx.sentence else words
    article_words = _words(ctx.article) if ctx.article else words  # cached per article
    out: list[Missing] = []
    later: list[Missing] = []  # a lone demonym ("British") says less than a year or a figure
    for e in q.entities:
        if mentions(e, own, own_words):
            continue
        words = own_words
        tokens = entity_tokens(e)
        # "Carlos Alcaraz" named in full once, then "Alcaraz": the surname near the sentence and the full name
        # in the same article.
        if _by_surname(e, own, ctx.article, article_words):
            continue  # (not where the article also names another of that surname: Zara and Mack Rutherford)
        if len(tokens) == 1 and _sequence(ctx.article).count(tokens[0]) >= 3:
            continue  # a name the article keeps returning to is what it is about, near the sentence or not
        if len(tokens) >= 3 and _token_in(tokens[0], own_words) and ctx.article and \
                mentions(e, ctx.article, article_words):
            continue  # "the Ethiopian crash" in an article that names "Ethiopian Airlines Flight 302" in full
        if len(tokens) == 2 and _token_in(tokens[-1], words) and _sequence(ctx.article).count(tokens[-1]) >= 3 \
                and not _other_first_name(e, ctx.article):
            continue  # "Carlsen" throughout an article that never gives another first name: Magnus Carlsen
        (later if len(tokens) == 1 and re.search(r"(?:ish|ian|an|ese|i)$", tokens[0]) else out).append(
            Missing("entity", e))
    if ctx.close:
        out.extend(Missing("entity", e) for e in q.possessors
                   if Missing("entity", e) not in out and not mentions(e, f"{ctx.title}\n{ctx.close}")
                   and not _by_surname(e, ctx.close, ctx.article, article_words))
    if q.soft and out:
        # A scene-setting name ("The White House said there will be a new vaccine. When ...?") may be absent
        # when most of the question's names are there and the asking sentence's own names all are.
        lost = [m for m in out if m.kind == "entity"]
        if all(m.text in q.soft for m in lost) and len(q.entities) - len(lost) >= max(1, len(q.entities) / 2):
            out = [m for m in out if m.kind != "entity"]
    words = _words(near)
    # ("last year" said right at the sentence, not anywhere near: an article of 2022 looks back on 2021 often)
    years_here = set(YEAR.findall(near)) | relative_years(ctx.close, ctx.published)
    for y in q.years:
        if y not in years_here and not (ctx.published or "").startswith(y) and not _dated_event(q.text, y, ctx):
            out.append(Missing("year", y))
    for d in q.dates:
        md = _month_day(d)
        if md and not _date_near(d, ctx.published):
            found = any(_month_day(m.group(0)) == md for m in re.finditer(
                r"\b[A-Z][a-z]{2,8}\.? \d{1,2}\b|\b\d{1,2}(?:st|nd|rd|th)? (?:of )?[A-Z][a-z]{2,8}\b", near))
            if not found:
                out.append(Missing("date", d))
    for role in q.roles:
        forms = "|".join(re.escape(f) for f in (role, *_ROLE_ALIASES.get(role, ())))
        if not re.search(rf"\b(?:{forms})s?\b", near, re.I):
            out.append(Missing("role", role))
    for kin in q.kin:  # "What did Rybakina's coach say?" is not answered by what Rybakina said
        if not re.search(rf"\b{re.escape(kin.rstrip('s'))}(?:s|es)?\b", near, re.I):
            out.append(Missing("role", kin))
    for noun in q.superlatives:
        stem = (tokenize(noun) or [noun])[0]  # "breaches" -> "breach" (not "breache")
        # A superlative of the scene-setting ("... one of the biggest breaches ever. Where did it occur?") is
        # the article's subject, not the answer's: said anywhere in the article will do.
        where = ctx.article or near if q.focus and noun not in q.focus.lower() else near
        if not re.search(rf"\b(?:{re.escape(stem)}|{re.escape(noun.rstrip('s'))})", where, re.I):  # ("rate")
            out.append(Missing("term", noun))  # "the heaviest watermelon" is not answered about a pumpkin
    for asked in _ORDINAL_OF.finditer(q.text):
        rank, noun = _ordinal(asked.group(1)), asked.group(2).lower()
        # (in the whole article: one that reports the second quarter is not about the third anywhere in it)
        said = {_ordinal(m.group(1)) for m in _ORDINAL_OF.finditer(f"{ctx.title}\n{ctx.article or near}")
                if m.group(2).lower() == noun}
        if said and rank not in said:  # "BP posted $8.5 billion in the second quarter": not the third
            out.append(Missing("ordinal", f"{asked.group(1)} {noun}"))
    have = _digits(near)
    for f in q.figures:
        plain = re.sub(r"[,$£€%]", "", f).rstrip(".")
        if plain not in have and not _roughly(plain, q.text, f, have) and not (
                ctx.article and _named_figure(f, q) and plain in _digits(ctx.article)):
            out.append(Missing("figure", f))
    out.extend(later)
    out.extend(Missing("term", t) for t in absent_terms)
    return out


# What opens a name's run of capitals without being part of it: "In the United States" names the United States.
_NAME_OPENER = re.compile(r"^(?:(?:In|On|At|For|From|By|With|After|Before|During|Across|Outside|Inside)\s+)?"
                          r"(?:(?:The|A|An|This|That|These|Those|His|Her|Its|Their|the)\s+)?")


def names_in(text: str, exclude: str = "") -> list[str]:
    """Capitalised names in `text` that `exclude` (the question) does not contain, in order of appearance."""
    q = _words(exclude)
    out = []
    for sent, m in ((s, m) for s in split_sentences(text) for m in _NAME.finditer(s)):
        name = _NAME_OPENER.sub("", m.group(0).strip(" .,'’"))
        name = re.sub(r"['’]s$", "", name)  # "Netflix's standard plan" mentions Netflix
        tokens = entity_tokens(name)
        sentence_start = not re.search(r"\w", sent[:m.start()])  # (after a quotation mark or a dash too)
        if not tokens or (sentence_start and len(tokens) == 1):
            continue
        if all(t in q for t in tokens) or all(t in _NOT_NAMES for t in tokens):
            continue
        out.append(name)
    return list(dict.fromkeys(out))


def refusal(miss: Missing, nearest: str = "", published: str | None = None, question: str = "") -> str:
    """The refusal for a missing constraint, naming what the nearest article text has instead (a name the
    `question` gives is not "instead").
    """
    head = "The articles don't say: "
    if miss.kind == "entity":
        others = [n for n in names_in(nearest, question) if not mentions(miss.text, n)]
        # "they mention Canadian" (a lone demonym) or "CNN" (who reported it) says less than another name
        others = [n for n in others if (" " in n or not (re.search(r"(?:ian|ese|ish)$", n) or
                                                         n.lower() in ALIAS_DEMONYMS)) and not re.fullmatch(
            r"CNN|Reuters|AP|AFP|BBC|NPR|Associated Press|Getty Images|CNN Business", n)] or others
        tokens = set(entity_tokens(miss.text))
        # Prefer a name of the same shape: another bank for a bank, another person for a person.
        alike = [n for n in others if tokens & set(entity_tokens(n))] or \
                [n for n in others if len(entity_tokens(n)) == len(tokens)] or others
        if alike:
            return f"{head}they mention {the_name(alike[0])}, not {the_name(miss.text)}."
        return f"{head}the closest passages do not mention {the_name(miss.text)}."
    if miss.kind == "year":
        years = sorted(set(YEAR.findall(nearest)) | ({published[:4]} if published else set()))
        years = [y for y in years if y != miss.text]
        if years:
            return f"{head}the closest articles are about {' and '.join(years[-2:])}, not {miss.text}."
        return f"{head}nothing retrieved is about {miss.text}."
    if miss.kind == "date":
        return f"{head}nothing retrieved is dated {miss.text}."
    if miss.kind == "figure":
        return f"{head}no article mentions {miss.text}."
    if miss.kind == "ordinal":
        noun = miss.text.split()[-1].lower()
        other = next((m.group(0).lower() for m in _ORDINAL_OF.finditer(nearest) if m.group(2).lower() == noun), None)
        if other:
            return f"{head}they mention the {other.replace('-', ' ')}, not the {miss.text}."
    if miss.kind == "role":
        return f"{head}nothing retrieved names the {miss.text} asked about."
    return f"{head}no article mentions “{miss.text}”."


def the_name(name: str) -> str:
    """"Federal Reserve" -> "the Federal Reserve"; person-like and already-determined names unchanged."""
    first = name.split()[0].lower()
    if re.fullmatch(r"U\.?S\.?|U\.?K\.?|EU|UN|UAE|Netherlands|Philippines", name):
        return f"the {name}"  # "the US"
    if re.fullmatch(r"(?:[A-Z][\w'’.-]* )+(?:University|College)", name):
        return name  # "Yale University", but "the University of Oxford"
    if first == "the" or len(name.split()) < 2 or not re.search(
            r"\b(?:Bank|Reserve|Union|Nations|Court|Department|Ministry|Office|Agency|Party|Council|Commission|"
            r"Committee|Organi[sz]ation|Institute|University|College|House|Senate|Army|Navy|Fund|Board|"
            r"Association|Federation|League|Corridor|River|Sea|Ocean|Open|Cup|Games|Act|Administration|"
            r"Service|Authority|Republic|Kingdom|States|Movement)\b", name):
        return name
    return f"the {name}"
