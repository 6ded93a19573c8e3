"""What a reader yields before cleaning."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class RawArticle:
    """One article as read from a file or record, before boilerplate removal and metadata extraction.

    kind says how `body` should be cleaned: "page" (scraped plain text with site chrome), "html", "markdown",
    or "record" (a JSON record whose fields are already separated; only light cleaning).
    """

    origin: str  # path relative to the ingest root, plus "#<line or index>" for records
    kind: Literal["page", "html", "markdown", "record"]
    body: str
    fields: dict[str, Any] = field(default_factory=dict)  # id, title, url, published, author, source, ...
