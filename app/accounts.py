"""Exchange accounts: a JSON registry in the user's config dir, secrets in the OS keyring.

The JSON file holds only what is safe to show (id, ccxt exchange id, label, sandbox
flag); API keys, secrets and passphrases go exclusively through `keyring` (service
"colibri", username "<account id>:<field>"), so they never touch the disk in clear and
never end up in a backup of the config dir. The demo exchange and paper trading accounts
are built in: always listed, never stored, never deletable.
"""
from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import keyring
import keyring.errors

SERVICE = "colibri"
SECRET_FIELDS = ("key", "secret", "passphrase")
FILE_NAME = "accounts.json"
FILE_VERSION = 1

DEMO_ACCOUNT_ID = "demo"
PAPER_ACCOUNT_ID = "paper"


class AccountError(ValueError):
    """A user-facing problem with an account; `field` names the input to blame (or "")."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class SecretStoreError(RuntimeError):
    """The OS keyring refused to store or read a secret (locked, missing, no backend)."""


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    exchange_id: str  # a ccxt id ("binance"), or "demo"/"paper" for built-in accounts
    label: str
    sandbox: bool = False
    builtin: bool = False

    @property
    def is_live(self) -> bool:
        """Talks to a real exchange through ccxt (needs credentials)."""
        return not self.builtin


@dataclass(frozen=True, slots=True)
class Credentials:
    key: str
    secret: str
    passphrase: str = ""

    def __repr__(self) -> str:  # never print secrets into logs or tracebacks
        return f"Credentials(key={self.key[:4]}…, secret=***, passphrase={'***' if self.passphrase else ''})"


BUILTIN_ACCOUNTS = (
    Account(DEMO_ACCOUNT_ID, "demo", "Demo exchange", builtin=True),
    Account(PAPER_ACCOUNT_ID, "paper", "Paper trading", builtin=True),
)


def config_dir() -> Path:
    """Per-user config dir: $COLIBRI_HOME if set (tests), else the platform's convention."""
    override = os.environ.get("COLIBRI_HOME")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming") / "Colibri"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Colibri"
    return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "colibri"


def ccxt_exchange_ids() -> list[str]:
    import ccxt  # imported lazily: ccxt takes a noticeable time to import

    return list(ccxt.exchanges)


def _ccxt_describe(exchange_id: str) -> dict:
    import ccxt

    return getattr(ccxt, exchange_id)().describe()


def validate(exchange_id: str, key: str, secret: str, passphrase: str = "", sandbox: bool = False,
             label: str = "") -> dict[str, str]:
    """Problems with a new account's inputs, by field name; empty when it can be saved.

    Checks what can be known offline: the ccxt id exists, the credentials this exchange
    requires are present (ccxt's requiredCredentials, e.g. a passphrase for OKX), and the
    exchange has a sandbox when one is asked for.
    """
    errors: dict[str, str] = {}
    exchange_id = exchange_id.strip()
    if not exchange_id:
        errors["exchange_id"] = "Choose an exchange."
    elif exchange_id not in ccxt_exchange_ids():
        errors["exchange_id"] = f"Unknown exchange “{exchange_id}”: not a ccxt exchange id."
    if not key.strip():
        errors["key"] = "The API key is empty."
    if not secret.strip():
        errors["secret"] = "The API secret is empty."
    if len(label) > 80:
        errors["label"] = "The label is longer than 80 characters."
    if "exchange_id" not in errors:
        info = _ccxt_describe(exchange_id)
        required = info.get("requiredCredentials", {})
        if required.get("password") and not passphrase.strip():
            errors["passphrase"] = f"{info.get('name', exchange_id)} requires an API passphrase."
        if sandbox and not info.get("urls", {}).get("test"):
            errors["sandbox"] = f"{info.get('name', exchange_id)} has no sandbox (testnet) in ccxt."
    return errors


class AccountStore:
    """The account registry. Not thread-safe: use it from the UI thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / FILE_NAME
        self._accounts: dict[str, Account] = {}
        self._load()

    # -- reading ------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        """Built-in accounts first, then stored ones in the order they were added."""
        return [*BUILTIN_ACCOUNTS, *self._accounts.values()]

    def get(self, account_id: str) -> Account:
        for account in self.accounts():
            if account.id == account_id:
                return account
        raise AccountError(f"No account with id “{account_id}”.")

    def credentials(self, account_id: str) -> Credentials:
        account = self.get(account_id)
        if account.builtin:
            raise AccountError(f"“{account.label}” is built in and has no credentials.")
        values = {f: self._get_secret(account_id, f) for f in SECRET_FIELDS}
        if not values["key"] or not values["secret"]:
            raise SecretStoreError(
                f"The keyring has no API key/secret for “{account.label}”: the keyring may be locked, "
                "or the secrets were removed outside Colibri. Remove and add the account again."
            )
        return Credentials(values["key"] or "", values["secret"] or "", values["passphrase"] or "")

    # -- changing -----------------------------------------------------------------------
    def add(self, exchange_id: str, key: str, secret: str, passphrase: str = "", *, label: str = "",
            sandbox: bool = False) -> Account:
        """Validates, stores the secrets in the keyring, then records the account in the file."""
        errors = validate(exchange_id, key, secret, passphrase, sandbox, label)
        if errors:
            field, message = next(iter(errors.items()))
            raise AccountError(message, field)
        exchange_id = exchange_id.strip()
        label = label.strip() or exchange_id + (" (sandbox)" if sandbox else "")
        account = Account(self._new_id(exchange_id, sandbox), exchange_id, label, sandbox)
        values = {"key": key.strip(), "secret": secret.strip(), "passphrase": passphrase.strip()}
        written: list[str] = []
        try:
            for field_name, value in values.items():
                if value:
                    self._set_secret(account.id, field_name, value)
                    written.append(field_name)
        except SecretStoreError:
            for field_name in written:
                self._delete_secret(account.id, field_name)
            raise
        self._accounts[account.id] = account
        try:
            self._save()
        except OSError:
            del self._accounts[account.id]
            self._delete_secrets(account.id)
            raise
        return account

    def rename(self, account_id: str, label: str) -> Account:
        account = self.get(account_id)
        if account.builtin:
            raise AccountError(f"“{account.label}” is built in and cannot be renamed.")
        label = label.strip()
        if not label:
            raise AccountError("The label is empty.", "label")
        renamed = Account(account.id, account.exchange_id, label, account.sandbox)
        self._accounts[account_id] = renamed
        self._save()
        return renamed

    def delete(self, account_id: str) -> None:
        """Removes the account from the file and its secrets from the keyring."""
        account = self.get(account_id)
        if account.builtin:
            raise AccountError(f"“{account.label}” is built in and cannot be removed.")
        del self._accounts[account_id]
        self._save()
        self._delete_secrets(account_id)

    # -- internals ----------------------------------------------------------------------
    def _new_id(self, exchange_id: str, sandbox: bool) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", exchange_id.lower()).strip("-") + ("-sandbox" if sandbox else "")
        taken = {a.id for a in self.accounts()}
        number = 1
        while f"{base}-{number}" in taken:
            number += 1
        return f"{base}-{number}"

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AccountError(f"Cannot read the account list {self.path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
            raise AccountError(f"{self.path} is not a Colibri account list of version {FILE_VERSION}.")
        builtin_ids = {a.id for a in BUILTIN_ACCOUNTS}
        for item in data.get("accounts", []):
            try:
                account = Account(str(item["id"]), str(item["exchange_id"]), str(item["label"]), bool(item.get("sandbox", False)))
            except (KeyError, TypeError) as exc:
                raise AccountError(f"{self.path}: malformed account entry {item!r}") from exc
            if account.id not in builtin_ids:
                self._accounts[account.id] = account

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entries = [{k: v for k, v in asdict(a).items() if k != "builtin"} for a in self._accounts.values()]
        text = json.dumps({"version": FILE_VERSION, "accounts": entries}, indent=2)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    @staticmethod
    def _username(account_id: str, field_name: str) -> str:
        return f"{account_id}:{field_name}"

    def _set_secret(self, account_id: str, field_name: str, value: str) -> None:
        try:
            keyring.set_password(SERVICE, self._username(account_id, field_name), value)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"The system keyring could not store the API {field_name}: {exc}") from exc

    def _get_secret(self, account_id: str, field_name: str) -> str | None:
        try:
            return keyring.get_password(SERVICE, self._username(account_id, field_name))
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"The system keyring could not read the API {field_name}: {exc}") from exc

    def _delete_secret(self, account_id: str, field_name: str) -> None:
        try:
            keyring.delete_password(SERVICE, self._username(account_id, field_name))
        except keyring.errors.PasswordDeleteError:
            pass  # never stored (an empty passphrase) or already gone
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"The system keyring could not delete the API {field_name}: {exc}") from exc

    def _delete_secrets(self, account_id: str, fields: Iterable[str] = SECRET_FIELDS) -> None:
        for field_name in fields:
            self._delete_secret(account_id, field_name)
