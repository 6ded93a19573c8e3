"""newsdesk core: settings, types, store, embedding, retrieval, answerers, verification and the Assistant.

>>> import tempfile
>>> from rag import Assistant, load_settings
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> answer = Assistant.open(settings=settings).ask("How long will the Astarachay bridge be?")
>>> answer.refused, answer.text  # nothing ingested yet (see rag.assistant for a store with articles)
(True, "The articles don't say: nothing in the store answers this question.")
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
