"""cl100k token counting, offline.

tiktoken downloads its BPE files on first use; llama-index ships cl100k_base in its package cache, so we point
tiktoken at that cache (as `llama_index.core.utils.get_tokenizer()` does) without importing llama-index itself,
which would cost a second of start-up.

>>> count_tokens("The bridge will be about 100 meters long.")
10
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import SettingsError

_lock = threading.Lock()


def _llama_index_cache() -> Path:
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise SettingsError("llama-index-core is not installed; reinstall newsdesk (pip install newsdesk)")
    return Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"


@lru_cache(maxsize=1)
def encoding() -> Any:
    """The cl100k_base tiktoken encoding: from the user's TIKTOKEN_CACHE_DIR when set, else llama-index's bundle.

    The bundled cache is set only for this load (as `get_tokenizer()` does), so the environment is left as found.
    """
    import tiktoken

    with _lock:
        previous = os.environ.get("TIKTOKEN_CACHE_DIR")
        if previous is None:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(_llama_index_cache())
        try:
            return tiktoken.get_encoding("cl100k_base")
        finally:
            if previous is None:
                os.environ.pop("TIKTOKEN_CACHE_DIR", None)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in `text`."""
    return len(encoding().encode(text, disallowed_special=()))


def count_tokens_batch(texts: list[str]) -> list[int]:
    """Token counts of many texts at once.

    A plain loop: tiktoken's encode_batch hands every text to a thread pool, and for sentence-sized texts the
    futures cost about three times the encoding itself (a 5 MB article has 80,000 sentences to count).
    """
    encode = encoding().encode_ordinary  # the same tokens as encode(disallowed_special=())
    return [len(encode(t)) for t in texts]
