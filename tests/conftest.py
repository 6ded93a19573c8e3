import pytest

from rag.testing import no_network


# Network guard, first on purpose: every test (and every fixture below) runs with connections to anything but
# 127.0.0.1 / ::1 / localhost raising, so nothing reaches a network by accident. Servers that tests start
# themselves bind 127.0.0.1 and stay reachable.
@pytest.fixture(autouse=True, scope="session")
def _no_network():
    with no_network():
        yield
