"""A small scripted Connector for the shell's tests (never used by the app).

Tests drive it explicitly: place, fill, cancel and set balances emit exactly the events
a real connector would, synchronously, so every assertion is deterministic.
"""
from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from app.domain import (
    BTC_USDT,
    Balance,
    BalancesUpdated,
    BookResynced,
    BookStale,
    Fill,
    Instrument,
    Order,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
)
from app.interfaces.clock import SimClock
from app.interfaces.venue import Connector, MarketFeed


class FakeConnector(Connector):
    def __init__(self, name: str = "fake", instruments: dict[str, Instrument] | None = None) -> None:
        super().__init__()
        self.name = name
        self.clock = SimClock(1_700_000_000_000_000_000)
        self._instruments = instruments if instruments is not None else {BTC_USDT.symbol: BTC_USDT}
        self._orders: dict[str, Order] = {}
        self._balances: dict[str, Balance] = {}
        self._ids = itertools.count(1)
        self._trades = itertools.count(1)

    # -- Connector interface -------------------------------------------------------------
    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def feed(self, symbol: str) -> MarketFeed:
        raise NotImplementedError("the fake connector has no market data")

    def balances(self) -> dict[str, Balance]:
        return {a: b.copy() for a, b in self._balances.items()}

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values() if not o.status.is_done and (symbol is None or o.symbol == symbol)]

    def get_order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def place_order(self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0) -> Order:
        order = Order(f"{self.name}-{next(self._ids)}", symbol, side, order_type, price_ticks, amount_lots, self.clock.now_ns())
        self._orders[order.client_order_id] = order
        self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))
        return order

    def cancel_order(self, client_order_id: str) -> None:
        order = self._orders[client_order_id]
        order.transition(OrderStatus.CANCELLED, self.clock.now_ns())
        self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    # -- scripting ----------------------------------------------------------------------
    def place(self, side: Side = Side.BUY, price: str = "50000.01", amount: str = "0.01", symbol: str = "BTC/USDT") -> Order:
        instrument = self._instruments.get(symbol, BTC_USDT)
        return self.place_order(symbol, side, OrderType.LIMIT, instrument.amount_to_lots(amount), instrument.price_to_ticks(price))

    def ack(self, order: Order) -> None:
        order.transition(OrderStatus.OPEN, self.clock.now_ns())
        self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))

    def fill(self, order: Order, lots: int, trade_id: str | None = None, **fill_args: Any) -> Fill:
        instrument = self._instruments.get(order.symbol, BTC_USDT)
        order.record_fill(lots, self.clock.now_ns())
        fill = Fill(
            trade_id=trade_id or f"t{next(self._trades)}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=fill_args.get("price", instrument.ticks_to_price(order.price_ticks)),
            amount=fill_args.get("amount", instrument.lots_to_amount(lots)),
            fee=fill_args.get("fee", Decimal("0.01")),
            fee_asset="USDT",
            is_maker=True,
            ts_ns=self.clock.now_ns(),
        )
        self._emit(OrderFilled(self.name, order, fill))
        return fill

    def set_balance(self, asset: str, total: str, locked: str = "0") -> None:
        self._balances[asset] = Balance(asset, Decimal(total), Decimal(locked))
        self._emit(BalancesUpdated(self.name, {asset: self._balances[asset].copy()}, self.clock.now_ns()))

    def stale(self, symbol: str = "BTC/USDT", reason: str = "sequence gap") -> None:
        self._emit(BookStale(self.name, symbol, self.clock.now_ns(), reason))

    def resynced(self, symbol: str = "BTC/USDT") -> None:
        self._emit(BookResynced(self.name, symbol, self.clock.now_ns()))


class HealthyConnector(FakeConnector):
    """A connector that reports its own health, as live connectors may."""

    def __init__(self, name: str = "live") -> None:
        super().__init__(name)
        self.report: dict[str, Any] = {"state": "connected", "latency_ms": 42.5, "reconnects": 1, "rate_limit": "80%"}

    def health(self) -> dict[str, Any]:
        return dict(self.report)
