"""Sentence splitting that keeps character offsets, shared by chunking, answering and verification.

>>> text = "Dr. Smith arrived. He left at 5 p.m. on Monday! Why?"
>>> [text[s:e] for s, e in sentence_spans(text)]
['Dr. Smith arrived.', 'He left at 5 p.m. on Monday!', 'Why?']
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep rev hon pres supt insp
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    inc ltd co corp dept univ assn bros vs etc approx no nos vol fig al est misc ed eds
    u.s u.k u.n e.g i.e a.m p.m d.c""".split()
)

# Abbreviations that may also end a sentence ("... in the U.S. The next day ...").
_CAN_END = frozenset("u.s u.k u.n etc a.m p.m d.c inc ltd co corp jr sr".split())
# Words that usually open a sentence; after an ambiguous abbreviation they signal a boundary.
_STARTERS = frozenset(
    """the a an he she it they we i you his her its their our this that these those there here but and so yet
    or in on at for from by with after before when while as if since although though however meanwhile then
    now still also yes no not one some many most all both each other another what who why how where""".split()
)


def _next_word(text: str, pos: int) -> str:
    m = re.compile(r"\s*([A-Za-z']+)").match(text, pos)
    # Only a capitalised word can open a sentence; lower-case words never signal a boundary.
    return m.group(1).lower() if m and m.group(1)[0].isupper() else ""


# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"""[.!?…]+['"”’)\]]*(?=\s)""")
_PARAGRAPH = re.compile(r"\n\s*\n")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at `dot` closes an abbreviation or an initial rather than a sentence."""
    start = dot
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot].lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    # Single initials ("J. K. Rowling") and dotted acronyms ("U.S.") do not end sentences by themselves.
    return (len(word) == 1 and word.isalpha()) or ("." in word and len(word) <= 6)


def _next_starts_sentence(text: str, pos: int) -> bool:
    """The next non-space character after `pos` could open a sentence (capital, digit, quote, bracket)."""
    m = re.compile(r"\s*(\S)").match(text, pos)
    if not m:
        return True
    ch = m.group(1)
    return ch.isupper() or ch.isdigit() or ch in "\"'“‘([¿¡-–—•*" or not ch.isalpha()


# A photo credit run into the text around it ("... his first pilot's license Nikolay Doychinov/AFP/Getty Images
# Inspired to fly ..."): the caption before it and the credit itself are not part of the next sentence.
_CREDIT = re.compile(r"(?:[A-Z][\w.'’-]*\s+){0,3}[A-Z][\w.'’-]*/(?:[A-Z][\w&.'’ -]{1,30}?/)?(?:Getty Images|AFP|AP|"
                     r"Reuters|EPA(?:-EFE)?|Bloomberg|Shutterstock|Sipa USA|ZUMA Press|NurPhoto|Anadolu Agency|Alamy|"
                     r"USA TODAY(?: Sports)?|Imagn(?: Images)?|The Washington Post|The New York Times)"
                     r"(?: via Getty Images)?(?=\s+[A-Z“\"‘]|\s*$)")


def _split_block(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    cur = start
    credits = _CREDIT.finditer(text, start, end) if text.find("/", start, end) >= 0 else ()  # (a credit has one)
    for m in credits:
        yield from _split_sentences(text, cur, m.start())
        yield _trim(text, m.start(), m.end())
        cur = m.end()
    yield from _split_sentences(text, cur, end)


def _split_sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    cur = start
    for m in _BOUNDARY.finditer(text, start, end):
        stop = m.end()
        punct = text[m.start()]
        if punct == "." and _is_abbreviation(text, m.start()):
            # "U.S. officials" and "Dr. Smith" continue; "in the U.S. The talks" ends: after an abbreviation
            # that can close a sentence, split only before a word that usually opens one.
            word = re.search(r"[\w.]*$", text[start : m.start()]).group(0).lower().strip(".")  # type: ignore[union-attr]
            if word not in _CAN_END or _next_word(text, stop) not in _STARTERS:
                continue
        elif not _next_starts_sentence(text, stop):
            continue
        if text[cur:stop].strip():
            yield _trim(text, cur, stop)
        cur = stop
    if text[cur:end].strip():
        yield _trim(text, cur, end)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line-separated paragraph, whitespace trimmed."""
    spans, cur = [], 0
    for m in _PARAGRAPH.finditer(text):
        if text[cur : m.start()].strip():
            spans.append(_trim(text, cur, m.start()))
        cur = m.end()
    if text[cur:].strip():
        spans.append(_trim(text, cur, len(text)))
    return spans


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence of text[start:end]; paragraphs and lines without end punctuation
    (headings, list items) are boundaries too.
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    sub = text[start:end]
    for ps, pe in paragraph_spans(sub):
        # A single newline inside a paragraph is a boundary only when the line before has no end punctuation
        # and the next line starts with a capital (a heading or a list line), not a wrapped sentence.
        line_start = ps
        for m in re.finditer(r"\n", sub[ps:pe]):
            nl = ps + m.start()
            before = sub[line_start:nl].rstrip()
            after = sub[nl + 1 : pe].lstrip()
            if before and (before[-1] in ".!?:;\"”'’" or (after[:1].isupper() and len(before) < 120)):
                out.extend((start + s, start + e) for s, e in _split_block(sub, line_start, nl))
                line_start = nl + 1
        out.extend((start + s, start + e) for s, e in _split_block(sub, line_start, pe))
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of `text` as strings."""
    return [text[s:e] for s, e in sentence_spans(text)]


# A news dateline opening a sentence: "(CNN)", "Washington CNN —", "WIMBLEDON, England (AP) —", "NEW YORK —".
DATELINE = re.compile(r"^(?:(?:[A-Z][\w.'’-]*[ ,]+){0,4}\((?:CNN|AP|Reuters|AFP|CNN Business)\)\s*[—–-]?\s*|"
                       r"(?:[A-Z][\w.'’-]*\s+){0,3}CNN(?: Business)?\s+[—–]\s*|"
                       r"[A-Z][A-Z.'’-]+(?:[ ,]+[A-Z][A-Za-z.'’-]*){0,3}\s+[—–]\s+)(?=[A-Z“\"‘'])")


def dateline_end(sentence: str) -> int:
    """Where a sentence's text starts after its opening news dateline (0 when it has none, or when little would
    be left).

    >>> s = "WIMBLEDON, England (AP) — Rybakina won the title."
    >>> s[dateline_end(s):]
    'Rybakina won the title.'
    """
    m = DATELINE.match(sentence)
    return m.end() if m and m.end() < len(sentence) - 12 else 0
