"""Exchange accounts: a JSON registry in the user's config dir, secrets in the OS keyring.

The JSON file holds only what is safe to show (id, ccxt exchange id, label, sandbox and
read-only flags, a custom API URL); API keys, secrets and passphrases go exclusively
through `keyring` (service "colibri", username "<account id>:<field>"), so they never
touch the disk in clear and never end up in a backup of the config dir. The keyring
backend is the system's (checked: never a plaintext or "fail" backend) or, chosen
explicitly, the encrypted file of app.keystore. Keys are shown masked (`abcd…wxyz`) and
every credential loaded is registered with app.redact, which keeps it out of logs and
messages. The demo exchange and paper trading accounts are built in: always listed, never
stored, never deletable.

A read-only account holds a key meant for balances and checks only: the trading
connector gets its credentials from `trading_credentials`, which refuses it.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Iterable

import keyring.errors
from keyring.backend import KeyringBackend

from app import keystore
from app.exchange_url import normalize_url
from app.keystore import SecretStoreError
from app.paths import config_dir
from app.redact import mask, remember

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


class ReadOnlyAccountError(AccountError):
    """Trading was asked of an account marked read-only."""


ACCOUNT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    exchange_id: str  # a ccxt id ("binance"), or "demo"/"paper" for built-in accounts
    label: str
    sandbox: bool = False
    builtin: bool = False
    read_only: bool = False
    """The key is for balances and checks only: Colibri never trades with it."""
    url: str = ""
    """A custom API base URL (http://127.0.0.1:PORT for the local rehearsal exchange), or ""."""
    symbols: tuple[str, ...] = ()
    """The markets the desktop opens for this account (unified ccxt symbols); () for none."""

    @property
    def is_live(self) -> bool:
        """Talks to a real exchange through ccxt (needs credentials)."""
        return not self.builtin

    @property
    def can_trade(self) -> bool:
        return not self.read_only


@dataclass(frozen=True, slots=True)
class Credentials:
    key: str
    secret: str
    passphrase: str = ""

    def __post_init__(self) -> None:
        remember(self.key, self.secret, self.passphrase)  # redacted from logs and messages from now on

    def __repr__(self) -> str:  # never print secrets into logs or tracebacks
        return f"Credentials(key={mask(self.key)}, secret=***, passphrase={'***' if self.passphrase else ''})"

    __str__ = __repr__

    @property
    def masked_key(self) -> str:
        return mask(self.key)


BUILTIN_ACCOUNTS = (
    Account(DEMO_ACCOUNT_ID, "demo", "Demo exchange", builtin=True),
    Account(PAPER_ACCOUNT_ID, "paper", "Paper trading", builtin=True),
)


SYMBOL_RE = re.compile(r"^[A-Z0-9.]+/[A-Z0-9.]+(:[A-Z0-9.]+(-[0-9]+)?)?$")


def parse_symbols(raw: Iterable[str] | str) -> tuple[str, ...]:
    """'BTC/USDT, eth/usdt:usdt' -> ('BTC/USDT', 'ETH/USDT:USDT'); AccountError naming a bad one."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        symbol = str(item).strip().upper()
        if not symbol:
            continue
        if not SYMBOL_RE.match(symbol):
            raise AccountError(f"{item!r} is not a unified symbol like BTC/USDT or ETH/USDT:USDT", "symbols")
        if symbol not in out:
            out.append(symbol)
    return tuple(out)


def ccxt_exchange_ids() -> list[str]:
    import ccxt  # imported lazily: ccxt takes a noticeable time to import

    return list(ccxt.exchanges)


def _ccxt_describe(exchange_id: str) -> dict:
    import ccxt

    return getattr(ccxt, exchange_id)().describe()


def validate(exchange_id: str, key: str, secret: str, passphrase: str = "", sandbox: bool = False,
             label: str = "", url: str = "") -> dict[str, str]:
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
    for name, value in (("key", key), ("secret", secret), ("passphrase", passphrase)):
        if name not in errors and any(c in value.strip() for c in "\r\n\0"):
            errors[name] = f"The API {name} contains a line break or NUL character."
    try:
        normalize_url(url)
    except ValueError as exc:
        errors["url"] = f"The API URL: {exc}."
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

    def __init__(self, path: Path | None = None, *, backend: KeyringBackend | None = None) -> None:
        """`backend`: where secrets go; None: app.keystore.resolve_backend() at each use (the
        system keyring, checked, or the encrypted file chosen with COLIBRI_KEYSTORE)."""
        self.path = path if path is not None else config_dir() / FILE_NAME
        self._backend = backend
        self._accounts: dict[str, Account] = {}
        self._load()

    def backend(self) -> KeyringBackend:
        """The keyring backend for secrets; SecretStoreError saying what to do if none is usable."""
        return self._backend if self._backend is not None else keystore.resolve_backend()

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

    def trading_credentials(self, account_id: str) -> Credentials:
        """Credentials to trade with: ReadOnlyAccountError for an account marked read-only.

        The trading connector must get its keys here (never from `credentials`, which
        balance views and the connection check use)."""
        account = self.get(account_id)
        if account.read_only:
            raise ReadOnlyAccountError(
                f"“{account.label}” ({account.id}) is marked read-only: its API key is used for balances and "
                "checks only and Colibri does not trade with it. To trade, add the account again without "
                "read-only (keys set ACCOUNT --no-read-only).", "read_only")
        return self.credentials(account_id)

    def masked_key(self, account_id: str) -> str:
        """The API key as shown (`abcd…wxyz`), "" when the keyring has none."""
        return mask(self._get_secret(account_id, "key") or "")

    # -- changing -----------------------------------------------------------------------
    def add(self, exchange_id: str, key: str, secret: str, passphrase: str = "", *, label: str = "",
            sandbox: bool = False, read_only: bool = False, url: str = "", account_id: str | None = None,
            symbols: Iterable[str] = ()) -> Account:
        """Validates, stores the secrets in the keyring, then records the account in the file.

        `account_id` names the account (keys set ACCOUNT); None makes one from the exchange."""
        errors = validate(exchange_id, key, secret, passphrase, sandbox, label, url)
        if account_id is not None:
            problem = self._check_new_id(account_id)
            if problem:
                errors = {"account_id": problem, **errors}
        if errors:
            field, message = next(iter(errors.items()))
            raise AccountError(message, field)
        exchange_id = exchange_id.strip()
        label = label.strip() or exchange_id + (" (sandbox)" if sandbox else "")
        account = Account(account_id or self._new_id(exchange_id, sandbox), exchange_id, label, sandbox,
                          read_only=read_only, url=normalize_url(url), symbols=parse_symbols(symbols))
        values = {"key": key.strip(), "secret": secret.strip(), "passphrase": passphrase.strip()}
        remember(values["key"], values["secret"], values["passphrase"])
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

    def update(self, account_id: str, key: str, secret: str, passphrase: str = "", *, label: str | None = None,
               sandbox: bool | None = None, read_only: bool | None = None, url: str | None = None,
               symbols: Iterable[str] | None = None) -> Account:
        """New secrets for a stored account, and the settings given (None keeps one)."""
        account = self.get(account_id)
        if account.builtin:
            raise AccountError(f"“{account.label}” is built in and has no credentials.")
        changed = replace(
            account,
            label=account.label if label is None or not label.strip() else label.strip(),
            sandbox=account.sandbox if sandbox is None else sandbox,
            read_only=account.read_only if read_only is None else read_only,
            url=account.url if url is None else url.strip(),
            symbols=account.symbols if symbols is None else parse_symbols(symbols),
        )
        errors = validate(account.exchange_id, key, secret, passphrase, changed.sandbox, changed.label, changed.url)
        if errors:
            field, message = next(iter(errors.items()))
            raise AccountError(message, field)
        changed = replace(changed, url=normalize_url(changed.url))
        values = {"key": key.strip(), "secret": secret.strip(), "passphrase": passphrase.strip()}
        remember(values["key"], values["secret"], values["passphrase"])
        for field_name, value in values.items():
            if value:
                self._set_secret(account_id, field_name, value)
            else:
                self._delete_secret(account_id, field_name)
        self._accounts[account_id] = changed
        try:
            self._save()
        except OSError:
            self._accounts[account_id] = account
            raise
        return changed

    def rename(self, account_id: str, label: str) -> Account:
        account = self.get(account_id)
        if account.builtin:
            raise AccountError(f"“{account.label}” is built in and cannot be renamed.")
        label = label.strip()
        if not label:
            raise AccountError("The label is empty.", "label")
        renamed = replace(account, label=label)
        self._accounts[account_id] = renamed
        self._save()
        return renamed

    def delete(self, account_id: str) -> None:
        """Removes the account from the file and its secrets from the keyring."""
        account = self.get(account_id)
        if account.builtin:
            raise AccountError(f"“{account.label}” is built in and cannot be removed.")
        self.backend()  # no usable key store: keep the account rather than orphan its secrets
        del self._accounts[account_id]
        self._save()
        self._delete_secrets(account_id)

    # -- internals ----------------------------------------------------------------------
    def _check_new_id(self, account_id: str) -> str:
        if not ACCOUNT_ID_RE.match(account_id):
            return (f"Invalid account name “{account_id}”: use 1 to 64 lower-case letters, digits, '.', '_' "
                    "or '-', starting with a letter or digit.")
        if any(a.id == account_id for a in self.accounts()):
            return f"An account named “{account_id}” already exists."
        return ""

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
                account = Account(str(item["id"]), str(item["exchange_id"]), str(item["label"]),
                                  bool(item.get("sandbox", False)), read_only=bool(item.get("read_only", False)),
                                  url=str(item.get("url") or ""), symbols=parse_symbols(item.get("symbols") or ()))
            except (KeyError, TypeError, AttributeError) as exc:
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
        backend = self.backend()
        try:
            backend.set_password(SERVICE, self._username(account_id, field_name), value)
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"Could not store the API {field_name}: {keystore.explain(exc, backend)}") from None

    def _get_secret(self, account_id: str, field_name: str) -> str | None:
        backend = self.backend()
        try:
            return backend.get_password(SERVICE, self._username(account_id, field_name))
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"Could not read the API {field_name}: {keystore.explain(exc, backend)}") from None

    def _delete_secret(self, account_id: str, field_name: str) -> None:
        backend = self.backend()
        try:
            backend.delete_password(SERVICE, self._username(account_id, field_name))
        except keyring.errors.PasswordDeleteError:
            pass  # never stored (an empty passphrase) or already gone
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(f"Could not delete the API {field_name}: {keystore.explain(exc, backend)}") from None

    def _delete_secrets(self, account_id: str, fields: Iterable[str] = SECRET_FIELDS) -> None:
        for field_name in fields:
            self._delete_secret(account_id, field_name)
