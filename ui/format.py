"""Pure formatting: Answer, Citation, Article and store stats -> chat messages and HTML (no gradio import here).

Everything that comes from an article (text, title, source, url) is escaped here, in one place, so the web chat
can hand the result to gr.Chatbot / gr.HTML as it is.

>>> human_date("2023-09-28")
'28 September 2023'
>>> safe_url("javascript:alert(1)") is None
True
>>> print(render_answer_text("Long [1].", turn=0, cited={1}))
Long<sup class="nd-sup"><a class="nd-ref" href="#nd-cite-0-1" title="Show source 1">[1]</a></sup>\\.
"""

from __future__ import annotations

import datetime as _dt
import html
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from rag.text.markers import MARKER, marker_numbers
from rag.text.sentences import paragraph_spans, sentence_spans
from rag.types import Answer, Article, Citation
from rag.verify.check import draft_sentences

Message = dict[str, str]

EMPTY_STORE_HINT = "The store is empty: add articles with `newsdesk ingest PATH`, then reload this page."
REFUSAL_HINT = "No passage in the articles supports an answer, so no sources are shown."

# Every ASCII punctuation mark may be backslash-escaped in CommonMark; escaping all of them (except the five
# that html.escape turns into entities) leaves no markdown syntax alive: no links, images, emphasis, lists.
_MD_SPECIAL = re.compile(r"""([\\`*_{}\[\]()#+\-.!|~:$%=^/;,?@])""")
_REF_HREF = "#nd-cite-{turn}-{n}"
_WORD = re.compile(r"\w+")


# -- small values ------------------------------------------------------------------------------------------------

def human_date(iso: str | None) -> str:
    """"2023-09-28" -> "28 September 2023"; anything unparsable is returned as it is."""
    if not iso:
        return ""
    try:
        d = _dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"


def safe_url(url: str | None) -> str | None:
    """The url when it is an http(s) link with a host, else None (javascript:, data:, relative, garbage).

    >>> safe_url(" https://example.com/a?b=1 ")
    'https://example.com/a?b=1'
    >>> safe_url("JaVaScRiPt:alert(1)") is None
    True
    """
    if not url:
        return None
    # Browsers drop control characters and surrounding spaces before reading the scheme ("java\tscript:").
    cleaned = "".join(ch for ch in url.strip() if ord(ch) > 31 and ord(ch) != 127)
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return cleaned


def escape_markdown(text: str) -> str:
    """Text that a markdown renderer shows literally: HTML escaped, markdown syntax backslash-escaped.

    >>> print(escape_markdown("<b>[x](javascript:y)</b>"))
    &lt;b&gt;\\[x\\]\\(javascript\\:y\\)&lt;\\/b&gt;
    """
    # Leading spaces would open an indented code block; the answers are prose, so runs of spaces collapse.
    text = re.sub(r"[ \t]+", " ", text)
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=True)


def latency_text(answer: Answer) -> str:
    """The latency line, "answered in 431 ms" or "answered in 2.4 s", from timings_ms["total"]; "" when unknown."""
    total = answer.timings_ms.get("total")
    if total is None:
        return ""
    return f"answered in {total:.0f} ms" if total < 1000 else f"answered in {total / 1000:.1f} s"


def status_text(answer: Answer, filters: Mapping[str, str | None] | None = None) -> str:
    """The line under the question box: latency, and the filters the answer was given, escaped for markdown.

    >>> answer = Answer(question="q", text="a", refused=False, timings_ms={"total": 12.0})
    >>> print(status_text(answer, {"source": "cnn.com", "since": None}))
    answered in 12 ms · source cnn\\.com
    """
    parts = [latency_text(answer)] + [f"{k} {v}" for k, v in (filters or {}).items() if v]
    return escape_markdown(" · ".join(p for p in parts if p))


def filters_from_inputs(source: str | None, author: str | None, since: str | None, until: str | None
                        ) -> dict[str, str | None]:
    """The filters dict for Assistant.stream from the form fields; blank fields mean "any".

    >>> filters_from_inputs(" cnn.com ", "", None, "2023-09-30")
    {'source': 'cnn.com', 'author': None, 'since': None, 'until': '2023-09-30'}
    """
    def clean(v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else None

    return {"source": clean(source), "author": clean(author), "since": clean(since), "until": clean(until)}


# -- chat messages ----------------------------------------------------------------------------------------------

def ref_href(turn: int, n: int) -> str:
    """The anchor a reference points at; the web page reads turn and n back from it (data-* gets sanitized)."""
    return _REF_HREF.format(turn=turn, n=n)


def parse_ref_href(href: str) -> tuple[int, int] | None:
    """(turn, n) from "#nd-cite-2-1"; None for anything else.

    >>> parse_ref_href("#nd-cite-2-1")
    (2, 1)
    """
    m = re.fullmatch(r"#?nd-cite-(\d{1,6})-(\d{1,3})", href.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _ref(turn: int | None, n: int, cited: set[int] | None) -> str:
    if turn is None or cited is None or n not in cited:
        return f'<sup class="nd-sup">[{n}]</sup>'
    return (f'<sup class="nd-sup"><a class="nd-ref" href="{ref_href(turn, n)}" title="Show source {n}">'
            f"[{n}]</a></sup>")


def render_answer_text(text: str, *, turn: int | None = None, cited: set[int] | None = None) -> str:
    """Answer text for the chat: escaped, with [n] markers as superscript references.

    A marker becomes a link (selecting that citation of answer `turn`) only when `n` is in `cited`; while an
    answer streams its markers are plain superscripts, since verification may still renumber them.

    >>> print(render_answer_text("<i>x</i> [2]"))
    &lt;i&gt;x&lt;\\/i&gt;<sup class="nd-sup">[2]</sup>
    """
    out: list[str] = []
    pos = 0
    for m in MARKER.finditer(text):
        out.append(escape_markdown(text[pos:m.start()]))
        out.append("".join(_ref(turn, n, cited) for n in marker_numbers(m)))
        pos = m.end()
    out.append(escape_markdown(text[pos:]))
    return "".join(out)


def user_message(question: str) -> Message:
    """The user's turn as a chat message (escaped: a question is shown, never rendered)."""
    return {"role": "user", "content": escape_markdown(question)}


def partial_message(text: str) -> Message:
    """The assistant's turn while it streams."""
    return {"role": "assistant", "content": render_answer_text(text) or "…"}


def answer_meta(answer: Answer) -> list[str]:
    """The small print under an answer: "as of" date, answerer, latency.

    >>> answer_meta(Answer(question="q", text="a [1].", refused=False, timings_ms={"total": 12.0}, as_of="2023-09-28"))
    ['as of 28 September 2023', 'extractive', 'answered in 12 ms']
    """
    items = []
    if answer.as_of and not answer.refused:
        items.append(f"as of {human_date(answer.as_of)}")
    items.append(answer.answerer)
    if latency := latency_text(answer):
        items.append(latency)
    return items


def answer_message(answer: Answer, turn: int) -> Message:
    """The final assistant turn: references that select citations, notes, and the small print.

    A refusal says so plainly and carries no references.
    """
    if answer.refused:
        body = (f'<span class="nd-refusal">{escape_markdown(answer.text)}</span>\n\n'
                f'<span class="nd-hint">{escape_markdown(REFUSAL_HINT)}</span>')
    else:
        body = render_answer_text(answer.text, turn=turn, cited={c.n for c in answer.citations})
    lines = [body]
    for note in answer.notes:
        lines.append(f'<span class="nd-note">note: {escape_markdown(note)}</span>')
    lines.append(f'<span class="nd-small">{escape_markdown(" · ".join(answer_meta(answer)))}</span>')
    return {"role": "assistant", "content": "\n\n".join(lines)}


def error_message(error: BaseException | str) -> Message:
    """An error shown as the assistant's turn, so the conversation (and the app) goes on."""
    text = str(error) or type(error).__name__
    return {"role": "assistant",
            "content": f'<span class="nd-error">Could not answer: {escape_markdown(text)}</span>'}


def plain_history(turns: Iterable[tuple[str, Answer]]) -> list[Message]:
    """The conversation as Assistant.stream wants it: [{"role", "content"}] with the raw answer text."""
    out: list[Message] = []
    for question, answer in turns:
        out += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    return out


# -- highlighting ----------------------------------------------------------------------------------------------

def supporting_sentences(answer: Answer) -> dict[int, list[str]]:
    """For each citation number, the answer sentences (markers stripped) that cite it.

    >>> supporting_sentences(Answer(question="q", text="It is long [1]. It is wide [1][2].", refused=False))
    {1: ['It is long.', 'It is wide.'], 2: ['It is wide.']}
    """
    out: dict[int, list[str]] = {}
    for sentence, numbers in draft_sentences(answer.text):
        for n in dict.fromkeys(numbers):
            out.setdefault(n, []).append(sentence)
    return out


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def locate(sentence: str, text: str) -> tuple[int, int] | None:
    """Where `sentence` (or the sentence of `text` closest to it) sits in `text`; None when nothing is close.

    An extractive answer copies sentences verbatim; an LLM answer paraphrases, so the fallback picks the
    sentence of `text` that holds most of the answer sentence's words.

    >>> t = "The bridge is new. It will be 100 meters long."
    >>> locate("It will be 100 meters long.", t)
    (19, 46)
    >>> locate("It is going to be 100 meters long.", t)
    (19, 46)
    """
    words = _words(sentence)
    if not words:
        return None
    # Same words in the same order, whatever the whitespace and final punctuation between them.
    pattern = r"\W+".join(re.escape(w) for w in _WORD.findall(sentence))
    m = re.search(pattern, text, flags=re.IGNORECASE)
    if m:
        end = m.end()
        while end < len(text) and text[end] in ".!?…'\"”’)":
            end += 1
        return m.start(), end
    wanted = set(words)
    best, best_score = None, 0.0
    for s, e in sentence_spans(text):
        have = set(_words(text[s:e]))
        score = len(wanted & have) / len(wanted)
        if score > best_score:
            best, best_score = (s, e), score
    return best if best_score >= 0.5 else None


def _marked(text: str, lo: int, hi: int, ranges: Sequence[tuple[int, int, str]]) -> str:
    """text[lo:hi] escaped, with each (start, end, css class) range wrapped in <mark>; later ranges win."""
    cuts = {lo, hi}
    for s, e, _ in ranges:
        cuts.update(x for x in (s, e) if lo < x < hi)
    points = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(points):
        piece = html.escape(text[a:b], quote=True)
        cls = None
        for s, e, c in ranges:
            if s <= a and b <= e:
                cls = c
        out.append(f'<mark class="{cls}">{piece}</mark>' if cls else piece)
    return "".join(out)


def _paragraphs_html(text: str, lo: int, hi: int, ranges: Sequence[tuple[int, int, str]]) -> str:
    spans = [(max(s, lo), min(e, hi)) for s, e in paragraph_spans(text) if e > lo and s < hi] or [(lo, hi)]
    return "".join(f"<p>{_marked(text, s, e, ranges)}</p>" for s, e in spans if e > s)


def highlight_passage(passage: str, sentences: Sequence[str]) -> str:
    """The passage as escaped HTML paragraphs with the answer sentences that cite it in <mark>.

    >>> highlight_passage("A <b>. It is 100 m long.", ["It is 100 m long."])
    '<p>A &lt;b&gt;. <mark class="nd-support">It is 100 m long.</mark></p>'
    """
    ranges = [(s, e, "nd-support") for s, e in filter(None, (locate(x, passage) for x in sentences))]
    return _paragraphs_html(passage, 0, len(passage), ranges)


# -- sources panel --------------------------------------------------------------------------------------------

def _source_line(citation: Citation) -> str:
    parts = [html.escape(x) for x in (citation.source, human_date(citation.published)) if x]
    parts.append(f"relevance {citation.score:.2f}")
    return " · ".join(parts)


def url_html(url: str | None) -> str:
    """A link for an http(s) url, plain escaped text for anything else, "" for none.

    >>> url_html("javascript:alert(1)")
    '<span class="nd-url-text">javascript:alert(1)</span>'
    """
    if not url:
        return ""
    safe = safe_url(url)
    if safe is None:
        return f'<span class="nd-url-text">{html.escape(url, quote=True)}</span>'
    return (f'<a class="nd-url" href="{html.escape(safe, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer nofollow">{html.escape(safe, quote=True)}</a>')


def citation_card(citation: Citation, *, turn: int, sentences: Sequence[str], selected: bool = False) -> str:
    """One source: number, title, source · date · relevance, url, and the passage with its support marked."""
    title = html.escape(citation.title or "Untitled", quote=True)
    cls = "nd-card nd-selected" if selected else "nd-card"
    url = url_html(citation.url)
    return (
        f'<div class="{cls}" id="nd-card-{turn}-{citation.n}">'
        f'<div class="nd-card-head"><a class="nd-ref nd-num" href="{ref_href(turn, citation.n)}" '
        f'title="Show in the article">{citation.n}</a><span class="nd-title">{title}</span></div>'
        f'<div class="nd-card-meta">{_source_line(citation)}</div>'
        + (f'<div class="nd-card-url">{url}</div>' if url else "")
        + f'<blockquote class="nd-passage">{highlight_passage(citation.passage, sentences)}</blockquote>'
        f'<a class="nd-ref nd-open" href="{ref_href(turn, citation.n)}">Show in the article</a>'
        "</div>"
    )


def sources_html(answer: Answer | None, *, turn: int = 0, selected: int | None = None) -> str:
    """The sources panel for one answer; a placeholder before the first answer and after a refusal."""
    if answer is None:
        return '<div class="nd-sources nd-empty">Sources of the answer appear here.</div>'
    if answer.refused or not answer.citations:
        return f'<div class="nd-sources nd-empty">{html.escape(REFUSAL_HINT)}</div>'
    support = supporting_sentences(answer)
    cards = "".join(citation_card(c, turn=turn, sentences=support.get(c.n, []), selected=c.n == selected)
                    for c in answer.citations)
    n = len(answer.citations)
    head = (f'<div class="nd-sources-head">{n} source{"s" if n != 1 else ""} for '
            f'<q>{html.escape(answer.question, quote=True)}</q></div>')
    return f'<div class="nd-sources">{head}{cards}</div>'


def context_html(citation: Citation | None, article: Article | None, sentences: Sequence[str] = (),
                 *, paragraphs: int = 1) -> str:
    """The cited passage inside its article: the paragraphs around start..end (plus `paragraphs` either
    side), the passage span marked, and the answer sentences that cite it marked more strongly.

    >>> art = Article(id="a", title="T", text="One.\\n\\nTwo <i>x</i>.\\n\\nThree.")
    >>> c = Citation(n=1, article_id="a", chunk_id="c", title="T", url=None, published=None, source=None,
    ...              passage="Two <i>x</i>.", start=6, end=19, score=0.5)
    >>> "<mark class=\\"nd-span\\">Two &lt;i&gt;x&lt;/i&gt;.</mark>" in context_html(c, art)
    True
    """
    if citation is None:
        return '<div class="nd-context nd-empty">Click a reference [n] to read the passage in its article.</div>'
    title = html.escape(citation.title or "Untitled", quote=True)
    meta = _source_line(citation)
    url = url_html(citation.url)
    head = (f'<div class="nd-context-head"><span class="nd-num">{citation.n}</span>'
            f'<span class="nd-title">{title}</span></div><div class="nd-card-meta">{meta}</div>'
            + (f'<div class="nd-card-url">{url}</div>' if url else ""))
    text, start, end = (article.text if article else ""), citation.start, citation.end
    if not article or text[start:end] != citation.passage:
        # The article changed or vanished since the answer: the passage alone is still true to the answer.
        found = text.find(citation.passage) if article and citation.passage else -1
        if found < 0:
            note = '<div class="nd-note">The article is no longer in the store as it was; showing the passage.</div>'
            return (f'<div class="nd-context">{head}{note}<div class="nd-article">'
                    f"{highlight_passage(citation.passage, sentences)}</div></div>")
        start, end = found, found + len(citation.passage)
    ranges: list[tuple[int, int, str]] = [(start, end, "nd-span")]
    for sentence in sentences:
        if (pos := locate(sentence, citation.passage)) is not None:
            ranges.append((start + pos[0], start + pos[1], "nd-support"))
    spans = paragraph_spans(text)
    first = next((i for i, (s, e) in enumerate(spans) if e > start), 0)
    last = max((i for i, (s, e) in enumerate(spans) if s < end), default=first)
    lo = spans[max(first - paragraphs, 0)][0] if spans else 0
    hi = spans[min(last + paragraphs, len(spans) - 1)][1] if spans else len(text)
    before = '<p class="nd-gap">…</p>' if lo > (spans[0][0] if spans else 0) else ""
    after = '<p class="nd-gap">…</p>' if hi < (spans[-1][1] if spans else len(text)) else ""
    body = before + _paragraphs_html(text, lo, hi, ranges) + after
    legend = ('<div class="nd-legend"><mark class="nd-span">cited passage</mark>'
              '<mark class="nd-support">sentence the answer rests on</mark></div>')
    return f'<div class="nd-context">{head}{legend}<div class="nd-article">{body}</div></div>'


# -- corpus stats ---------------------------------------------------------------------------------------------

def stats_html(stats: Mapping[str, Any]) -> str:
    """Articles, passages, sources, date range and the embedding model; how to ingest when the store is empty.

    >>> "<code>newsdesk ingest PATH</code>" in stats_html({"articles": 0, "chunks": 0})
    True
    """
    if not stats.get("articles"):
        hint = html.escape(EMPTY_STORE_HINT).replace("`newsdesk ingest PATH`", "<code>newsdesk ingest PATH</code>")
        return f'<div class="nd-stats nd-empty">{hint}</div>'
    sources = stats.get("sources") or {}
    items = [f"<b>{stats['articles']:,}</b> articles", f"<b>{stats.get('chunks', 0):,}</b> passages",
             f"<b>{len(sources):,}</b> source{'s' if len(sources) != 1 else ''}"]
    if rng := stats.get("date_range"):
        items.append(f"{html.escape(human_date(rng[0]))} – {html.escape(human_date(rng[1]))}")
    if model := stats.get("embedding_model"):
        items.append(f"model <code>{html.escape(str(model))}</code>")
    return f'<div class="nd-stats">{" · ".join(items)}</div>'


def source_choices(stats: Mapping[str, Any], limit: int = 200) -> list[str]:
    """The named sources of the store, most articles first, for the source filter."""
    return [name for name in (stats.get("sources") or {}) if name][:limit]
