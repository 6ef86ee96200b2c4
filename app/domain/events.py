"""Typed events that connectors publish and strategies, the engine and views consume.

Market data does not travel as one Python object per level: a `BookUpdated` says which
book changed and the book itself (Cython) is read; trades come as numpy batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from decimal import Decimal

import numpy as np

from app.domain.fill import Balance, Fill
from app.domain.frozen import Frozen, compiled
from app.domain.order import Order, OrderEvent

TRADE_DTYPE = np.dtype(
    [("ts_ns", "<i8"), ("price_ticks", "<i8"), ("qty_lots", "<i8"), ("taker_side", "i1")]
)
"""Public trades batch: taker_side +1 = buyer was the taker (a buy), -1 = a sell."""


@dataclass(frozen=True, slots=True)
class BookUpdated:
    source: str
    symbol: str
    ts_ns: int
    levels_changed: int


@dataclass(frozen=True, slots=True)
class BookStale:
    """The book can no longer be trusted (gap, disconnect); quoting must stop until resync."""

    source: str
    symbol: str
    ts_ns: int
    reason: str


@dataclass(frozen=True, slots=True)
class BookResynced:
    source: str
    symbol: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class TradesEvent:
    source: str
    symbol: str
    trades: np.ndarray  # TRADE_DTYPE


class OrderUpdated(Frozen):
    """The order's state changed (created, acknowledged, cancelled, rejected...); `change`
    is the immutable event that moved it, when the venue reports one.

    Fields: source, order, ts_ns, change (OrderEvent or None). A compiled type with
    read-only fields, equal by them (app/domain/frozen.py); unhashable, as the order is."""

    __match_args__ = ("source", "order", "ts_ns", "change")

    def __init__(self, source: str, order: Order, ts_ns: int, change: OrderEvent | None = None) -> None:
        if _COMPILED:
            self.source = source
            self.order = order
            self.ts_ns = ts_ns
            self.change = change
        else:
            for name, value in zip(OrderUpdated.__match_args__, (source, order, ts_ns, change)):
                object.__setattr__(self, name, value)



@dataclass(frozen=True, slots=True)
class CancelRejected:
    """A cancel that could not be done (unknown order, already final...), with the reason:
    every venue answers this way instead of raising in one and logging in another."""

    source: str
    client_order_id: str
    reason: str
    ts_ns: int


class ConnectionState(str, Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """A venue's connection moved: quoting must stop unless it is LIVE."""

    source: str
    state: ConnectionState
    ts_ns: int
    reason: str = ""


class OrderFilled(Frozen):
    """One execution of an own order: `fill`, and `order` already in its state after it.

    Fields: source, order, fill. A compiled type with read-only fields, equal by them
    (app/domain/frozen.py); unhashable, as the order is."""

    __match_args__ = ("source", "order", "fill")

    def __init__(self, source: str, order: Order, fill: Fill) -> None:
        if _COMPILED:
            self.source = source
            self.order = order
            self.fill = fill
        else:
            for name, value in zip(OrderFilled.__match_args__, (source, order, fill)):
                object.__setattr__(self, name, value)



@dataclass(frozen=True, slots=True)
class BalancesUpdated:
    source: str
    balances: dict[str, Balance]
    ts_ns: int


@dataclass(frozen=True, slots=True)
class MarkPrice:
    """A derivatives mark price with the funding rate in force and the next funding time
    (from the exchange's markPrice stream, or a recording of it)."""

    source: str
    symbol: str
    ts_ns: int
    mark: Decimal
    funding_rate: Decimal
    next_funding_ns: int


@dataclass(frozen=True, slots=True)
class FundingPaid:
    """One funding settlement of an account's position: `amount` (settlement asset) is what
    the account received (negative: paid); rate and mark are the ones applied."""

    source: str
    symbol: str
    ts_ns: int
    rate: Decimal
    mark: Decimal
    amount: Decimal
    asset: str


_COMPILED = compiled(OrderUpdated) and compiled(OrderFilled)

Event = (
    BookUpdated | BookStale | BookResynced | TradesEvent | OrderUpdated | OrderFilled | BalancesUpdated
    | MarkPrice | FundingPaid | CancelRejected | ConnectionChanged
)
