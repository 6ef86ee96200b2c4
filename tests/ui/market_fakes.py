"""Scripted market sources for the market-view tests and the UI bench.

`make_book()` returns the real compiled OrderBook when it is built, and otherwise a tiny
pure-Python stand-in with the same read API, so the views are tested against the real
thing as soon as it exists.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from app.domain import (
    TRADE_DTYPE,
    Balance,
    BookResynced,
    BookStale,
    BookUpdated,
    Fill,
    Instrument,
    Order,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    TradesEvent,
)
from app.interfaces.clock import SimClock
from app.interfaces.venue import Connector, MarketFeed

BID = 1
ASK = -1


class StandInBook:
    """Pure-Python L2 book with the read API of app.book.orderbook.OrderBook."""

    BID = BID
    ASK = ASK

    def __init__(self, symbol: str = "TEST") -> None:
        self.symbol = symbol
        self._sides: dict[int, dict[int, int]] = {BID: {}, ASK: {}}
        self._stale = False
        self._reason = ""
        self._update_id = 0

    def apply_delta(self, side: int, price: int, qty: int) -> None:
        levels = self._sides[side]
        if qty <= 0:
            levels.pop(int(price), None)
        else:
            levels[int(price)] = int(qty)
        self._update_id += 1

    def clear(self) -> None:
        self._sides = {BID: {}, ASK: {}}

    def mark_stale(self, reason: str) -> None:
        self._stale = True
        self._reason = reason

    def mark_fresh(self) -> None:
        self._stale = False
        self._reason = ""

    @property
    def best_bid_ticks(self) -> int:
        return max(self._sides[BID], default=0)

    @property
    def best_ask_ticks(self) -> int:
        return min(self._sides[ASK], default=0)

    @property
    def mid_ticks(self) -> float:
        b, a = self.best_bid_ticks, self.best_ask_ticks
        return (b + a) / 2.0 if b and a else 0.0

    @property
    def spread_ticks(self) -> int:
        b, a = self.best_bid_ticks, self.best_ask_ticks
        return a - b if b and a else 0

    def volume_at(self, side: int, price: int) -> int:
        return self._sides[side].get(int(price), 0)

    def top_levels(self, side: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        prices = sorted(self._sides[side], reverse=(side == BID))[:n]
        return (np.array(prices, dtype=np.int64),
                np.array([self._sides[side][p] for p in prices], dtype=np.int64))

    @property
    def is_stale(self) -> bool:
        return self._stale

    @property
    def stale_reason(self) -> str:
        return self._reason

    @property
    def update_id(self) -> int:
        return self._update_id


def make_book(symbol: str = "TEST"):  # noqa: ANN201 - real OrderBook or the stand-in
    try:
        from app.book.orderbook import OrderBook  # type: ignore[import-not-found]
    except ImportError:
        return StandInBook(symbol)
    return OrderBook(symbol)


def set_level(book, side: int, price: int, qty: int) -> None:  # noqa: ANN001
    book.apply_delta(side, price, qty)


def set_stale(book, reason: str | None) -> None:  # noqa: ANN001
    """Marks the book stale (reason) or fresh (None), whichever book this is."""
    if reason is None:
        for name in ("mark_fresh", "clear_stale", "resync_done", "set_fresh"):
            if hasattr(book, name):
                getattr(book, name)()
                return
        raise AttributeError("book has no way to clear staleness")
    for name in ("mark_stale", "set_stale"):
        if hasattr(book, name):
            getattr(book, name)(reason)
            return
    raise AttributeError("book has no way to mark staleness")


INSTRUMENT = Instrument(
    symbol="TST/USD", base="TST", quote="USD",
    tick_size=Decimal("0.01"), lot_size=Decimal("0.001"),
)


class ScriptedFeed(MarketFeed):
    """A feed driven by the test: each call mutates the book and publishes the event."""

    def __init__(self, instrument: Instrument = INSTRUMENT, start_ns: int = 1_700_000_000_000_000_000) -> None:
        super().__init__()
        self.name = "scripted"
        self.instrument = instrument
        self.clock = SimClock(start_ns)
        self._book = make_book(instrument.symbol)

    @property
    def book(self):  # noqa: ANN201
        return self._book

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def listener_count(self) -> int:
        return len(self._listeners)

    def advance(self, ns: int) -> None:
        self.clock.run(self.clock.now_ns() + int(ns))

    def levels(self, side: int, levels: dict[int, int]) -> None:
        for price, qty in levels.items():
            set_level(self._book, side, price, qty)
        self._emit(BookUpdated(self.name, self.instrument.symbol, self.clock.now_ns(), len(levels)))

    def ladder(self, mid: int, depth: int, qty: int = 1000, step: int = 1) -> None:
        """A symmetric book: bids mid-1.., asks mid+1.., each `qty` lots."""
        bids = {mid - 1 - i * step: qty for i in range(depth)}
        asks = {mid + 1 + i * step: qty for i in range(depth)}
        for p, q in bids.items():
            set_level(self._book, BID, p, q)
        for p, q in asks.items():
            set_level(self._book, ASK, p, q)
        self._emit(BookUpdated(self.name, self.instrument.symbol, self.clock.now_ns(), 2 * depth))

    def trades(self, rows: list[tuple[int, int, int, int]]) -> np.ndarray:
        """rows of (ts_ns, price_ticks, qty_lots, taker_side)."""
        batch = np.array(rows, dtype=TRADE_DTYPE)
        self._emit(TradesEvent(self.name, self.instrument.symbol, batch))
        return batch

    def trade_batch(self, batch: np.ndarray) -> None:
        self._emit(TradesEvent(self.name, self.instrument.symbol, batch))

    def stale(self, reason: str) -> None:
        set_stale(self._book, reason)
        self._emit(BookStale(self.name, self.instrument.symbol, self.clock.now_ns(), reason))

    def resynced(self) -> None:
        set_stale(self._book, None)
        self._emit(BookResynced(self.name, self.instrument.symbol, self.clock.now_ns()))


class ScriptedConnector(Connector):
    """Own orders and fills put in place by the test; queue-ahead estimates are settable."""

    def __init__(self, feed: ScriptedFeed) -> None:
        super().__init__()
        self.name = "scripted"
        self.clock = feed.clock
        self._feed = feed
        self._orders: dict[str, Order] = {}
        self.queue_ahead: dict[str, int] = {}
        self._seq = 0

    @property
    def instruments(self) -> dict[str, Instrument]:
        return {self._feed.instrument.symbol: self._feed.instrument}

    def feed(self, symbol: str) -> MarketFeed:
        return self._feed

    def balances(self) -> dict[str, Balance]:
        return {}

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values()
                if not o.status.is_done and (symbol is None or o.symbol == symbol)]

    def get_order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def place_order(self, symbol: str, side: Side, order_type: OrderType, amount_lots: int,
                    price_ticks: int = 0) -> Order:
        self._seq += 1
        order = Order(f"o{self._seq}", symbol, side, order_type, price_ticks, amount_lots,
                      self.clock.now_ns())
        order.transition(OrderStatus.OPEN, self.clock.now_ns())
        self._orders[order.client_order_id] = order
        self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))
        return order

    def cancel_order(self, client_order_id: str) -> None:
        order = self._orders[client_order_id]
        order.transition(OrderStatus.CANCELLED, self.clock.now_ns())
        self._emit(OrderUpdated(self.name, order, self.clock.now_ns()))

    def fill(self, client_order_id: str, lots: int, price_ticks: int | None = None) -> Fill:
        order = self._orders[client_order_id]
        inst = self._feed.instrument
        ticks = order.price_ticks if price_ticks is None else price_ticks
        order.record_fill(lots, self.clock.now_ns())
        fill = Fill(f"t{self._seq}-{order.filled_lots}", order.client_order_id, order.symbol, order.side,
                    inst.ticks_to_price(ticks), inst.lots_to_amount(lots), Decimal(0), inst.quote,
                    True, self.clock.now_ns())
        self._emit(OrderFilled(self.name, order, fill))
        return fill

    def queue_ahead_lots(self, client_order_id: str) -> int | None:
        return self.queue_ahead.get(client_order_id)

    def listener_count(self) -> int:
        return len(self._listeners)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def shown(qtbot, view, w: int = 800, h: int = 500):  # noqa: ANN001, ANN201 - any QWidget
    """The widget registered with qtbot, sized and shown (market views draw only when shown)."""
    qtbot.addWidget(view)
    view.resize(w, h)
    view.show()
    return view


def ladder_feed(mid: int, name: str | None = None, depth: int = 20, qty: int = 1000) -> ScriptedFeed:
    """A feed with `depth` levels of `qty` lots on each side of `mid`; `name` tells two venues'
    feeds of one symbol apart."""
    feed = ScriptedFeed()
    if name is not None:
        feed.name = name
    feed.ladder(mid, depth=depth, qty=qty)
    return feed
