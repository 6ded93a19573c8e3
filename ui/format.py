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

from rag.answer.extractive import REFUSAL as GENERIC_REFUSAL
from rag.text.markers import MARKER, marker_numbers
from rag.text.sentences import paragraph_spans, sentence_spans
from rag.types import Answer, Article, Citation
from rag.verify.check import draft_sentences

Message = dict[str, str]

EMPTY_STORE_HINT = "The store is empty: add articles with `newsdesk ingest PATH`, then reload this page."
REFUSAL_HINT = "No passage in the articles supports an answer, so no sources are shown."
PREVIEW_CHARS = 180

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


def filters_text(filters: Mapping[str, str | None] | None = None, as_of: str | None = None) -> str:
    """The filters a question was asked with, as a short line ("" when none), escaped for markdown.

    >>> print(filters_text({"source": "cnn.com", "since": None, "until": "2023-09-30"}, "2023-10-01"))
    filtered\\: source cnn\\.com · until 30 September 2023 · as of 1 October 2023
    """
    parts = [f"{k} {human_date(v) if k in ('since', 'until') else v}" for k, v in (filters or {}).items() if v]
    if as_of:
        parts.append(f"as of {human_date(as_of)}")
    return escape_markdown("filtered: " + " · ".join(parts)) if parts else ""


def date_input(value: Any) -> str | None:
    """A date picker's value as "YYYY-MM-DD": ISO strings (a time part is dropped), timestamps; blank is None.

    Anything else is passed on as typed, so the assistant's own check names the field and the format.

    >>> date_input("2023-09-28 00:00:00"), date_input(""), date_input("soon")
    ('2023-09-28', None, 'soon')
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value, _dt.UTC).date().isoformat()
    text = str(value).strip()
    if not text:
        return None
    return text[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text) else text


def filters_from_inputs(source: str | None, author: str | None, since: Any, until: Any
                        ) -> dict[str, str | None]:
    """The filters dict for Assistant.stream from the form fields; blank fields mean "any".

    >>> filters_from_inputs(" cnn.com ", "", None, "2023-09-30")
    {'source': 'cnn.com', 'author': None, 'since': None, 'until': '2023-09-30'}
    """
    def clean(v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else None

    return {"source": clean(source), "author": clean(author), "since": date_input(since),
            "until": date_input(until)}


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


def _ref(turn: int | None, n: int, cited: set[int] | None, previews: Mapping[int, str] | None = None) -> str:
    if turn is None or cited is None or n not in cited:
        return f'<sup class="nd-sup">[{n}]</sup>'
    tip = html.escape((previews or {}).get(n) or f"Show source {n}", quote=True)
    return (f'<sup class="nd-sup"><a class="nd-ref" href="{ref_href(turn, n)}" title="{tip}">'
            f"[{n}]</a></sup>")


def render_answer_text(text: str, *, turn: int | None = None, cited: set[int] | None = None,
                       previews: Mapping[int, str] | None = None) -> str:
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
        out.append("".join(_ref(turn, n, cited, previews) for n in marker_numbers(m)))
        pos = m.end()
    out.append(escape_markdown(text[pos:]))
    return "".join(out)


def user_message(question: str) -> Message:
    """The user's turn as a chat message (escaped: a question is shown, never rendered)."""
    return {"role": "user", "content": escape_markdown(question)}


def partial_message(text: str) -> Message:
    """The assistant's turn while it streams."""
    return {"role": "assistant", "content": render_answer_text(text) or "…"}


def searched_for(answer: Answer) -> str | None:
    """The standalone query when it says more than the question (a follow-up, condensed); else None.

    >>> searched_for(Answer(question="And how wide?", text="a", refused=False, query="How wide is the bridge?"))
    'How wide is the bridge?'
    >>> searched_for(Answer(question="How wide?", text="a", refused=False, query="how wide ?")) is None
    True
    """
    query = " ".join((answer.query or "").split())
    return query if query and _words(query) != _words(answer.question) else None


def reader_meta(answer: Answer) -> list[str]:
    """The small print under an answer: "as of" date, how it was written, latency (the one latency line).

    >>> reader_meta(Answer(question="q", text="a [1].", refused=False, timings_ms={"total": 12.0}, as_of="2023-09-28"))
    ['as of 28 September 2023', 'quoted from the articles', 'answered in 12 ms']
    """
    items = []
    if answer.as_of and not answer.refused:
        items.append(f"as of {human_date(answer.as_of)}")
    if not answer.refused:
        items.append("quoted from the articles" if answer.answerer.startswith("extractive")
                     else "written by the language model, checked against the articles")
    if latency := latency_text(answer):
        items.append(latency)
    return items


def small_print(answer: Answer, *, query_chars: int | None = None) -> list[str]:
    """What was searched for (when it differs from the question, shortened to `query_chars`), then reader_meta.

    >>> small_print(Answer(question="And wide?", text="a [1].", refused=False, timings_ms={"total": 5.0},
    ...                    query="How wide is it?"))
    ['searched for “How wide is it?”', 'quoted from the articles', 'answered in 5 ms']
    """
    items = reader_meta(answer)
    if query := searched_for(answer):
        items.insert(0, f"searched for “{_shorten(query, query_chars) if query_chars else query}”")
    return items


# Notes the pipeline adds for its own logs -> what a reader is told (None: nothing). The internal wording (scores,
# thresholds) never reaches the page.
def _reader_note(note: str) -> str | None:
    if m := re.match(r"(\d+) unsupported sentence", note):
        n = int(m.group(1))
        return (f"{n} sentence{'s' if n != 1 else ''} the articles do not back up "
                f"{'were' if n != 1 else 'was'} left out.")
    if note.startswith("the LLM failed"):
        return "The language model did not answer, so this answer quotes the articles directly."
    return None


def reader_notes(answer: Answer) -> list[str]:
    """The notes worth telling a reader, in plain words; internal diagnostics are left out.

    >>> reader_notes(Answer(question="q", text="a", refused=False,
    ...                     notes=("best sentence covers 0.17 of the question (< 0.4)",
    ...                            "1 unsupported sentence(s) removed")))
    ['1 sentence the articles do not back up was left out.']
    """
    return [x for x in (_reader_note(n) for n in answer.notes) if x] if not answer.refused else []


_REFUSAL_HEAD = re.compile(r"the articles (?:don't|do not) say\s*[:.,;–—-]?\s*", flags=re.IGNORECASE)


def refusal_reason(answer: Answer) -> str:
    """Why nothing was answered, for a reader: what the refusal itself says when it is specific ("the catalog
    has no author for …"), else a plain reading of the pipeline's notes, never their numbers.

    >>> refusal_reason(Answer(question="q", text="The articles don't say: no article mentions Zelensky.", refused=True))
    'No article mentions Zelensky.'
    """
    said = _REFUSAL_HEAD.sub("", answer.text.strip(), count=1).strip()
    if said and answer.text.strip() != GENERIC_REFUSAL:
        return said[0].upper() + said[1:]
    notes = " ".join(answer.notes).lower()
    if "nothing relevant" in notes:
        return "No article in the store is about this."
    if "covers" in notes or "shares a word" in notes:
        return "Some articles come close to the topic, but none of their sentences answers this question."
    if "verification removed" in notes:
        return "The sentences that came close were not backed up by their articles closely enough to show."
    if "llm found no answer" in notes:
        return "The passages found do not contain the answer."
    return "Nothing in the store answers this question."


def refusal_suggestions(filters: Mapping[str, str | None] | None = None, as_of: str | None = None,
                        reason: str = "") -> list[str]:
    """What to try after a refusal: loosen the filters first, then a broader or more specific question. When the
    article was found but the catalog lacks the field asked for, only where else to look.

    >>> refusal_suggestions({"source": "cnn.com"})[0]
    'Remove or widen the filters (source cnn.com): the answer may be elsewhere.'
    >>> refusal_suggestions(reason="The catalog has no author for “Bees”.")
    ['Ask for the link to the article: the page itself may name it.']
    """
    if reason.startswith("The catalog has no"):
        return ["Ask for the link to the article: the page itself may name it."]
    active = {k: v for k, v in (filters or {}).items() if v}
    out = []
    if active:
        shown = " · ".join(f"{k} {v}" for k, v in active.items())
        out.append(f"Remove or widen the filters ({shown}): the answer may be elsewhere.")
    out.append("Name the person, place or event, or ask a broader question.")
    if not (active.get("since") or active.get("until") or as_of):
        out.append("If it happened at a particular time, pick dates under “Filters”.")
    return out


def refusal_markdown(answer: Answer, filters: Mapping[str, str | None] | None = None,
                     as_of: str | None = None) -> str:
    """A refusal as the chat shows it: plainly, what was missing, and what to try."""
    reason = refusal_reason(answer)
    lines = ['<span class="nd-refusal">The articles don\'t say.</span> '
             f'<span class="nd-refusal-why">{escape_markdown(reason)}</span>',
             '<span class="nd-hint">Try:</span>']
    lines += [f"- {escape_markdown(x)}" for x in refusal_suggestions(filters, as_of, reason)]
    return "\n\n".join(lines[:2]) + "\n" + "\n".join(lines[2:])


def answer_message(answer: Answer, turn: int, *, filters: Mapping[str, str | None] | None = None,
                   as_of: str | None = None) -> Message:
    """The final assistant turn: references that select citations (with a preview of the cited sentence), what
    was searched for, notes in plain words, and the small print. A refusal says so plainly and suggests what to try.
    """
    if answer.refused:
        body = refusal_markdown(answer, filters, as_of)
    else:
        body = render_answer_text(answer.text, turn=turn, cited={c.n for c in answer.citations},
                                  previews=citation_previews(answer))
    lines = [body]
    if not answer.refused and (meta := metadata_line(answer, turn)):
        lines.append(meta)
    for note in reader_notes(answer):
        lines.append(f'<span class="nd-note">{escape_markdown(note)}</span>')
    lines.append(f'<span class="nd-small">{escape_markdown(" · ".join(small_print(answer, query_chars=100)))}</span>')
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


def _shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def cited_sentence(citation: Citation, sentences: Sequence[str]) -> str:
    """The sentence of the cited passage that the answer rests on (the passage's start when none is found);
    for a metadata citation, "field: value".
    """
    if citation.kind == "metadata":
        return f"{_field_label(citation)}: {_field_value(citation)}"
    for sentence in sentences:
        if (pos := locate(sentence, citation.passage)) is not None:
            return citation.passage[pos[0]:pos[1]]
    return citation.passage


def citation_previews(answer: Answer) -> dict[int, str]:
    """For each citation number, the short preview a reference shows on hover or tap: title — “sentence”.

    >>> c = Citation(n=1, article_id="a", chunk_id="c", title="Bridge", url=None, published=None, source=None,
    ...              passage="Talks began. It is 100 m long. Work starts.", start=0, end=40, score=0.5)
    >>> a = Answer(question="q", text="It is 100 m long [1].", refused=False, citations=(c,))
    >>> citation_previews(a)
    {1: '[1] Bridge — “It is 100 m long.”'}
    """
    support = supporting_sentences(answer)
    return {c.n: f"[{c.n}] {_shorten(c.title or 'Untitled', 80)} — "
                 f"“{_shorten(cited_sentence(c, support.get(c.n, [])))}”" for c in answer.citations}


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

RELEVANCE_LEVELS = ((0.55, "High"), (0.35, "Medium"), (0.0, "Low"))  # cosine similarity of passage and question


def relevance_label(score: float) -> str:
    """High / Medium / Low for a passage's similarity to the question.

    >>> relevance_label(0.62), relevance_label(0.4), relevance_label(0.1)
    ('High', 'Medium', 'Low')
    """
    return next(label for floor, label in RELEVANCE_LEVELS if score >= floor)


def relevance_html(score: float) -> str:
    """A small three-step bar with High/Medium/Low; the number is in the tooltip."""
    label = relevance_label(score)
    filled = {"High": 3, "Medium": 2, "Low": 1}[label]
    bars = "".join(f'<i class="{"nd-on" if i < filled else "nd-off"}"></i>' for i in range(3))
    return (f'<span class="nd-rel nd-rel-{label.lower()}" title="relevance {score:.2f}: how closely this passage '
            f'matches the question">{bars}{label} match</span>')


FIELD_LABELS = {"author": "author", "published": "date", "source": "source", "title": "title",
                "section": "section", "subtitle": "subtitle", "url": "link"}


def _field_label(citation: Citation) -> str:
    return FIELD_LABELS.get(citation.field or "", citation.field or "detail")


def _field_value(citation: Citation) -> str:
    """The value a metadata citation quotes; its passage reads "author: Leyla Mammadova" or just the value."""
    value = citation.passage
    if citation.field and value.lower().startswith(f"{citation.field.lower()}:"):
        value = value[len(citation.field) + 1:].strip()
    return human_date(value) if citation.field == "published" else value


def metadata_line(answer: Answer, turn: int) -> str:
    """Metadata citations under the answer, compactly: "[2] author of “Title”: Leyla Mammadova" ("" if none)."""
    items = []
    for c in answer.citations:
        if c.kind == "metadata":
            title = escape_markdown(_shorten(c.title or "Untitled", 80))
            value = escape_markdown(_shorten(_field_value(c), 120))
            items.append(f'<a class="nd-ref nd-meta-ref" href="{ref_href(turn, c.n)}">[{c.n}]</a> '
                         f'{escape_markdown(_field_label(c))} of “{title}”: {value}')
    return f'<span class="nd-meta">{" · ".join(items)}</span>' if items else ""


def _source_line(citation: Citation) -> str:
    parts = [html.escape(x) for x in (citation.source, human_date(citation.published)) if x]
    if citation.kind != "metadata":
        parts.append(relevance_html(citation.score))
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
    if citation.kind == "metadata":
        return (
            f'<div class="{cls} nd-meta-card" id="nd-card-{turn}-{citation.n}">'
            f'<div class="nd-card-head"><a class="nd-ref nd-num" href="{ref_href(turn, citation.n)}" '
            f'title="Show the article">{citation.n}</a><span class="nd-title">{title}</span></div>'
            f'<div class="nd-card-meta">{_source_line(citation)}</div>'
            f'<div class="nd-field">From the article\'s details: {html.escape(_field_label(citation))} '
            f'<mark class="nd-support">{html.escape(_field_value(citation), quote=True)}</mark></div>'
            + (f'<div class="nd-card-url">{url}</div>' if url else "") + "</div>"
        )
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


def _context_wrap(turn: int, n: int, inner: str) -> str:
    # The id tells the page which reference this view belongs to (it scrolls there once it shows); the back
    # link returns to that reference in the chat (phones, where the two sit one above the other).
    back = f'<a class="nd-back" href="#nd-back-{turn}-{n}">↑ Back to the answer</a>'
    return f'<div class="nd-context" id="nd-ctx-{turn}-{n}">{inner}{back}</div>'


def context_html(citation: Citation | None, article: Article | None, sentences: Sequence[str] = (),
                 *, paragraphs: int = 1, turn: int = 0) -> str:
    """The cited passage inside its article: the paragraphs around start..end (plus `paragraphs` either
    side), the passage span marked, and the answer sentences that cite it marked more strongly. A metadata
    citation shows the article's details with the field that answered marked, and its opening paragraph.

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
    text = article.text if article else ""
    if citation.kind == "metadata":
        details = [(label, getattr(article, key, None) if article else None) for key, label in
                   (("author", "author"), ("published", "date"), ("source", "source"), ("section", "section"))]
        rows = []
        for (label, value), key in zip(details, ("author", "published", "source", "section"), strict=True):
            shown = human_date(value) if key == "published" else value
            if key == citation.field:
                rows.append(f'<div>{label}: <mark class="nd-support">'
                            f'{html.escape(shown or _field_value(citation), quote=True)}</mark></div>')
            elif shown:
                rows.append(f"<div>{label}: {html.escape(shown, quote=True)}</div>")
        if citation.field not in ("author", "published", "source", "section"):
            rows.append(f'<div>{html.escape(_field_label(citation))}: <mark class="nd-support">'
                        f'{html.escape(_field_value(citation), quote=True)}</mark></div>')
        spans = paragraph_spans(text)
        opening = _paragraphs_html(text, spans[0][0], spans[0][1], []) if spans else ""
        body = (f'<div class="nd-details">{"".join(rows)}</div>'
                + (f'<div class="nd-article">{opening}<p class="nd-gap">…</p></div>' if opening else ""))
        return _context_wrap(turn, citation.n, head + body)
    start, end = citation.start, citation.end
    if not article or start is None or end is None or text[start:end] != citation.passage:
        # The article changed or vanished since the answer: the passage alone is still true to the answer.
        found = text.find(citation.passage) if article and citation.passage else -1
        if found < 0:
            note = '<div class="nd-note">The article is no longer in the store as it was; showing the passage.</div>'
            return _context_wrap(turn, citation.n, f'{head}{note}<div class="nd-article">'
                                 f"{highlight_passage(citation.passage, sentences)}</div>")
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
    return _context_wrap(turn, citation.n, f'{head}{legend}<div class="nd-article">{body}</div>')


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
        items.append(f'<span class="nd-model">model <code>{html.escape(str(model))}</code></span>')
    return f'<div class="nd-stats">{" · ".join(items)}</div>'


def source_choices(stats: Mapping[str, Any], limit: int = 200) -> list[tuple[str, str]]:
    """(label, value) for the source filter: "Any source", then the named sources, most articles first.

    >>> source_choices({"sources": {"cnn.com": 3, "": 2, "bbc.co.uk": 1}})
    [('Any source', ''), ('cnn.com (3)', 'cnn.com'), ('bbc.co.uk (1)', 'bbc.co.uk')]
    """
    named = [(f"{name} ({n:,})", name) for name, n in (stats.get("sources") or {}).items() if name][:limit]
    return [("Any source", ""), *named]


def author_choices(authors: Sequence[tuple[str, int]]) -> list[tuple[str, str]]:
    """(label, value) for the author filter from the catalog's (author, articles) pairs.

    >>> author_choices([("Leyla Mammadova", 2)])
    [('Any author', ''), ('Leyla Mammadova (2)', 'Leyla Mammadova')]
    """
    return [("Any author", ""), *((f"{name} ({n:,})", name) for name, n in authors if name)]


def example_questions(titles: Iterable[str | None], limit: int = 4) -> list[str]:
    """Up to `limit` questions a reader could ask of this store, from its most recent article titles.

    >>> for q in example_questions(["CNN Business —", "Tylenol and pregnancy: research cautions use of ...",
    ...                             "Typhoon  Maysak heads for the Philippines", "Will rates rise? | Daily News"]):
    ...     print(q)
    What do the articles say about “Typhoon Maysak heads for the Philippines”?
    What do the articles say about “Will rates rise?”
    What do the articles say about “Tylenol and pregnancy: research cautions use of”?
    """
    whole: list[str] = []
    cut: list[str] = []  # titles the source shortened ("… use of ..."): used only when too few are whole
    seen: set[str] = set()
    for title in titles:
        text = " ".join((title or "").split())
        text = re.sub(r"\s+\|\s+[^|]{1,30}$", "", text)  # a site name after a bar: "… | CNN Business"
        bare = re.sub(r"(\s*(\.\.\.|…|[-–—|:;,.]))+$", "", text)
        if not 12 <= len(bare) <= 110 or bare.lower() in seen or len(_words(bare)) < 3:
            continue
        seen.add(bare.lower())
        question = f"What do the articles say about “{bare}”" + ("" if bare.endswith("?") else "?")
        (cut if bare != text.rstrip(".") else whole).append(question)
    return (whole + cut)[:limit]


def question_placeholder(stats: Mapping[str, Any]) -> str:
    """The question box's placeholder, from the open store and short enough for one line on a phone.

    >>> question_placeholder({"articles": 3000}), question_placeholder({"articles": 0})
    ('Ask about the 3,000 articles…', 'Ask a question about the articles in the store')
    """
    n = stats.get("articles") or 0
    if not n:
        return "Ask a question about the articles in the store"
    return f"Ask about the {n:,} article{'s' if n != 1 else ''}…"
