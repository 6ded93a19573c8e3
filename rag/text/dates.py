"""Question dates: the day a question is asked (`as_of`) and the time its words point at.

News questions are asked at a time: "Who won the vote this week?" asked on 2022-06-17 means 2022-06-13 ..
2022-06-17. `resolve(question, as_of)` finds the temporal expressions of a question and turns each into an
inclusive window of days; retrieval weights articles by their distance to those windows (softly: see
rag/retrieve/dateprior.py). Expressions understood: today, yesterday, this/last/next week|weekend|month|year,
earlier this week|month|year, recently / lately / latest / so far, (on|last) Monday..Sunday, in June, June 5,
5 June, June 2021, June 5, 2021, 2021-06-05, in 2021, N days|weeks|months|years ago, the past|last
day|week|month|year (the twelve months before, not last calendar year), (the) past|last N days|weeks|months|years.

>>> import datetime as dt
>>> [str(w) for w in resolve("What did the Fed announce this week?", dt.date(2022, 6, 17))]
['2022-06-13..2022-06-17 (this week)']
>>> [str(w) for w in resolve("Who resigned on Monday?", dt.date(2022, 6, 17))]
['2022-06-13..2022-06-13 (on monday)']
>>> parse_as_of("2022-06-17")
datetime.date(2022, 6, 17)
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

from rag.errors import UserError
from rag.text.words import MONTHS, WEEKDAYS

__all__ = ["DateWindow", "days_between", "parse_as_of", "resolve"]

_MONTHS = MONTHS
_WEEKDAYS = {name: i for i, name in enumerate(WEEKDAYS)}
_UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "few": 3, "several": 4, "couple of": 2}

_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_RE = "|".join(_WEEKDAYS)
_NUM_RE = r"\d+|" + "|".join(sorted((re.escape(w) for w in _NUMBER_WORDS), key=len, reverse=True))

# Ordered: the first pattern that matches a stretch of text claims it, so "June 5, 2021" is never read as "June".
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(name, re.compile(rx, re.I)) for name, rx in [
    ("iso", r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
    ("month_day_year", rf"\b({_MONTH_RE})\.? (\d{{1,2}})(?:st|nd|rd|th)?,? (\d{{4}})\b"),
    ("day_month_year", rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MONTH_RE})\.?,? (\d{{4}})\b"),
    ("month_year", rf"\b({_MONTH_RE})\.?,? (\d{{4}})\b"),
    ("month_day", rf"\b({_MONTH_RE})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b(?!,? \d)"),
    ("day_month", rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?({_MONTH_RE})\b"),
    ("ago", rf"\b({_NUM_RE}) (day|week|month|year)s? ago\b"),
    ("past_n", rf"\b(?:the )?(?:past|last|previous) ({_NUM_RE}) (day|week|month|year)s?\b"),
    # "over the last year" is the twelve months to the day asked, not the calendar year before ("last year")
    ("trailing", r"\bthe (?:past|last|previous) (day|week|month|year)\b(?! (?:of|in|before|after)\b)"),
    ("relative_unit", r"\b(earlier this|this past|this|last|past|previous|next|coming) (week|weekend|month|year)\b"),
    ("weekday", rf"\b(?:(last|this|next|on|this past) )?({_DAY_RE})s?\b"),
    ("in_month", rf"\b(?:in|during|since|by|of|early|late|mid-?) ({_MONTH_RE})\b"),
    ("year", r"\b(?:in|during|since|of|by) ((?:19|20)\d{2})\b"),
    ("today", r"\b(today|tonight|this morning|this afternoon|this evening)\b"),
    ("yesterday", r"\byesterday\b"),
    ("recent", r"\b(recently|recent|lately|latest|newest|most recent|so far|this season|currently)\b"),
]]
# "May" is a month and a verb; only read it as a month next to a day or a year, or after "in".
_AMBIGUOUS_MONTHS = {"may", "mar", "jun", "jan", "dec", "oct", "nov", "aug", "sep", "sept", "feb", "apr", "jul"}


@dataclass(frozen=True)
class DateWindow:
    """An inclusive range of days a question points at; `explicit` is False for vague words ("recently")."""

    start: _dt.date
    end: _dt.date
    phrase: str
    explicit: bool = True

    def distance(self, day: _dt.date) -> int:
        """Days from `day` to the window (0 inside it).

        >>> DateWindow(_dt.date(2022, 6, 13), _dt.date(2022, 6, 17), "this week").distance(_dt.date(2022, 6, 20))
        3
        """
        if day < self.start:
            return (self.start - day).days
        if day > self.end:
            return (day - self.end).days
        return 0

    def __str__(self) -> str:
        return f"{self.start}..{self.end} ({self.phrase})"


def parse_as_of(value: str | _dt.date | None) -> _dt.date:
    """The date a question is asked: `value` as a date, today when None or ""; anything else is a UserError.

    >>> parse_as_of(_dt.date(2022, 6, 17))
    datetime.date(2022, 6, 17)
    >>> parse_as_of("17/06/2022")
    Traceback (most recent call last):
    ...
    rag.errors.UserError: as_of must be a date YYYY-MM-DD, not '17/06/2022'
    """
    if value is None or value == "":
        return _dt.date.today()
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise UserError(f"as_of must be a date YYYY-MM-DD, not {value!r}")
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"as_of must be a date YYYY-MM-DD, not {value!r}") from None


def days_between(a: str | None, b: _dt.date) -> int | None:
    """`b - a` in days for an ISO date string `a` (None when `a` is missing or malformed).

    >>> days_between("2022-06-10", _dt.date(2022, 6, 17))
    7
    """
    if not a:
        return None
    try:
        return (b - _dt.date.fromisoformat(a[:10])).days
    except ValueError:
        return None


def _number(text: str) -> int:
    text = text.lower()
    return int(text) if text.isdigit() else _NUMBER_WORDS.get(text, 1)


def _month_window(year: int, month: int) -> tuple[_dt.date, _dt.date]:
    return _dt.date(year, month, 1), _dt.date(year, month, calendar.monthrange(year, month)[1])


def _shift_months(day: _dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _latest_year(month: int, day: int, as_of: _dt.date) -> int:
    """The year that puts month/day nearest before as_of (a few days after it still counts as this year)."""
    try:
        candidate = _dt.date(as_of.year, month, day)
    except ValueError:
        return as_of.year
    return as_of.year if candidate <= as_of + _dt.timedelta(days=7) else as_of.year - 1


def _safe_date(year: int, month: int, day: int) -> _dt.date | None:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _window(name: str, m: re.Match[str], as_of: _dt.date) -> tuple[_dt.date, _dt.date, bool] | None:
    g = [x.lower() if isinstance(x, str) else x for x in m.groups()]
    day = _dt.timedelta(days=1)
    monday = as_of - _dt.timedelta(days=as_of.weekday())
    if name == "iso":
        d = _safe_date(int(g[0]), int(g[1]), int(g[2]))
        return (d, d, True) if d else None
    if name == "month_day_year":
        d = _safe_date(int(g[2]), _MONTHS[g[0]], int(g[1]))
        return (d, d, True) if d else None
    if name == "day_month_year":
        d = _safe_date(int(g[2]), _MONTHS[g[1]], int(g[0]))
        return (d, d, True) if d else None
    if name == "month_year":
        return (*_month_window(int(g[1]), _MONTHS[g[0]]), True)
    if name in ("month_day", "day_month"):
        month_name, number = (g[0], g[1]) if name == "month_day" else (g[1], g[0])
        month, dom = _MONTHS[month_name], int(number)
        if not 1 <= dom <= 31:
            return None
        d = _safe_date(_latest_year(month, dom, as_of), month, dom)
        return (d, d, True) if d else None
    if name == "ago":
        n, unit = _number(g[0]), _UNITS[g[1]]
        centre = as_of - _dt.timedelta(days=n * unit)
        half = _dt.timedelta(days=max(0, unit // 2))
        return centre - half, min(as_of, centre + half), True
    if name == "past_n":
        n, unit = _number(g[0]), _UNITS[g[1]]
        return as_of - _dt.timedelta(days=n * unit), as_of, True
    if name == "trailing":
        return as_of - _dt.timedelta(days=_UNITS[g[0]]), as_of, True
    if name == "relative_unit":
        which, span = g[0], g[1]
        step = {"last": -1, "past": -1, "previous": -1, "next": 1, "coming": 1}.get(which, 0)
        if which == "this past":
            step = -1
        if span == "week":
            start = monday + _dt.timedelta(days=7 * step)
            end = start + _dt.timedelta(days=6)
            return start, (min(end, as_of) if step == 0 else end), True
        if span == "weekend":
            saturday = monday + _dt.timedelta(days=5)
            if step < 0 or (step == 0 and as_of < saturday and which != "this"):
                saturday -= _dt.timedelta(days=7)
            elif step > 0:
                saturday += _dt.timedelta(days=7) if as_of >= saturday else _dt.timedelta(0)
            return saturday, saturday + day, True
        if span == "month":
            start, end = _month_window(*_shift_months(as_of, step))
            return start, (min(end, as_of) if step == 0 else end), True
        year = as_of.year + step
        return _dt.date(year, 1, 1), (as_of if step == 0 else _dt.date(year, 12, 31)), True
    if name == "weekday":
        which, weekday = g[0], _WEEKDAYS[g[1]]
        back = (as_of.weekday() - weekday) % 7
        if which == "next":
            d = as_of + _dt.timedelta(days=(weekday - as_of.weekday()) % 7 or 7)
        elif which in ("last", "this past") and back == 0:
            d = as_of - _dt.timedelta(days=7)
        else:
            d = as_of - _dt.timedelta(days=back)
        return d, d, True
    if name == "in_month":
        month = _MONTHS[g[0]]
        year = as_of.year if month <= as_of.month else as_of.year - 1
        return (*_month_window(year, month), True)
    if name == "year":
        year = int(g[0])
        return _dt.date(year, 1, 1), _dt.date(year, 12, 31), True
    if name == "today":
        return as_of, as_of, True
    if name == "yesterday":
        return as_of - day, as_of - day, True
    if name == "recent":
        return as_of - _dt.timedelta(days=14), as_of, False
    return None


def resolve(question: str, as_of: _dt.date) -> list[DateWindow]:
    """The windows of days the question's temporal expressions point at, in the order they appear.

    Each stretch of text is read once, by the most specific pattern; vague words ("recently") give a window
    with explicit=False. A question without any gives [].

    >>> [str(w) for w in resolve("What happened in June?", _dt.date(2022, 11, 4))]
    ['2022-06-01..2022-06-30 (in june)']
    >>> [str(w) for w in resolve("What did she say on March 3, 2021 and last month?", _dt.date(2022, 6, 17))]
    ['2021-03-03..2021-03-03 (march 3, 2021)', '2022-05-01..2022-05-31 (last month)']
    >>> resolve("Who may lead the party?", _dt.date(2022, 6, 17))
    []
    """
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, DateWindow]] = []
    for name, pattern in _PATTERNS:
        for m in pattern.finditer(question):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            if name in ("month_day", "in_month", "day_month"):
                month_word = (m.group(1) if name != "day_month" else m.group(2)).lower()
                # "May 5" and "in May" are dates; a bare ambiguous word stays a word.
                if month_word in _AMBIGUOUS_MONTHS and name != "in_month" and m.group(0)[0].islower():
                    continue
            got = _window(name, m, as_of)
            if got is None:
                continue
            start, end, explicit = got
            taken.append((m.start(), m.end()))
            found.append((m.start(), DateWindow(start, end, m.group(0).lower(), explicit)))
    return [w for _, w in sorted(found, key=lambda x: x[0])]
