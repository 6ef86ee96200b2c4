"""The account side shared by every venue Colibri simulates in-process.

The demo exchange (connectors/demo) and paper trading (connectors/paper) match orders in
very different ways, one in a full matching engine with a synthetic crowd, the other
against a feed's book and a queue model, but once a fill has been decided they must book it
in exactly the same way. SimulatedAccount holds that part once: the single instrument and
its feed, the Ledger, the orders, the trade ids, and above all `_settle_fill`, the one
path from "these lots traded at this price" to balances, locks, Fill and events. With a
single settlement path, fees, lock releases, Fill fields and the order of events cannot
drift apart between simulated venues, and a strategy cannot tell them apart.

What a subclass supplies is how orders reach its matching and leave it: `place_order`,
`cancel_order`, `start`, `stop`, and `_on_retire` to drop its own per-order matching state
(engine ids, queue positions, ...) when an order can no longer fill.
"""
from __future__ import annotations

import itertools
from abc import abstractmethod
from collections import deque
from decimal import Decimal
from typing import Mapping

from app.domain import (
    Balance,
    BalancesUpdated,
    Fill,
    Instrument,
    Order,
    OrderFilled,
    OrderStatus,
    OrderEvent,
    OrderType,
    OrderUpdated,
    Side,
    new_client_order_id,
)
from app.domain.events import FundingPaid
from app.domain.order import DONE_STATUSES as _DONE
from app.domain.ledger import Ledger
from app.domain.margin import MarginLedger, Position
from app.markets.defaults import DEFAULT_LEVERAGE
from app.interfaces.clock import Clock
from app.interfaces.venue import Connector, MarketFeed

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_FILLED = OrderStatus.FILLED
_MARKET = OrderType.MARKET
_PARTIALLY_FILLED = OrderStatus.PARTIALLY_FILLED
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL

DONE_ORDERS_KEPT = 10_000
"""Finished orders stay readable by `get_order` until this many more recent ones finished."""


class SimulatedAccount(Connector):
    """A simulated trading account on one instrument, settled through one shared path.

    Subclasses set `self._feed` (the MarketFeed of `instrument`) in their `__init__`, register
    each new order with `_track`, book every execution with `_settle_fill`, end orders that
    will not fill any more with `_finish`, and publish balances with `_emit_balances`.

    Invariant: an order is in `open_orders()` exactly until it is retired, and it is retired
    (lock released, venue state dropped) as soon as its status is final.
    """

    _feed: MarketFeed

    def __init__(
        self,
        name: str,
        clock: Clock,
        instrument: Instrument,
        balances: Mapping[str, Decimal | str | int],
        leverage: Decimal | int = DEFAULT_LEVERAGE,
    ) -> None:
        super().__init__()
        self.name = name
        self.clock = clock
        self.instrument = instrument
        # Perpetuals settle through positions and margin; spot keeps the plain ledger.
        self._ledger = (
            MarginLedger(dict(balances), leverage) if instrument.is_derivative else Ledger(dict(balances))
        )
        self._orders: dict[str, Order] = {}  # every order still remembered, by client id
        self._open: dict[str, Order] = {}  # orders that may still fill, in placement order
        self._done: deque[str] = deque()  # finished orders, oldest first (bounded retention)
        self._trade_ids = itertools.count(1)
        self._running = False

    # -- Connector: read side ---------------------------------------------------------------
    @property
    def instruments(self) -> dict[str, Instrument]:
        return {self.instrument.symbol: self.instrument}

    def feed(self, symbol: str) -> MarketFeed:
        if symbol != self.instrument.symbol:
            raise KeyError(f"{self.name}: unknown symbol {symbol!r}")
        return self._feed

    def balances(self) -> dict[str, Balance]:
        return self._ledger.snapshot()

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def position(self, symbol: str) -> Position | None:
        """The account's position in a derivatives market (None for spot)."""
        if isinstance(self._ledger, MarginLedger) and symbol == self.instrument.symbol:
            pos = self._ledger.position(symbol)
            return Position(pos.lots, pos.entry, pos.realized, pos.fees, pos.funding)
        return None

    def leverage(self, symbol: str) -> Decimal | None:
        """The margin ledger's leverage for the account's derivatives market (None for spot)."""
        if isinstance(self._ledger, MarginLedger) and symbol == self.instrument.symbol:
            return self._ledger.leverage
        return None

    def _pay_funding(self, mark: Decimal, rate: Decimal, now: int) -> None:
        """Books one funding payment on the position (derivatives only) and publishes it."""
        if not isinstance(self._ledger, MarginLedger):
            return
        inst = self.instrument
        amount = self._ledger.apply_funding(inst, mark, rate)
        self._emit(FundingPaid(self.name, inst.symbol, now, rate, mark, amount, inst.settle_asset))
        if amount:
            self._emit_balances(now)

    def get_order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    @property
    def is_running(self) -> bool:
        return self._running

    # -- order book-keeping for subclasses --------------------------------------------------
    def _track(self, order: Order) -> None:
        """Remembers a just-created order; it is open until `_retire`."""
        self._orders[order.client_order_id] = order
        self._open[order.client_order_id] = order

    def _settle_fill(self, order: Order, price_ticks: int, lots: int, *, is_maker: bool, now: int) -> Fill:
        """Books one execution of `lots` at `price_ticks` and publishes it as OrderFilled.

        The order records the fill first (so an impossible overfill raises before any money
        moves), then the ledger moves the assets, charges the fee in the quote asset and
        frees the lock of exactly the lots filled. A fill that completes the order retires
        it before the event goes out, so listeners already see it gone from `open_orders()`
        with its lock released. Callers publish `_emit_balances` once after a batch.
        """
        inst = self.instrument
        done = lots == order.remaining_lots
        order.apply(OrderEvent(order.client_order_id, _FILLED if done else _PARTIALLY_FILLED,
                               now, filled_lots=lots))
        fee = self._ledger.settle_fill(order, inst, price_ticks, lots, is_maker=is_maker)
        fill = Fill(
            trade_id=f"{self.name}-{next(self._trade_ids)}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=inst.ticks_to_price(price_ticks),
            amount=inst.lots_to_amount(lots),
            fee=fee,
            fee_asset=inst.fee_asset,
            is_maker=bool(is_maker),
            ts_ns=now,
        )
        if order.status is _FILLED:
            self._retire(order)
        self._emit(OrderFilled(self.name, order, fill))
        return fill

    def _finish(
        self, order: Order, status: OrderStatus, now: int, reason: str = "", *, balances_changed: bool = True
    ) -> None:
        """Ends an order that will not fill (more): final state, lock released, events."""
        change = None
        if order.status not in _DONE:
            change = OrderEvent(order.client_order_id, status, now, reason=reason)
            order.apply(change)
        self._retire(order)
        self._emit(OrderUpdated(self.name, order, now, change))
        if balances_changed:
            self._emit_balances(now)

    def _move(self, order: Order, status: OrderStatus, now: int, reason: str = "") -> None:
        """A non-final state change (acknowledged, cancel requested), applied and published."""
        change = OrderEvent(order.client_order_id, status, now, reason=reason)
        order.apply(change)
        self._emit(OrderUpdated(self.name, order, now, change))

    def _new_order(self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int,
                   client_order_id: str | None, now: int) -> Order:
        """The order object of a new request (our id unless the caller brings one). The enum
        look-ups run only for a caller passing plain values (an Enum call costs ~2 us)."""
        side = side if type(side) is Side else Side(side)
        order_type = order_type if type(order_type) is OrderType else OrderType(order_type)
        return Order(client_order_id or new_client_order_id(), symbol, side, order_type,
                     0 if order_type is _MARKET else int(price_ticks), int(amount_lots), now,
                     updated_ns=now)

    def _cancel_refusal(self, client_order_id: str) -> str | None:
        """Why a cancel cannot be done now (None: go ahead; "" : one is already on its way)."""
        order = self._orders.get(client_order_id)
        if order is None:
            return f"unknown order {client_order_id} on {self.name}"
        if order.status in _DONE:
            return f"order {client_order_id} is already {order.status.value}"
        if order.status is _PENDING_CANCEL:
            return ""
        return None

    def _retire(self, order: Order) -> None:
        """Drops a final order from the open set and the venue, and frees what it still locks.

        The order itself stays readable by `get_order` until DONE_ORDERS_KEPT more recent
        orders have finished, so memory stays bounded on a bot that runs for weeks.
        """
        cid = order.client_order_id
        self._ledger.release(cid)
        self._open.pop(cid, None)
        self._on_retire(order)
        self._done.append(cid)
        while len(self._done) > DONE_ORDERS_KEPT:
            self._orders.pop(self._done.popleft(), None)

    @abstractmethod
    def _on_retire(self, order: Order) -> None:
        """Forgets the venue's own state of an order that can no longer fill."""

    def _emit_balances(self, now: int) -> None:
        if self.wants(BalancesUpdated):  # a snapshot per order change costs more than the change
            self._emit(BalancesUpdated(self.name, self._ledger.snapshot(), now))
