"""Conversations the web chat keeps in the reader's browser, and the Markdown export of one (pure; no gradio).

The browser holds `{"version": 1, "conversations": [...]}`, newest first; each conversation is
`{"id", "title", "updated", "turns": [{"question": str, "answer": Answer.to_dict()}]}`. What comes back from the
browser is untrusted: anything malformed is dropped, never raised, and everything is escaped when shown.

>>> c = Citation(n=1, article_id="a", chunk_id="c", title="Bridge", url=None, published=None, source=None,
...              passage="100 m.", start=0, end=6, score=0.5)
>>> a = Answer(question="How long?", text="100 m [1].", refused=False, citations=(c,))
>>> answer_from_json(answer_to_json(a)) == a
True
>>> print(export_markdown([("How long?", a)]).splitlines()[0])
# How long?
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from rag.text.markers import MARKER, marker_numbers
from rag.types import Answer, Citation
from ui.format import cited_sentence, human_date, reader_notes, safe_url, small_print

VERSION = 1
# The browser sends the whole list with each question (to save the new turn): kept to about a megabyte at most.
MAX_CONVERSATIONS = 25
MAX_TURNS = 20
TITLE_CHARS = 80

Turn = tuple[str, Answer]

# Characters that make Markdown syntax (emphasis, links, images, code, raw HTML, tables, strikethrough, entities):
# backslash-escaped, so a Markdown viewer shows the article's text as it is and never renders its markup.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+=-]|\d+[.)])", flags=re.MULTILINE)


def new_id() -> str:
    return secrets.token_hex(6)


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- answers as JSON -------------------------------------------------------------------------------------------

def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The answer as the browser keeps it: `Answer.to_dict()` (the `ask --json` object) without timings
    other than the total.
    """
    data = answer.to_dict()
    data["timings_ms"] = {k: v for k, v in data["timings_ms"].items() if k == "total"}
    return data


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _citation_from_json(d: Mapping[str, Any]) -> Citation:
    n = _int(d.get("n"))
    if n is None or n < 1:
        raise ValueError("citation without a number")
    score = d.get("score")
    return Citation(n=n, article_id=_str(d.get("article_id")) or "", chunk_id=_str(d.get("chunk_id")) or "",
                    title=_str(d.get("title")) or "", url=_str(d.get("url")), published=_str(d.get("published")),
                    source=_str(d.get("source")), passage=_str(d.get("passage")) or "",
                    start=_int(d.get("start")), end=_int(d.get("end")),
                    score=float(score) if isinstance(score, int | float) else 0.0,
                    kind="metadata" if d.get("kind") == "metadata" else "passage", field=_str(d.get("field")))


def answer_from_json(d: Any) -> Answer | None:
    """An Answer back from its JSON object; None for anything that is not one."""
    if not isinstance(d, Mapping) or not isinstance(d.get("answer"), str) or not isinstance(d.get("question"), str):
        return None
    try:
        cites = tuple(_citation_from_json(c) for c in d.get("citations") or () if isinstance(c, Mapping))
        timings = {k: float(v) for k, v in (d.get("timings_ms") or {}).items()
                   if isinstance(k, str) and isinstance(v, int | float)}
        notes = tuple(x for x in d.get("notes") or () if isinstance(x, str))
    except (TypeError, ValueError, AttributeError):
        return None
    query = _str(d.get("query")) or ""
    return Answer(question=d["question"], text=d["answer"], refused=bool(d.get("refused")), citations=cites,
                  timings_ms=timings, answerer=_str(d.get("answerer")) or "extractive", notes=notes,
                  as_of=_str(d.get("as_of")), query="" if query == d["question"] else query)


# -- the browser's list ----------------------------------------------------------------------------------------

def conversations(stored: Any) -> list[dict[str, Any]]:
    """The well-formed conversations of what the browser sent, newest first (malformed entries dropped)."""
    items = stored.get("conversations") if isinstance(stored, Mapping) else None
    out = []
    for c in items if isinstance(items, list) else ():
        if (isinstance(c, Mapping) and isinstance(c.get("id"), str) and re.fullmatch(r"[0-9a-f]{1,32}", c["id"])
                and isinstance(c.get("turns"), list)):
            out.append(dict(c))
    return out[:MAX_CONVERSATIONS]


def turns_of(conversation: Mapping[str, Any]) -> list[Turn]:
    """The (question, Answer) turns of a stored conversation; malformed turns are skipped."""
    out: list[Turn] = []
    for t in conversation.get("turns") or ():
        if isinstance(t, Mapping) and isinstance(t.get("question"), str):
            answer = answer_from_json(t.get("answer"))
            if answer is not None:
                out.append((t["question"], answer))
    return out


def find(stored: Any, conversation_id: str | None) -> dict[str, Any] | None:
    return next((c for c in conversations(stored) if c["id"] == conversation_id), None)


def title_for(question: str) -> str:
    """A conversation's title: its first question, shortened.

    >>> title_for("  How long   will the bridge be? ")
    'How long will the bridge be?'
    """
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def upsert(stored: Any, conversation_id: str, turns: Sequence[Turn | None]) -> dict[str, Any]:
    """The browser's value with this conversation saved (moved to the top); the oldest fall off the end."""
    done = [t for t in turns if t is not None][-MAX_TURNS:]
    others = [c for c in conversations(stored) if c["id"] != conversation_id]
    if not done:
        return {"version": VERSION, "conversations": others}
    entry = {"id": conversation_id, "title": title_for(done[0][0]), "updated": now_iso(),
             "turns": [{"question": q, "answer": answer_to_json(a)} for q, a in done]}
    return {"version": VERSION, "conversations": [entry, *others][:MAX_CONVERSATIONS]}


def remove(stored: Any, conversation_id: str | None) -> dict[str, Any]:
    return {"version": VERSION, "conversations": [c for c in conversations(stored) if c["id"] != conversation_id]}


def choices(stored: Any) -> list[tuple[str, str]]:
    """(label, id) for the list of conversations: title · number of questions · day.

    >>> choices({"conversations": [{"id": "ab", "title": "Bridge?", "updated": "2026-12-01T09:00:00Z",
    ...                             "turns": [{}, {}]}]})
    [('Bridge? · 2 questions · 1 December 2026', 'ab')]
    """
    out = []
    for c in conversations(stored):
        n = len(c["turns"])
        parts = [_str(c.get("title")) or "Untitled", f"{n} question{'s' if n != 1 else ''}"]
        if day := human_date(_str(c.get("updated"))):
            parts.append(day)
        out.append((" · ".join(parts), c["id"]))
    return out


# -- export ----------------------------------------------------------------------------------------------------

def md_escape(text: str, *, line_start: bool = True) -> str:
    """Text a Markdown viewer shows as it is: no links, images, raw HTML or emphasis; whitespace collapsed.

    >>> print(md_escape("<img src=x> [a](javascript:b) *c*"))
    \\<img src=x\\> \\[a\\](javascript:b) \\*c\\*
    """
    text = _MD_INLINE.sub(r"\\\1", re.sub(r"\s+", " ", text))
    return _MD_LINE_START.sub(r"\1\\\2", text) if line_start else text


def _answer_md(text: str) -> str:
    """Answer text escaped, with its [n] markers kept as plain "[n]" references (no link definitions exist, so
    a viewer shows them as they are).
    """
    out, pos = [], 0
    for m in MARKER.finditer(text):
        out.append(md_escape(text[pos:m.start()], line_start=pos == 0))
        out.append(" " + "".join(f"[{n}]" for n in marker_numbers(m)))
        pos = m.end()
    out.append(md_escape(text[pos:], line_start=pos == 0))
    return "".join(out).strip()


def _source_md(c: Citation) -> list[str]:
    meta = [x for x in (c.source, human_date(c.published)) if x]
    head = f"**[{c.n}]** {md_escape(c.title or 'Untitled')}"
    if meta:
        head += " — " + md_escape(" · ".join(meta))
    url = safe_url(c.url)
    lines = [head + (f"  \n    <{url}>" if url and not re.search(r"[\s<>]", url) else "")]
    if c.kind == "metadata":
        lines.append(f"    {md_escape(cited_sentence(c, []))} (from the article's details)")
    elif c.passage:
        lines.append("")
        # A blockquote at the margin: indented four spaces it would render as a code block with literal "> ".
        lines += [f"> {md_escape(p)}" for p in re.split(r"\n\s*\n", c.passage) if p.strip()]
    return lines


def export_markdown(turns: Sequence[Turn | None], *, exported: str | None = None) -> str:
    """The conversation as Markdown: each question, its answer with [n] references, and its numbered sources.

    Article text (titles, passages, urls) is escaped so that no viewer renders markup from it; only http(s)
    urls become links.
    """
    done = [t for t in turns if t is not None]
    if not done:
        return ""
    lines = [f"# {md_escape(title_for(done[0][0]))}", ""]
    stamp = exported or _dt.date.today().isoformat()
    lines += [f"*Exported from newsdesk on {human_date(stamp)}.*", ""]
    for question, answer in done:
        lines += [f"## {md_escape(question)}", ""]
        if answer.refused:
            lines += [md_escape(answer.text), ""]
        else:
            lines += [_answer_md(answer.text), ""]
        small = small_print(answer) + reader_notes(answer)
        if small:
            lines += ["*" + md_escape(" · ".join(small)) + "*", ""]
        if answer.citations:
            lines += ["### Sources", ""]
            for c in answer.citations:
                lines += [*_source_md(c), ""]
    return "\n".join(lines).rstrip() + "\n"


def export_filename(conversation_id: str | None, turns: Sequence[Turn | None]) -> str:
    """A safe file name for the export: "newsdesk-how-long-will-the-bridge-be.md".

    >>> export_filename("ab12", [("How long will <the> bridge be?", Answer(question="q", text="a", refused=True))])
    'newsdesk-how-long-will-the-bridge-be.md'
    """
    done = [t for t in turns if t is not None]
    words = re.findall(r"[a-z0-9]+", done[0][0].lower()) if done else []
    slug = "-".join(words)[:60].strip("-") or (conversation_id or "answer")
    return f"newsdesk-{slug}.md"
