"""Orders and their life cycle.

The state machine is explicit so that a late or duplicated exchange message (a fill after
a cancel acknowledgement, a second cancel) cannot silently corrupt an order: an illegal
transition raises, and the caller decides how to report it.
"""
from __future__ import annotations

import itertools
import secrets
import time
import zlib
from dataclasses import dataclass, field
from enum import Enum

from app.domain.frozen import Frozen, compiled


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is _BUY else -1

    @property
    def opposite(self) -> "Side":
        return _SELL if self is _BUY else _BUY


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
    UNKNOWN = "unknown"  # the request left but its answer was lost: resolved by a query

    @property
    def is_done(self) -> bool:
        return self in _DONE

    @property
    def is_live(self) -> bool:
        """May still fill on the exchange (including while a cancel is in flight)."""
        return self in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL,
                        OrderStatus.UNKNOWN)


_DONE = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.FAILED})
DONE_STATUSES = _DONE
"""The final states: `status in DONE_STATUSES` is `status.is_done` without a property call
(the per-order path asks it several times per event)."""
# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY, _SELL = Side.BUY, Side.SELL
_FILLED, _PARTIALLY_FILLED = OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL

S = OrderStatus
_ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_CREATE: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.FAILED,
                                 S.PENDING_CANCEL, S.UNKNOWN}),
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.FAILED}),
    S.PARTIALLY_FILLED: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.FAILED}),
    # A fill can race a cancel request: the exchange may fill before it sees the cancel; a
    # cancel whose answer was lost leaves the order unknown until a query says.
    S.PENDING_CANCEL: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.OPEN, S.FAILED, S.UNKNOWN}),
    # What the venue says when asked: it exists (open, partly or fully filled), it was
    # cancelled, it never arrived (rejected/failed), or a cancel can be sent to find out.
    S.UNKNOWN: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.REJECTED, S.FAILED,
                          S.PENDING_CANCEL}),
    S.FILLED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """An order was asked to move to a state its current state cannot reach."""


class OrderEvent(Frozen):
    """One change of an order as its venue reports it, immutable: the order moves only by
    `Order.apply(event)`, through the state machine, and listeners receive the event with
    the order (OrderUpdated.change), so what happened is never re-derived from a mutable
    object that may have moved on since.

    Fields: client_order_id; status (the state the order moves to); ts_ns; filled_lots
    (lots executed by this event, 0 unless it is a fill); reason; exchange_order_id. A
    compiled type with read-only fields, equal and hashable by them (app/domain/frozen.py).
    """

    __match_args__ = ("client_order_id", "status", "ts_ns", "filled_lots", "reason", "exchange_order_id")

    def __init__(self, client_order_id: str, status: OrderStatus, ts_ns: int, filled_lots: int = 0,
                 reason: str = "", exchange_order_id: str | None = None) -> None:
        if _EVENT_COMPILED:
            self.client_order_id = client_order_id
            self.status = status
            self.ts_ns = ts_ns
            self.filled_lots = filled_lots
            self.reason = reason
            self.exchange_order_id = exchange_order_id
        else:
            for name, value in zip(OrderEvent.__match_args__,
                                   (client_order_id, status, ts_ns, filled_lots, reason, exchange_order_id)):
                object.__setattr__(self, name, value)



_EVENT_COMPILED = compiled(OrderEvent)

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_EPOCH_S = 1_577_836_800  # 2020-01-01 UTC


_PAIRS = tuple(a + b for a in _B36 for b in _B36)  # every two-digit base-36 string, by value


def _base36(value: int, width: int) -> str:
    """The lowest `width` base-36 digits of `value`, zero-padded."""
    if width == 6:  # every order id's sequence: three table look-ups instead of six divisions
        value, low = divmod(value, 1296)
        value, mid = divmod(value, 1296)
        return _PAIRS[value % 1296] + _PAIRS[mid] + _PAIRS[low]
    out = []
    for _ in range(width):
        value, digit = divmod(value, 36)
        out.append(_B36[digit])
    return "".join(reversed(out))


def _new_session_id() -> str:
    """8 base-36 characters: the start second since 2020 (6, good until 2090) and 2 random
    ones, so two processes started in the same second still differ."""
    return _base36(int(time.time()) - _EPOCH_S, 6) + _base36(secrets.randbelow(36 * 36), 2)


SESSION_ID = _new_session_id()
"""This process run; every client order id carries it, so ids stay unique across restarts."""

_counter = itertools.count(1)
MANUAL_TAG = "hand"
NO_BOT_TAG = "none"


def bot_tag(bot_name: str) -> str:
    """4 base-36 characters naming a bot (a hash of its name), stable across restarts."""
    return _base36(zlib.crc32(bot_name.encode("utf-8")), 4)


def new_client_order_id(tag: str = NO_BOT_TAG) -> str:
    """`cb` + session (8) + bot tag (4) + sequence (6, base 36): 20 letters and digits, which
    every exchange accepts (some refuse dashes or more than 32 characters), unique across
    restarts, and readable back by `parse_client_order_id` (who placed it, in which run)."""
    return f"cb{SESSION_ID}{tag}{_base36(next(_counter), 6)}"


@dataclass(frozen=True, slots=True)
class ClientOrderId:
    session: str
    bot_tag: str
    sequence: int


def parse_client_order_id(client_order_id: str) -> ClientOrderId | None:
    """The parts of one of our ids; None for an id Colibri did not make (another program's)."""
    if len(client_order_id) != 20 or not client_order_id.startswith("cb"):
        return None
    body = client_order_id[2:]
    if any(ch not in _B36 for ch in body):
        return None
    return ClientOrderId(body[:8], body[8:12], int(body[12:], 36))


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

    def apply(self, event: OrderEvent) -> None:
        """Moves the order by one venue event (IllegalTransition when impossible: a late or
        duplicated message must be handled by the venue's reconciliation, not guessed)."""
        if event.client_order_id != self.client_order_id:
            raise IllegalTransition(f"event for {event.client_order_id} applied to {self.client_order_id}")
        if event.exchange_order_id is not None:
            self.exchange_order_id = event.exchange_order_id
        if event.filled_lots:
            self.record_fill(event.filled_lots, event.ts_ns)
            return
        self.transition(event.status, event.ts_ns, event.reason)

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
        target = _FILLED if self.remaining_lots == 0 else _PARTIALLY_FILLED
        if target is _PARTIALLY_FILLED and self.status is _PENDING_CANCEL:
            # Still waiting for the cancel acknowledgement: keep the pending state.
            self.updated_ns = now_ns
            return
        self.transition(target, now_ns)
