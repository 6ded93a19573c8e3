"""Answers from the catalog: who wrote an article, when and where it was published, its title and address.

The article is the retrieved one whose title and passage best cover the question's topic (the question without
its "who wrote the article about" frame) and that names every entity of the question; the answer quotes the
field and cites it as a `metadata` citation (no passage offsets).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rag.answer import evidence
from rag.answer.question import Question, topic_terms
from rag.store.bm25 import tokenize
from rag.types import Citation, Passage

if TYPE_CHECKING:
    from rag.answer.extractive import Draft

_FIELD_WORDS = {"author": "an author", "published": "a publication date", "source": "a source",
                "url": "an address", "title": "a title"}


def human_date(iso: str) -> str:
    """"2023-09-28" -> "28 September 2023" (unchanged when not an ISO date)."""
    try:
        d = _dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d:%B} {d.year}"


HEADLINE_WEIGHT = 0.1  # how much a headline's share of the topic adds to the article's, in best_article


def topic_coverage(w: dict[str, float], title: str, text: str) -> float:
    """The share of the topic terms' rarity weights `w` that `title` and `text` hold.

    >>> topic_coverage({"bridg": 2.0, "baku": 1.0}, "Bridge talks", "Ministers met in Tehran.")
    0.6666666666666666
    """
    have = set(tokenize(title)) | set(tokenize(text))
    return sum(v for t, v in w.items() if t in have) / (sum(w.values()) or 1.0)


def best_article(q: Question, passages: Sequence[Passage], query: str,
                 weights: Callable[[Sequence[str]], dict[str, float]]) -> tuple[Passage | None, float]:
    """The retrieved article the question is about: the best topic coverage of title + passage among those that
    mention every entity of the question; ties go to the higher-ranked passage. Returns (passage, coverage).
    """
    terms = list(dict.fromkeys(topic_terms(query)))
    if not terms and passages and len({p.article_id for p in passages}) == 1:
        return passages[0], 1.0  # "Who wrote the analysis?" of the one article there is
    w = weights(terms) if terms else {}
    best: tuple[float, int, float, Passage] | None = None
    seen: set[str] = set()
    for rank, p in enumerate(passages):
        if p.article_id in seen:
            continue
        seen.add(p.article_id)
        coverage = topic_coverage(w, p.title, p.text) if terms else 0.0
        text = f"{p.title}\n{p.text}"
        if any(not evidence.mentions(e, text) for e in q.entities):
            continue
        # "the article about getting a Covid booster and flu shot at the same time": of two articles whose
        # passages both speak of it, the one whose headline says it is the one asked about
        headline = topic_coverage(w, p.title, "") if terms else 0.0
        key = (coverage + HEADLINE_WEIGHT * headline - 0.03 * rank, -rank, coverage, p)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None, 0.0
    return best[3], best[2]


# Where an article names its writer in its own text, when the catalog has no author: a byline opening it ("By
# Karen Weintraub"), or the sign-off lines news sites close with ("Contact Karen Weintraub at ...", "Follow Mike
# Snider on Twitter", "Erin Stone covers the environment for The Arizona Republic"). Photo credits ("Phil
# Noble/Reuters") name photographers and are not read.
_NAME = r"([A-Z][\w.'’-]+(?: (?:[A-Z][\w.'’-]+|de|van|von|da|del|la|le)){1,3})"
_OPENING_BYLINE = re.compile(
    rf"^By {_NAME}(?: and {_NAME})?(?:,.*)?$"
    # a name on the article's first line, the writer's e-mail address or outlet on the next: "Cindy Watts" /
    # "ciwatts@tennessean.com", "Kelly Lawler" / "USA TODAY"
    rf"|\A\s*{_NAME}[ \t]*\n\s*(?:[\w.+-]+@[\w-]+\.[\w.]+|[A-Z][A-Z .&'’-]{{2,30}}|Special to [^\n]+)[ \t]*$", re.M)
_CLOSING_BYLINE = re.compile(
    rf"^(?:Contact {_NAME} (?:at|via|on)\b|Follow {_NAME} on (?:Twitter|X|Instagram|Facebook|Threads)\b|"
    # a live blog's entries signed "— Kim Hjelmgaard" (not a pull quote's "— Ed Day, a county executive, urging ...")
    rf"[—–-]+[ \t]*{_NAME}(?:,[ \t]*(?:[\w.+-]+@[\w-]+\.[\w.]+|USA TODAY|Associated Press|Reuters))?[ \t]*$|"
    rf"{_NAME} (?:covers|writes about|is an? (?:[\w-]+ )?(?:reporter|writer|correspondent|columnist|editor)"
    rf"\b)).*$", re.M)
_OUTLET_NAME = re.compile(r"\b(?:Press|News|Times|Post|Journal|Network|TODAY|Today|Agency|Reuters|Media|Staff)\b")
OPENING_CHARS = 400  # a byline opens the article: within its first characters
CLOSING_SHARE, CLOSING_CHARS = 0.2, 600  # the sign-off lines close it: within its last fifth or 600 characters


def text_bylines(text: str) -> list[tuple[str, int, int]]:
    r"""The writers an article's own text names, as (name, start, end of the line naming them), in order; none
    when the lines name more than three people (a collection of essays, each with its own byline).

    >>> text = "By Jane Roe\nThe bridge opened.\nPhoto: Phil Noble/Reuters\nContact Jane Roe at jroe@example.com."
    >>> [(n, text[s:e]) for n, s, e in text_bylines(text)]
    [('Jane Roe', 'By Jane Roe')]
    >>> text_bylines("The bridge opened.\nFollow Mike Snider on Twitter: @mikesnider.")[0][0]
    'Mike Snider'
    >>> [n for n, _s, _e in text_bylines("Kelly Lawler\n\nUSA TODAY\n\nThe pay gap is real.")]
    ['Kelly Lawler']
    >>> text_bylines("Gemunu Amarasinghe/AP Protesters gather outside the court.")
    []
    """
    found: list[tuple[str, int, int]] = []
    for m in _OPENING_BYLINE.finditer(text, 0, min(len(text), OPENING_CHARS)):
        found += [(n, m.start(), m.end()) for n in m.groups() if n]
    for m in _CLOSING_BYLINE.finditer(text, max(0, min(int(len(text) * (1.0 - CLOSING_SHARE)),
                                                        len(text) - CLOSING_CHARS))):
        found += [(n, m.start(), m.end()) for n in m.groups() if n]
    found = [f for f in found if not _OUTLET_NAME.search(f[0])]  # "— Associated Press" signs no person
    names = list(dict.fromkeys(n for n, _s, _e in found))
    if len(names) > 3:
        return []
    return [next(f for f in found if f[0] == n) for n in names]


def _names(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def metadata_answer(q: Question, passages: Sequence[Passage], query: str,
                    weights: Callable[[Sequence[str]], dict[str, float]], absent: tuple[str, ...] = (),
                    article_text: Callable[[str], str | None] | None = None) -> Draft:
    """The catalog field a question asks for, of the article it is about; an author the catalog lacks is read
    from the article's own byline or sign-off lines (text_bylines), cited to the line that names them.
    """
    from rag.answer.extractive import REFUSAL, Draft

    field = q.metadata_field or "title"
    if absent:
        return Draft(None, reason=f"{absent[0]!r} is in no article",
                     refusal=evidence.refusal(evidence.Missing("term", absent[0])))
    p, coverage = best_article(q, passages, query, weights)
    if p is None:
        missing = next((e for e in q.entities if not any(evidence.mentions(e, f"{x.title}\n{x.text}")
                                                          for x in passages)), None)
        refusal = evidence.refusal(evidence.Missing("entity", missing), passages[0].text,
                                                     question=q.text) if missing else REFUSAL
        return Draft(None, reason="no retrieved article is about the question's topic", refusal=refusal)
    if not topic_terms(query) and coverage < 0.5:
        field_words = _FIELD_WORDS.get(field, "a field")[3:] if field else "field"
        return Draft(None, reason="the question does not say which article",
                     refusal=f"The question does not say which article's {field_words} you mean: name its topic, "
                             "as in “Who wrote the article about the bridge?”.")
    if coverage < 0.5:
        return Draft(None, reason=f"the closest article covers {coverage:.2f} of the topic",
                     refusal="The articles don't say: no article in the store is clearly about that.")
    value = {"author": p.author, "published": p.published, "source": p.source, "url": p.url,
             "title": p.title}.get(field)
    title = p.title or "The article"
    whole = article_text(p.article_id) if article_text is not None and field == "author" and not value else None
    if whole and (bylines := text_bylines(whole)):
        citations = tuple(Citation(n=i, article_id=p.article_id, chunk_id=p.chunk_id, title=p.title, url=p.url,
                                   published=p.published, source=p.source, passage=whole[s:e], start=s, end=e,
                                   score=round(float(p.score), 6))
                          for i, (_name, s, e) in enumerate(bylines, 1))
        marks = "".join(f"[{c.n}]" for c in citations)
        return Draft(f"“{title}” was written by {_names([n for n, _s, _e in bylines])}, as the article says {marks}.",
                     citations=citations)
    if not value:
        return Draft(None, reason=f"the catalog has no {field} for {p.article_id}",
                     refusal=f"The articles don't say: the catalog has no {_FIELD_WORDS[field][3:]} for "
                             f"“{title}”.")
    text = {"author": f"“{title}” was written by {value} [1].",
            "published": f"“{title}” was published on {human_date(value)} [1].",
            "source": f"“{title}” was published by {value} [1].",
            "url": f"“{title}” is at {value} [1].",
            "title": f"The article is titled “{value}” [1]."}[field]
    citation = Citation(n=1, article_id=p.article_id, chunk_id=p.chunk_id, title=p.title, url=p.url,
                        published=p.published, source=p.source, passage=f"{field}: {value}", start=None, end=None,
                        score=round(float(p.score), 6), kind="metadata", field=field)
    return Draft(text, citations=(citation,))


def states_field(citation: Citation, sentence: str) -> bool:
    """Does `sentence` state the catalog field a `metadata` citation quotes ("author: Fuad Shahbazov")?

    A metadata citation is checked against the catalog, not by entailment: the sentence must hold the field's
    value (a date in any of the forms answers use) and the article's title when it names one.

    >>> c = Citation(n=1, article_id="a", chunk_id="a-1", title="Bridge talks", url=None, published="2023-09-28",
    ...              source=None, passage="published: 2023-09-28", start=None, end=None, score=1.0,
    ...              kind="metadata", field="published")
    >>> states_field(c, "“Bridge talks” was published on 28 September 2023."), states_field(c, "It was in May.")
    (True, False)
    """
    if citation.kind != "metadata" or ": " not in citation.passage:
        return False
    value = citation.passage.split(": ", 1)[1].strip()
    forms = {value}
    if citation.field == "published":
        forms |= {human_date(value), value[:10]}
        try:
            d = _dt.date.fromisoformat(value[:10])
            forms.add(f"{d:%B} {d.day}, {d.year}")
        except ValueError:
            pass
    text = " ".join(sentence.split()).casefold()
    if not any(f and " ".join(f.split()).casefold() in text for f in forms):
        return False
    title = " ".join((citation.title or "").split()).casefold()
    return not title or citation.field == "title" or title in text
