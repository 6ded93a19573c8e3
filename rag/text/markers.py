"""The one place that writes and parses the [n] citation format.

>>> parse_markers("The bridge is 100 m long [2][3]. It opens in 2025 [1, 4].")
[2, 3, 1, 4]
>>> parse_markers("Ranges and semicolons, as models write them [1-3] [2; 5].")
[1, 2, 3, 2, 5]
>>> strip_markers("The bridge is 100 m long [2].")
'The bridge is 100 m long.'
>>> cite("The bridge is 100 m long.", [1, 2])
'The bridge is 100 m long [1][2].'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# One marker: [n], [n, m], [n; m] or a range [n-m] / [n–m], and the space before it. Group 1 holds the numbers.
MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;\u2013-]\s*\d{1,3})*)\]")
_ITEM = re.compile(r"(\d+)(?:\s*[\u2013-]\s*(\d+))?")
_MAX_RANGE = 20  # "[1-3]" is 1, 2, 3; "[2019-2023]" is no range of passages, so only its ends are read
_TRAILING = re.compile(r"([.!?…]+['\"”’)]*)\s*$")


def marker_numbers(match: re.Match[str]) -> list[int]:
    """The numbers of one MARKER match, ranges expanded: "[1-3]" -> [1, 2, 3], "[1; 4]" -> [1, 4]."""
    out: list[int] = []
    for item in _ITEM.finditer(match.group(1)):
        lo = int(item.group(1))
        hi = int(item.group(2)) if item.group(2) else lo
        out.extend(range(lo, hi + 1) if 0 <= hi - lo <= _MAX_RANGE else (lo, hi))
    return out


def parse_markers(text: str) -> list[int]:
    """All citation numbers in `text`, in order of appearance (duplicates kept)."""
    return [n for m in MARKER.finditer(text) for n in marker_numbers(m)]


def strip_markers(text: str) -> str:
    """`text` without its [n] markers (and the space before them)."""
    return MARKER.sub("", text).strip()


def format_markers(numbers: Sequence[int]) -> str:
    """Markers for `numbers`, one bracket each: [1, 2] -> "[1][2]"."""
    return "".join(f"[{n}]" for n in numbers)


def cite(sentence: str, numbers: Sequence[int]) -> str:
    """Put markers at the end of the sentence, before its final punctuation."""
    bare = strip_markers(sentence)
    if not numbers:
        return bare
    m = _TRAILING.search(bare)
    if m:
        return f"{bare[: m.start()]} {format_markers(numbers)}{m.group(1)}"
    return f"{bare} {format_markers(numbers)}"
