"""newsdesk core: settings, types, store, embedding, retrieval, answerers, verification and the Assistant.

>>> from rag import Assistant  # doctest: +SKIP
>>> Assistant.open("./.newsdesk").ask("How long will the Astarachay bridge be?").text  # doctest: +SKIP
"""

from typing import Any

from rag.errors import LLMError, NewsdeskError, SettingsError, StoreMismatchError, UserError
from rag.types import Answer, Article, Chunk, Citation, Filters, Partial, Passage

__all__ = ["Answer", "Article", "Assistant", "Chunk", "Citation", "Filters", "LLMError", "NewsdeskError", "Partial",
           "Passage", "Settings", "SettingsError", "StoreMismatchError", "UserError", "load_settings"]


def __getattr__(name: str) -> Any:
    # Imported on first use so that `import rag` stays cheap for the command line.
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    if name in ("Settings", "load_settings"):
        from rag import settings

        return getattr(settings, name)
    raise AttributeError(name)
