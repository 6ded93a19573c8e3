"""Value types passed between the stages: Article -> Chunk -> Passage -> Answer(citations).

All are frozen dataclasses so a stage can never mutate what an earlier stage produced.

>>> Citation(n=1, article_id="a", chunk_id="c", title="T", url=None, published=None,
...          source=None, passage="p", start=0, end=1, score=0.5).to_dict()["n"]
1
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any

EPOCH = _dt.date(1970, 1, 1)


def iso_to_day(value: str | None) -> int | None:
    """Days since 1970-01-01 for an ISO date ("2023-09-28" -> 19628); None stays None.

    Chroma filters ranges on numbers only, so dates are stored as this integer beside the ISO string.
    """
    if not value:
        return None
    return (_dt.date.fromisoformat(value[:10]) - EPOCH).days


@dataclass(frozen=True)
class Article:
    """One cleaned article. `text` is the body the chunk offsets point into."""

    id: str
    title: str
    text: str
    subtitle: str | None = None
    author: str | None = None
    section: str | None = None
    published: str | None = None  # YYYY-MM-DD
    source: str | None = None
    url: str | None = None
    origin: str | None = None  # where it came from: "path" or "path#line"
    content_hash: str = ""

    def metadata(self) -> dict[str, str | int]:
        """The article's fields as flat Chroma metadata (None values are left out: Chroma rejects them)."""
        meta: dict[str, str | int] = {"article_id": self.id, "title": self.title}
        for key in ("subtitle", "author", "section", "published", "source", "url", "origin"):
            value = getattr(self, key)
            if value:
                meta[key] = value
        day = iso_to_day(self.published)
        if day is not None:
            meta["published_day"] = day
        return meta


@dataclass(frozen=True)
class Chunk:
    """A span of an article: `text == article.text[start:end]`; `header` is prepended only for embedding."""

    id: str
    article_id: str
    start: int
    end: int
    text: str
    header: str = ""

    @property
    def embed_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


@dataclass(frozen=True)
class Filters:
    """Metadata filters applied inside the stores. Dates are inclusive ISO days."""

    source: str | None = None
    author: str | None = None
    since: str | None = None
    until: str | None = None

    @classmethod
    def from_any(cls, value: Filters | dict[str, Any] | None) -> Filters:
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        unknown = set(value) - {"source", "author", "since", "until"}
        if unknown:
            from rag.errors import UserError

            raise UserError(f"unknown filter(s) {sorted(unknown)}; use source, author, since, until")
        return cls(**{k: (v or None) for k, v in value.items()})

    def is_empty(self) -> bool:
        return not (self.source or self.author or self.since or self.until)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article's metadata and a relevance score (higher is better)."""

    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    title: str
    score: float
    url: str | None = None
    published: str | None = None
    source: str | None = None
    author: str | None = None
    section: str | None = None
    ranks: dict[str, int] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, kw_only=True)
class Citation:
    """One cited passage; `n` matches the [n] marker in the answer text."""

    n: int
    article_id: str
    chunk_id: str
    title: str
    url: str | None
    published: str | None
    source: str | None
    passage: str
    start: int | None
    end: int | None
    score: float
    kind: str = "passage"  # "passage": a span of the article text; "metadata": an article field (null offsets)
    field: str | None = None  # for kind "metadata": which field answered ("author", "published", "source", ...)

    @classmethod
    def from_passage(cls, n: int, p: Passage) -> Citation:
        return cls(n=n, article_id=p.article_id, chunk_id=p.chunk_id, title=p.title, url=p.url,
                   published=p.published, source=p.source, passage=p.text, start=p.start, end=p.end,
                   score=round(float(p.score), 6))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["field"] is None:
            del data["field"]
        return data


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The final answer: `text` carries [n] markers matching `citations`; a refusal has no citations."""

    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    answerer: str = "extractive"
    notes: tuple[str, ...] = ()  # e.g. "fallback: extractive answer because the LLM failed: ..."
    as_of: str | None = None  # publication date of the newest cited article, "YYYY-MM-DD"
    passages: tuple[Passage, ...] = field(default=(), compare=False, repr=False)  # what retrieval returned
    query: str = ""  # the standalone question that was searched (after condensing a follow-up); "" = the question

    def to_dict(self) -> dict[str, Any]:
        """The JSON object printed by `newsdesk ask --json`."""
        return {
            "question": self.question,
            "query": self.query or self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "answerer": self.answerer,
            "notes": list(self.notes),
            "as_of": self.as_of,
        }


@dataclass(frozen=True)
class Partial:
    """A streaming event: the answer text so far (`text`) and what was just added (`delta`)."""

    text: str
    delta: str
