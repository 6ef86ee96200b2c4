"""Replays a recorded event array as a live market feed on any Clock.

Message boundaries, kinds and ids are computed once with numpy at construction; each
scheduled callback then does little Python work: one batched book update or one trade
batch. With a SimClock started at the first timestamp, messages run at their recorded
receive times; with a RealClock, `speed` compresses or stretches the gaps between them;
speed 0 or None runs back to back as fast as the loop allows.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from app.book.orderbook import OrderBook
from app.book.sync import DepthSynchronizer, SyncStatus
from app.data.events import DEPTH, SNAPSHOT, TRADE, EventColumns, RecordingMeta
from app.domain import TRADE_DTYPE, BookResynced, BookStale, BookUpdated, Instrument, TradesEvent
from app.engine.clock import Clock, TimerHandle
from connectors.base import MarketFeed


class ReplayFeed(MarketFeed):
    """A MarketFeed over an EVENT_DTYPE array (BBO rows are not replayed)."""

    def __init__(
        self,
        events: np.ndarray,
        meta: RecordingMeta | Instrument,
        clock: Clock,
        speed: float | None = 1.0,
        name: str = "replay",
        market: str | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(meta, RecordingMeta):
            self.instrument = meta.instrument
            market = market or meta.market
        else:
            self.instrument = meta
        self.name = name
        self.clock = clock
        self.speed = speed
        self.on_finished = on_finished
        self.finished = False
        self._book = OrderBook(self.instrument.symbol)
        self._sync = DepthSynchronizer(self._book, market or "spot")
        self._cols = EventColumns(events)
        self._trade_price = np.ascontiguousarray(events["price_ticks"])
        self._trade_ts = np.ascontiguousarray(events["ts_ns"])
        kinds = self._cols.msg_kind
        # The replayed messages, with consecutive trades sharing a receive time grouped.
        wanted = np.flatnonzero((kinds == DEPTH) | (kinds == SNAPSHOT) | (kinds == TRADE))
        self._msgs = self._group_trades(wanted)
        self._kinds = kinds.tolist()
        self._firsts = self._cols.msg_first.tolist()
        self._lasts = self._cols.msg_last.tolist()
        self._prevs = self._cols.msg_prev.tolist()
        self._ts = self._cols.msg_ts.tolist()
        self._pos = 0
        self._handle: TimerHandle | None = None
        self._clock_start = 0
        self._first_ts = 0
        self.messages_replayed = 0

    def _group_trades(self, wanted: np.ndarray) -> list[tuple[int, int]]:
        """(first message, end message) runs: one per book message, trades merged when
        consecutive in `wanted` and received at the same instant."""
        kinds = self._cols.msg_kind[wanted]
        ts = self._cols.msg_ts[wanted]
        same = np.zeros(len(wanted), dtype=bool)
        if len(wanted) > 1:
            same[1:] = (kinds[1:] == TRADE) & (kinds[:-1] == TRADE) & (ts[1:] == ts[:-1]) & (
                wanted[1:] == wanted[:-1] + 1
            )
        heads = np.flatnonzero(~same)
        ends = np.append(heads[1:], len(wanted))
        w = wanted.tolist()
        return [(w[h], w[e - 1] + 1) for h, e in zip(heads.tolist(), ends.tolist())]

    # -- MarketFeed --------------------------------------------------------------------------
    @property
    def book(self) -> OrderBook:
        return self._book

    @property
    def synchronizer(self) -> DepthSynchronizer:
        return self._sync

    def start(self) -> None:
        if self._handle is not None or self.finished:
            return
        now = self.clock.now_ns()
        self._first_ts = self._ts[self._msgs[0][0]] if self._msgs else 0
        self._clock_start = now
        if self._pos and self._pos < len(self._msgs) and self.speed:
            # Resuming after stop(): the next message is due now, later gaps keep their pace.
            self._clock_start = now - int((self._ts[self._msgs[self._pos][0]] - self._first_ts) / self.speed)
        self._schedule()

    def stop(self) -> None:
        """Cancels the pending callback; the feed can be started again where it stopped."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    # -- internals ---------------------------------------------------------------------------
    def _due(self, msg: int) -> int:
        if not self.speed:
            return self.clock.now_ns()
        return self._clock_start + int((self._ts[msg] - self._first_ts) / self.speed)

    def _schedule(self) -> None:
        if self._pos >= len(self._msgs):
            self._handle = None
            self.finished = True
            if self.on_finished is not None:
                self.on_finished()
            return
        self._handle = self.clock.call_at(self._due(self._msgs[self._pos][0]), self._step)

    def _step(self) -> None:
        """Runs every message that is due now (one callback for a burst), then re-arms."""
        now = self.clock.now_ns()
        msgs = self._msgs
        n = len(msgs)
        while self._pos < n:
            first, end = msgs[self._pos]
            self._pos += 1
            self._run(first, end)
            self.messages_replayed += end - first
            if self._handle is None or not self.speed:
                break  # stopped by a listener, or as-fast-as-possible: one message per callback
            if self._pos < n and self._due(msgs[self._pos][0]) > now:
                break
        if self._handle is not None:
            self._schedule()

    def _run(self, msg: int, end: int) -> None:
        kind = self._kinds[msg]
        ts = self._ts[msg]
        symbol = self.instrument.symbol
        if kind == TRADE:
            starts = self._cols.starts[msg:end]
            trades = np.empty(len(starts), dtype=TRADE_DTYPE)
            trades["ts_ns"] = self._trade_ts[starts]
            trades["price_ticks"] = self._trade_price[starts]
            trades["qty_lots"] = self._cols.qty[starts]
            trades["taker_side"] = self._cols.side[starts]
            self._emit(TradesEvent(self.name, symbol, trades))
            return
        sync = self._sync
        if kind == SNAPSHOT:
            replayed = sync.levels_applied
            status = sync.on_snapshot(self._lasts[msg], *self._cols.snapshot_sides(msg))
            # The snapshot's levels plus those of the buffered diffs replayed on top of it.
            levels = int(self._cols.stops[msg] - self._cols.starts[msg]) + sync.levels_applied - replayed
            if status == SyncStatus.APPLIED:
                self._emit(BookResynced(self.name, symbol, ts))
                self._emit(BookUpdated(self.name, symbol, ts, levels))
            else:
                self._emit(BookStale(self.name, symbol, ts, sync.last_gap_reason))
            return
        sides, prices, qtys = self._cols.levels(msg)
        status = sync.on_diff(self._firsts[msg], self._lasts[msg], self._prevs[msg], sides, prices, qtys)
        if status == SyncStatus.APPLIED:
            self._emit(BookUpdated(self.name, symbol, ts, len(sides)))
        elif status == SyncStatus.GAP:
            self._emit(BookStale(self.name, symbol, ts, sync.last_gap_reason))
