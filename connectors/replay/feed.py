"""Replays a recorded event array as a live market feed on any Clock.

Everything that does not depend on time is computed once with numpy at construction:
message boundaries, kinds and ids of the replayed messages (BBO messages are left out),
one replay unit per book message or run of same-instant trades, and one read-only
TRADE_DTYPE array of all trades that TradesEvents slice. Each unit then costs little
Python work: one batched book update or one trade slice, and its due time is a list
look-up.

With a SimClock started at the first timestamp, messages run at their recorded receive
times; with a RealClock, `speed` compresses or stretches the gaps between them; speed 0
or None runs back to back, one message per callback. On a SimClock one callback goes on
with the following messages as long as `SimClock.try_advance` says that no other
callback would run in between, which keeps the order of everything exactly as if each
had been scheduled on its own.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Callable

import numpy as np

from app.book.orderbook import OrderBook
from app.book.sync import DepthSynchronizer, SyncStatus
from app.data.events import DEPTH, FUNDING_RATE_UNITS, MARK, SNAPSHOT, TRADE, EventColumns, RecordingMeta
from app.domain import TRADE_DTYPE, BookResynced, BookStale, BookUpdated, Instrument, MarkPrice, TradesEvent
from app.interfaces.clock import Clock, SimClock, TimerHandle
from app.interfaces.market_hook import HOOK_KINDS, MarketHook
from app.interfaces.venue import MarketFeed
from connectors.replay.fast_loop import FastLoop

_APPLIED = SyncStatus.APPLIED
_GAP = SyncStatus.GAP
_EXACT_FLOAT = 1 << 53  # |int| below this converts to float exactly


class ReplayFeed(MarketFeed):
    """A MarketFeed over an EVENT_DTYPE array (BBO rows are not replayed).

    TradesEvent.trades are read-only views of one array built at construction: listeners
    may keep them (they never change) but cannot write to them (copy first).
    """

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
        self._cols = EventColumns(events, kinds=(DEPTH, SNAPSHOT, TRADE, MARK))
        self._trades = self._all_trades()
        self._build_units()
        self._offsets: list[int] = []  # due time of each unit from the first, at _offsets_speed
        self._offsets_np = np.empty(0, dtype=np.int64)  # the same, for the compiled loop
        self._offsets_speed: float | None = None
        self._hooks: list[MarketHook] = []
        self._fast: FastLoop | None = None
        self._pos = 0
        self._handle: TimerHandle | None = None
        self._clock_start = 0
        self._first_ts = 0
        self.messages_replayed = 0

    def _all_trades(self) -> np.ndarray:
        """Every trade message's (first) row, in replay order, as one read-only array."""
        cols = self._cols
        msgs = np.flatnonzero(cols.msg_kind == TRADE)
        rows = cols.starts[msgs]
        trades = np.empty(len(msgs), dtype=TRADE_DTYPE)
        trades["ts_ns"] = cols.msg_ts[msgs]
        trades["price_ticks"] = cols.price[rows]
        trades["qty_lots"] = cols.qty[rows]
        trades["taker_side"] = cols.side[rows]
        trades.flags.writeable = False
        return trades

    def _build_units(self) -> None:
        """The replay units, as parallel lists (cheaper to build than a tuple per unit):
        one per book message, and one per run of consecutive trade messages received at
        the same instant with nothing in between. `_u_a`/`_u_b` hold, for DEPTH, rows a:b
        of the columns (b == a when empty); TRADE, slice a:b of the trade array; SNAPSHOT,
        the message and its level count. `_u_ts`/`_u_first`/`_u_last`/`_u_prev` are 0
        where the unit's kind does not use them (Python's cached small int: no object to
        build for most of them); `_unit_ts` has every unit's receive time (for pacing)."""
        cols = self._cols
        kinds = cols.msg_kind
        ts = cols.msg_ts
        starts, stops = cols.starts, cols.stops
        n = len(kinds)
        is_trade = kinds == TRADE
        same = np.zeros(n, dtype=bool)
        if n > 1:
            # Adjacent in the recording: no skipped (BBO) message between the two.
            adjacent = starts[1:] == stops[:-1]
            same[1:] = is_trade[1:] & is_trade[:-1] & (ts[1:] == ts[:-1]) & adjacent
        heads = np.flatnonzero(~same)
        counts = np.diff(np.append(heads, n))
        kind = kinds[heads]
        trade_pos = (np.cumsum(is_trade) - 1)[heads]
        trade = kind == TRADE
        book = ~trade
        depth = kind == DEPTH
        a = np.where(trade, trade_pos, np.where(depth, starts[heads], heads))
        depth_end = np.where(cols.msg_empty[heads], starts[heads], stops[heads])
        b = np.where(trade, trade_pos + counts, np.where(depth, depth_end, stops[heads] - starts[heads]))
        self._unit_ts = np.ascontiguousarray(ts[heads])
        i64 = np.int64
        self._unit_arrays = tuple(np.ascontiguousarray(column, dtype=i64) for column in (
            kind, a, b, np.where(depth, cols.msg_first[heads], 0), np.where(book, cols.msg_last[heads], 0),
            np.where(depth, cols.msg_prev[heads], 0), self._unit_ts, counts))  # for the compiled loop
        self._u_kind: list[int] = kind.tolist()
        self._u_a: list[int] = a.tolist()
        self._u_b: list[int] = b.tolist()
        self._u_ts: list[int] = np.where(book, self._unit_ts, 0).tolist()
        self._u_first: list[int] = np.where(depth, cols.msg_first[heads], 0).tolist()
        self._u_last: list[int] = np.where(book, cols.msg_last[heads], 0).tolist()
        self._u_prev: list[int] = np.where(depth, cols.msg_prev[heads], 0).tolist()
        self._u_count: list[int] = counts.tolist()

    # -- MarketFeed --------------------------------------------------------------------------
    @property
    def book(self) -> OrderBook:
        return self._book

    @property
    def synchronizer(self) -> DepthSynchronizer:
        return self._sync

    def add_hook(self, hook: MarketHook) -> None:
        """Also a listener (the Python path of `_step` feeds it BookUpdated/TradesEvent);
        the compiled loop calls it directly while no other listener wants those events."""
        if hook not in self._hooks:
            self._hooks.append(hook)
        super().add_hook(hook)

    def remove_hook(self, hook: MarketHook) -> None:
        if hook in self._hooks:
            self._hooks.remove(hook)
        super().remove_hook(hook)

    def _fast_loop(self) -> FastLoop | None:
        """The compiled loop, when it may run: recorded-time pacing on a SimClock and no
        listener other than hooks wants book or trade events (views, Python strategies)."""
        if not self.speed or not isinstance(self.clock, SimClock):
            return None
        hook_listeners = [hook.listener for hook in self._hooks]
        for kind in HOOK_KINDS:
            if any(listener not in hook_listeners for listener in self._listeners_of(kind)):
                return None
        if self._fast is None:
            cols = self._cols
            self._fast = FastLoop(DEPTH, TRADE, *self._unit_arrays, cols.side, cols.price, cols.qty, self._trades,
                                  self._book)
        self._fast.set_hooks(self._hooks)
        return self._fast

    def _run_fast(self, fast: FastLoop, now: int) -> int:
        """One compiled burst from `_pos`; returns the clock's time after it."""
        chained, last_u, futures = self._sync.chain()
        if not chained:
            return now
        clock = self.clock
        window = clock.advance_window()
        pos, now, last_u = fast.run(self, self._sync, clock, self._pos, now, self._clock_start,
                                    self._offsets_np, futures, last_u, window)
        self._pos = pos
        self._sync.chain_advanced(last_u, fast.diffs, fast.levels)
        clock.advanced(now, fast.steps)
        self.messages_replayed += fast.messages
        return now

    def start(self) -> None:
        if self._handle is not None or self.finished:
            return
        now = self.clock.now_ns()
        self._first_ts = int(self._unit_ts[0]) if self._u_kind else 0
        self._offsets_speed = None  # the first time may have changed: recomputed when needed
        self._clock_start = now
        if self._pos and self._pos < len(self._u_kind) and self.speed:
            # Resuming after stop(): the next message is due now, later gaps keep their pace.
            self._clock_start = now - self._offsets_for(self.speed)[self._pos]
        self._schedule(self._due(self._pos))

    def stop(self) -> None:
        """Cancels the pending callback; the feed can be started again where it stopped."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    # -- internals ---------------------------------------------------------------------------
    def _offsets_for(self, speed: float) -> list[int]:
        """int((ts - first ts) / speed) for every unit, computed once per speed."""
        if speed is not self._offsets_speed:
            first = self._first_ts
            span = self._unit_ts - first
            if len(span) and (int(span.max()) >= _EXACT_FLOAT or int(span.min()) <= -_EXACT_FLOAT):
                # Python's int / float rounds once; numpy would round the int first.
                self._offsets = [int((t - first) / speed) for t in self._unit_ts.tolist()]
                self._offsets_np = np.asarray(self._offsets, dtype=np.int64)
            else:
                self._offsets_np = (span / speed).astype(np.int64)
                self._offsets = self._offsets_np.tolist()
            self._offsets_speed = speed
        return self._offsets

    def _due(self, pos: int) -> int:
        if pos >= len(self._u_kind):
            return 0
        speed = self.speed
        if not speed:
            return self.clock.now_ns()
        return self._clock_start + self._offsets_for(speed)[pos]

    def _schedule(self, due: int) -> None:
        if self._pos >= len(self._u_kind):
            self._handle = None
            self.finished = True
            if self.on_finished is not None:
                self.on_finished()
            return
        self._handle = self.clock.call_at(due, self._step)

    def _step(self) -> None:
        """Runs every message that is due now (one callback for a burst), then goes on
        with later ones while the clock lets it (`try_advance`), then re-arms."""
        clock = self.clock
        now = clock.now_ns()
        kinds, a_s, b_s = self._u_kind, self._u_a, self._u_b
        n = len(kinds)
        ts_s, firsts, lasts, prevs, counts = self._u_ts, self._u_first, self._u_last, self._u_prev, self._u_count
        trades = self._trades
        cols = self._cols
        side, price, qty = cols.side, cols.price, cols.qty
        sync = self._sync
        on_diff = sync.on_diff
        emit = self._emit
        name = self.name
        symbol = self.instrument.symbol
        advance = clock.try_advance
        depth_kind, trade_kind, mark_kind, applied, gap = DEPTH, TRADE, MARK, _APPLIED, _GAP  # locals: hot loop
        book_updated, book_stale, trades_event = BookUpdated, BookStale, TradesEvent
        due = now
        fast = self._fast_loop()
        if fast is not None:
            self._offsets_for(self.speed)
        while self._pos < n:
            if fast is not None:
                now = self._run_fast(fast, now)
                if self._pos >= n or self._handle is None:
                    break
                due = self._clock_start + int(self._offsets_np[self._pos])
                if due > now:
                    if not advance(due):
                        break  # re-armed below at the message's due time
                    now = due
                    continue
            pos = self._pos
            kind = kinds[pos]
            a = a_s[pos]
            b = b_s[pos]
            self._pos = pos + 1
            if kind == depth_kind:
                status = on_diff(firsts[pos], lasts[pos], prevs[pos], side[a:b], price[a:b], qty[a:b])
                if status is applied:
                    emit(book_updated(name, symbol, ts_s[pos], b - a))
                elif status is gap:
                    emit(book_stale(name, symbol, ts_s[pos], sync.last_gap_reason))
            elif kind == trade_kind:
                emit(trades_event(name, symbol, trades[a:b]))
            elif kind == mark_kind:
                self._run_mark(ts_s[pos], a)
            else:
                self._run_snapshot(ts_s[pos], a, b, lasts[pos])
            self.messages_replayed += counts[pos]
            speed = self.speed
            if self._handle is None or not speed:
                due = now  # stopped by a listener, or as-fast-as-possible: one message per callback
                break
            if pos + 1 < n:
                offsets = self._offsets if speed is self._offsets_speed else self._offsets_for(speed)
                due = self._clock_start + offsets[pos + 1]
                if due > now:
                    if not advance(due):
                        break
                    now = due
        if self._handle is not None:
            self._schedule(due)

    def _run_mark(self, ts: int, msg: int) -> None:
        """A futures markPrice message: mark price, funding rate and next funding time."""
        cols = self._cols
        row = int(cols.starts[msg])
        inst = self.instrument
        rate = Decimal(int(cols.qty[row])) / FUNDING_RATE_UNITS
        self._emit(MarkPrice(self.name, inst.symbol, ts, inst.ticks_to_price(int(cols.price[row])), rate,
                             int(cols.msg_first[msg]) * 1_000_000))

    def _run_snapshot(self, ts: int, msg: int, levels: int, last_update_id: int) -> None:
        sync = self._sync
        symbol = self.instrument.symbol
        replayed = sync.levels_applied
        status = sync.on_snapshot(last_update_id, *self._cols.snapshot_sides(msg))
        # The snapshot's levels plus those of the buffered diffs replayed on top of it.
        levels += sync.levels_applied - replayed
        if status == SyncStatus.APPLIED:
            self._emit(BookResynced(self.name, symbol, ts))
            self._emit(BookUpdated(self.name, symbol, ts, levels))
        else:
            self._emit(BookStale(self.name, symbol, ts, sync.last_gap_reason))
