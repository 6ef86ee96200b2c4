"""API keys: masking and redaction, read-only accounts, custom API URLs, the key stores
(the real Secret Service, the encrypted file, none) and `colibri keys set|list|delete|test`.

The Secret Service tests choose keyring.backends.SecretService.Keyring explicitly (in
process with keyring.set_keyring, in subprocesses with PYTHON_KEYRING_BACKEND); `make
test` runs them inside dbus-run-session with an unlocked gnome-keyring.
"""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import types
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import keyring.errors
import pytest

from app import keystore, redact
from app.account_check import CheckStatus, Reason, check_account, classify
from app.accounts import SERVICE, AccountError, AccountStore, Credentials, ReadOnlyAccountError, SecretStoreError
from app.cli import main as cli_main
from app.exchange_url import normalize_url, point_exchange_at
from app.keystore import EncryptedFileKeyring, KeystoreUnavailable, WrongPassphrase, check_system_backend
from tests.keyring_support import MemoryKeyring

ROOT = Path(__file__).resolve().parents[1]
SECRET = "SECRET-3f9c1d7e5a20b4c8e9f1a6d3"
KEY = "KEY-8b2e4f6a1c3d5e7f9a0b2c4d"
PASSPHRASE = "PASS-c0ffee77d00d"
FILE_PASSPHRASE = "FILEPW-71ab90cd"
SECRET_SERVICE = "keyring.backends.SecretService.Keyring"


@pytest.fixture(autouse=True)
def fresh_state(tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    for name in (keystore.KEYSTORE_ENV, keystore.PASSPHRASE_ENV):
        monkeypatch.delenv(name, raising=False)
    yield
    redact.forget_all()
    keystore.forget_encrypted_backends()


@pytest.fixture
def secret_service():
    """The real Secret Service, chosen explicitly; skips where there is none."""
    from keyring.backends import SecretService

    try:
        SecretService.Keyring.priority  # noqa: B018 (raises when not reachable)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Secret Service here ({exc}); `make test` runs the tests with an unlocked gnome-keyring")
    previous = keyring.get_keyring()
    backend = SecretService.Keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _account_name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def _entries(backend, account_id: str) -> dict[str, str | None]:
    return {f: backend.get_password(SERVICE, f"{account_id}:{f}") for f in ("key", "secret", "passphrase")}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A child environment whose every writable place is under tmp_path."""
    env = {k: v for k, v in os.environ.items()
           if k not in (keystore.KEYSTORE_ENV, keystore.PASSPHRASE_ENV, "PYTHON_KEYRING_BACKEND")}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp_path / "xdg" / name.lower())
    env.update(COLIBRI_HOME=str(tmp_path / "home"), HOME=str(tmp_path / "user"), PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _colibri(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, env=_env(tmp_path, **env), input=stdin,
                          capture_output=True, text=True, timeout=60, start_new_session=True)  # no terminal


def _cli(monkeypatch, capsys, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- masking and redaction ------------------------------------------------------------------------
def test_mask_and_credentials_never_show_secrets():
    assert redact.mask("abcdefghijklmnopwxyz") == "abcd…wxyz"
    assert redact.mask("short") == "****" and redact.mask("") == ""
    creds = Credentials(KEY, SECRET, PASSPHRASE)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text and PASSPHRASE not in text and KEY not in text
        assert redact.mask(KEY) in text
    text = f"binance {{'msg': 'bad key {KEY}', 'echo': 'secret={SECRET}&p={PASSPHRASE}'}}"
    cleaned = redact.redact(text)
    assert KEY not in cleaned and SECRET not in cleaned and PASSPHRASE not in cleaned
    assert redact.mask(KEY) in cleaned and "***" in cleaned


def test_log_records_are_redacted(caplog):
    Credentials(KEY, SECRET)
    log = logging.getLogger("colibri.test")
    with caplog.at_level(logging.DEBUG):
        log.debug("request with %s and %s", KEY, SECRET)
        try:
            raise RuntimeError(f"exchange said {SECRET}")
        except RuntimeError:
            log.exception("failed %s", "call")
    assert "request with" in caplog.text and "exchange said ***" in caplog.text
    assert SECRET not in caplog.text and KEY not in caplog.text


# -- read-only accounts and custom URLs ------------------------------------------------------------
def test_read_only_account_refuses_trading(memory_keyring):
    store = AccountStore()
    watch = store.add("binance", KEY, SECRET, read_only=True, label="Watch")
    trade = store.add("binance", "k2-trading-key", "s2")
    reloaded = AccountStore()
    assert reloaded.get(watch.id).read_only and not reloaded.get(watch.id).can_trade
    assert not reloaded.get(trade.id).read_only
    assert json.loads(store.path.read_text())["accounts"][0]["read_only"] is True
    with pytest.raises(ReadOnlyAccountError, match="read-only") as info:
        reloaded.trading_credentials(watch.id)
    assert isinstance(info.value, AccountError) and SECRET not in str(info.value)
    assert reloaded.credentials(watch.id).secret == SECRET, "balances and checks still get the key"
    assert reloaded.trading_credentials(trade.id).key == "k2-trading-key"
    reloaded.update(watch.id, KEY, SECRET, read_only=False)
    assert AccountStore().trading_credentials(watch.id).secret == SECRET


def test_url_is_validated_normalised_and_stored(memory_keyring):
    store = AccountStore()
    account = store.add("binance", "k", "s", url="http://127.0.0.1:8765/", account_id="local")
    assert account.id == "local" and AccountStore().get("local").url == "http://127.0.0.1:8765"
    for bad in ("ftp://127.0.0.1:1", "http://user:pw@127.0.0.1:1", "http://127.0.0.1:99999", "http://h:1/api"):
        with pytest.raises(AccountError) as info:
            store.add("binance", "k", "s", url=bad)
        assert info.value.field == "url"
    with pytest.raises(AccountError, match="already exists"):
        store.add("binance", "k", "s", account_id="local")
    with pytest.raises(AccountError, match="Invalid account name"):
        store.add("binance", "k", "s", account_id="Bad Name:1")
    assert normalize_url("https://LOCALHOST") == "https://localhost"


def test_pointing_an_exchange_at_a_local_binance_server():
    import ccxt.pro

    exchange = ccxt.pro.binance()
    point_exchange_at(exchange, "http://127.0.0.1:5555")
    api = exchange.urls["api"]
    assert api["public"] == "http://127.0.0.1:5555/api/v3" and api["private"] == "http://127.0.0.1:5555/api/v3"
    ws = api["ws"]
    assert ws["spot"].startswith("ws://127.0.0.1:5555/") and "/stream" in ws["spot"]
    assert ws["ws-api"]["spot"].startswith("ws://127.0.0.1:5555/")

    def urls(value):
        return [u for v in value.values() for u in urls(v)] if isinstance(value, dict) else [value]

    assert all(u.startswith(("http://127.0.0.1:5555/", "ws://127.0.0.1:5555/")) for u in urls(api) if isinstance(u, str))
    spot_codes = exchange.exceptions["spot"]["exact"]
    assert spot_codes and all(exchange.exceptions["exact"][code] is cls for code, cls in spot_codes.items())
    assert exchange.options["fetchMarkets"] == {"types": ["spot"]} and exchange.options["fetchCurrencies"] is False
    asyncio.run(exchange.close())


def test_check_reasons_are_named_and_redacted():
    import ccxt

    Credentials(KEY, SECRET)
    refused = ConnectionRefusedError(111, "Connection refused")
    unreachable = ccxt.ExchangeNotAvailable("binance GET http://127.0.0.1:1/api/v3/account")
    unreachable.__cause__ = refused
    cases = [
        (ccxt.AuthenticationError(f'binance {{"code":-1022,"msg":"Signature not valid","key":"{KEY}"}}'),
         Reason.INVALID_KEY, "invalid key or signature"),
        (ccxt.PermissionDenied("binance IP 10.1.2.3 is not in the whitelist"), Reason.IP_NOT_ALLOWED, "IP address not allowed"),
        (ccxt.PermissionDenied("no trading permission"), Reason.PERMISSION, "lacks a permission"),
        (ccxt.RequestTimeout("binance GET ... timed out"), Reason.TIMEOUT, "Timeout"),
        (unreachable, Reason.NETWORK_UNREACHABLE, "network unreachable"),
        (ccxt.ExchangeNotAvailable(f"binance 503 Service Unavailable {SECRET}"), Reason.EXCHANGE_UNAVAILABLE,
         "Exchange not available"),
        (ccxt.ExchangeError("weird"), Reason.EXCHANGE_ERROR, "answered with an error"),
    ]
    for exc, reason, text in cases:
        result = classify(exc, "binance", 5)
        assert result.reason is reason and text in result.message, (exc, result)
        assert KEY not in result.message and SECRET not in result.message


# -- the encrypted file ---------------------------------------------------------------------------
def test_encrypted_file_backend(tmp_path):
    path = tmp_path / "keys.enc"
    backend = EncryptedFileKeyring(path, FILE_PASSPHRASE)
    backend.set_password(SERVICE, "a:secret", SECRET)
    backend.set_password(SERVICE, "a:key", KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    for value in (SECRET, KEY, FILE_PASSPHRASE, "a:secret"):
        assert value.encode() not in raw, f"{value} in clear in the key file"
    again = EncryptedFileKeyring(path, FILE_PASSPHRASE)
    assert again.get_password(SERVICE, "a:secret") == SECRET
    again.delete_password(SERVICE, "a:secret")
    assert backend.get_password(SERVICE, "a:secret") is None and backend.get_password(SERVICE, "a:key") == KEY
    with pytest.raises(keyring.errors.PasswordDeleteError):
        again.delete_password(SERVICE, "a:secret")
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        EncryptedFileKeyring(path, "not the passphrase").get_password(SERVICE, "a:key")
    data = json.loads(path.read_text())
    data["kdf"]["n"] = 2**14  # the parameters are authenticated: no downgrade
    path.write_text(json.dumps(data))
    with pytest.raises(WrongPassphrase):
        EncryptedFileKeyring(path, FILE_PASSPHRASE).get_password(SERVICE, "a:key")
    path.write_text("plain text")
    with pytest.raises(keystore.KeystoreFileError, match="not a Colibri encrypted key file"):
        EncryptedFileKeyring(path, FILE_PASSPHRASE).get_password(SERVICE, "a:key")
    assert not any(isinstance(b, EncryptedFileKeyring) for b in keyring.backend.get_all_keyring()), \
        "never chosen by keyring itself"


def test_encrypted_file_through_the_cli_and_a_wrong_passphrase(tmp_path):
    env = {keystore.KEYSTORE_ENV: keystore.ENCRYPTED_FILE, keystore.PASSPHRASE_ENV: FILE_PASSPHRASE}
    done = _colibri(tmp_path, "keys", "set", "enc", "--exchange", "binance", "--stdin", stdin=f"{KEY}\n{SECRET}\n", **env)
    assert done.returncode == 0, done.stderr
    assert redact.mask(KEY) in done.stdout and KEY not in done.stdout
    key_file = tmp_path / "home" / keystore.FILE_NAME
    assert SECRET.encode() not in key_file.read_bytes() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    wrong = _colibri(tmp_path, "keys", "list", **{**env, keystore.PASSPHRASE_ENV: "wrong"})
    assert wrong.returncode == 2
    assert "wrong passphrase for the encrypted key file" in _one_error_line(wrong.stderr)
    missing = _colibri(tmp_path, "keys", "list", **{keystore.KEYSTORE_ENV: keystore.ENCRYPTED_FILE})
    assert missing.returncode == 2 and keystore.PASSPHRASE_ENV in _one_error_line(missing.stderr)


# -- no usable key store --------------------------------------------------------------------------
def test_no_secret_service_says_how_to_unlock_one(tmp_path):
    result = _colibri(tmp_path, "keys", "list", DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path}/no-bus")
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert "no usable Secret Service" in line
    assert "dbus-run-session" in line and "gnome-keyring-daemon --unlock" in line and "--keystore encrypted-file" in line


def test_fail_and_plaintext_backends_are_refused(monkeypatch):
    from keyring.backends import chainer, fail

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    with pytest.raises(KeystoreUnavailable, match="no D-Bus session"):
        check_system_backend(fail.Keyring())

    class PlaintextKeyring(MemoryKeyring):
        pass

    with pytest.raises(KeystoreUnavailable, match="refusing the plaintext keyring backend"):
        check_system_backend(PlaintextKeyring())
    safe = MemoryKeyring()

    class Chain(chainer.ChainerBackend):
        backends = [safe, PlaintextKeyring()]

    assert check_system_backend(Chain()) is safe, "a plaintext fallback in a chain is never used"
    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        store = AccountStore()
        with pytest.raises(SecretStoreError, match="plaintext"):
            store.add("binance", KEY, SECRET)
        assert not store.path.exists()
    finally:
        keyring.set_keyring(previous)


# -- the command line against the real Secret Service ---------------------------------------------
def test_keys_set_list_delete_round_trip_subprocess(tmp_path, secret_service):
    name = _account_name()
    env = {"PYTHON_KEYRING_BACKEND": SECRET_SERVICE}
    try:
        added = _colibri(tmp_path, "keys", "set", name, "--exchange", "binance", "--read-only", "--label", "Watch",
                         "--stdin", stdin=f"{KEY}\n{SECRET}\n", **env)
        assert added.returncode == 0, added.stderr
        assert _entries(secret_service, name) == {"key": KEY, "secret": SECRET, "passphrase": None}
        listed = _colibri(tmp_path, "keys", "list", **env)
        assert listed.returncode == 0, listed.stderr
        row = next(line for line in listed.stdout.splitlines() if line.startswith(name))
        assert redact.mask(KEY) in row and "read-only" in row and "Watch" in row and KEY not in listed.stdout
        accounts = json.loads((tmp_path / "home" / "accounts.json").read_text())["accounts"]
        assert accounts == [{"id": name, "exchange_id": "binance", "label": "Watch", "sandbox": False,
                             "read_only": True, "url": "", "symbols": []}]
        deleted = _colibri(tmp_path, "keys", "delete", name, **env)
        assert deleted.returncode == 0, deleted.stderr
        assert _entries(secret_service, name) == {"key": None, "secret": None, "passphrase": None}
        again = _colibri(tmp_path, "keys", "delete", name, **env)
        assert again.returncode == 2 and "No account" in _one_error_line(again.stderr)
    finally:
        for field in ("key", "secret", "passphrase"):
            try:
                secret_service.delete_password(SERVICE, f"{name}:{field}")
            except keyring.errors.PasswordDeleteError:
                pass


def test_keys_set_prompt_update_and_bad_input(tmp_path, secret_service, monkeypatch, capsys):
    import getpass

    name = _account_name()
    answers = iter([KEY, SECRET, PASSPHRASE])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(isatty=lambda: True, read=lambda: ""))
    try:
        code, out, err = _cli(monkeypatch, capsys, "keys", "set", name, "--exchange", "binance", "--sandbox")
        assert code == 0, err
        assert _entries(secret_service, name) == {"key": KEY, "secret": SECRET, "passphrase": PASSPHRASE}
        code, out, err = _cli(monkeypatch, capsys, "keys", "set", name, "--read-only", "--url", "http://127.0.0.1:9",
                              "--stdin", stdin="KEY-second-0000000000\nSECRET-second-000000\n")
        assert code == 0, err
        account = AccountStore().get(name)
        assert account.read_only and account.sandbox and account.url == "http://127.0.0.1:9"
        assert _entries(secret_service, name) == {"key": "KEY-second-0000000000", "secret": "SECRET-second-000000",
                                                  "passphrase": None}
        bad = [
            (["keys", "set", name, "--secret", SECRET], "never taken from the command line"),
            (["keys", "set", name, f"--api-key={KEY}"], "never taken from the command line"),
            (["keys", "set", name, SECRET], "not shown"),
            (["keys", "set", "new-one", "--stdin"], "--exchange"),
            (["keys", "set", "new-one", "--exchange", "nosuch", "--stdin"], "Unknown exchange"),
            (["keys", "set", name, "--exchange", "kraken", "--stdin"], "delete it first"),
            (["keys", "set", "demo", "--stdin"], "built-in"),
            (["keys", "test", "nobody"], "No account"),
            (["keys", "delete", "nobody"], "No account"),
            (["keys", "list", "--keystore", "plaintext"], "invalid choice"),
        ]
        for args, text in bad:
            code, out, err = _cli(monkeypatch, capsys, *args, stdin=f"{KEY}\n{SECRET}\n")
            assert code == 2, (args, out, err)
            assert text in _one_error_line(err), (args, err)
            assert SECRET not in err + out and KEY not in err + out
        code, out, err = _cli(monkeypatch, capsys, "keys", "set", name, "--stdin", stdin=f"{KEY}\n")
        assert code == 2 and "two lines" in _one_error_line(err)
    finally:
        AccountStore(backend=secret_service).delete(name)
    assert _entries(secret_service, name) == {"key": None, "secret": None, "passphrase": None}


# -- keys test against a local Binance-protocol server, and the leak audit ---------------------------
class _Binance(BaseHTTPRequestHandler):
    """GET /api/v3/exchangeInfo and a signed GET /api/v3/account; a rejected key is echoed back
    with the secret, as a careless server might, to prove the client redacts it."""

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/api/v3/exchangeInfo"):
            return self._send(200, {"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": []})
        if self.path.startswith("/api/v3/account"):
            if self.headers.get("X-MBX-APIKEY") == KEY and "signature=" in self.path:
                return self._send(200, {"balances": [{"asset": "BTC", "free": "0.5", "locked": "0"},
                                                     {"asset": "USDT", "free": "10", "locked": "1"}]})
            return self._send(401, {"code": -2015, "msg": f"Invalid API-key {self.headers.get('X-MBX-APIKEY')} "
                                                          f"or signature for secret {SECRET}"})
        self._send(404, {"code": -1, "msg": "not found"})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_binance():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Binance)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_check_account_with_a_url(local_binance):
    result = asyncio.run(check_account("binance", Credentials(KEY, SECRET), timeout=5, url=local_binance))
    assert result.ok and result.assets == 2, result.message
    result = asyncio.run(check_account("binance", Credentials("KEY-wrong-000000000", SECRET), timeout=5,
                                       url=local_binance))
    assert result.status is CheckStatus.AUTH_ERROR and result.reason is Reason.INVALID_KEY
    assert SECRET not in result.message and "KEY-wrong-000000000" not in result.message


def test_secrets_appear_nowhere(tmp_path, secret_service, local_binance, monkeypatch, capsys, caplog):
    """Every flow with a recognisable key and secret; then every file written under the
    test's COLIBRI_HOME, HOME and XDG dirs, the logs and the output are searched for them."""
    for name, value in _env(tmp_path).items():
        if name.startswith(("XDG_", "COLIBRI_HOME", "HOME")):
            monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    name, wrong = _account_name(), _account_name()
    output: list[str] = []

    def run(*args: str, stdin: str | None = None, expect: int = 0) -> None:
        code, out, err = _cli(monkeypatch, capsys, "-v", *args, stdin=stdin)
        output.append(out + err)
        assert code == expect, (args, out, err)

    try:
        run("keys", "set", name, "--exchange", "binance", "--url", local_binance, "--stdin",
            stdin=f"{KEY}\n{SECRET}\n{PASSPHRASE}\n")
        run("keys", "set", wrong, "--exchange", "binance", "--url", local_binance, "--read-only", "--stdin",
            stdin=f"KEY-rejected-11112222\n{SECRET}\n")
        run("keys", "list")
        run("keys", "test", name)
        assert "ok: " in output[-1] and "2 asset(s)" in output[-1]
        run("keys", "test", wrong, expect=2)
        assert "invalid key or signature" in output[-1]
        run("keys", "set", name, "--stdin", "--secret", SECRET, stdin="", expect=2)
        with pytest.raises(ReadOnlyAccountError):
            AccountStore().trading_credentials(wrong)
        monkeypatch.setenv(keystore.KEYSTORE_ENV, keystore.ENCRYPTED_FILE)
        monkeypatch.setenv(keystore.PASSPHRASE_ENV, FILE_PASSPHRASE)
        run("keys", "set", "in-file", "--exchange", "binance", "--url", local_binance, "--stdin",
            stdin=f"{KEY}\n{SECRET}\n")
        run("keys", "test", "in-file")
        run("keys", "list")
        keystore.forget_encrypted_backends()
        monkeypatch.setenv(keystore.PASSPHRASE_ENV, "wrong-passphrase")
        run("keys", "list", expect=2)
        monkeypatch.delenv(keystore.KEYSTORE_ENV)
        logging.getLogger("colibri.audit").error("check failed with %s", Credentials(KEY, SECRET))
    finally:
        monkeypatch.delenv(keystore.KEYSTORE_ENV, raising=False)
        for account in (name, wrong):
            try:
                AccountStore(backend=secret_service).delete(account)
            except AccountError:
                pass
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "accounts.json" for p in written) and any(p.name == keystore.FILE_NAME for p in written)
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in written}
    texts["output"] = "\n".join(output)
    texts["logs"] = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records, "the flows logged something to search"
    for where, text in texts.items():
        for value in (SECRET, KEY, PASSPHRASE, "KEY-rejected-11112222", FILE_PASSPHRASE):
            assert value not in text, f"{value} found in {where}"
