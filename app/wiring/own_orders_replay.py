"""The bot's own orders of a finished backtest, played again on a clock.

The market views read own orders from a connector: `open_orders(symbol)`,
`queue_ahead_lots(id)` and its OrderUpdated / OrderFilled events. `OwnOrdersReplay` offers
exactly that, from a BacktestRecord (app/wiring/backtest_capture.py), so the views draw
the bot's quotes, cancels and fills as they were, without a venue or a strategy. It is
read-only: it has no place_order, because nothing may trade in a replay.

One callback runs every recorded row that is due (rows at one instant together), then
the next is scheduled at the following row's time: the clock carries as many pending
callbacks for own orders as there are distinct instants with order activity, never one
per market message.
"""
from __future__ import annotations

from decimal import Decimal

from app.domain import Fill, Order, OrderFilled, OrderType, OrderUpdated, Side
from app.interfaces.clock import Clock, TimerHandle
from app.interfaces.venue import EventSource
from app.wiring.backtest_capture import FILL, STATUSES, BacktestRecord


class OwnOrdersReplay(EventSource):
    def __init__(self, record: BacktestRecord, clock: Clock, name: str = "backtest") -> None:
        super().__init__()
        self.name = name
        self.clock = clock
        self.record = record
        self.instrument = record.instrument
        self._rows = record.events.tolist()  # tuples: cheaper to read one by one than numpy rows
        self._orders: dict[int, Order] = {}
        self._by_id: dict[str, Order] = {}
        # Which fill (in record.fills) each FILL row is.
        self._fill_numbers = ((record.events["kind"] == FILL).cumsum() - 1).tolist()
        self._open: dict[str, Order] = {}
        self._pos = 0
        self._handle: TimerHandle | None = None
        self.events_replayed = 0
        self.fills_replayed = 0

    # -- what the views read ---------------------------------------------------------------------
    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """The orders open now (pending create, open, partly filled, pending cancel, unknown)."""
        if symbol is not None and symbol != self.instrument.symbol:
            return []
        return list(self._open.values())

    def get_order(self, client_order_id: str) -> Order | None:
        return self._by_id.get(client_order_id)

    def queue_ahead_lots(self, client_order_id: str) -> int | None:
        """Not recorded: the ladder then shows the lots without a queue position."""
        return None

    # -- playing ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._handle is None:
            self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        if self._pos < len(self._rows):
            self._handle = self.clock.call_at(self._rows[self._pos][0], self._step)
        else:
            self._handle = None

    def _step(self) -> None:
        now = self.clock.now_ns()
        rows = self._rows
        while self._pos < len(rows) and rows[self._pos][0] <= now:
            self._apply(rows[self._pos], self._pos)
            self._pos += 1
        self._schedule()

    def _apply(self, row: tuple, pos: int) -> None:
        ts, index, kind, status_code, filled, fill_price, fill_lots, maker = row
        order = self._orders.get(index)
        if order is None:
            info = self.record.orders[index]
            side = Side.BUY if info["side"] > 0 else Side.SELL
            order = self._orders[index] = Order(
                self.record.order_ids[index], self.instrument.symbol, side, OrderType(self.record.order_types[index]),
                int(info["price_ticks"]), int(info["amount_lots"]), int(info["created_ns"]), updated_ns=ts)
            self._by_id[order.client_order_id] = order
        status = STATUSES[status_code]
        if status is not order.status:
            order.history.append(order.status)
            order.status = status
        order.filled_lots = filled
        order.updated_ns = ts
        if status.is_done:
            self._open.pop(order.client_order_id, None)
        else:
            self._open[order.client_order_id] = order
        self.events_replayed += 1
        if kind == FILL:
            self.fills_replayed += 1
            self._emit(OrderFilled(self.name, order, self._fill(order, pos, ts, fill_price, fill_lots, maker)))
        else:
            self._emit(OrderUpdated(self.name, order, ts))

    def _fill(self, order: Order, pos: int, ts: int, price_ticks: int, lots: int, maker: bool) -> Fill:
        info = self.record.fills[self._fill_numbers[pos]]
        inst = self.instrument
        return Fill(info.trade_id, order.client_order_id, order.symbol, order.side, inst.ticks_to_price(price_ticks),
                    inst.lots_to_amount(lots), Decimal(info.fee), info.fee_asset, bool(maker), ts)
