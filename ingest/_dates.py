"""Dates in the shapes news pages and corpus records write them, normalised to ISO `YYYY-MM-DD`.

>>> parse_date("Thu, 28 Sep 2023 17:10:00 +0000", today=_dt.date(2024, 1, 1))
'2023-09-28'
>>> date_stamp("ANALYTICS  28 September 2023 - 17:10", today=_dt.date(2024, 1, 1))
('2023-09-28', 'ANALYTICS', '')
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import re
from typing import Any

from rag.text.words import MONTH_PATTERN, MONTHS

_MONTH = rf"(?P<mon>{MONTH_PATTERN})\.?"
_ORD = r"(?:st|nd|rd|th)?"

# Each pattern names its parts; `mon` is a month word, `m` a month number. Order only matters for ties at the
# same position, so the unambiguous shapes come first.
_PATTERNS = [
    re.compile(r"(?<![\d/.-])(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)"
               r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\w:]))?"),
    re.compile(r"(?<![\d/.-])(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])"),
    re.compile(rf"(?<![\w])(?P<d>\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH},?\s+(?P<y>\d{{4}})(?!\d)", re.I),
    re.compile(rf"(?<![\w]){_MONTH}\s+(?P<d>\d{{1,2}}){_ORD},?\s+(?P<y>\d{{4}})(?!\d)", re.I),
    # 28.09.2023 and 28-09-2023 are day-first wherever they are written.
    re.compile(r"(?<![\d.])(?P<d>\d{1,2})[.-](?P<m>\d{1,2})[.-](?P<y>\d{4})(?!\d)"),
    # 09/28/2023: month-first as in US newsrooms, unless the first number cannot be a month (see _ymd).
    re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?!\d)"),
]
_SLASH_MDY = _PATTERNS[-1]

_TIME = re.compile(r"\b\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s*[ap]\.?\s?m\.?)?(?![\w])|\b\d{1,2}\s*[ap]\.?m\.?(?![\w])", re.I)
_TZ = re.compile(r"\b(?:utc|gmt|[ecmp][sd]t|bst|cet|cest|eet|eest|msk|ist|jst|aest|azt|z)\b"
                 r"(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?", re.I)
_WEEKDAY = re.compile(r"\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday|sday)?\b\.?", re.I)
_STAMP_WORDS = re.compile(
    r"\b(?:(?:first|last|originally)\s+)?(?:published|updated|posted|modified|created|released|issued|date|time|on|at)"
    r"\b:?", re.I)
_PUNCT_ONLY = re.compile(r"^[\s|/•·,:;()\[\]\-–—]*$")


def _today(today: _dt.date | None) -> _dt.date:
    return today or _dt.date.today()


def _sane(day: _dt.date, today: _dt.date | None) -> str | None:
    """ISO string for a plausible publication day, else None (year before 1800 or more than a year ahead)."""
    if day.year < 1800 or day > _today(today) + _dt.timedelta(days=365):
        return None
    return day.isoformat()


def _ymd(match: re.Match[str]) -> _dt.date | None:
    parts = match.groupdict()
    year, day = int(parts["y"]), int(parts["d"])
    month = MONTHS[parts["mon"].lower()] if parts.get("mon") else int(parts["m"])
    if match.re is _SLASH_MDY and month > 12 >= day:
        month, day = day, month  # 28/09/2023 can only be day-first
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def find_date(text: str, *, today: _dt.date | None = None) -> tuple[str, int, int] | None:
    """The earliest plausible date written in `text`, as (iso, start, end) of its span, or None.

    >>> find_date("Published 3:12 PM EDT, Thu September 28, 2023")
    ('2023-09-28', 27, 45)
    """
    best: tuple[str, int, int] | None = None
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if best is not None and match.start() >= best[1]:
                break
            day = _ymd(match)
            iso = _sane(day, today) if day else None
            if iso:
                best = (iso, match.start(), match.end())
                break
    return best


def _from_epoch(seconds: float, today: _dt.date | None) -> str | None:
    if seconds > 1e11:  # milliseconds, as JavaScript writes them
        seconds /= 1000
    try:
        day = _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None
    return _sane(day, today)


def parse_date(value: Any, *, today: _dt.date | None = None) -> str | None:
    """Normalise a record's date to `YYYY-MM-DD`; None when it is missing, unparsable or absurd.

    Accepts ISO dates and datetimes, RFC 2822, "September 28, 2023", "28.09.2023", epoch seconds or milliseconds.
    >>> parse_date("2023-09-28T17:10:00Z"), parse_date(1695920000), parse_date("0023-01-01")
    ('2023-09-28', '2023-09-28', None)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, _dt.datetime):
        return _sane(value.date(), today)
    if isinstance(value, _dt.date):
        return _sane(value, today)
    if isinstance(value, int | float):
        return _from_epoch(float(value), today)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,13}(?:\.\d+)?", text):
        return _from_epoch(float(text), today)
    try:
        # The date as written, not converted to UTC: a story dated 28 Sep in its own time zone stays 28 Sep.
        return _sane(_dt.datetime.fromisoformat(text).date(), today)
    except ValueError:
        pass
    try:
        return _sane(email.utils.parsedate_to_datetime(text).date(), today)
    except (TypeError, ValueError, IndexError):
        pass
    found = find_date(text, today=today)
    return found[0] if found else None


def date_stamp(line: str, *, today: _dt.date | None = None) -> tuple[str, str, str] | None:
    """Read a line that is only a date stamp: (iso, words left over, the prefix word) or None.

    What may surround the date: a time, a time zone, a weekday, "Published"/"Updated"/"Posted", separators, and a
    few leftover words (a section label such as "ANALYTICS" or "World"). A headline that merely mentions a date is
    not a stamp.
    >>> date_stamp("Updated 10:22 AM EDT, Fri September 29, 2023")
    ('2023-09-29', '', 'updated')
    >>> date_stamp("Talks resume on September 29, 2023 in Baku") is None
    True
    """
    if len(line) > 120:
        return None
    found = find_date(line, today=today)
    if not found:
        return None
    iso, start, end = found
    rest = f"{line[:start]} {line[end:]}"
    prefix = ""
    words = re.match(r"\s*((?:first|last|originally)\s+)?(published|updated|posted|modified|created)\b", line, re.I)
    if words:
        prefix = words.group(2).lower()
    for pattern in (_TIME, _TZ, _WEEKDAY, _STAMP_WORDS):
        rest = pattern.sub(" ", rest)
    rest = re.sub(r"[|/•·,:;()\[\]]|\s[-–—]+(?=\s)|^\s*[-–—]+|[-–—]+\s*$", " ", rest)
    rest = " ".join(rest.split())
    if _PUNCT_ONLY.match(rest):
        return iso, "", prefix
    # A short label may share the line ("ANALYTICS  28 September 2023", "World | 3 March 2024").
    if len(rest.split()) <= 3 and not re.search(r"[.!?\d]", rest):
        return iso, rest, prefix
    return None
