"""Guards for every test and every doctest of the project (tests/ and the >>> examples in rag, ingest, ui, eval).

- No network: connections to anything but 127.0.0.1 / ::1 / localhost raise (rag.testing.no_network), so
  nothing reaches a network by accident; servers a test starts itself bind 127.0.0.1 and stay reachable.
- Hermetic: NEWSDESK_* and OPENAI_* variables (NEWSDESK_CONFIG included) are cleared, so a developer's settings
  and API keys never leak in; each test runs from its own temporary directory, so a ./newsdesk.toml or
  ./.newsdesk store where pytest was started is never read; the model cache (the built MiniLM graph) lives in a
  temporary folder kept for the session, so it is built once per session and never written to the user's cache.
  Session-scoped fixtures get the same, from a session-wide temporary directory.
"""

import os

import pytest

from rag.testing import no_network

_CLEARED_PREFIXES = ("NEWSDESK_", "OPENAI_")


def _clear_environment(mp: pytest.MonkeyPatch, cache_dir: str) -> None:
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES):
            mp.delenv(name)
    mp.setenv("NEWSDESK_CACHE_DIR", cache_dir)


# First on purpose: every fixture below runs under the guard too.
@pytest.fixture(autouse=True, scope="session")
def _no_network():
    with no_network():
        yield


@pytest.fixture(autouse=True, scope="session")
def _hermetic_session(_no_network, tmp_path_factory):
    """The session's model cache and working directory, with the environment cleared for session fixtures."""
    cache_dir = str(tmp_path_factory.mktemp("cache") / "newsdesk")
    with pytest.MonkeyPatch.context() as mp:
        _clear_environment(mp, cache_dir)
        mp.chdir(tmp_path_factory.mktemp("cwd"))
        yield cache_dir


@pytest.fixture(autouse=True)
def _hermetic(_hermetic_session, monkeypatch, tmp_path):
    _clear_environment(monkeypatch, _hermetic_session)
    monkeypatch.chdir(tmp_path)
