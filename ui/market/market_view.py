"""The market area of the main window: a header (symbol, mid, spread, stale badge) and the
five market views.

Each view is an independent widget with its own listeners and timer, so the main window
may instead put them in separate docks; this container only forwards `set_source` and
`detach`, and its header is itself a throttled view (it never redraws per event).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ui.market._base import MarketViewBase
from ui.market.book_read import fmt_price, mid_text
from ui.market.candles import CandlesView
from ui.market.depth_chart import DepthChartView
from ui.market.dom_ladder import DomLadderView
from ui.market.heatmap import LiquidityHeatmapView
from ui.market.trades_tape import TradesTapeView
from ui.steady_label import SteadyLabel

if TYPE_CHECKING:
    from app.interfaces.venue import Connector, MarketFeed

_BADGE_OK = "QLabel { background: rgb(38, 120, 70); color: white; padding: 2px 8px; border-radius: 3px; }"
_BADGE_STALE = "QLabel { background: rgb(170, 30, 30); color: white; padding: 2px 8px; border-radius: 3px; font-weight: bold; }"


class MarketHeader(MarketViewBase):
    """Symbol and feed name, mid, spread and a LIVE/STALE badge."""

    def __init__(self, parent: QWidget | None = None, *, refresh_hz: float = 10.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        self.symbol = QLabel("—", self)
        self.symbol.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.mid = SteadyLabel("", self)
        self.spread = SteadyLabel("", self)
        self.badge = QLabel("", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for w in (self.symbol, self.mid, self.spread):
            layout.addWidget(w)
        layout.addStretch(1)
        layout.addWidget(self.badge)
        self.badge.hide()
        self.valid_text = "LIVE"  # what the badge says while the book is valid ("REPLAY" in a replay)

    def _on_trades(self, trades) -> None:  # noqa: ANN001
        """Trades do not change the header."""

    def _render(self) -> None:
        feed = self._feed
        if feed is None:
            self.symbol.setText("no market")
            self.mid.setText("")
            self.spread.setText("")
            self.badge.hide()
            return
        inst, book = feed.instrument, feed.book
        self.symbol.setText(f"{inst.symbol} · {feed.name}")
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        mid = mid_text(inst, bb, ba)
        self.mid.setText(f"mid {mid}" if mid else "mid —")
        self.spread.setText(f"spread {fmt_price(inst, book.spread_ticks)}" if mid else "spread —")
        if book.is_stale:
            self.badge.setText(f"STALE: {book.stale_reason}" if book.stale_reason else "STALE")
        else:
            self.badge.setText(self.valid_text)
        style = _BADGE_STALE if book.is_stale else _BADGE_OK
        if self.badge.styleSheet() != style:  # Qt re-polishes on every call: 0.2 ms, 8 times a second
            self.badge.setStyleSheet(style)
        self.badge.show()


class MarketView(QWidget):
    """Header plus ladder | (candles, depth, heatmap tabs) | tape."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = MarketHeader(self)
        self.ladder = DomLadderView(self)
        self.candles = CandlesView(self)
        self.depth = DepthChartView(self)
        self.heatmap = LiquidityHeatmapView(self)
        self.tape = TradesTapeView(self)
        # Tabs: hidden charts are not visible, so their timers skip all drawing work.
        self.charts = QTabWidget(self)
        self.charts.addTab(self.candles, "Candles")
        self.charts.addTab(self.depth, "Depth")
        self.charts.addTab(self.heatmap, "Heatmap")
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.ladder)
        split.addWidget(self.charts)
        split.addWidget(self.tape)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        split.setStretchFactor(2, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)

    def views(self) -> list[MarketViewBase]:
        return [self.header, self.ladder, self.candles, self.depth, self.heatmap, self.tape]

    def set_source(self, feed: "MarketFeed | None", connector: "Connector | None" = None) -> None:
        for view in self.views():
            view.set_source(feed, connector)

    def refresh(self) -> bool:
        """Refreshes every hosted view that has changes; returns whether any did work."""
        did = [view.refresh() for view in self.views()]
        return any(did)

    def detach(self) -> None:
        for view in self.views():
            view.detach()

    def set_reference_lines(self, lines: dict[str, float | None]) -> None:
        """Forwards a strategy's fair value / reservation price lines to the candle chart."""
        self.candles.set_reference_lines(lines)

    def closeEvent(self, event) -> None:  # noqa: ANN001 - QCloseEvent
        self.detach()
        super().closeEvent(event)
