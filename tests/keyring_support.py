"""An in-memory keyring for tests: secrets never touch the OS, and the backend is chosen
explicitly (the `memory_keyring` fixture in tests/conftest.py)."""
from __future__ import annotations

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.compat import properties


class MemoryKeyring(KeyringBackend):
    """A keyring that keeps secrets in a dict: deterministic and never touches the OS."""

    @properties.classproperty
    def priority(cls) -> float:
        # Every KeyringBackend subclass is registered for automatic selection; a priority
        # that raises keeps this test backend out of keyring's default choice.
        raise RuntimeError("test-only backend: set it explicitly with keyring.set_keyring")

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("not found")
