"""Orders and their life cycle.

The state machine is explicit so that a late or duplicated exchange message (a fill after
a cancel acknowledgement, a second cancel) cannot silently corrupt an order: an illegal
transition raises, and the caller decides how to report it.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from enum import Enum


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> "Side":
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    LIMIT = "limit"
    MARKET = "market"
    LIMIT_MAKER = "limit_maker"  # post-only
    IOC = "ioc"


class OrderStatus(str, Enum):
    PENDING_CREATE = "pending_create"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_done(self) -> bool:
        return self in _DONE

    @property
    def is_live(self) -> bool:
        """May still fill on the exchange (including while a cancel is in flight)."""
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL)


_DONE = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.FAILED})

S = OrderStatus
_ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_CREATE: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.FAILED, S.PENDING_CANCEL}),
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.FAILED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.FAILED}),
    # A fill can race a cancel request: the exchange may fill before it sees the cancel.
    S.PENDING_CANCEL: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.OPEN, S.FAILED}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """An order was asked to move to a state its current state cannot reach."""


_counter = itertools.count(1)
_PREFIX = f"co{os.getpid() % 100000:05d}"


def new_client_order_id() -> str:
    """Unique within a process run and readable in logs; exchanges accept <= 36 chars."""
    return f"{_PREFIX}-{next(_counter):08d}"


@dataclass(slots=True)
class Order:
    """An own order. Price and amount are integer ticks/lots of its instrument."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    price_ticks: int  # 0 for market orders
    amount_lots: int
    created_ns: int
    status: OrderStatus = OrderStatus.PENDING_CREATE
    filled_lots: int = 0
    exchange_order_id: str | None = None
    reason: str = ""
    updated_ns: int = 0
    history: list[OrderStatus] = field(default_factory=list)

    @property
    def remaining_lots(self) -> int:
        return self.amount_lots - self.filled_lots

    def transition(self, new: OrderStatus, now_ns: int, reason: str = "") -> None:
        if new not in _ALLOWED[self.status]:
            raise IllegalTransition(
                f"order {self.client_order_id}: {self.status.value} -> {new.value} is not allowed"
            )
        self.history.append(self.status)
        self.status = new
        self.updated_ns = now_ns
        if reason:
            self.reason = reason

    def record_fill(self, lots: int, now_ns: int) -> None:
        """Adds a fill and moves to partially-filled or filled."""
        if lots <= 0:
            raise ValueError(f"order {self.client_order_id}: fill of {lots} lots")
        if lots > self.remaining_lots:
            raise IllegalTransition(
                f"order {self.client_order_id}: fill of {lots} lots exceeds remaining {self.remaining_lots}"
            )
        self.filled_lots += lots
        target = OrderStatus.FILLED if self.remaining_lots == 0 else OrderStatus.PARTIALLY_FILLED
        if target is OrderStatus.PARTIALLY_FILLED and self.status is OrderStatus.PENDING_CANCEL:
            # Still waiting for the cancel acknowledgement: keep the pending state.
            self.updated_ns = now_ns
            return
        self.transition(target, now_ns)
