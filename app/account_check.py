"""“Test connection” for a live account: one authenticated call, a clear verdict.

The check calls ccxt's fetch_balance (it needs valid keys and reaches the private API)
with a hard timeout, and turns ccxt's exception hierarchy into what a user can act on:
bad keys or permissions, the network or the exchange being unreachable, or some other
exchange error. It is async so the UI runs it on the qasync loop without freezing.
"""
from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from app.accounts import AccountStore, Credentials

DEFAULT_TIMEOUT_S = 15.0


class CheckStatus(str, enum.Enum):
    OK = "ok"
    AUTH_ERROR = "auth_error"
    NETWORK_ERROR = "network_error"
    EXCHANGE_ERROR = "exchange_error"


@dataclass(frozen=True, slots=True)
class CheckResult:
    status: CheckStatus
    message: str
    assets: int = 0  # assets with a non-zero balance, when OK

    @property
    def ok(self) -> bool:
        return self.status is CheckStatus.OK


def _summarise(balance: dict[str, Any]) -> int:
    totals = balance.get("total") or {}
    count = 0
    for value in totals.values():
        try:
            if value is not None and Decimal(str(value)) != 0:
                count += 1
        except ArithmeticError:
            continue
    return count


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def check_exchange(exchange: Any, timeout: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Runs the check on a configured ccxt.async_support exchange (the caller closes it)."""
    import ccxt

    try:
        balance = await asyncio.wait_for(exchange.fetch_balance(), timeout)
    except asyncio.TimeoutError:
        return CheckResult(CheckStatus.NETWORK_ERROR, f"No answer from {exchange.id} within {timeout:g} s.")
    except (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended) as exc:
        return CheckResult(CheckStatus.AUTH_ERROR, f"The exchange refused the API key: {_short(exc)}")
    except ccxt.NetworkError as exc:  # includes RequestTimeout, ExchangeNotAvailable, DDoSProtection
        return CheckResult(CheckStatus.NETWORK_ERROR, f"Cannot reach {exchange.id}: {_short(exc)}")
    except ccxt.BaseError as exc:
        return CheckResult(CheckStatus.EXCHANGE_ERROR, f"{exchange.id} answered with an error: {_short(exc)}")
    assets = _summarise(balance)
    return CheckResult(CheckStatus.OK, f"Connected to {exchange.id}: {assets} asset(s) with a balance.", assets)


def make_exchange(exchange_id: str, credentials: Credentials, sandbox: bool = False, timeout: float = DEFAULT_TIMEOUT_S) -> Any:
    """An async ccxt exchange for the account (rate-limited, with the request timeout)."""
    import ccxt.async_support as ccxt_async

    cls = getattr(ccxt_async, exchange_id)
    exchange = cls({
        "apiKey": credentials.key,
        "secret": credentials.secret,
        "password": credentials.passphrase or None,
        "enableRateLimit": True,
        "timeout": int(timeout * 1000),
    })
    if sandbox:
        if not exchange.urls.get("test"):  # ccxt lists some exchanges with test=None
            raise ccxt_async.NotSupported(f"{exchange_id} has no sandbox (testnet) in ccxt")
        exchange.set_sandbox_mode(True)
    return exchange


async def check_account(
    exchange_id: str,
    credentials: Credentials,
    sandbox: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    configure: Callable[[Any], None] | None = None,
) -> CheckResult:
    """Builds the exchange, checks it and always closes its HTTP session.

    `configure` may adjust the exchange before the call (tests point its URLs at a local
    server and load markets offline).
    """
    import ccxt

    try:
        exchange = make_exchange(exchange_id, credentials, sandbox, timeout)
    except AttributeError:
        return CheckResult(CheckStatus.EXCHANGE_ERROR, f"Unknown exchange “{exchange_id}”.")
    except ccxt.NotSupported as exc:
        return CheckResult(CheckStatus.EXCHANGE_ERROR, f"{exchange_id}: {_short(exc)}")
    try:
        if configure is not None:
            configure(exchange)
        return await check_exchange(exchange, timeout)
    finally:
        await exchange.close()


async def check_stored_account(store: AccountStore, account_id: str, timeout: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Checks a saved account with the credentials from the keyring."""
    account = store.get(account_id)
    if account.builtin:
        return CheckResult(CheckStatus.OK, f"{account.label} is built in: nothing to connect to.")
    return await check_account(account.exchange_id, store.credentials(account_id), account.sandbox, timeout)
