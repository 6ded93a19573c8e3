"""The store manifest: which embedding model (dimension, variant) and which chunker a store was built with.

A store refuses to mix vectors of different models or chunkings: opening it with another model or chunker raises a
StoreMismatchError that names the setting to change. The manifest is written once, by the first ingest, through a
temporary file and a rename.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> check_manifest(root, "hash-256", 256, "v1", create=True).describe()
'embedding model hash-256 (dim 256, fp32), chunker v1'
>>> read_manifest(root).dim
256
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rag.errors import NewsdeskError, StoreMismatchError
from rag.faults import checkpoint

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What a store was built with; a store refuses to mix vectors of different models or chunkings."""

    version: int
    embedding_model: str
    dim: int
    chunker: str
    # The variant of the model's graph ("int8" | "fp32"); manifests written before it existed are fp32 stores.
    embedding_precision: str = "fp32"

    def describe(self) -> str:
        return (f"embedding model {self.embedding_model} (dim {self.dim}, {self.embedding_precision}), "
                f"chunker {self.chunker}")


def read_manifest(root: Path) -> Manifest | None:
    """The manifest of the store at `root`, or None when there is no store there yet."""
    try:
        data = json.loads((Path(root) / "manifest.json").read_text())
        return Manifest(**{k: data[k] for k in ("version", "embedding_model", "dim", "chunker")},
                        embedding_precision=str(data.get("embedding_precision", "fp32")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise NewsdeskError(f"the store manifest {Path(root) / 'manifest.json'} is damaged; "
                            "re-ingest into a new --store") from None


def check_manifest(root: Path, model: str, dim: int, chunker: str | None, create: bool,
                   precision: str | None = None) -> Manifest | None:
    """The store's manifest after checking it against this run's model, variant and chunker (None: no store yet).

    With `create`, a store without one gets this run's; `chunker=None` accepts any chunker (a reader), and
    `precision=None` any variant.
    """
    path = Path(root) / "manifest.json"
    found = read_manifest(root)
    if found is not None:
        if found.version != MANIFEST_VERSION:
            raise StoreMismatchError(f"the store {root} has format version {found.version}, this newsdesk "
                                     f"reads {MANIFEST_VERSION}; re-ingest into a new --store")
        if found.embedding_model != model or found.dim != dim:
            raise StoreMismatchError(
                f"the store {root} was built with {found.describe()}, not {model} (dim {dim}); "
                f"set NEWSDESK_EMBEDDING_MODEL={found.embedding_model} or use a new --store and re-ingest")
        if precision is not None and found.embedding_precision != precision:
            raise StoreMismatchError(
                f"the store {root} was built with the {found.embedding_precision} variant of "
                f"{found.embedding_model}, this run embeds with the {precision} one; set "
                f"NEWSDESK_EMBEDDING_PRECISION={found.embedding_precision} or use a new --store and re-ingest")
        if chunker is not None and found.chunker != chunker:
            raise StoreMismatchError(
                f"the store {root} was chunked with {found.chunker}, this run chunks with {chunker}; "
                "set NEWSDESK_CHUNK_TOKENS/NEWSDESK_CHUNK_OVERLAP back, or ingest into a new --store")
        return found
    if not create:
        return None
    manifest = Manifest(MANIFEST_VERSION, model, dim, chunker or "", precision or "fp32")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    checkpoint("manifest_tmp_written")
    try:
        os.replace(tmp, path)
    except FileNotFoundError:
        # Two first ingests of one new store: the other renamed the shared temporary file first. Its manifest
        # must then match ours, as any existing manifest must.
        return check_manifest(root, model, dim, chunker, create, precision)
    checkpoint("manifest_written")
    return manifest
