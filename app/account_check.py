"""“Test connection” for a live account: one authenticated call, a clear verdict.

The check calls ccxt's fetch_balance (it needs valid keys and reaches the private API)
with a hard timeout, and turns ccxt's exception hierarchy into what a user can act on:
bad keys or permissions, the network or the exchange being unreachable, or some other
exchange error. It is async so the UI runs it on the qasync loop without freezing.

Every message is redacted (app.redact): an exchange that echoes the key or the request
in its error cannot put a secret on the screen, in the log or in a report.
"""
from __future__ import annotations

import asyncio
import enum
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from app.accounts import AccountStore, Credentials
from app.exchange_url import point_exchange_at
from app.redact import redact, remember

DEFAULT_TIMEOUT_S = 15.0


class CheckStatus(str, enum.Enum):
    OK = "ok"
    AUTH_ERROR = "auth_error"
    NETWORK_ERROR = "network_error"
    EXCHANGE_ERROR = "exchange_error"


class Reason(str, enum.Enum):
    """Why a check failed, finer than the status (the `keys test` line names it)."""
    OK = "ok"
    INVALID_KEY = "invalid key or signature"
    IP_NOT_ALLOWED = "IP not allowed"
    PERMISSION = "permission denied"
    SUSPENDED = "account suspended"
    NETWORK_UNREACHABLE = "network unreachable"
    EXCHANGE_UNAVAILABLE = "exchange not available"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate limited"
    EXCHANGE_ERROR = "exchange error"


@dataclass(frozen=True, slots=True)
class CheckResult:
    status: CheckStatus
    message: str
    assets: int = 0  # assets with a non-zero balance, when OK
    reason: Reason | None = None

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


_URL = re.compile(r"\b(?:https?|wss?)://([^/\s?#]+)[^\s]*", re.I)
_REQUEST = re.compile(r"^\w+ (?:GET|POST|PUT|DELETE|PATCH) ", re.I)


def _without_urls(text: str) -> str:
    """A request's URL as its host only: ccxt puts the signed request (query string with
    the timestamp and signature) in its messages, which means nothing to a user."""
    return _URL.sub(lambda m: m.group(1), text)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = _without_urls(redact(" ".join(str(exc).split()))) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


_IP = re.compile(r"\bip\b|whitelist|white list|allowlist|allow list", re.I)
_KEY = re.compile(r"key|signature|sign\b", re.I)


def _network_down(exc: BaseException) -> bool:
    """A connection that could not be made (refused, DNS, no route), not an exchange's 5xx."""
    cause = exc.__cause__
    try:
        import aiohttp

        connection_errors: tuple[type[BaseException], ...] = (OSError, aiohttp.ClientConnectionError)
    except ImportError:
        connection_errors = (OSError,)
    return isinstance(cause, connection_errors)


def classify(exc: BaseException, exchange_id: str, timeout: float) -> CheckResult:
    """A ccxt exception as a verdict a user can act on (messages redacted)."""
    import ccxt

    text = _short(exc)
    if isinstance(exc, ccxt.AccountSuspended):
        return CheckResult(CheckStatus.AUTH_ERROR, f"The account is suspended: {text}", reason=Reason.SUSPENDED)
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.PermissionDenied)):
        mentions_ip, mentions_key = bool(_IP.search(text)), bool(_KEY.search(text))
        if mentions_ip and not mentions_key:
            return CheckResult(CheckStatus.AUTH_ERROR, f"IP address not allowed for this API key: {text}",
                               reason=Reason.IP_NOT_ALLOWED)
        if isinstance(exc, ccxt.PermissionDenied):
            return CheckResult(CheckStatus.AUTH_ERROR, f"The API key lacks a permission (or this IP is not "
                               f"allowed): {text}", reason=Reason.PERMISSION)
        either = " or this IP is not allowed" if mentions_ip else ""
        return CheckResult(CheckStatus.AUTH_ERROR, f"The exchange refused the API key (invalid key or "
                           f"signature{either}): {text}", reason=Reason.INVALID_KEY)
    if isinstance(exc, ccxt.RequestTimeout):
        return CheckResult(CheckStatus.NETWORK_ERROR, f"Timeout: no answer from {exchange_id} within "
                           f"{timeout:g} s ({text}).", reason=Reason.TIMEOUT)
    if isinstance(exc, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)):
        return CheckResult(CheckStatus.NETWORK_ERROR, f"Rate limited by {exchange_id}: {text}",
                           reason=Reason.RATE_LIMITED)
    if isinstance(exc, ccxt.NetworkError) and _network_down(exc):
        assert exc.__cause__ is not None  # _network_down checked it
        return CheckResult(CheckStatus.NETWORK_ERROR, f"No network: cannot reach {exchange_id} "
                           f"(network unreachable: {_short(exc.__cause__)}). Check the connection (or a proxy "
                           "or firewall) and test again.",
                           reason=Reason.NETWORK_UNREACHABLE)
    if isinstance(exc, ccxt.ExchangeNotAvailable):  # 5xx, maintenance, not JSON
        return CheckResult(CheckStatus.NETWORK_ERROR, f"Exchange not available: {exchange_id} is down, "
                           f"in maintenance or not answering properly: {text}", reason=Reason.EXCHANGE_UNAVAILABLE)
    if isinstance(exc, ccxt.NetworkError):
        return CheckResult(CheckStatus.NETWORK_ERROR, f"Cannot reach {exchange_id}: {_REQUEST.sub('', text)}",
                           reason=Reason.NETWORK_UNREACHABLE)
    return CheckResult(CheckStatus.EXCHANGE_ERROR, f"{exchange_id} answered with an error: {text}",
                       reason=Reason.EXCHANGE_ERROR)


async def check_exchange(exchange: Any, timeout: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Runs the check on a configured ccxt.async_support exchange (the caller closes it)."""
    import ccxt

    remember(*(v for v in (getattr(exchange, "apiKey", ""), getattr(exchange, "secret", ""),
                           getattr(exchange, "password", "")) if isinstance(v, str)))
    try:
        balance = await asyncio.wait_for(exchange.fetch_balance(), timeout)
    except asyncio.TimeoutError:
        return CheckResult(CheckStatus.NETWORK_ERROR, f"Timeout: no answer from {exchange.id} within {timeout:g} s.",
                           reason=Reason.TIMEOUT)
    except ccxt.BaseError as exc:
        return classify(exc, exchange.id, timeout)
    assets = _summarise(balance)
    return CheckResult(CheckStatus.OK, f"Connected to {exchange.id}: {assets} asset(s) with a balance.", assets,
                       Reason.OK)


def make_exchange(exchange_id: str, credentials: Credentials, sandbox: bool = False, timeout: float = DEFAULT_TIMEOUT_S,
                  url: str = "") -> Any:
    """An async ccxt exchange for the account (rate-limited, with the request timeout),
    pointed at `url` when the account has a custom API URL (the local rehearsal exchange)."""
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
    if url:
        point_exchange_at(exchange, url)
    return exchange


async def check_account(
    exchange_id: str,
    credentials: Credentials,
    sandbox: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    configure: Callable[[Any], None] | None = None,
    url: str = "",
) -> CheckResult:
    """Builds the exchange, checks it and always closes its HTTP session.

    `configure` may adjust the exchange before the call (tests point its URLs at a local
    server and load markets offline).
    """
    import ccxt

    try:
        exchange = make_exchange(exchange_id, credentials, sandbox, timeout, url)
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
    return await check_account(account.exchange_id, store.credentials(account_id), account.sandbox, timeout,
                               url=account.url)
