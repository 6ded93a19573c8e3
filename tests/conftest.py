import pytest

from rag.testing import no_network


# Network guard, first on purpose: every test (and every fixture below) runs with connections to anything but
# 127.0.0.1 / ::1 / localhost raising, so nothing reaches a network by accident. Servers that tests start
# themselves bind 127.0.0.1 and stay reachable.
@pytest.fixture(autouse=True, scope="session")
def _no_network():
    with no_network():
        yield


# -- stores ------------------------------------------------------------------------------------------------------
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "ingest" / "sample"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory):
    """A store of the sample corpus built once per session with the real embedding model: (settings, result)."""
    from ingest import ingest_paths
    from rag.settings import load_settings

    settings = load_settings(store=tmp_path_factory.mktemp("sample") / "store")
    result = ingest_paths([SAMPLE], settings)
    assert not result.failed, result.failed
    return settings


@pytest.fixture(scope="session")
def sample_assistant(sample_store):
    """An Assistant over the sample store (real model, offline support scorer)."""
    from rag.assistant import Assistant

    return Assistant.open(settings=sample_store)
