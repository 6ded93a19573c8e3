"""The one place that writes and parses the [n] citation format.

>>> parse_markers("The bridge is 100 m long [2][3]. It opens in 2025 [1, 4].")
[2, 3, 1, 4]
>>> strip_markers("The bridge is 100 m long [2].")
'The bridge is 100 m long.'
>>> cite("The bridge is 100 m long.", [1, 2])
'The bridge is 100 m long [1][2].'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MARKER = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_TRAILING = re.compile(r"([.!?…]+['\"”’)]*)\s*$")


def parse_markers(text: str) -> list[int]:
    """All citation numbers in `text`, in order of appearance (duplicates kept)."""
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*[,;]\s*", m.group(1))]


def strip_markers(text: str) -> str:
    """`text` without its [n] markers (and the space before them)."""
    return MARKER.sub("", text).strip()


def format_markers(numbers: Sequence[int]) -> str:
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
