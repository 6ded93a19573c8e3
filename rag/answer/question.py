"""What a question asks for, and what it constrains: the first step of answering.

`analyze` reads a question's wording only (no model): the kind of answer it wants (a person, an organisation, a
place, a date, a number with a unit, a reason, a process, an event summary, an article summary, a field of the
article's metadata), the named entities, years and figures an answer must agree with, and whether it asks for
the present state of things ("Who is ...", "the latest ...").

>>> q = analyze("Who was the British prime minister in 2024?")
>>> q.kind, q.entities, q.years, q.present
('person', ('British',), ('2024',), False)
>>> analyze("Summarize the article about Dartmouth in one sentence.").summary_sentences
1
>>> analyze("Who wrote the analysis on the Azerbaijan-Iran normalization process?").metadata_field
'author'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.store.bm25 import tokenize
from rag.text.sentences import split_sentences
from rag.text.words import MONTH_PATTERN

_PERSON_NOUNS = ("person|people|leader|president|minister|official|man|woman|player|senator|governor|mayor|chief|"
                 "head|writer|actor|actress|singer|star|coach|manager|ceo|founder|judge|lawyer|spokesm[ae]n|"
                 "spokeswoman|candidate|lawmaker|politician|king|queen|prince|princess|pope|general|commander|"
                 "captain|director|chairman|chairwoman|secretary|ambassador|diplomat|journalist|reporter|"
                 "scientist|doctor|athlete|executive|owner|grower|teacher|winner|champion|economist|analyst|"
                 "prosecutor|attorney|suspect|victim|rapper|musician|artist|comedian|host|presenter|astronaut|"
                 "premier|chancellor|monarch|heir|boss|nominee|buyer|seller|tennis player|golfer|driver")
_ORG_NOUNS = ("company|companies|firm|team|club|party|group|organi[sz]ation|agency|network|airline|brand|"
              "university|college|school|band|bank|business|retailer|chain|carmaker|automaker|manufacturer|"
              "maker|outlet|newspaper|broadcaster|channel|publisher|court|office|department|ministry|"
              "government|union|league|institution|charity|foundation|studio|platform|app|service|startup|"
              "committee|board|council|body|authority|regulator|lab|laboratory|developer|insurer|operator|"
              "conference|alliance|coalition|bloc")
_PLACE_NOUNS = ("country|countries|city|cities|state|states|region|town|place|province|nation|island|continent|"
                "county|capital|port|airport|venue|stadium|location|village|district|neighbou?rhood|area|river|"
                "lake|mountain|park|territory|border|site|arena|street|building|hospital|prison|base")
_TIME_NOUNS = "year|date|day|month|time|week|season|decade|century|hour|deadline"
_AUX = r"(?:is|are|was|were|did|does|do|will|would|can|could|has|have|had|should|may|might)"
_WH = rf"(?:which|what)(?: (?!{_AUX}\b)\w+){{0,3}}? "

_REASON = re.compile(r"^\s*(?:and |but |so )?why\b|\bwhat (?:caused|causes|led to|prompted|is behind|was behind|"
                     r"are the reasons?|is the reason|was the reason|were the reasons?|drove|drives)\b|"
                     r"\bfor what reason\b|\bhow come\b|\bthe reasons? (?:for|why|behind)\b|"
                     # a cause of death: "What did Howard Hesseman die from?", "What was the cause of death?"
                     r"\bwhat did (?:[\w'’.-]+ ){1,6}?die (?:of|from)\b|\bcause of (?:his |her |their )?death\b",
                     re.I)
_PROCESS = re.compile(r"^\s*(?:and |but |so )?how (?:do|does|did|will|would|can|could|is|are|was|were|should|has|"
                      r"have)\b(?! (?:many|much|long|old|far)\b)|\bexplain how\b|\bin what way\b|"
                      r"\bwhat (?:is|are) the steps\b", re.I)
_EVENT = re.compile(r"\bwhat (?:happened|has happened|is happening|went wrong)\b|\bwhat (?:did|does|do|will) (?:.+ )?"
                    r"(?:decide|do|announce|say|find|reveal|rule|agree|propose|plan)\b|\bdescribe\b|\btell me about\b|"
                    r"\bwhat (?:is|was) the (?:outcome|result|decision|ruling|verdict)\b", re.I)
_SUMMARY = re.compile(r"\bsumm(?:ari[sz]e|ary|ing up)\b|\bsum up\b|\boverview\b|\bgist\b|\btl;?dr\b|"
                      r"\bmain points\b|\bkey points\b|\bwhat (?:is|was) the (?:article|story|piece|analysis|"
                      r"report) (?:about|on)\b|\bwhat does the (?:article|story|piece|analysis|report) say\b", re.I)
_NUMBER = re.compile(r"\bhow (?:many|much|long|wide|tall|high|far|big|large|old|deep|heavy|often|fast|short|"
                     r"low|expensive|strong|powerful|hot|cold|warm)\b|"
                     r"\bwhat (?:[\w'’]+ ){0,5}?(?:percentage|percent|share|number|amount|proportion|"
                     r"size|length|width|height|cost|price|population|ages?|rate|total|sum|figure|value|weight|level|range|"
                     r"distance|speed|score|count|budget|salary|fine|fee|toll|tally|rent|fare|tuition|wage|"
                     r"payout|ransom|bail|bonus|jackpot)\b|\bby how much\b|"
                     r"^\s*what (?:is|was|are|were) (?:\S+ ){1,5}?record (?:for|of) (?:the )?(?:most )?"
                     r"(?:[\w-]+ ){0,2}?[\w-]+s\b|"
                     r"^\s*what (?:is|was|are|were)\b.*\bworth\b", re.I)
_DATE = re.compile(rf"^\s*(?:and |but |so )?when\b|\b(?:which|what|on what|in what) (?:\w+ )?(?:{_TIME_NOUNS})s?\b"
                   r"|\bsince when\b|\bhow soon\b", re.I)
_PERSON = re.compile(rf"^\s*(?:and |but |so )?(?:who|whom|whose)\b|\b{_WH}(?:{_PERSON_NOUNS})s?\b|"
                     r"(?<!, )(?<!,)\bwho(?:m|se)?\b", re.I)  # ", who ..." is a relative clause, not the question
_ORG = re.compile(rf"\b{_WH}(?:{_ORG_NOUNS})\b", re.I)
SUPERLATIVE = re.compile(r"\b(heaviest|largest|biggest|tallest|longest|oldest|youngest|fastest|highest|lowest|"
                         r"smallest|richest|deadliest|busiest|most expensive|cheapest)\s+([a-z]{3,})\b", re.I)
# Roles that tell people apart ("the best actress" is not "the best actor"); "person", "man", "official" do not.
_ROLE = re.compile(r"\b(actress|actor|mayor|governor|senator|president|prime minister|minister|chancellor|king|queen|"
                   r"prince|princess|pope|coach|ceo|founder|chairman|chairwoman|ambassador|astronaut|singer|"
                   r"rapper|judge|prosecutor|goalkeeper|quarterback|pitcher|director|author|winner|champion|"
                   r"speaker|secretary|premier|monarch)s?\b", re.I)
_PLACE = re.compile(rf"^\s*(?:and |but |so )?where\b|\b{_WH}(?:{_PLACE_NOUNS})\b|\bwhere\b", re.I)
_NAME_OF = re.compile(r"\bwhat (?:is|was|are|were) the (?:full )?names? of (?:the |a |an )?", re.I)
_WHAT_DID = re.compile(r"\s*(?:and |but |so )?what (?:did|does|do|will|has|have)\b", re.I)
_THING = re.compile(r"\b(?:which|what)\b", re.I)

# Metadata of the article itself: "Who wrote ...", "When was the article ... published", "Which outlet ...".
_DOC = r"(?:article|story|piece|analysis|report|op-?ed|column|essay|commentary|post|feature|interview|review)"
_META = (
    # "Who wrote the analysis / it?", not "Who wrote the majority opinion?" (a question about the news).
    ("author", re.compile(rf"\bwho (?:wrote|authored|penned)\s+(?:(?:the|this|that)\s+(?:[\w'’-]+\s+){{0,3}}{_DOC}s?\b|"
                          rf"(?:it|this|that)\b)|\bwho (?:is|was) the author of\b|"
                          rf"\b(?:author|writer|byline) of (?:the|this|that) {_DOC}\b|\bwho (?:is|was) the (?:author|"
                          rf"writer)\b|\bwritten by whom\b", re.I)),
    # "When was it published?" in a conversation about an article; "When was it released / written?" may ask
    # about a film or a letter in the news, so a pronoun takes only the verbs of publishing.
    ("published", re.compile(rf"\bwhen (?:was|were|did) (?:the|this|that) (?:[\w'-]+ ){{0,5}}{_DOC}s?\b.*\b"
                             rf"(?:published|come out|appear|released|posted|written)\b|"
                             rf"\b(?:when|what (?:day|date)|on what (?:day|date)) was (?:it|this|that) (?:first )?"
                             rf"(?:published|posted)\b|"
                             rf"\b(?:publication|publishing) date\b|"
                             rf"\bwhat (?:day|date) was (?:the|this|that) {_DOC}\b", re.I)),
    ("source", re.compile(rf"\b(?:which|what) (?:outlet|website|site|publication|newspaper|paper|source|"
                          rf"news (?:outlet|site|organi[sz]ation)|media outlet|publisher)\b.*\b(?:published|ran|"
                          rf"carried|wrote|posted|reported|run|publish)\b|\bwhere was (?:the|this|that) {_DOC}\b.*"
                          rf"\bpublished\b|\bwho published (?:the|this|that) {_DOC}\b", re.I)),
    ("url", re.compile(rf"\b(?:link|url|web address)\b.*\b{_DOC}\b|\bwhere can i (?:read|find)\b", re.I)),
    ("title", re.compile(rf"\b(?:title|headline) of (?:the|this|that) {_DOC}\b|\bwhat (?:is|was) (?:the|this|that) "
                         rf"{_DOC} (?:called|titled)\b", re.I)),
)

_PRESENT = re.compile(r"\b(?:latest|most recent|newest|current(?:ly)?|now|today|at present|presently|so far|"
                      r"as of (?:now|today)|still|up to date|these days|right now)\b|^\s*(?:who|what|which|where|how "
                      r"much|how many)(?: \w+){0,3}? (?:is|are|has|have|holds?|leads?|runs?|owns?|costs?)\b", re.I)
_MONEY = re.compile(r"\b(?:price|cost|fee|fine|salary|budget|bill|wage|toll|value|worth|revenue|profit|sales|rent|"
                    r"fare|tuition|payout|ransom|bail|bonus|jackpot)\b", re.I)
_SENTENCE_COUNT = {"one": 1, "a single": 1, "1": 1, "two": 2, "2": 2, "three": 3, "3": 3, "four": 4, "4": 4,
                   "five": 5, "5": 5, "six": 6, "6": 6}
_COUNT = re.compile(r"\b(?:in|with|using|to)? ?(one|a single|two|three|four|five|six|[1-6]) (?:short )?sentences?\b",
                    re.I)

_QUESTION_WORDS = frozenset("""who whom whose what which when where why how is are was were do does did will would can
could should has have had and but so then also please tell give show list name summarize summarise describe explain
in on at of for from by with the a an this that these those it its according during after before since about
between among into over under than as if or nor yet not no yes i me my we our you your he she they them his her
their there here".""".split())
# Capitalised words that are not names: question openers, weekdays, generic title words.
_NOT_NAMES = _QUESTION_WORDS | frozenset("""monday tuesday wednesday thursday friday saturday sunday mr mrs ms dr
sen gov rep st ceo cfo coo every each all some many most two three four five six seven eight nine ten
both several former last next new after before during while since today yesterday tomorrow however meanwhile
still also january february march april may june july august september october november december""".split())
_MONTH_NAMES = MONTH_PATTERN
_MONTH_DAY = re.compile(rf"\b(?:{_MONTH_NAMES})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b|\b(\d{{1,2}})(?:st|nd|rd|th)? "
                        rf"(?:of )?(?:{_MONTH_NAMES})\b", re.I)
# A year, not part of a figure: "in 2020, 29% ..." but not "2,020,000" or "$2020".
YEAR = re.compile(r"(?<![\d,.$£€])\b(1[89]\d\d|20\d\d)\b(?!,?\d)")
_FIGURE = re.compile(r"(?<![\w-])(?<![A-Za-z]\.)[$£€]?\d[\d,]*(?:\.\d+)?%?")  # not "BA.5"
_NAME_TOKEN = re.compile(r"[A-Z][\w'’.&-]*|[A-Z]{2,}")
_WORD = re.compile(r"[\w'’.&-]+|[^\w\s]")


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # person organisation place date number reason process event summary metadata thing other
    entities: tuple[str, ...] = ()  # named entities an answer must be about ("European Central Bank")
    years: tuple[str, ...] = ()  # "2024"
    dates: tuple[str, ...] = ()  # month-day expressions as written ("June 23")
    figures: tuple[str, ...] = ()  # numbers of the question ("2,554", "$450")
    present: bool = False  # asks for the current state ("Who holds the record", "the latest")
    metadata_field: str | None = None  # author | published | source | url | title
    summary_sentences: int = 0  # for kind "summary": how many sentences the question asks for (0 = default)
    unit: str | None = None  # for kind "number": the "how X" word ("long", "many", "much")
    head: tuple[str, ...] = ()  # the stemmed words after "which/what" ("condiment"; for a person, organisation or
    # place only the noun of its kind: "platform" of "which controversial social media platform")
    # For a question told in several sentences ("Police arrested 31 men ... . Where was the event?"): the asking
    # sentence, and the entities only its preamble names (they set the scene; the answer need not repeat all).
    focus: str = ""
    soft: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # the role a who-question names ("best actress", "mayor"): the answer's must match
    superlatives: tuple[str, ...] = ()  # the noun of "the heaviest watermelon": an answer must be about one
    # Names the question's subject belongs to ("Oregon" of "Oregon's human composting bill"): said in the sentence,
    # the one before or the title, not only somewhere near ("Oregon already allows it" beside California's bill).
    possessors: tuple[str, ...] = ()
    measure: str = ""  # the measure a number question names ("range" of "What is the Spectre's range?")
    # Someone the question reaches through a name ("coach" of "What did Rybakina's coach say?"): an answer must
    # speak of them, not of the name alone.
    kin: tuple[str, ...] = ()

    @property
    def factoid(self) -> bool:
        return self.kind in ("person", "organisation", "place", "date", "number")

    @property
    def explains(self) -> bool:
        """Answered by more than one sentence when the articles give more."""
        return self.kind in ("reason", "process", "event", "summary")


FOR_A_LIVING = re.compile(r"\bdo(?:es)?\s+for\s+a\s+living\b", re.I)
# The measure a number question names: "At what ages ...?", "What is the Spectre's range?".
_MEASURE = re.compile(r"\bwhat (?:[\w'’]+ ){0,5}?(ages?|range|population|speed|distance|weight|height|length|"
                      r"width|salary|budget|score)\b", re.I)
# A question after a prison term: "What sentence did she receive?", "What jail term was handed down?"
_PRISON_TERM = re.compile(r"\b(?:what|which)\s+(?:(?:prison|jail|custodial)\s+)?(?:sentence|term)\b"
                          r"(?!\s+(?:of|in|for)\b)(?=.*\b(?:get|got|gets|receiv\w*|hand\w*|given|impos\w*|serv\w*|face\w*|sentenced)\b)",
                          re.I)


def _earliest(question: str, patterns: tuple[tuple[str, re.Pattern[str]], ...]) -> str | None:
    found = [(m.start(), i, kind) for i, (kind, p) in enumerate(patterns) if (m := p.search(question))]
    return min(found)[2] if found else None


def answer_kind(question: str) -> str:
    """The kind of answer asked for. The earliest cue wins: in "Which minister was visiting when the deal was
    signed?" the question asks for a person; the "when" belongs to a clause.
    """
    if _SUMMARY.search(question):
        return "summary"
    # "What is the name of the prime minister ..." asks what "Which prime minister ..." asks.
    question = _NAME_OF.sub("which ", question)
    if _REASON.search(question):
        return "reason"
    if FOR_A_LIVING.search(question):
        return "thing"  # "What does she do for a living?" asks her job, not what happened
    if _WHAT_DID.match(question) and _EVENT.search(question):
        return "event"
    if _PRISON_TERM.search(question):
        return "number"  # "What sentence did she get?": a prison term, "nine years"
    kind = _earliest(question, (("number", _NUMBER), ("date", _DATE), ("organisation", _ORG), ("person", _PERSON),
                                ("place", _PLACE)))
    if kind:
        return kind
    if _PROCESS.search(question):
        return "process"
    if _EVENT.search(question):
        return "event"
    return "thing" if _THING.search(question) else "other"


def metadata_field(question: str) -> str | None:
    """The article field a question asks about ("author", "published", "source", "url", "title"), or None."""
    return _earliest(question, _META)


_LAW_WORDS = frozenset({"act", "bill", "law", "amendment"})


def _law_ahead(tokens: Sequence[str], j: int) -> bool:
    """Do the capitalised words from `j` on end in "Act", "Bill", "Law" or "Amendment"? Then a "to" before them
    is inside a law's name ("the Freedom to Walk Act", "the Right to Repair Act"), not between two names
    ("Obama to Putin").
    """
    while j < len(tokens) and _NAME_TOKEN.fullmatch(tokens[j]):
        if tokens[j].rstrip(".").lower() in _LAW_WORDS:
            return True
        j += 1
    return False


def entities(question: str) -> tuple[str, ...]:
    """Runs of capitalised words (and acronyms) that are names, not sentence openers or question words.

    >>> entities("Did the European Central Bank raise rates after Netflix's results in the U.S.?")
    ('European Central Bank', 'Netflix', 'U.S.')
    """
    tokens = [m.group(0) for m in _WORD.finditer(question)]
    out: list[str] = []
    run: list[str] = []

    def close() -> None:
        while run and run[-1].lower() in ("of", "the", "and", "de", "for"):
            run.pop()
        if run:
            out.append(" ".join(run))
        run.clear()

    for i, tok in enumerate(tokens):
        word = re.sub(r"['’]s?$", "", tok).rstrip(".") if not re.fullmatch(r"(?:[A-Z]\.){2,}", tok) else tok
        if _NAME_TOKEN.fullmatch(tok) and word and word.lower() not in _NOT_NAMES and not (
                i == 0 and word.lower() in _QUESTION_WORDS):
            run.append(word)
            if re.search(r"['’]s$", tok):
                close()  # "Jane Austen's Emma" names Jane Austen and Emma
            continue
        joins = tok.lower() in ("of", "the", "de", "for") or (tok.lower() == "to" and _law_ahead(tokens, i + 1))
        if run and joins and i + 1 < len(tokens) \
                and _NAME_TOKEN.fullmatch(tokens[i + 1]) and tokens[i + 1].lower() not in _NOT_NAMES:
            run.append(tok)
            continue
        close()
    close()
    # A capitalised first word alone ("Approximately ...", "Baseball legend ...") is the sentence's opening,
    # not a name, unless it is an acronym.
    if out and tokens and out[0] == re.sub(r"['’]s?$", "", tokens[0]) and not re.fullmatch(r"[A-Z]{2,}\.?", out[0]):
        out = out[1:]
    return tuple(dict.fromkeys(out))


def asking_part(question: str) -> str:
    """The sentence that asks, when a question sets the scene first: the last one ending in "?" (or the last).

    >>> asking_part("Police arrested 31 men this week. Where was the event?")
    'Where was the event?'
    """
    sentences = split_sentences(question)
    if len(sentences) < 2:
        return question
    return next((s for s in reversed(sentences) if s.rstrip().endswith("?")), sentences[-1])


def analyze(question: str) -> Question:
    """Read what a question asks for and what it constrains (see the module docstring)."""
    field = metadata_field(question)
    ask = asking_part(question)
    kind = "metadata" if field else answer_kind(ask)
    if kind == "other" and ask != question:
        kind = answer_kind(question)
    years = tuple(dict.fromkeys(YEAR.findall(question)))
    dates = tuple(dict.fromkeys(m.group(0) for m in _MONTH_DAY.finditer(question)))
    without_dates = _MONTH_DAY.sub(" ", YEAR.sub(" ", question))
    figures = tuple(dict.fromkeys(f for f in _FIGURE.findall(without_dates) if re.search(r"\d", f)))
    count = 0
    if kind == "summary":
        m = _COUNT.search(question)
        count = _SENTENCE_COUNT.get(m.group(1).lower(), 0) if m else 0
        if not count and re.search(r"\b(?:briefly|brief|short|quick(?:ly)?|tl;?dr)\b", question, re.I):
            count = 2
        if not count and re.search(r"\b(?:in detail|detailed|long|full|thorough)\b", question, re.I):
            count = 5
    unit, measure = None, ""
    if kind == "number":
        m = re.search(r"\bhow (\w+)", ask, re.I) or re.search(r"\bhow (\w+)", question, re.I)
        unit = m.group(1).lower() if m else "much" if _MONEY.search(ask) or _MONEY.search(question) else \
            "long" if _PRISON_TERM.search(question) else None
        found = _MEASURE.search(ask)
        measure = found.group(1).lower() if found else ""
        if unit is None and measure in ("age", "ages", "range", "distance"):
            unit = "old" if measure.startswith("age") else "far"  # "At what ages ...?" asks how old
        counted = re.search(r"\brecord (?:for|of) (?:the )?(?:most )?(?:[\w-]+ ){0,2}?([\w-]+s)\b", ask, re.I)
        if unit is None and counted:  # "the record for three-pointers" counts three-pointers
            unit = counted.group(1).lower()
    head: tuple[str, ...] = ()
    if kind == "thing":  # ("What is the name of the asteroid ...?" asks which asteroid)
        m = re.search(rf"\b(?:which|what)((?: (?!{_AUX}\b)[\w'’-]+){{1,3}})", _NAME_OF.sub("which ", ask), re.I) or \
            re.search(rf"\b(?:which|what)((?: (?!{_AUX}\b)[\w'’-]+){{1,3}})", question, re.I)
        head = tuple(tokenize(m.group(1))) if m else ()
    elif kind in ("person", "organisation", "place"):  # "which controversial social media platform": its noun
        m = {"person": _PERSON, "organisation": _ORG, "place": _PLACE}[kind].search(ask)
        noun = re.search(r"(\w+)$", m.group(0)) if m and re.match(r"(?i)which|what", m.group(0).lstrip()) else None
        head = tuple(tokenize(noun.group(1))) if noun else ()
    names = entities(question)
    soft: tuple[str, ...] = ()
    if ask != question:
        asked = {e.lower() for e in entities(ask)}
        soft = tuple(e for e in names if e.lower() not in asked)
    present = bool(_PRESENT.search(question) or _PRESENT.search(ask))
    roles = tuple(dict.fromkeys(m.group(1).lower() for m in _ROLE.finditer(ask))) if kind == "person" else ()
    superlatives = tuple(dict.fromkeys(m.group(2).lower() for m in SUPERLATIVE.finditer(question)
                                       if m.group(2).lower() not in _QUESTION_WORDS))
    possessors = tuple(e for e in names if re.search(rf"\b{re.escape(e)}['’]s?\s+[a-z]", question))
    kin = tuple(dict.fromkeys(m.group(1).lower() for e in names for m in re.finditer(
        rf"\b{re.escape(e)}['’]s?\s+(?:\w+\s+)?({_KIN_WORDS})\b", question, re.I)))
    return Question(question, kind, names, years, dates, figures, present, field, count, unit, head,
                    ask if ask != question else "", soft, roles, superlatives, possessors, measure, kin)


# People reached through someone's name ("Rybakina's coach", "Biden's spokeswoman", "the star's longtime agent").
_KIN_WORDS = (r"coach|coaches|lawyer|lawyers|attorney|attorneys|spokesman|spokeswoman|spokesperson|wife|husband|"
              r"mother|father|son|daughter|brother|sister|parents|agent|manager|doctor|boss|partner|girlfriend|"
              r"boyfriend|fiancée?|aide|aides|adviser|advisor|publicist|teammate|teammates|widow|family")


# The stems of the words of a question about an article itself ("Who wrote it?", "When was it published?").
ARTICLE_WORDS = frozenset(tokenize("article story piece wrote written writer author byline published publish posted "
                                   "outlet headline link url"))
_NOT_TOPIC = ARTICLE_WORDS | frozenset(tokenize("summarize summarise summary analysis report website site title about "
                                                "give brief sentence sentences short detail main points key overview "
                                                "gist news tell date day publication"))


def topic_terms(question: str) -> list[str]:
    """The question's content terms (stemmed) without the words that only say what kind of answer it wants."""
    return [t for t in tokenize(question) if t not in _NOT_TOPIC]
