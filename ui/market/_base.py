"""Shared plumbing of the market views: source wiring, dirty flag and one shared frame scheduler.

Market events can arrive thousands of times a second; repainting on each one would eat
the GUI thread. A view's listeners therefore only note that something changed (and, for
trades, append to a numpy ring). Redraws are driven by one `FrameScheduler` for all the
market views of the application: a precise timer ticking every `TICK_MS`, and on each
tick it refreshes at most ONE view - the visible, dirty view whose refresh is most
overdue (earliest deadline first, round robin among equals). Each view still redraws at
most at its own rate (<= 30 Hz), but the views' work never lands in the same event-loop
iteration, and a long iteration cannot make several independent timers fire together.
"""
from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from app.domain import BookResynced, BookStale, Event, OrderFilled, OrderUpdated, Side, TradesEvent

if TYPE_CHECKING:
    from app.interfaces.venue import Connector, MarketFeed

MAX_REFRESH_HZ = 30.0
DEFAULT_REFRESH_HZ = 20.0
TICK_MS = 5
"""Scheduler period: 200 slots/s, about twice what six views at 10-20 Hz need."""
OVERLOAD_LATE_S = 0.005
"""A tick this much later than its period means the loop was busy (long paints, the engine,
another process on the CPU): that tick refreshes nothing, giving the loop one tick back.
Never two ticks in a row, so views keep redrawing, at up to half the slots, under load."""
BACKGROUND_SLOWDOWN = 2.0
"""A view in a window that is not the active one redraws this many times less often: with
several market windows open the trader looks at one; the others stay current at half rate
and leave the event loop the time the engine needs (bench/bench_app.py --markets 3)."""


class FrameScheduler(QObject):
    """Refreshes registered market views, at most one per tick (one per loop iteration).

    A view is eligible when it is dirty, shown and its interval has (nearly: within half a
    tick) elapsed since its last refresh; among eligible views the one with the earliest
    due time is refreshed, ties going round robin. With the views' total rate below the
    tick rate, each dirty visible view is refreshed within its interval plus a few ticks.
    While the application has an active window, views in the other windows have their
    interval stretched by BACKGROUND_SLOWDOWN; a tick that fires late (OVERLOAD_LATE_S)
    refreshes nothing.
    """

    _shared: "FrameScheduler | None" = None

    def __init__(self, parent: QObject | None = None, *, tick_ms: int = TICK_MS, clock=time.monotonic) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._clock = clock
        self._views: list[weakref.ref] = []
        self._rr = 0  # round-robin start for the next tick
        self.ticks = 0
        self.refreshes = 0
        self.skipped = 0  # ticks given back to a busy loop
        self._last_tick: float | None = None
        self._skipped_last = False
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(int(tick_ms))
        self._timer.timeout.connect(self.tick)

    @classmethod
    def shared(cls) -> "FrameScheduler":
        """The application's scheduler (created on first use, owned by the QApplication)."""
        s = cls._shared
        if s is None or not shiboken6.isValid(s):
            s = cls._shared = cls(QCoreApplication.instance())
        return s

    def now(self) -> float:
        return self._clock()

    @property
    def tick_ms(self) -> int:
        return self._timer.interval()

    @property
    def is_running(self) -> bool:
        return self._timer.isActive()

    def views(self) -> list["MarketViewBase"]:
        out = []
        for ref in self._views:
            v = ref()
            if v is not None and shiboken6.isValid(v):
                out.append(v)
        return out

    def add(self, view: "MarketViewBase") -> None:
        if view not in self.views():
            self._views.append(weakref.ref(view))
        if not self._timer.isActive():
            self._timer.start()

    def remove(self, view: "MarketViewBase") -> None:
        self._views = [r for r in self._views if r() is not None and r() is not view]
        if not self._views:
            self._timer.stop()

    def tick(self) -> "MarketViewBase | None":
        """Refreshes the most overdue eligible view; returns it (None: nothing to do)."""
        self.ticks += 1
        refs = self._views
        n = len(refs)
        if not n:
            self._timer.stop()
            return None
        now = self._clock()
        last, self._last_tick = self._last_tick, now
        if last is not None and now - last > self._timer.interval() / 1000.0 + OVERLOAD_LATE_S \
                and not self._skipped_last:
            self.skipped += 1
            self._skipped_last = True
            return None
        self._skipped_last = False
        slack = self._timer.interval() * 0.0005  # half a tick, in seconds
        active = QApplication.activeWindow()
        best = None
        best_due = 0.0
        best_k = 0
        dead = False
        for j in range(n):
            k = (self._rr + j) % n
            v = refs[k]()
            if v is None or not shiboken6.isValid(v):
                dead = True
                continue
            if not v._dirty:
                continue
            due = v._last_refresh + v._interval_s
            if active is not None and due <= now + slack and v.window() is not active:
                due = v._last_refresh + v._interval_s * BACKGROUND_SLOWDOWN
            if due > now + slack or (best is not None and due >= best_due):
                continue
            if v.is_shown():
                best, best_due, best_k = v, due, k
        if best is not None:
            self._rr = best_k + 1
            if best.refresh():
                self.refreshes += 1
        if dead:
            self._views = [r for r in refs if r() is not None and shiboken6.isValid(r())]
        return best


class MarketViewBase(QWidget):
    """A QWidget bound to one MarketFeed (and optionally its Connector).

    Subclasses implement `_render()` (the real drawing work) and may override the
    `_on_*` hooks, which run inside the publisher's callback and must stay cheap and
    free of Qt calls.
    """

    def __init__(self, parent: QWidget | None = None, *, refresh_hz: float = DEFAULT_REFRESH_HZ,
                 scheduler: FrameScheduler | None = None) -> None:
        super().__init__(parent)
        self._feed: MarketFeed | None = None
        self._connector: Connector | None = None
        self._dirty = False
        self.render_count = 0
        """How many times `_render` ran: lets tests and benches see that idle refreshes are free."""
        self._scheduler = scheduler
        self._interval_ms = 50
        self._interval_s = 0.05
        self._last_refresh = float("-inf")
        self.set_refresh_hz(refresh_hz)

    # -- configuration ----------------------------------------------------------------
    def set_refresh_hz(self, hz: float) -> None:
        """Sets the redraw rate, clamped to (0, 30] Hz so a view can never flood the GUI thread."""
        hz = min(max(float(hz), 0.1), MAX_REFRESH_HZ)
        self._interval_ms = max(1, round(1000.0 / hz))
        self._interval_s = self._interval_ms / 1000.0

    @property
    def refresh_interval_ms(self) -> int:
        return self._interval_ms

    @property
    def scheduler(self) -> FrameScheduler:
        """The scheduler that drives this view's refreshes (the shared one by default)."""
        if self._scheduler is None or not shiboken6.isValid(self._scheduler):
            self._scheduler = FrameScheduler.shared()
        return self._scheduler

    @property
    def feed(self) -> "MarketFeed | None":
        return self._feed

    @property
    def connector(self) -> "Connector | None":
        return self._connector

    # -- wiring -----------------------------------------------------------------------
    def set_source(self, feed: "MarketFeed | None", connector: "Connector | None" = None) -> None:
        """Binds the view to a feed (None clears it). Replaces any previous source; a view
        that keeps per-market history (candles, heatmap) is told it leaves the old one."""
        previous = self._feed
        self.detach()
        if previous is not None and previous is not feed:
            self._leave_source(previous)
        self._feed = feed
        self._connector = connector if feed is not None else None
        self._on_source_changed()
        if feed is None:
            self._dirty = True
            self.refresh()
            return
        feed.add_listener(self._on_feed_event)
        if self._connector is not None:
            self._connector.add_listener(self._on_connector_event)
        self._dirty = True
        self.scheduler.add(self)

    def detach(self) -> None:
        """Removes every listener this view registered and leaves the scheduler."""
        if self._scheduler is not None and shiboken6.isValid(self._scheduler):
            self._scheduler.remove(self)
        if self._feed is not None:
            self._feed.remove_listener(self._on_feed_event)
        if self._connector is not None:
            self._connector.remove_listener(self._on_connector_event)
        self._feed = None
        self._connector = None

    def mark_dirty(self) -> None:
        """Asks for a redraw at the next scheduler slot (e.g. after a setting changed)."""
        self._dirty = True

    @property
    def is_dirty(self) -> bool:
        return self._dirty

    # -- own orders and fills, as the charts mark them ---------------------------------
    def own_best_ticks(self) -> tuple[int, int]:
        """The bot's highest resting own bid and lowest own ask on the market shown, in
        ticks (0: none)."""
        bid = ask = 0
        conn, feed = self._connector, self._feed
        for order in conn.open_orders(feed.instrument.symbol) if conn is not None and feed is not None else ():
            if order.price_ticks <= 0 or order.remaining_lots <= 0:
                continue
            if order.side is Side.BUY:
                bid = max(bid, order.price_ticks)
            else:
                ask = order.price_ticks if not ask else min(ask, order.price_ticks)
        return bid, ask

    def fill_mark(self, event: OrderFilled) -> tuple[float, float, int] | None:
        """(time s, price, +1 bought / -1 sold) of an own fill on the market shown, else None."""
        fill = event.fill
        if self._feed is not None and fill.symbol != self._feed.instrument.symbol:
            return None
        return fill.ts_ns / 1e9, float(fill.price), 1 if fill.side is Side.BUY else -1

    # -- event hooks (publisher thread/callback: no Qt calls) -------------------------
    def _on_feed_event(self, event: Event) -> None:
        if isinstance(event, TradesEvent):
            self._on_trades(event.trades)
        elif isinstance(event, (BookStale, BookResynced)):
            self._dirty = True
        else:
            self._on_book_changed()

    def _on_connector_event(self, event: Event) -> None:
        if isinstance(event, OrderFilled):
            self._on_own_fill(event)
        elif isinstance(event, OrderUpdated):
            self._on_own_order(event)

    def _on_book_changed(self) -> None:
        self._dirty = True

    def _on_trades(self, trades) -> None:  # noqa: ANN001 - numpy TRADE_DTYPE batch
        """Default: trades do not concern the view."""

    def _on_own_order(self, event: OrderUpdated) -> None:
        """Default: own orders do not concern the view."""

    def _on_own_fill(self, event: OrderFilled) -> None:
        """Default: own fills do not concern the view."""

    def _on_source_changed(self) -> None:
        """Resets per-source state (buffers, ranges) after `set_source`."""

    def _leave_source(self, feed: "MarketFeed") -> None:
        """Called before another source is set: a view may keep what it drew for `feed`
        (ui/market/source_history.py) and restore it in `_on_source_changed`."""

    # -- refreshing -------------------------------------------------------------------
    def is_shown(self) -> bool:
        """Visible on screen: shown and its window not minimized."""
        return self.isVisible() and not self.window().isMinimized()

    def _on_timer(self) -> None:
        """What a scheduler slot does for this view: refresh if dirty and shown."""
        if self._dirty and self.is_shown():
            self.refresh()

    def refresh(self) -> bool:
        """Redraws from the current data if something changed; returns whether it did work."""
        if not self._dirty:
            return False
        self._dirty = False
        sched = self._scheduler
        self._last_refresh = sched.now() if sched is not None else time.monotonic()
        self._render()
        self.render_count += 1
        return True

    def _render(self) -> None:
        raise NotImplementedError

    def closeEvent(self, event) -> None:  # noqa: ANN001 - QCloseEvent
        self.detach()
        super().closeEvent(event)
