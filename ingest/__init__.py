"""Ingestion: readers, cleaning, chunking and sync into the store.

`from ingest import ingest_paths` (files and folders), `from ingest import ingest_documents` (llama-index
Documents) — imported lazily so that importing the package stays cheap.
"""

from typing import Any

__all__ = ["IngestResult", "ingest_documents", "ingest_paths"]


def __getattr__(name: str) -> Any:
    if name == "ingest_documents":
        from ingest.llama_index import ingest_documents

        return ingest_documents
    if name in __all__:
        from ingest import sync

        return getattr(sync, name)
    raise AttributeError(name)
