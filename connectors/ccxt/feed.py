"""One live market's book and trades, kept by a stream task and read by bots and views.

The stream (Binance's raw diff depth, or ccxt's watch_order_book for other exchanges, or
REST polling) calls these methods from the event loop; the feed applies the data to its
Cython book and publishes the usual events. The book is marked stale (BookStale, quoting
stops) on a sequence gap, a disconnect or a checksum error, and only BookResynced after a
fresh snapshot makes it usable again: a stale book is never quoted from.
"""
from __future__ import annotations

from typing import Awaitable, Callable

import numpy as np

from app.book.orderbook import OrderBook
from app.book.sync import DepthSynchronizer, SyncStatus
from app.domain import TRADE_DTYPE, BookResynced, BookStale, BookUpdated, Instrument, TradesEvent
from app.interfaces.clock import Clock
from app.interfaces.venue import MarketFeed


CandleSource = Callable[[int, "int | None", int], Awaitable[np.ndarray]]
"""(interval_s, since_ns, limit) -> CANDLE_DTYPE candles: the connector's request for them."""


class CcxtFeed(MarketFeed):
    def __init__(self, name: str, instrument: Instrument, clock: Clock, sync_mode: str = "spot",
                 candles: CandleSource | None = None) -> None:
        """`candles`: how the connector asks the exchange for candle history (connectors/ccxt/
        candles.py); without it the feed has none, like any MarketFeed."""
        super().__init__()
        self._candles = candles
        self.name = name
        self.instrument = instrument
        self.clock = clock
        self._book = OrderBook(instrument.symbol)
        self.sync = DepthSynchronizer(self._book, sync_mode)
        self._book.mark_stale("no snapshot yet")  # nothing is known until the first one
        self.messages = 0
        self.snapshots = 0
        self.last_message_ns = 0
        self._held = ""  # why the book is kept stale although its data is current (see hold)
        self._full_book = False  # a whole book arrived since the last stale (ccxt streams, polling)

    @property
    def book(self) -> OrderBook:
        return self._book

    async def fetch_candles(self, interval_s: int, since_ns: int | None = None, limit: int = 1000) -> np.ndarray:
        if self._candles is None:
            return await super().fetch_candles(interval_s, since_ns, limit)
        return await self._candles(interval_s, since_ns, limit)

    def start(self) -> None:
        """The connector's stream tasks drive the feed; nothing to schedule here."""

    def stop(self) -> None:
        self.mark_stale("stopped")

    # -- called by the stream ------------------------------------------------------------------
    def on_diff(self, first: int, last: int, prev: int, sides: np.ndarray, prices: np.ndarray,
                qtys: np.ndarray) -> SyncStatus:
        """A diff-depth message (update ids chained): applied, buffered, dropped or a gap."""
        now = self.clock.now_ns()
        self.messages += 1
        self.last_message_ns = now
        status = self.sync.on_diff(first, last, prev, sides, prices, qtys)
        if status == SyncStatus.APPLIED:
            self._emit(BookUpdated(self.name, self.instrument.symbol, now, len(sides)))
        elif status == SyncStatus.GAP:
            self._emit(BookStale(self.name, self.instrument.symbol, now, self.sync.last_gap_reason))
        return status

    def on_snapshot(self, last_update_id: int, bid_prices: np.ndarray, bid_qtys: np.ndarray,
                    ask_prices: np.ndarray, ask_qtys: np.ndarray) -> SyncStatus:
        """A REST snapshot for the diff stream: buffered diffs are replayed on top of it."""
        now = self.clock.now_ns()
        self.snapshots += 1
        status = self.sync.on_snapshot(last_update_id, bid_prices, bid_qtys, ask_prices, ask_qtys)
        if status == SyncStatus.APPLIED and self._held:
            self._book.mark_stale(self._held)  # in sync, but not to be used until released
        elif status == SyncStatus.APPLIED:
            self._emit(BookResynced(self.name, self.instrument.symbol, now))
            self._emit(BookUpdated(self.name, self.instrument.symbol, now, len(bid_prices) + len(ask_prices)))
        else:
            self._emit(BookStale(self.name, self.instrument.symbol, now, self.sync.last_gap_reason))
        return status

    def on_full_book(self, bid_prices: np.ndarray, bid_qtys: np.ndarray, ask_prices: np.ndarray,
                     ask_qtys: np.ndarray) -> None:
        """A whole book at once (ccxt's watch_order_book, REST polling): replaces ours."""
        now = self.clock.now_ns()
        self.messages += 1
        self.last_message_ns = now
        was_stale = self._book.is_stale
        self._book.apply_snapshot(bid_prices, bid_qtys, ask_prices, ask_qtys)
        self._full_book = True
        if self._held:
            self._book.mark_stale(self._held)
        elif was_stale:
            self._emit(BookResynced(self.name, self.instrument.symbol, now))
        self._emit(BookUpdated(self.name, self.instrument.symbol, now, len(bid_prices) + len(ask_prices)))

    def on_trades(self, trades: np.ndarray) -> None:
        if len(trades):
            self._emit(TradesEvent(self.name, self.instrument.symbol, trades))

    def hold(self, reason: str) -> None:
        """The account's link is down: the book stays stale (no quoting) even if market data
        keeps coming, until `release` after the connector has reconciled its orders."""
        self._held = reason or "account reconnecting"
        if not self._book.is_stale:
            self._book.mark_stale(self._held)
            self._emit(BookStale(self.name, self.instrument.symbol, self.clock.now_ns(), self._held))

    def release(self) -> None:
        """Usable again when in sync (otherwise the next snapshot makes it so)."""
        if not self._held:
            return
        self._held = ""
        if self.sync.synced or self._full_book:
            now = self.clock.now_ns()
            self._book.mark_fresh()
            self._emit(BookResynced(self.name, self.instrument.symbol, now))
            self._emit(BookUpdated(self.name, self.instrument.symbol, now, 0))

    def mark_stale(self, reason: str) -> None:
        """Disconnects and checksum errors: the book is not to be used until resynced."""
        self._full_book = False
        if not self._book.is_stale or self._held:
            self.sync.reset(reason)
            self._book.mark_stale(reason)
            self._emit(BookStale(self.name, self.instrument.symbol, self.clock.now_ns(), reason))

    @staticmethod
    def trades_array(rows: list[tuple[int, int, int, int]]) -> np.ndarray:
        """(ts_ns, price ticks, qty lots, taker side) rows as a TRADE_DTYPE batch."""
        out = np.empty(len(rows), dtype=TRADE_DTYPE)
        for i, row in enumerate(rows):
            out[i] = row
        return out
