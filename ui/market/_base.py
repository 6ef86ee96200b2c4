"""Shared plumbing of the market views: source wiring, dirty flag and a throttled timer.

Market events can arrive thousands of times a second; repainting on each one would eat
the GUI thread. A view's listeners therefore only note that something changed (and, for
trades, append to a numpy ring). A QTimer, capped at 30 Hz, calls `refresh()` which does
the actual work, and only when the widget is visible and something is dirty.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import itertools

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QWidget

from app.domain import BookResynced, BookStale, Event, OrderFilled, OrderUpdated, TradesEvent

if TYPE_CHECKING:
    from connectors.base import Connector, MarketFeed

MAX_REFRESH_HZ = 30.0
DEFAULT_REFRESH_HZ = 20.0


_PHASE_SLOTS = 5
_next_phase = itertools.count()


class MarketViewBase(QWidget):
    """A QWidget bound to one MarketFeed (and optionally its Connector).

    Subclasses implement `_render()` (the real drawing work) and may override the
    `_on_*` hooks, which run inside the publisher's callback and must stay cheap and
    free of Qt calls.
    """

    def __init__(self, parent: QWidget | None = None, *, refresh_hz: float = DEFAULT_REFRESH_HZ) -> None:
        super().__init__(parent)
        self._feed: MarketFeed | None = None
        self._connector: Connector | None = None
        self._dirty = False
        self.render_count = 0
        """How many times `_render` ran: lets tests and benches see that idle refreshes are free."""
        self._timer = QTimer(self)
        # Precise timers keep their phase, so views started at staggered offsets keep
        # redrawing in different loop iterations instead of all in the same one.
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer)
        self._phase_slot = next(_next_phase) % _PHASE_SLOTS
        self.set_refresh_hz(refresh_hz)

    # -- configuration ----------------------------------------------------------------
    def set_refresh_hz(self, hz: float) -> None:
        """Sets the redraw rate, clamped to (0, 30] Hz so a view can never flood the GUI thread."""
        hz = min(max(float(hz), 0.1), MAX_REFRESH_HZ)
        self._timer.setInterval(max(1, round(1000.0 / hz)))

    @property
    def refresh_interval_ms(self) -> int:
        return self._timer.interval()

    @property
    def feed(self) -> "MarketFeed | None":
        return self._feed

    @property
    def connector(self) -> "Connector | None":
        return self._connector

    # -- wiring -----------------------------------------------------------------------
    def set_source(self, feed: "MarketFeed | None", connector: "Connector | None" = None) -> None:
        """Binds the view to a feed (None clears it). Replaces any previous source."""
        self.detach()
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
        self._start_staggered()

    def _start_staggered(self) -> None:
        """Starts the timer after this view's share of one interval: five views at 20 Hz
        then each redraw 10 ms apart, so one loop iteration carries one view's work."""
        delay = self._timer.interval() * self._phase_slot // _PHASE_SLOTS
        feed = self._feed

        def start() -> None:
            if self._feed is feed and feed is not None and not self._timer.isActive():
                self._timer.start()

        QTimer.singleShot(delay, self, start)

    def detach(self) -> None:
        """Removes every listener this view registered and stops its timer."""
        self._timer.stop()
        if self._feed is not None:
            self._feed.remove_listener(self._on_feed_event)
        if self._connector is not None:
            self._connector.remove_listener(self._on_connector_event)
        self._feed = None
        self._connector = None

    def mark_dirty(self) -> None:
        """Asks for a redraw at the next timer tick (e.g. after a setting changed)."""
        self._dirty = True

    @property
    def is_dirty(self) -> bool:
        return self._dirty

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

    # -- refreshing -------------------------------------------------------------------
    def is_shown(self) -> bool:
        """Visible on screen: shown and its window not minimized."""
        return self.isVisible() and not self.window().isMinimized()

    def _on_timer(self) -> None:
        if self._dirty and self.is_shown():
            self.refresh()

    def refresh(self) -> bool:
        """Redraws from the current data if something changed; returns whether it did work."""
        if not self._dirty:
            return False
        self._dirty = False
        self._render()
        self.render_count += 1
        return True

    def _render(self) -> None:
        raise NotImplementedError

    def closeEvent(self, event) -> None:  # noqa: ANN001 - QCloseEvent
        self.detach()
        super().closeEvent(event)
