"""Text normalisation shared by every kind of input: the cleaned text is what chunk offsets point into.

>>> normalize_text("  Title\\r\\n\\r\\n   First\\u00a0 paragraph.  \\n Second.\\n")
'Title\\n\\nFirst paragraph.\\n\\nSecond.'
"""

from __future__ import annotations

import itertools
import re
import unicodedata

# Spaces that look like a space to a reader but would split or glue tokens oddly downstream; characters that mean
# a line break; control characters and invisible ones that only break matching (ZWJ/ZWNJ stay: they carry meaning
# in Persian, Indic scripts and emoji).
_REPLACE = {c: " " for c in "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                             "\u202f\u205f\u3000"}
_REPLACE.update({c: "\n" for c in "\v\f\u0085\u2028\u2029"})
_REPLACE.update({chr(c): "" for c in [*range(0x00, 0x09), *range(0x0E, 0x20), *range(0x7F, 0x85), *range(0x86, 0xA0)]})
_REPLACE.update({c: "" for c in "\u200b\u2060\ufeff\u00ad"})
_REPLACE_ASCII = [(c, r) for c, r in _REPLACE.items() if c.isascii()]
BULLET = re.compile(r"^(?:[-*•+–]\s|\d{1,3}[.)]\s)")
_TERMINAL = ".!?…:;\"'”’)»"


def clean_lines(text: str) -> list[str]:
    """Lines of `text` after unicode and whitespace normalisation; blank lines are kept as "".

    >>> clean_lines("a\\u00a0\\u00a0b  \\r\\n\\r\\n\\tc")
    ['a b', '', 'c']
    """
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    # One fast substring test per character: these are rare, and a regex or str.translate pass over a long
    # article costs several times more.
    for char, replacement in _REPLACE_ASCII if text.isascii() else _REPLACE.items():
        if char in text:
            text = text.replace(char, replacement)
    while "  " in text:
        text = text.replace("  ", " ")
    return [line.strip(" ") for line in text.split("\n")]


def _wrap_width(lines: list[str]) -> int | None:
    """The column a hard-wrapped text was wrapped at, or None when lines are whole paragraphs.

    A wrapped text has many lines ending near one width, few lines beyond it, and several lines per block.
    """
    lengths = sorted(len(line) for line in lines if line)
    if len(lengths) < 6:
        return None
    width = lengths[int(len(lengths) * 0.9)]
    if not 40 <= width <= 100:
        return None
    near = sum(1 for n in lengths if 0.75 * width <= n <= width)
    beyond = sum(1 for n in lengths if n > width + 10)
    followed = sum(1 for a, b in itertools.pairwise(lines) if a and b)
    # Wrapped lines break mid-sentence; short paragraphs that happen to be of similar length end sentences.
    broken = sum(1 for line in lines if 0.75 * width <= len(line) <= width and not ends_sentence(line))
    if near >= max(5, len(lengths) // 3) and beyond <= len(lengths) // 50 and followed >= len(lengths) // 3 \
            and broken >= 0.6 * near:
        return width
    return None


def unwrap(lines: list[str]) -> list[str]:
    """Join the lines of hard-wrapped paragraphs back into one line each; other texts are returned as they are.

    A line is continued by the next one when it reaches near the wrap width and the next line is not a list item.
    """
    width = _wrap_width(lines)
    if width is None:
        return lines
    out: list[str] = []
    joinable = False
    for line in lines:
        if line and joinable and out and not BULLET.match(line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        joinable = bool(line) and len(line) >= 0.6 * width and not line.endswith(":")
    return out


def paragraphs(text: str, *, rewrap: bool = True) -> list[str]:
    """Non-empty, normalised lines of `text`: each is one paragraph of the cleaned text. With `rewrap`, the lines
    of a hard-wrapped text are first joined back into paragraphs.

    >>> paragraphs("One.\\n\\n\\n  Two.\\n")
    ['One.', 'Two.']
    """
    lines = clean_lines(text)
    return [line for line in (unwrap(lines) if rewrap else lines) if line]


def join_paragraphs(parts: list[str]) -> str:
    """The final text layout: paragraphs separated by one blank line."""
    return "\n\n".join(p for p in parts if p)


def normalize_text(text: str) -> str:
    """NFC, `\\n` line ends, plain spaces, no indentation or trailing spaces, paragraphs split by a blank line."""
    return join_paragraphs(paragraphs(text))


def ends_sentence(line: str) -> bool:
    """Whether a line ends like a sentence ("...the vote." / "...?”"), not like a headline or a menu item."""
    return bool(line) and line[-1] in _TERMINAL and not line.endswith(":")
