"""Replays a recorded event array as a live market feed on any Clock.

Everything that does not depend on time is computed once with numpy
(app/data/replay_units.py, saved beside a converted recording and loaded on later runs):
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
from app.data import candles
from app.data.events import DEPTH, FUNDING_RATE_UNITS, MARK, TRADE, RecordingMeta
from app.data.replay_units import ReplayUnits, units_for
from app.domain import BookResynced, BookStale, BookUpdated, Instrument, MarkPrice, TradesEvent
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
        units: ReplayUnits | None = None,
    ) -> None:
        """`units`: the array's replay units when the caller has them (app/data/replay_units.py);
        otherwise loaded from beside the converted recording, or computed."""
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
        if units is None:
            units = units_for(events)
        elif len(units.cols.side) != len(events):
            raise ValueError(f"replay units of {len(units.cols.side)} rows given for {len(events)} events")
        self._units = units
        self._cols = units.cols
        self._trades = units.trades
        self._unit_ts = units.ts
        self._unit_arrays = (units.kind, units.a, units.b, units.first, units.last, units.prev, units.ts,
                             units.count)  # for the compiled loop
        self._n_units = len(units)
        self._lists: tuple[list[int], ...] | None = None  # the same as lists, for the Python path (see _py)
        self._offsets: list[int] = []  # due time of each unit from the first, at _offsets_speed
        self._offsets_np = np.empty(0, dtype=np.int64)  # the same, for the compiled loop
        self._offsets_speed: float | None = None
        self._hooks: list[MarketHook] = []
        self._fast: FastLoop | None = None
        self._fast_key: tuple | None = None  # what `_fast_chosen` was decided for
        self._fast_chosen: FastLoop | None = None
        self._int_columns: tuple["_Ints", ...] | None = None
        self._pos = 0
        self._handle: TimerHandle | None = None
        self._clock_start = 0
        self._first_ts = 0
        self.messages_replayed = 0

    def _py(self) -> tuple[list[int], ...]:
        """The units as Python lists (cheaper to index from Python than numpy arrays): kind,
        a, b, receive time (book units; 0 for trades), first, last, prev, count. Built on the
        first message the Python path runs: a backtest on the compiled loop rarely needs them."""
        if self._lists is None:
            u = self._units
            book_ts = np.where(u.kind != TRADE, u.ts, 0)
            self._lists = tuple(column.tolist() for column in (u.kind, u.a, u.b, book_ts, u.first, u.last, u.prev,
                                                                u.count))
        return self._lists

    def _ints(self) -> tuple["_Ints", ...]:
        """The same columns as `_py`, read one int at a time from the arrays (made once)."""
        if self._int_columns is None:
            u = self._units
            self._int_columns = tuple(_Ints(column) for column in (u.kind, u.a, u.b, u.ts, u.first, u.last, u.prev,
                                                                   u.count))
        return self._int_columns

    # -- MarketFeed --------------------------------------------------------------------------
    @property
    def book(self) -> OrderBook:
        return self._book

    @property
    def synchronizer(self) -> DepthSynchronizer:
        return self._sync

    async def fetch_candles(self, interval_s: int, since_ns: int | None = None,
                            limit: int = 1000) -> np.ndarray:
        """The recording's candles up to where the replay is: from the trades replayed so far,
        so a chart opened (or re-attached after a seek) shows the market as it was then."""
        return candles.of_trades(self._trades[:self.trades_replayed()], interval_s, since_ns, limit)

    def trades_replayed(self) -> int:
        """How many rows of the trade array the replay has published (those before its position)."""
        kinds = self._units.kind[:self._pos]
        done = np.flatnonzero(kinds == TRADE)
        return int(self._units.b[done[-1]]) if len(done) else 0

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
        listener other than hooks wants book or trade events (views, Python strategies).
        Decided again only when the listeners, the hooks or the speed changed: a backtest
        asks at every step (a thousand times a run)."""
        key = self._fast_key
        targets = self._targets  # replaced (never emptied) when a listener comes or goes
        if key is not None and key[0] is targets and key[1] == len(self._hooks) and key[2] == self.speed:
            return self._fast_chosen
        self._fast_chosen = self._choose_fast_loop()
        self._fast_key = (targets, len(self._hooks), self.speed)
        return self._fast_chosen

    def _choose_fast_loop(self) -> FastLoop | None:
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
        self._first_ts = int(self._unit_ts[0]) if self._n_units else 0
        self._offsets_speed = None  # the first time may have changed: recomputed when needed
        self._clock_start = now
        if self._pos and self._pos < self._n_units and self.speed:
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
        if pos >= self._n_units:
            return 0
        speed = self.speed
        if not speed:
            return self.clock.now_ns()
        return self._clock_start + self._offsets_for(speed)[pos]

    def _schedule(self, due: int) -> None:
        if self._pos >= self._n_units:
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
        fast = self._fast_loop()
        # The units as Python ints: lists when this path runs every message, else (the
        # compiled loop runs nearly all) read from the arrays one by one.
        kinds, a_s, b_s, ts_s, firsts, lasts, prevs, counts = self._py() if fast is None else self._ints()
        n = self._n_units
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


class _Ints:
    """A numpy column indexed as a list of Python ints (for the few messages the compiled
    loop leaves to the Python path)."""

    __slots__ = ("_column",)

    def __init__(self, column: np.ndarray) -> None:
        self._column = column

    def __getitem__(self, i: int) -> int:
        return int(self._column[i])
