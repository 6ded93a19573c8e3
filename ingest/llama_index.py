"""Ingest llama-index `Document`s (from any llama-index reader) into the store, with the sync of files:
an unchanged document embeds nothing, a changed one replaces its chunks, and `sync=True` deletes the articles of
documents (of this `namespace`) that are no longer given.

>>> import tempfile
>>> from llama_index.core import Document
>>> from rag import load_settings
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> docs = [Document(text="The council approved the budget on Monday.", metadata={"url": "https://x.example/a"})]
>>> ingest_documents(docs, settings).added, ingest_documents(docs, settings).unchanged
(1, 1)

Identity: a document's article id is its metadata "id"; else its own `id_` unless that is the random uuid4
llama-index gives documents by default; else a hash of its metadata "url"; else a hash of its "file_path" (with
the page label or its position in the file). Documents with none of these (a random id and no url or path) get
a new id every run; their text still matches the stored copy, so they are reported as duplicates, not embedded
again. The source a document is synced by is its file_path (or url, or id) under `namespace`.

Cleaning follows the file type named by "file_path"/"file_name": .txt as a page, .html/.htm as HTML, .md as
Markdown; anything else (PDF text, a web reader's record) as a record, whose metadata fields (title, url,
published or date, author, source, section) fill the article's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePath
from typing import Any

from ingest._types import RawArticle
from ingest.clean import to_article
from ingest.readers import FileError, _record
from ingest.sync import IngestResult, _Prepared, ingest_prepared
from rag.errors import InputError
from rag.models.embedding import Embedder
from rag.settings import Settings

_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I)
_KINDS = {".txt": "page", ".text": "page", ".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def _text_of(doc: Any) -> str:
    text = getattr(doc, "text", None)
    if not isinstance(text, str):
        get = getattr(doc, "get_content", None)
        text = get() if callable(get) else None
    return text if isinstance(text, str) else ""


def _url(meta: dict[str, Any]) -> str | None:
    url = meta.get("url") or meta.get("link")
    source = meta.get("source")
    if not url and isinstance(source, str) and source.startswith(("http://", "https://")):
        url = source  # web readers put the page's URL in "source"
    return str(url) if url else None


def document_source(doc: Any) -> str:
    """What a Document syncs by: its file_path (or file_name), else its url, else its id."""
    meta = getattr(doc, "metadata", None) or {}
    doc_id = str(getattr(doc, "id_", "") or getattr(doc, "doc_id", "") or "")
    return str(meta.get("file_path") or meta.get("file_name") or _url(meta) or doc_id)


def document_raw(doc: Any, position: int = 0) -> RawArticle | str:
    """The RawArticle of one Document (the `position`-th of its source), or the one-line reason it is not one."""
    meta = dict(getattr(doc, "metadata", None) or {})
    doc_id = str(getattr(doc, "id_", "") or getattr(doc, "doc_id", "") or "")
    path = meta.get("file_path") or meta.get("file_name")
    url = _url(meta)
    if url and meta.get("source") == url:
        del meta["source"]  # a URL, not the publication's name: the source is then derived from the URL
    source = document_source(doc) or f"document-{position}"
    page = meta.get("page_label") or meta.get("page")
    origin = f"{source}#{page}" if page not in (None, "") else (f"{source}#{position}" if path else source)
    own_id = meta.get("id")
    if own_id in (None, "") and doc_id and not _UUID4.match(doc_id):
        own_id = doc_id
    raw = _record({**meta, "id": own_id, "url": url, "text": _text_of(doc)}, origin)
    if isinstance(raw, RawArticle) and path:
        kind = _KINDS.get(PurePath(str(path)).suffix.lower())
        if kind:
            raw = RawArticle(origin=raw.origin, kind=kind, body=raw.body, fields=raw.fields)  # type: ignore[arg-type]
    return raw


def _prepare_documents(documents: Iterable[Any], namespace: str) -> Iterator[_Prepared | FileError | tuple[str, bool]]:
    per_source: dict[str, int] = {}  # documents seen per source, in first-seen order
    for doc in documents:
        source = document_source(doc)
        position = per_source.get(source, 0)
        per_source[source] = position + 1
        raw = document_raw(doc, position)
        key = f"{namespace}:{source}"
        if isinstance(raw, str):
            yield FileError(key, raw)
            continue
        try:
            yield _Prepared(key, article=to_article(raw), origin=raw.origin)
        except InputError as exc:
            yield FileError(key, str(exc))
    for source in per_source:
        yield (f"{namespace}:{source}", True)


def ingest_documents(
    documents: Iterable[Any],
    settings: Settings | None = None,
    *,
    sync: bool = False,
    dry_run: bool = False,
    namespace: str = "llama-index",
    embedder: Embedder | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Ingest llama-index Documents into the store named by `settings.store`; the result is `ingest --json`'s.

    `sync=True` deletes the articles of this `namespace` whose documents are not in `documents`; articles from
    files (`newsdesk ingest`) and from other namespaces are never touched by it.
    """
    prefix = f"{namespace}:"
    return ingest_prepared(_prepare_documents(documents, namespace), lambda source: source.startswith(prefix),
                           settings, sync=sync, dry_run=dry_run, embedder=embedder, progress=progress, workers=0)
