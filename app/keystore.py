"""Where API secrets live: the system keyring, or an encrypted file chosen explicitly.

The default is the operating system's keyring through `keyring` (the Secret Service on
Linux: gnome-keyring, KeePassXC...; Keychain on macOS; the Credential Locker on Windows).
`resolve_backend` refuses what would not keep a secret: keyring's fail/null backends (no
Secret Service, e.g. a headless Linux without a D-Bus session), which get a message
saying how to unlock one, and plaintext backends (keyrings.alt's PlaintextKeyring), which
would write secrets in clear.

A headless machine may instead choose, explicitly, an encrypted file
(`--keystore encrypted-file` or COLIBRI_KEYSTORE=encrypted-file): `EncryptedFileKeyring`,
a keyring backend that keeps every entry in one file in the config dir, encrypted with
AES-256-GCM under a key derived from a passphrase by scrypt (per-file random salt, fresh
nonce per write, the KDF parameters authenticated), written atomically with mode 0600.
The passphrase comes from COLIBRI_KEYSTORE_PASSPHRASE or a prompt without echo. The
backend is never chosen by keyring itself (its priority refuses), only by this module.
"""
from __future__ import annotations

import base64
import contextlib
import getpass
import json
import os
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.compat import properties

SYSTEM = "system"
ENCRYPTED_FILE = "encrypted-file"
CHOICES = (SYSTEM, ENCRYPTED_FILE)
KEYSTORE_ENV = "COLIBRI_KEYSTORE"
PASSPHRASE_ENV = "COLIBRI_KEYSTORE_PASSPHRASE"
FILE_NAME = "keys.enc"
FILE_FORMAT = "colibri-encrypted-keystore"
FILE_VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

UNLOCK_HELP = (
    "run Colibri inside a D-Bus session with an unlocked Secret Service, e.g. "
    "dbus-run-session -- sh -c 'echo -n PASSWORD | gnome-keyring-daemon --unlock --components=secrets; "
    "colibri keys list' (or install and unlock gnome-keyring or KeePassXC in your desktop session), "
    f"or choose the encrypted key file: --keystore {ENCRYPTED_FILE} (or {KEYSTORE_ENV}={ENCRYPTED_FILE}) "
    f"with the passphrase from a prompt or {PASSPHRASE_ENV}"
)


class SecretStoreError(RuntimeError):
    """The key store refused to store or read a secret (locked, missing, no backend)."""


class KeystoreUnavailable(SecretStoreError):
    """No key store Colibri may use: no Secret Service, a plaintext backend, a bad choice."""


class WrongPassphrase(keyring.errors.KeyringError):
    """The encrypted key file could not be decrypted with the passphrase given."""


class KeystoreFileError(keyring.errors.KeyringError):
    """The encrypted key file is unreadable, damaged or not a Colibri key file."""


# -- the system keyring ------------------------------------------------------------------
def _is_plaintext(backend: KeyringBackend) -> bool:
    cls = type(backend)
    return "plaintext" in cls.__name__.lower() or (
        cls.__module__.startswith("keyrings.alt") and cls.__name__ in {"PlaintextKeyring", "EscapedKeyring"}
    )


def _is_nothing(backend: KeyringBackend) -> bool:
    return type(backend).__module__ in ("keyring.backends.fail", "keyring.backends.null")


def describe_backend(backend: KeyringBackend) -> str:
    cls = type(backend)
    if cls.__module__ == "keyring.backends.SecretService":
        return "the Secret Service (system keyring)"
    if isinstance(backend, EncryptedFileKeyring):
        return f"the encrypted key file {backend.path}"
    return f"the keyring backend {cls.__module__}.{cls.__name__}"


def _why_no_secret_service() -> str:
    if sys.platform.startswith("linux") and not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set)"
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 (raises with the reason)
    except Exception as exc:  # RuntimeError with the reason, or SecretStorage missing
        return f"the Secret Service is not reachable on D-Bus ({' '.join(str(exc).split()) or type(exc).__name__})"
    return "keyring found no recommended backend"


def check_system_backend(backend: KeyringBackend) -> KeyringBackend:
    """The backend to use for secrets, or KeystoreUnavailable saying what to do."""
    from keyring.backends.chainer import ChainerBackend

    if isinstance(backend, ChainerBackend):
        members = list(getattr(backend, "backends", []))
        usable = [b for b in members if not _is_plaintext(b) and not _is_nothing(b)]
        if not usable:
            plain = next((b for b in members if _is_plaintext(b)), None)
            backend = plain if plain is not None else members[0] if members else backend
        else:
            return usable[0]  # the highest priority; a plaintext fallback is never tried
    if _is_plaintext(backend):
        cls = type(backend)
        raise KeystoreUnavailable(
            f"refusing the plaintext keyring backend {cls.__module__}.{cls.__name__}: it would write API "
            f"secrets in clear on disk; remove it from the keyring configuration (PYTHON_KEYRING_BACKEND, "
            f"keyringrc.cfg) and {UNLOCK_HELP}")
    if _is_nothing(backend):
        raise KeystoreUnavailable(f"no usable Secret Service (system keyring): {_why_no_secret_service()}; "
                                  f"to store API keys, {UNLOCK_HELP}")
    return backend


def explain(exc: BaseException, backend: KeyringBackend) -> str:
    """A keyring error as one sentence with what to do about it."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (WrongPassphrase, KeystoreFileError)):
        return text
    if isinstance(exc, (keyring.errors.KeyringLocked, keyring.errors.InitError)) or "lock" in text.lower():
        return f"{describe_backend(backend)} is locked or not available ({text}); to unlock it, {UNLOCK_HELP}"
    return f"{describe_backend(backend)}: {text}"


# -- choosing ----------------------------------------------------------------------------
PassphraseSource = Callable[[bool], str]
"""Called with new=True when the file is being created (confirm it), returns the passphrase."""

_encrypted: dict[Path, "EncryptedFileKeyring"] = {}
_prompt: PassphraseSource | None = None


def set_passphrase_prompt(prompt: PassphraseSource | None) -> None:
    """How to ask for the key file's passphrase when COLIBRI_KEYSTORE_PASSPHRASE is unset."""
    global _prompt
    _prompt = prompt


def terminal_prompt(new: bool) -> str:
    """Asks on the terminal without echo (twice for a new file)."""
    if not _has_terminal():
        raise WrongPassphrase(f"no passphrase for the encrypted key file: set {PASSPHRASE_ENV} or run in a terminal")
    try:
        first = getpass.getpass("Passphrase for the encrypted key file: " if not new
                                else "New passphrase for the encrypted key file: ")
        if new and getpass.getpass("Repeat the passphrase: ") != first:
            raise WrongPassphrase("the two passphrases differ; nothing was stored")
    except EOFError:
        raise WrongPassphrase("no passphrase given for the encrypted key file") from None
    return first


def _has_terminal() -> bool:
    if sys.stdin is not None and sys.stdin.isatty():
        return True
    try:
        with open("/dev/tty"):
            return True
    except OSError:
        return False


def _passphrase(new: bool) -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    return (_prompt or terminal_prompt)(new)


def keystore_choice(choice: str | None = None) -> str:
    return (choice or os.environ.get(KEYSTORE_ENV) or SYSTEM).strip().lower()


def resolve_backend(choice: str | None = None) -> KeyringBackend:
    """The backend for secrets: `choice`, else $COLIBRI_KEYSTORE, else the system keyring."""
    chosen = keystore_choice(choice)
    if chosen == SYSTEM:
        return check_system_backend(keyring.get_keyring())
    if chosen == ENCRYPTED_FILE:
        return encrypted_file_backend()
    raise KeystoreUnavailable(f"unknown key store “{chosen}” ({KEYSTORE_ENV} or --keystore): "
                              f"choose {' or '.join(CHOICES)}")


def default_file() -> Path:
    from app.paths import config_dir

    return config_dir() / FILE_NAME


def encrypted_file_backend(path: Path | None = None) -> "EncryptedFileKeyring":
    """One backend per file and process: the passphrase is asked at most once."""
    path = Path(path or default_file()).absolute()
    backend = _encrypted.get(path)
    if backend is None:
        backend = _encrypted[path] = EncryptedFileKeyring(path, _passphrase)
    return backend


def forget_encrypted_backends() -> None:
    """Drops the cached backends and their derived keys (tests, a passphrase change)."""
    _encrypted.clear()


# -- the encrypted file ------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


class EncryptedFileKeyring(KeyringBackend):
    """Keyring entries in one AES-256-GCM file, the key derived from a passphrase by scrypt."""

    @properties.classproperty
    def priority(cls) -> float:
        # keyring registers every backend class for its automatic choice: refusing here
        # keeps this one out of it; Colibri sets it only when it was chosen explicitly.
        raise RuntimeError(f"chosen explicitly only: --keystore {ENCRYPTED_FILE}")

    def __init__(self, path: Path | str, passphrase: str | PassphraseSource) -> None:
        super().__init__()
        self.path = Path(path)
        self._source: PassphraseSource = passphrase if callable(passphrase) else (lambda _new, p=passphrase: p)
        self._key: bytes | None = None
        self._salt: bytes | None = None
        self._params = (SCRYPT_N, SCRYPT_R, SCRYPT_P)
        self._lock = threading.Lock()

    # keyring API
    def get_password(self, service: str, username: str) -> str | None:
        with self._locked():
            return self._read().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked():
            items = self._read(creating=True)
            items.setdefault(service, {})[username] = password
            self._write(items)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            items = self._read()
            if username not in items.get(service, {}):
                raise keyring.errors.PasswordDeleteError("no such entry")
            del items[service][username]
            if not items[service]:
                del items[service]
            self._write(items)

    # internals
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time, in this process and across processes (POSIX)."""
        with self._lock:
            try:
                import fcntl
            except ImportError:  # Windows: in-process lock only
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _derive(self, passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        if not passphrase:
            raise WrongPassphrase("the passphrase for the encrypted key file is empty")
        return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))

    @staticmethod
    def _aad(salt: bytes, n: int, r: int, p: int) -> bytes:
        return f"{FILE_FORMAT}/{FILE_VERSION}/scrypt/{n}/{r}/{p}/".encode("ascii") + salt

    def _read(self, creating: bool = False) -> dict[str, dict[str, str]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            if creating and (self._key is None or self._salt is None):
                self._salt = os.urandom(16)
                self._params = (SCRYPT_N, SCRYPT_R, SCRYPT_P)
                self._key = self._derive(self._source(True), self._salt, *self._params)
            return {}
        except OSError as exc:
            raise KeystoreFileError(f"cannot read the encrypted key file {self.path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("format") != FILE_FORMAT or data.get("version") != FILE_VERSION:
                raise ValueError("not a Colibri encrypted key file of version 1")
            kdf = data["kdf"]
            params = (int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
            salt, nonce, ciphertext = _unb64(kdf["salt"]), _unb64(data["nonce"]), _unb64(data["ciphertext"])
            if kdf.get("name") != "scrypt" or len(salt) < 16 or len(nonce) != 12:
                raise ValueError("unsupported key derivation or nonce")
        except (ValueError, KeyError, TypeError) as exc:
            raise KeystoreFileError(f"{self.path} is damaged or not a Colibri encrypted key file ({exc})") from None
        if self._key is None or self._salt != salt or self._params != params:
            self._key, self._salt, self._params = self._derive(self._source(False), salt, *params), salt, params
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            plain = AESGCM(self._key).decrypt(nonce, ciphertext, self._aad(salt, *params))
        except InvalidTag:
            self._key = None  # ask again next time
            raise WrongPassphrase(f"wrong passphrase for the encrypted key file {self.path} "
                                  "(or the file was altered)") from None
        items = json.loads(plain.decode("utf-8"))
        return items if isinstance(items, dict) else {}

    def _write(self, items: dict[str, dict[str, str]]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        assert self._key is not None and self._salt is not None
        n, r, p = self._params
        nonce = os.urandom(12)
        plain = json.dumps(items, separators=(",", ":")).encode("utf-8")
        ciphertext = AESGCM(self._key).encrypt(nonce, plain, self._aad(self._salt, n, r, p))
        text = json.dumps({
            "format": FILE_FORMAT, "version": FILE_VERSION,
            "kdf": {"name": "scrypt", "n": n, "r": r, "p": p, "salt": _b64(self._salt)},
            "cipher": "AES-256-GCM", "nonce": _b64(nonce), "ciphertext": _b64(ciphertext),
        }, indent=1) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise KeystoreFileError(f"cannot write the encrypted key file {self.path}: {exc.strerror or exc}") from None
