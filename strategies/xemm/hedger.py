"""Hedging every maker fill at once on the taker market, exactly once.

The hedger keeps one number, the unhedged exposure in the maker's base asset (positive:
the maker side bought, so the taker must sell). A maker fill adds to it (each trade id
once, so a fill reported twice is never hedged twice); sending a hedge takes its amount
out at once (in flight), and a hedge that ends with lots unfilled (its immediate-or-cancel
remainder, a refusal, a lost order) puts exactly those lots back. Partial maker fills thus
aggregate: whatever is unhedged when a hedge can be sent goes in one order, and what is
below the taker's lot or minimum waits for the next fill. A hedge that cannot be sent or
comes back unfilled is retried after `hedge_retry_seconds`, with a warning each time; the
strategy stops quoting while the hedger is `failing`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from app.domain import Order, OrderFilled, OrderType, Side
from app.interfaces.clock import Clock, TimerHandle
from app.interfaces.strategy import MarketContext
from strategies.market_math import (
    Bridge,
    affordable_lots,
    book_side_taken_by,
    fmt_amount,
    fmt_price,
    limit_through,
    take,
)
from strategies.quoting import placeable

_NS = 1_000_000_000


@dataclass(slots=True)
class HedgeOrder:
    """One taker order sent to hedge; `reserved` is the maker-base exposure it took out."""

    order: Order
    reserved: Fraction
    filled_lots: int = 0
    finished: bool = False


@dataclass(slots=True)
class HedgeStats:
    maker_fills: int = 0
    hedges_sent: int = 0
    hedges_failed: int = 0
    hedged_lots: int = 0  # taker lots filled by hedges
    history: list[str] = field(default_factory=list)  # one line per hedge outcome (last 100)


class Hedger:
    def __init__(self, maker: MarketContext, taker: MarketContext, bridge: Bridge, slippage: Fraction,
                 retry_seconds: float, clock: Clock, log: logging.Logger,
                 on_state_change: Callable[[], None] = lambda: None) -> None:
        self.maker = maker
        self.taker = taker
        self.bridge = bridge
        self.slippage = slippage
        self.retry_ns = int(retry_seconds * _NS)
        self.clock = clock
        self.log = log
        self._on_state_change = on_state_change
        self.exposure = Fraction(0)  # maker lots; + = long on the maker (hedge by selling)
        self.in_flight: dict[str, HedgeOrder] = {}
        self.failing = False
        self.stats = HedgeStats()
        self._seen_fills: set[tuple[str, str]] = set()
        self._seen_hedge_fills: set[str] = set()
        self._retry: TimerHandle | None = None
        self._waiting_reported = False

    # -- inputs ----------------------------------------------------------------------------------
    def on_maker_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        key = (fill.client_order_id, fill.trade_id)
        if key in self._seen_fills:
            self.log.info("maker fill %s reported again: hedged once only", fill.trade_id)
            return
        self._seen_fills.add(key)
        lots = self.maker.instrument.amount_to_lots(fill.amount)
        self.exposure += lots if fill.side is Side.BUY else -lots
        self.stats.maker_fills += 1
        self.hedge()

    def on_taker_fill(self, event: OrderFilled) -> None:
        hedge = self.in_flight.get(event.fill.client_order_id)
        if hedge is None or event.fill.trade_id in self._seen_hedge_fills:
            return
        self._seen_hedge_fills.add(event.fill.trade_id)
        hedge.filled_lots += self.taker.instrument.amount_to_lots(event.fill.amount)
        if event.order.status.is_done:
            self._finish(hedge, event.order)

    def on_taker_order(self, order: Order) -> None:
        hedge = self.in_flight.get(order.client_order_id)
        if hedge is not None and order.status.is_done:
            self._finish(hedge, order)

    def adopt_state(self, old: "Hedger") -> None:
        """Takes over an earlier hedger's exposure, hedges in flight and history (a live
        parameter edit builds a new one: nothing unhedged may be forgotten)."""
        self.exposure = old.exposure
        self.in_flight = old.in_flight
        self.stats = old.stats
        self._seen_fills = old._seen_fills
        self._seen_hedge_fills = old._seen_hedge_fills
        self.failing = old.failing
        if self.failing:
            self._retry = self.clock.call_later(self.retry_ns, self._on_retry)

    def cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def stop(self) -> None:
        """No more retries; an exposure left is said loudly (it is a position now)."""
        self.cancel_retry()
        if self.exposure >= 1 or self.exposure <= -1:
            self.log.warning("stopped with %s %s unhedged on %s", format(self._exposure_base(), "f"),
                             self.maker.instrument.base, self.maker.role)

    # -- state ------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self.in_flight) or self.failing

    # -- hedging ----------------------------------------------------------------------------------
    def hedge(self) -> None:
        """Sends one hedge for the whole exposure now, if the taker can take it."""
        if self._retry is not None:
            return  # a retry is scheduled: it sends everything then
        if self.exposure == 0:
            self._set_failing(False)
            return
        side = Side.SELL if self.exposure > 0 else Side.BUY
        taker_lots = math.floor(self.bridge.lots_back(abs(self.exposure)))
        inst = self.taker.instrument
        book = self.taker.book
        if taker_lots <= 0:
            self._set_failing(False)
            return  # below one taker lot: waits for the next fill
        if book.is_stale:
            self._failed(f"taker book stale ({book.stale_reason})")
            return
        walk = take(book, book_side_taken_by(side), taker_lots)
        if walk.lots == 0:
            self._failed(f"taker book has no {'bids' if side is Side.SELL else 'asks'}")
            return
        limit = limit_through(walk.worst_ticks, side, self.slippage)
        if not placeable(inst, taker_lots, limit):
            if not self._waiting_reported:
                self.log.info("hedge of %s %s waits: below the taker's minimum order", side.value,
                              fmt_amount(inst, taker_lots))
                self._waiting_reported = True
            self._set_failing(False)  # a remainder too small to send is no reason to stop quoting
            return
        self._waiting_reported = False
        can = affordable_lots(self.taker, side, limit)
        if can < taker_lots:
            self._failed(f"taker balance covers {fmt_amount(inst, can)} of {fmt_amount(inst, taker_lots)} "
                         f"{inst.base} to {side.value}")
            return
        reserved = self.bridge.lots(taker_lots)
        order = self.taker.connector.place_order(inst.symbol, side, OrderType.IOC, taker_lots, limit)
        self.stats.hedges_sent += 1
        self.exposure -= reserved if side is Side.SELL else -reserved
        hedge = HedgeOrder(order, reserved if side is Side.SELL else -reserved)
        self.in_flight[order.client_order_id] = hedge
        self.log.info("hedge %s: %s %s %s on %s, limit %s (book worst %s for the amount)",
                      order.client_order_id, side.value, fmt_amount(inst, taker_lots), inst.base, self.taker.role,
                      fmt_price(inst, limit), fmt_price(inst, walk.worst_ticks))
        if order.status.is_done:  # refused before it left
            self._finish(hedge, order)

    def _finish(self, hedge: HedgeOrder, order: Order) -> None:
        if hedge.finished:
            return
        hedge.finished = True
        self.in_flight.pop(order.client_order_id, None)
        inst = self.taker.instrument
        filled = max(hedge.filled_lots, order.filled_lots)
        self.stats.hedged_lots += filled
        unfilled = order.amount_lots - filled
        line = (f"hedge {order.client_order_id} {order.side.value} {fmt_amount(inst, filled)} of "
                f"{fmt_amount(inst, order.amount_lots)} {inst.base} ({order.status.value}"
                f"{': ' + order.reason if order.reason and unfilled else ''})")
        self._remember(line)
        if unfilled <= 0:
            self.log.info(line)
            if not self.in_flight and self.exposure == 0:
                self._set_failing(False)
            return
        back = self.bridge.lots(unfilled)
        self.exposure += back if order.side is Side.SELL else -back
        self.stats.hedges_failed += 1
        self._failed(line)

    def _failed(self, why: str) -> None:
        """Reports a hedge that could not be done and schedules the retry for the exposure."""
        m = self.maker.instrument
        self.log.warning("hedge not done, retrying in %.2fs: %s; unhedged %s %s on %s", self.retry_ns / _NS,
                         why, format(self._exposure_base(), "f"), m.base, self.maker.role)
        self._remember(f"failed: {why}")
        self._set_failing(True)
        if self._retry is None:
            self._retry = self.clock.call_later(self.retry_ns, self._on_retry)

    def _on_retry(self) -> None:
        self._retry = None
        self.hedge()

    def _exposure_base(self) -> Decimal:
        lots = self.exposure
        return Decimal(lots.numerator) / Decimal(lots.denominator) * self.maker.instrument.lot_size

    def _set_failing(self, failing: bool) -> None:
        if failing != self.failing:
            self.failing = failing
            if not failing:
                self.log.info("hedges caught up: maker quoting resumes")
            self._on_state_change()

    def _remember(self, line: str) -> None:
        self.stats.history.append(line)
        del self.stats.history[:-100]
