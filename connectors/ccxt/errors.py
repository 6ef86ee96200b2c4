"""ccxt's exceptions -> what happened to an order, in words a trader understands.

Three outcomes: the venue refused the request (REJECTED, with the reason), the request may
or may not have been executed (UNKNOWN: a timeout or a dropped connection after sending,
resolved by asking the venue), or it never left (FAILED). Getting this split right is
what keeps orders from being lost or duplicated after network trouble.
"""
from __future__ import annotations

from dataclasses import dataclass

import ccxt

from app.domain import OrderStatus


@dataclass(frozen=True)
class OrderError:
    status: OrderStatus  # REJECTED, UNKNOWN or FAILED
    reason: str


def _text(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify(exc: BaseException, *, sending: bool = True) -> OrderError:
    """What an exception from create/cancel means for the order. `sending`: the request may
    have reached the venue (network errors then leave the order UNKNOWN, not FAILED)."""
    unknown = OrderStatus.UNKNOWN if sending else OrderStatus.FAILED
    if isinstance(exc, ccxt.InsufficientFunds):
        return OrderError(OrderStatus.REJECTED, f"insufficient funds: {_text(exc)}")
    if isinstance(exc, ccxt.OrderImmediatelyFillable):
        return OrderError(OrderStatus.REJECTED, "post-only order would cross")
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderError(OrderStatus.REJECTED, f"order not found: {_text(exc)}")
    if isinstance(exc, (ccxt.InvalidOrder, ccxt.BadRequest, ccxt.BadSymbol)):
        return OrderError(OrderStatus.REJECTED, f"invalid price or amount: {_text(exc)}")
    if isinstance(exc, (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.AccountSuspended)):
        return OrderError(OrderStatus.REJECTED, f"authentication failed: {_text(exc)}")
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return OrderError(OrderStatus.REJECTED, f"rate limited by the exchange: {_text(exc)}")
    if isinstance(exc, ccxt.InvalidNonce):
        return OrderError(OrderStatus.REJECTED, f"clock out of sync with the exchange: {_text(exc)}")
    if isinstance(exc, (ccxt.RequestTimeout, ccxt.NetworkError)):
        # NetworkError covers ExchangeNotAvailable, OnMaintenance, 5xx and dropped sockets.
        return OrderError(unknown, f"network: {_text(exc)}")
    if isinstance(exc, ccxt.ExchangeError):
        return OrderError(OrderStatus.REJECTED, f"exchange error: {_text(exc)}")
    return OrderError(unknown, f"{type(exc).__name__}: {_text(exc)}")


def is_transient(exc: BaseException) -> bool:
    """A stream or request worth retrying after a pause (network, rate limit, maintenance)."""
    return isinstance(exc, (ccxt.NetworkError, ccxt.RateLimitExceeded, ccxt.DDoSProtection, OSError))


def request_failure(exc: BaseException) -> str:
    """A failed read-only request (candle history, say) in one line: nothing to resolve,
    only what to tell the user."""
    if isinstance(exc, ccxt.RequestTimeout):
        return f"timed out: {_text(exc, 120)}"
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return f"rate limited by the exchange: {_text(exc, 120)}"
    if isinstance(exc, ccxt.NotSupported):
        return f"not supported: {_text(exc, 120)}"
    if isinstance(exc, ccxt.NetworkError):
        return f"network: {_text(exc, 120)}"
    if isinstance(exc, ccxt.BadSymbol):
        return f"unknown market: {_text(exc, 120)}"
    if isinstance(exc, ccxt.ExchangeError):
        return f"exchange error: {_text(exc, 120)}"
    return f"{type(exc).__name__}: {_text(exc, 120)}"
