"""Account registry (JSON + keyring) and the live-account connection check."""
from __future__ import annotations

import asyncio
import json
import uuid

import keyring
import keyring.errors
import pytest

from app.account_check import (
    CheckStatus,
    check_account,
    check_exchange,
    check_stored_account,
)
from app.accounts import (
    DEMO_ACCOUNT_ID,
    PAPER_ACCOUNT_ID,
    SERVICE,
    AccountError,
    AccountStore,
    Credentials,
    SecretStoreError,
    validate,
)
from app.paths import config_dir
from tests.keyring_support import MemoryKeyring


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        if username.endswith(":secret"):
            raise keyring.errors.PasswordSetError("the keyring is locked")
        super().set_password(service, username, password)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path))
    return tmp_path


# -- registry -------------------------------------------------------------------------------
def test_config_dir_honours_colibri_home(home):
    assert config_dir() == home
    assert AccountStore().path == home / "accounts.json"


def test_builtin_accounts_always_present_and_protected(home, memory_keyring):
    store = AccountStore()
    ids = [a.id for a in store.accounts()]
    assert ids == [DEMO_ACCOUNT_ID, PAPER_ACCOUNT_ID]
    for account_id in ids:
        with pytest.raises(AccountError, match="built in"):
            store.delete(account_id)
        with pytest.raises(AccountError):
            store.credentials(account_id)
    assert not store.path.exists(), "built-in accounts are never written to the file"


def test_add_stores_secrets_only_in_keyring(home, memory_keyring):
    store = AccountStore()
    account = store.add("okx", "my-key", "my-secret", "my-pass", label="Main OKX", sandbox=True)
    assert account.exchange_id == "okx" and account.sandbox and account.label == "Main OKX"
    text = store.path.read_text(encoding="utf-8")
    for secret in ("my-key", "my-secret", "my-pass"):
        assert secret not in text
    assert json.loads(text)["accounts"][0]["id"] == account.id
    assert memory_keyring.items[(SERVICE, f"{account.id}:key")] == "my-key"
    assert memory_keyring.items[(SERVICE, f"{account.id}:passphrase")] == "my-pass"

    reloaded = AccountStore()
    assert reloaded.get(account.id) == account
    creds = reloaded.credentials(account.id)
    assert (creds.key, creds.secret, creds.passphrase) == ("my-key", "my-secret", "my-pass")
    assert "my-secret" not in repr(creds) and "my-pass" not in repr(creds)


def test_ids_are_unique_and_default_label(home, memory_keyring):
    store = AccountStore()
    first = store.add("binance", "k1", "s1")
    second = store.add("binance", "k2", "s2")
    assert first.id != second.id
    assert first.label == "binance"
    assert [a.id for a in store.accounts()][2:] == [first.id, second.id]


def test_validation_errors_name_the_field(home, memory_keyring):
    store = AccountStore()
    with pytest.raises(AccountError, match="Unknown exchange") as info:
        store.add("notanexchange", "k", "s")
    assert info.value.field == "exchange_id"
    with pytest.raises(AccountError, match="API key is empty") as info:
        store.add("binance", "  ", "s")
    assert info.value.field == "key"
    errors = validate("okx", "k", "s", passphrase="")
    assert set(errors) == {"passphrase"}, "OKX requires a passphrase (ccxt requiredCredentials)"
    assert set(validate("kraken", "k", "s", sandbox=True)) == {"sandbox"}, "kraken has no testnet in ccxt"
    assert validate("binance", "k", "s", sandbox=True) == {}
    assert validate("binance", "k", "s") == {}
    assert memory_keyring.items == {}, "nothing is stored when validation fails"


def test_delete_removes_keyring_entries(home, memory_keyring):
    store = AccountStore()
    keep = store.add("binance", "k1", "s1")
    gone = store.add("kraken", "k2", "s2")
    store.delete(gone.id)
    assert all(not user.startswith(gone.id + ":") for _, user in memory_keyring.items)
    assert (SERVICE, f"{keep.id}:key") in memory_keyring.items
    assert [a.id for a in AccountStore().accounts()] == [DEMO_ACCOUNT_ID, PAPER_ACCOUNT_ID, keep.id]
    with pytest.raises(AccountError, match="No account"):
        store.delete(gone.id)


def test_failed_secret_write_leaves_nothing_behind(home):
    previous = keyring.get_keyring()
    backend = BrokenKeyring()
    keyring.set_keyring(backend)
    try:
        store = AccountStore()
        with pytest.raises(SecretStoreError, match="locked"):
            store.add("binance", "k", "s")
        assert backend.items == {}, "the key written before the failure is rolled back"
        assert [a.id for a in store.accounts()] == [DEMO_ACCOUNT_ID, PAPER_ACCOUNT_ID]
        assert not store.path.exists()
    finally:
        keyring.set_keyring(previous)


def test_missing_secrets_are_reported(home, memory_keyring):
    store = AccountStore()
    account = store.add("binance", "k", "s")
    memory_keyring.items.clear()
    with pytest.raises(SecretStoreError, match="no API key"):
        store.credentials(account.id)


def test_corrupt_file_is_a_clear_error(home, memory_keyring):
    (home / "accounts.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AccountError, match="Cannot read"):
        AccountStore()
    (home / "accounts.json").write_text('{"version": 99, "accounts": []}', encoding="utf-8")
    with pytest.raises(AccountError, match="version"):
        AccountStore()


def test_rename(home, memory_keyring):
    store = AccountStore()
    account = store.add("binance", "k", "s")
    assert store.rename(account.id, "Spot").label == "Spot"
    assert AccountStore().get(account.id).label == "Spot"
    with pytest.raises(AccountError):
        store.rename(account.id, " ")


def test_real_default_keyring_round_trip():
    """Uses the OS keyring as the app does (CI: gnome-keyring in `make test`)."""
    backend = keyring.get_keyring()
    if backend.priority <= 0 or type(backend).__module__.startswith(("keyring.backends.fail", "keyring.backends.null")):
        pytest.skip(f"no usable system keyring on this machine ({type(backend).__name__}); "
                    "`make test` runs the tests with an unlocked gnome-keyring")
    username = f"colibri-test-{uuid.uuid4().hex}:key"
    try:
        keyring.set_password(SERVICE, username, "value")
    except keyring.errors.KeyringError as exc:
        pytest.skip(f"the system keyring is not usable here: {exc}")
    try:
        assert keyring.get_password(SERVICE, username) == "value"
    finally:
        keyring.delete_password(SERVICE, username)
    assert keyring.get_password(SERVICE, username) is None


# -- connection check -----------------------------------------------------------------------
BINANCE_MARKET = {
    "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "baseId": "BTC",
    "quoteId": "USDT", "type": "spot", "spot": True, "active": True, "precision": {}, "limits": {},
}


async def _with_server(body):
    """Runs `body(port, release)` against a local fake of Binance's private REST API."""
    from aiohttp import web

    release = asyncio.Event()

    async def handler(request):
        mode = request.match_info["mode"]
        if mode == "ok":
            assert "signature=" in request.query_string and request.headers.get("X-MBX-APIKEY") == "k"
            return web.json_response({"balances": [
                {"asset": "BTC", "free": "0.5", "locked": "0"},
                {"asset": "USDT", "free": "10", "locked": "2"},
                {"asset": "ETH", "free": "0", "locked": "0"},
            ]})
        if mode == "auth":
            return web.json_response({"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}, status=401)
        await release.wait()  # "slow": never answers within the timeout
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{mode}/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        return await body(port)
    finally:
        release.set()
        await runner.cleanup()


def _pointing_at(port: int, mode: str):
    def configure(exchange) -> None:
        exchange.urls["api"] = {name: f"http://127.0.0.1:{port}/{mode}" for name in exchange.urls["api"]}
        exchange.set_markets([BINANCE_MARKET])

    return configure


@pytest.mark.parametrize(
    ("mode", "status", "text"),
    [
        ("ok", CheckStatus.OK, "2 asset(s)"),
        ("auth", CheckStatus.AUTH_ERROR, "Invalid API-key"),
        ("slow", CheckStatus.NETWORK_ERROR, "within 0.5 s"),
    ],
)
def test_check_account_against_local_server(mode, status, text):
    async def body(port):
        return await check_account("binance", Credentials("k", "s"), timeout=0.5, configure=_pointing_at(port, mode))

    result = asyncio.run(_with_server(body))
    assert result.status is status, result.message
    assert text in result.message
    assert result.ok is (status is CheckStatus.OK)


def test_check_account_unreachable_host():
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = asyncio.run(check_account("binance", Credentials("k", "s"), timeout=5, configure=_pointing_at(port, "x")))
    assert result.status is CheckStatus.NETWORK_ERROR and "No network: cannot reach binance" in result.message
    assert "signature=" not in result.message and "127.0.0.1:" in result.message  # the host, not the request


def test_check_exchange_maps_other_errors(monkeypatch):
    import ccxt
    import ccxt.async_support as ccxt_async

    exchange = ccxt_async.binance({"apiKey": "k", "secret": "s"})

    async def run(exc):
        async def fail():
            raise exc

        monkeypatch.setattr(exchange, "fetch_balance", fail)
        return await check_exchange(exchange, timeout=1)

    async def main():
        try:
            results = [await run(e) for e in (ccxt.PermissionDenied("no trading"), ccxt.ExchangeError("weird"),
                                               ccxt.DDoSProtection("slow down"))]
        finally:
            await exchange.close()
        return results

    perm, other, ddos = asyncio.run(main())
    assert perm.status is CheckStatus.AUTH_ERROR
    assert other.status is CheckStatus.EXCHANGE_ERROR and "weird" in other.message
    assert ddos.status is CheckStatus.NETWORK_ERROR


def test_check_unknown_exchange_and_stored_builtin(home, memory_keyring):
    result = asyncio.run(check_account("nope", Credentials("k", "s")))
    assert result.status is CheckStatus.EXCHANGE_ERROR and "Unknown exchange" in result.message
    result = asyncio.run(check_account("kraken", Credentials("k", "s"), sandbox=True))
    assert result.status is CheckStatus.EXCHANGE_ERROR and "no sandbox" in result.message
    assert asyncio.run(check_stored_account(AccountStore(), DEMO_ACCOUNT_ID)).ok


def test_modules_are_qt_free():
    import subprocess
    import sys

    code = "import sys, app.accounts, app.account_check; print(any(m.startswith(('PySide6', 'qasync')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
