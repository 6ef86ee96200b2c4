"""Replaying a finished backtest in the market views: play, pause, speed and seek.

The market is played again from the same data the backtest traded (its recording, or the
demo market captured during the run: app/wiring/backtest_capture.py) by a ReplayFeed on
a SimClock, at the recorded times; the bot's own orders by an OwnOrdersReplay on the same
clock. Nothing trades: the strategy does not run again.

The window drives the clock (`advance(elapsed_s)` from its timer): at a speed, the clock
moves by elapsed wall time times the speed; at "max", as far as a wall-time budget per
call allows. Work is always bounded per call (slices of simulated time, the budget checked
between them), so the GUI loop never gets one callback per market message nor a frozen
frame: when the machine cannot keep the speed, the replay runs slower.

Seeking backwards rebuilds the market from the start of the data (the book can only be
rebuilt forwards); any long jump runs with the views detached (`on_source(None, None)`),
so the feed's compiled loop replays at full speed with nobody to tell, then the views are
attached again for the last `warmup_s` before the target, so candles, the tape and the
ladder's traded volume show the recent past as they would have after watching it.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from app.interfaces.clock import SimClock
from app.interfaces.venue import MarketFeed
from app.wiring.backtest_capture import BacktestRecord
from app.wiring.own_orders_replay import OwnOrdersReplay

_NS = 1_000_000_000
SPEEDS: dict[str, float | None] = {"1x": 1.0, "10x": 10.0, "100x": 100.0, "max": None}
"""The speeds the window offers; None: as fast as the budget per frame allows."""
SLICE_NS = _NS // 4
"""Simulated time run between two looks at the wall-time budget."""

SourceListener = Callable[[MarketFeed | None, OwnOrdersReplay | None], None]


class BacktestReplay:
    def __init__(self, record: BacktestRecord, *, warmup_s: float = 120.0,
                 on_source: SourceListener | None = None) -> None:
        """`on_source(feed, orders)` attaches the views to a (new) feed and own-order
        source, or detaches them with (None, None); it is called from `attach`, `seek`
        and whenever the market is rebuilt."""
        self.record = record
        self.warmup_ns = max(0, int(warmup_s * _NS))
        self.on_source = on_source
        self.speed: float | None = 1.0
        self.playing = False
        self.rebuilds = 0
        self._attached = False
        self._events, self._market, self.instrument = _market_data(record)
        self._data_start = int(self._events["ts_ns"][0])
        self.start_ns = max(record.start_ns, self._data_start)
        self.end_ns = max(record.end_ns, self.start_ns)
        self._build()

    # -- state ---------------------------------------------------------------------------------
    @property
    def position_ns(self) -> int:
        return self.clock.now_ns()

    @property
    def finished(self) -> bool:
        return self.clock.now_ns() >= self.end_ns

    def elapsed_s(self) -> float:
        return (self.position_ns - self.start_ns) / _NS

    def span_s(self) -> float:
        return (self.end_ns - self.start_ns) / _NS

    # -- views ---------------------------------------------------------------------------------
    def attach(self) -> None:
        """Tells `on_source` to draw this replay's market and own orders."""
        self._attached = True
        self._announce()

    def detach(self) -> None:
        self._attached = False
        if self.on_source is not None:
            self.on_source(None, None)

    def _announce(self) -> None:
        if self.on_source is not None:
            self.on_source(self.feed, self.orders)

    # -- transport -----------------------------------------------------------------------------
    def play(self) -> None:
        if self.finished:
            self.seek(self.start_ns)  # play at the end starts again, like a media player
        self.playing = True

    def pause(self) -> None:
        self.playing = False

    def set_speed(self, speed: float | None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed must be positive (or None for max), got {speed}")
        self.speed = speed

    def advance(self, elapsed_s: float, budget_s: float = 0.025) -> int:
        """One frame of playing: moves the clock by `elapsed_s` of wall time at the speed
        (at max speed: as far as `budget_s` of work allows). Returns the callbacks run."""
        if not self.playing:
            return 0
        now = self.clock.now_ns()
        target = self.end_ns if self.speed is None else min(self.end_ns, now + int(elapsed_s * self.speed * _NS))
        ran = self._run_within(target, budget_s)
        if self.finished:
            self.playing = False
        return ran

    def _run_within(self, target_ns: int, budget_s: float) -> int:
        clock = self.clock
        deadline = time.perf_counter() + budget_s
        ran = 0
        while clock.now_ns() < target_ns:
            ran += clock.run(until_ns=min(target_ns, clock.now_ns() + SLICE_NS))
            if time.perf_counter() >= deadline:
                break  # behind the speed: slower rather than a frozen window
        return ran

    def seek(self, ts_ns: int) -> None:
        """Moves to `ts_ns` (clamped to the run): the book, trades and own orders as they
        were then. Backwards rebuilds from the start of the data; views detached meanwhile."""
        target = min(max(int(ts_ns), self.start_ns), self.end_ns)
        now = self.clock.now_ns()
        if target == now:
            return
        rebuilt = target < now
        if rebuilt:
            self._build()
        warm_from = max(self.clock.now_ns(), target - self.warmup_ns)
        detached = self._attached and (rebuilt or warm_from > self.clock.now_ns())
        if detached and self.on_source is not None:
            self.on_source(None, None)
        self.clock.run(until_ns=warm_from)
        if detached:
            self._announce()
        self.clock.run(until_ns=target)

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        """A fresh clock, feed and own-order source at the start of the run."""
        from connectors.replay.feed import ReplayFeed

        self.clock = SimClock(self._data_start)
        self.feed = ReplayFeed(self._events, self.instrument, self.clock, speed=1.0,
                               name=f"replay of {self.record.bot}", market=self._market)
        self.orders = OwnOrdersReplay(self.record, self.clock, name=f"{self.record.bot} (backtest)")
        self.feed.start()
        self.orders.start()
        self.clock.run(until_ns=self.start_ns)
        self.rebuilds += 1

    def book_levels(self, depth: int = 50) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The best `depth` levels per side now (bid prices, bid lots, ask prices, ask lots)."""
        book = self.feed.book
        return (*book.top_levels(1, depth), *book.top_levels(-1, depth))


def _market_data(record: BacktestRecord) -> tuple[np.ndarray, str, Any]:
    """The replayed events, their depth chaining and the instrument: the demo market as
    captured, or the recording loaded the way the backtest loaded it (a cached conversion)."""
    if record.market_events is not None:
        if not len(record.market_events):
            raise ValueError(f"{record.bot}: the backtest captured no market data")
        return record.market_events, "spot", record.instrument
    from app.data.store import load_market

    events, meta, instrument = load_market(record.recordings, overrides=record.instrument_overrides,
                                           where=f"{record.source} (instrument)")
    return events, meta.market, instrument
