"""Ingestion: readers, cleaning, chunking and sync into the store.

`from ingest import ingest_paths` — imported lazily so that importing the package stays cheap.
"""

from typing import Any

__all__ = ["IngestResult", "ingest_paths"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ingest import sync

        return getattr(sync, name)
    raise AttributeError(name)
