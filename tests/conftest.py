"""Fixtures shared by the core and UI tests."""
import keyring
import pytest

from tests.keyring_support import MemoryKeyring


@pytest.fixture
def memory_keyring():
    """Secrets go to a dict for the test, then the previous backend is restored."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
