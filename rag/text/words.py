"""The word lists and word folding that retrieval (BM25) and verification (support scoring) share.

One rule decides when two surface forms are the same word: irregular forms and British spellings are folded to
one base form, then the Snowball English stemmer runs. BM25 tokenises chunks and queries with it, and the support
scorer compares answer sentences with passages with it, so "metres" meets "meters" and "grew" meets "grow" in
both. Month and weekday names live here too, for the date readers of ingest, answering and verification.

>>> stem("metres") == stem("meters"), stem("said") == stem("says"), stem("width") == stem("wide")
(True, True, True)
>>> MONTHS["sept"], MONTH_NAMES[9]
(9, 'September')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = [
    "IRREGULAR",
    "MONTHS",
    "MONTH_NAMES",
    "MONTH_PATTERN",
    "QUERY_STOPWORDS",
    "STOPWORDS",
    "SUBJECT_STOPWORDS",
    "WEEKDAYS",
    "base_form",
    "stem",
    "stem_words",
]

# Function words a claim's content leaves out (verification): they carry no checkable fact.
STOPWORDS = frozenset(
    """a about above across after again against all almost along already also although always am among an and
    another any anyone anything are around as at be became because become been before being below between both
    but by can could did do does doing done down during each either else enough etc even ever every for from
    further had has have having he her here hers herself him himself his how however i if in into is it its
    itself just least less let like may me might mine more most mostly much must my myself near nearly need
    off often on once only onto or other others otherwise our ours ourselves out over own per perhaps quite
    rather really same shall she should since so some somehow something sometimes soon still such than that
    the their theirs them themselves then there these they this those though through thus till to too toward
    towards under until up upon us very via was we were what whatever when whenever where whereas whether which
    while who whoever whom whose why will with within would yet you your yours yourself yourselves
    of one ones roughly approximately
    mr mrs ms dr st s t ll ve re d m""".split()
)

# Words a search leaves out (BM25): Lucene's English stop words plus auxiliaries, question words, pronouns and the
# verbs of a request ("describe", "explain"), which carry no topic. Shorter than STOPWORDS: a query's "after" or
# "most" can matter to ranking, where a claim's cannot be checked.
QUERY_STOPWORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then
    there these they this to was will with am were been being do does did doing have has had having would should
    could might must shall can may what which who whom whose when where why how i me my we our you your he him his
    she her its them describe explain tell summarize summarise briefly please
    so s ll ve""".split()  # "so" of "Why was it so bad?"; the pieces \w+ splits off "Rybakina's", "they'll"
)

# Words that are not the subject of a question (follow-up condensing): function words plus the generic words of
# question templates ("how long", "what did they say"), so "the bridge" is what a follow-up borrows.
SUBJECT_STOPWORDS = frozenset("""
a an the and or but if of to in on at by for with from as is are was were be been being do does
did done have has had will would shall should can could may might must what which who whom whose when where why how
that this these those it its they them their he she his her we you i me my our your there here about into over under
than then so not no yes also just only very more most much many some any all each other such own same too again
long wide big large tall high far old new many much say said says tell told know""".split())

# Irregular forms a suffix stemmer cannot join to their base ("grew" and "grow" must match), and the measure words
# whose noun and adjective stand for one fact ("31 metres wide" states "a width of 31 metres"). Ambiguous forms
# whose other reading is the common one in news are left out: "fed" (the Fed), "ground", "wound", "bound".
IRREGULAR: dict[str, str] = dict(pair.split(":") for pair in """
    grew:grow grown:grow rose:rise risen:rise fell:fall fallen:fall won:win lost:lose paid:pay told:tell took:take
    taken:take gave:give given:give made:make went:go gone:go goes:go came:come began:begin begun:begin
    built:build bought:buy sold:sell brought:bring thought:think found:find held:hold kept:keep left:leave led:lead
    met:meet ran:run sent:send spent:spend stood:stand struck:strike taught:teach wrote:write written:write
    spoke:speak spoken:speak chose:choose chosen:choose drove:drive driven:drive flew:fly flown:fly froze:freeze
    frozen:freeze hid:hide hidden:hide knew:know known:know saw:see seen:see shot:shoot sank:sink sunk:sink
    swore:swear sworn:swear threw:throw thrown:throw woke:wake wore:wear worn:wear fought:fight caught:catch
    broke:break broken:break ate:eat eaten:eat drew:draw drawn:draw forgot:forget forgotten:forget hung:hang
    rode:ride ridden:ride rang:ring rung:ring shook:shake shaken:shake sought:seek stole:steal stolen:steal
    swam:swim tore:tear torn:tear understood:understand withdrew:withdraw withdrawn:withdraw fled:flee felt:feel
    dealt:deal meant:mean lent:lend dug:dig slept:sleep swept:sweep became:become sang:sing sung:sing
    sprang:spring sprung:spring stuck:stick forbade:forbid forbidden:forbid arose:arise arisen:arise awoke:awake
    bled:bleed bred:breed clung:cling crept:creep flung:fling leapt:leap slew:slay slain:slay spun:spin
    stank:stink strove:strive swung:swing wept:weep said:say says:say got:get gotten:get
    children:child men:man women:woman mice:mouse feet:foot teeth:tooth geese:goose aboard:board
    wide:width widths:width deep:depth depths:depth long:length lengths:length high:height heights:height
    tall:height taller:height tallest:height broad:breadth heavy:weight strong:strength death:die deaths:die dead:die
    programme:program programmes:program defence:defense offence:offense licence:license grey:gray tyre:tire
    tyres:tire aluminium:aluminum kilometre:kilometer kilometres:kilometer
    """.split())

# British spellings become American ones, so "metres" meets "meters" and "organisation" meets "organization".
# Collisions this might create ("praised" -> "praized") are harmless: both sides of a comparison agree.
_SPELLING = (
    (re.compile(r"(?<=[a-z]{2})tre(s?)$"), r"ter\1"),  # metre, centre, theatre
    (re.compile(r"(?<=[a-z]{3})our(s|ed|ing|ite|ites|able|ably)?$"), r"or\1"),  # colour, favourite, honourable
    (re.compile(r"(?<=[a-z]{3})is(e|es|ed|ing|ation|ations)$"), r"iz\1"),  # organise, realised
    (re.compile(r"(?<=[a-z]{3})ys(e|es|ed|ing)$"), r"yz\1"),  # analyse, paralysed
    (re.compile(r"(?<=[a-z]{4}[aeiou])ll(ed|ing|er|ers)$"), r"l\1"),  # travelled, cancelled (long words only)
    (re.compile(r"(?<=[a-z]{3})ogue(s?)$"), r"og\1"),  # catalogue, dialogue
)

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
MONTH_NAMES = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
# Every key of MONTHS as one regular expression (no groups; match case-insensitively).
MONTH_PATTERN = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
                 r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: imported on first use, not at start-up

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def base_form(lower: str) -> str:
    """A lowercase word with its irregular form or British spelling folded: "grew" -> "grow", "metres" -> "meters".

    >>> base_form("grew"), base_form("metres"), base_form("bridge")
    ('grow', 'meters', 'bridge')
    """
    word = IRREGULAR.get(lower)
    if word is not None:
        return word
    if len(lower) >= 6:
        for pattern, repl in _SPELLING:
            lower = pattern.sub(repl, lower)
    return lower


@lru_cache(maxsize=65536)
def stem(lower: str) -> str:
    """The comparison key of a lowercase word: its base form, stemmed.

    >>> stem("bridges"), stem("grew")
    ('bridg', 'grow')
    """
    return str(_stemmer().stemWord(base_form(lower)))


def stem_words(lowers: Sequence[str]) -> list[str]:
    """`stem` of many lowercase words at once (one call into the stemmer, for indexing whole chunks)."""
    return list(_stemmer().stemWords([base_form(w) for w in lowers]))
