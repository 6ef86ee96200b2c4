"""Candlestick chart built from public trades, with own fills, own quotes and reference lines.

Trades go into a ring from the listener; each refresh folds the new ones into the
`CandleBuilder`, merges them with the feed's candle history (asked for when the source or
the interval changes, ui/market/candle_history.py) and hands the arrays to one
`CandlesItem`. Axes use explicit ranges instead of auto-range: the x range fits the
candles until there are `visible_candles` of them, then scrolls with the last
`visible_candles` intervals. Overlays are existing items updated in place: two scatter
items for own fills, two lines for the best own bid/ask, and one line per reference name
that a strategy sets via `set_reference_lines`.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.data import candles as candle_data
from app.domain import OrderFilled, OrderUpdated
from ui.market._base import MarketViewBase
from ui.market.candle_builder import INTERVALS_NS, CandleBuilder
from ui.market.candle_crosshair import CandleCrosshair
from ui.market.candle_history import CandleSeries, HistoryLoader, merge, short
from ui.market.candles_item import DOWN_COLOR, UP_COLOR, CandlesItem
from ui.market.grid_item import GridItem
from ui.market.source_history import SourceHistory
from ui.market.time_axis import ClockAxisItem
from ui.market.trade_ring import TradeRing
from ui.market.volume_pane import VolumePane
from ui.market.plot_range import set_range_now, without_si_prefixes
from ui.steady_label import SteadyLabel

REF_COLORS = [(230, 180, 40), (160, 110, 230), (60, 190, 210), (230, 120, 60)]


class CandlesView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, interval: str = "1s",
                 visible_candles: int = 120, max_fills: int = 1_000, refresh_hz: float = 20.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        if interval not in INTERVALS_NS:
            raise ValueError(f"interval must be one of {list(INTERVALS_NS)}")
        self.visible_candles = visible_candles
        self.builder = CandleBuilder(INTERVALS_NS[interval])
        self._ring_capacity = 200_000
        self._ring = TradeRing(self._ring_capacity)  # history kept to rebuild when the interval changes
        self._history = SourceHistory()  # other markets' candles, back when one is shown again
        self._seq = 0
        self._drawn_version = -1
        self._fills: deque[tuple[float, float, int]] = deque(maxlen=max_fills)
        self._fills_dirty = False
        self._orders_dirty = True
        self._refs: dict[str, float | None] = {}
        self._refs_dirty = False
        self._ref_lines: dict[str, pg.InfiniteLine] = {}
        # The feed's candles before the live ones (same interval as the builder), its note
        # for the info label, and what was last drawn from both.
        self._past = candle_data.empty()
        self._past_note = ""
        self._past_version = 0
        self._drawn_past = -1
        self._loader = HistoryLoader(self._history_arrived)
        self.series: CandleSeries = merge(self._past, self.builder)

        self.interval_box = QComboBox(self)
        self.interval_box.addItems(list(INTERVALS_NS))
        self.interval_box.setCurrentText(interval)
        self.interval_box.currentTextChanged.connect(self.set_interval)
        self.info = SteadyLabel("", self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Interval", self))
        bar.addWidget(self.interval_box)
        bar.addStretch(1)
        bar.addWidget(self.info)

        self.plot = pg.PlotWidget(self, axisItems={"bottom": ClockAxisItem()})  # clock times on short spans too
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.grid = GridItem(self.plot.getPlotItem(), alpha=0.15)  # not showGrid: see grid_item
        self.plot.getPlotItem().getViewBox().disableAutoRange()
        self.plot.getPlotItem().getAxis("left").setWidth(72)  # room for full prices from frame one
        without_si_prefixes(self.plot)
        self.candles = CandlesItem()
        self.buy_fills = pg.ScatterPlotItem(symbol="t1", size=11, pen=pg.mkPen(None),
                                            brush=pg.mkBrush(*UP_COLOR))
        self.sell_fills = pg.ScatterPlotItem(symbol="t", size=11, pen=pg.mkPen(None),
                                             brush=pg.mkBrush(*DOWN_COLOR))
        self.own_bid_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(UP_COLOR, width=1, style=Qt.PenStyle.DashLine),
                                            label="my bid", labelOpts={"position": 0.05, "color": UP_COLOR})
        self.own_ask_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(DOWN_COLOR, width=1, style=Qt.PenStyle.DashLine),
                                            label="my ask", labelOpts={"position": 0.05, "color": DOWN_COLOR})
        for item in (self.candles, self.buy_fills, self.sell_fills, self.own_bid_line, self.own_ask_line):
            self.plot.addItem(item)
        self.own_bid_line.hide()
        self.own_ask_line.hide()

        # A crosshair with the hovered candle's OHLCV, and a volume pane under the candles.
        self.readout = QLabel("", self, objectName="candles_readout")
        self.crosshair = CandleCrosshair(self.plot, lambda: self.series,
                                         lambda: self._feed.instrument if self._feed is not None else None,
                                         self.readout)
        self.volume = VolumePane(self, candles=self.plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.readout)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.volume)

    # -- public API -------------------------------------------------------------------
    def set_interval(self, name: str) -> None:
        """Switches to 1s/5s/1m/5m and rebuilds the candles from the kept trade history."""
        if name not in INTERVALS_NS:
            raise ValueError(f"interval must be one of {list(INTERVALS_NS)}")
        if self.interval_box.currentText() != name:
            self.interval_box.setCurrentText(name)  # re-enters through the signal
            return
        self.builder.rebuild(INTERVALS_NS[name], self._ring.since(0))
        self._seq = self._ring.total
        self._load_history()
        self.mark_dirty()

    @property
    def history_note(self) -> str:
        """What the info label says of the candle history (loading, how many, or why none)."""
        return self._past_note

    def _load_history(self) -> None:
        """Asks the feed for the candles of the current interval before now (a task on the
        asyncio loop); the live candles are drawn alone until they arrive."""
        self._past = candle_data.empty()
        self._past_version += 1
        self._past_note = ""
        if self._feed is not None and self._loader.request(self._feed, self.builder.interval_ns):
            self._past_note = "loading history…"
        self._dirty = True

    def _history_arrived(self, found: np.ndarray, note: str) -> None:
        self._past = found
        self._past_note = note
        self._past_version += 1
        self._dirty = True

    def set_reference_lines(self, lines: dict[str, float | None]) -> None:
        """Sets named horizontal price lines (fair value, reservation price...); None hides one.

        Names not mentioned keep their value. Applied at the next refresh, so a strategy may
        call this on every tick without causing extra redraws.
        """
        self._refs.update(lines)
        self._refs_dirty = True
        self._dirty = True

    def reference_lines(self) -> dict[str, float]:
        """The lines currently drawn, name -> price."""
        return {n: line.value() for n, line in self._ref_lines.items() if line.isVisible()}

    def fills_data(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(buy x, y), (sell x, y) of the drawn own-fill markers."""
        return self.buy_fills.getData(), self.sell_fills.getData()

    def detach(self) -> None:
        """Also drops a history request under way: its answer would be for a market gone."""
        self._loader.cancel()
        super().detach()

    # -- events -----------------------------------------------------------------------
    _KEPT = ("_ring", "_seq", "builder", "_fills")  # a market's candles, kept while another is shown
    # History is asked for again on every return: it fills the time spent on other markets.

    def _leave_source(self, feed) -> None:  # noqa: ANN001 - MarketFeed
        self._history.stash(feed, {name: getattr(self, name) for name in self._KEPT})

    def _on_source_changed(self) -> None:
        kept = self._history.take(self._feed) if self._feed is not None else None
        if kept is not None:
            for name, value in kept.items():
                setattr(self, name, value)
            interval = INTERVALS_NS[self.interval_box.currentText()]
            if self.builder.interval_ns != interval:  # the interval changed while away
                self.builder.rebuild(interval, self._ring.since(0))
                self._seq = self._ring.total
        else:  # new objects: the ones of the market left are kept as they are
            self._ring = TradeRing(self._ring_capacity)
            self._seq = 0
            self.builder = CandleBuilder(self.builder.interval_ns)
            self._fills = deque(maxlen=self._fills.maxlen)
        self._drawn_version = -1
        self._fills_dirty = True
        self._orders_dirty = True
        self._load_history()

    def _on_book_changed(self) -> None:
        """Candles come from trades; book updates alone change nothing here."""

    def _on_trades(self, trades: np.ndarray) -> None:
        self._ring.append(trades)
        self._dirty = True

    def _on_own_order(self, event: OrderUpdated) -> None:
        self._orders_dirty = True
        self._dirty = True

    def _on_own_fill(self, event: OrderFilled) -> None:
        mark = self.fill_mark(event)
        if mark is None:
            return
        self._fills.append(mark)
        self._fills_dirty = True
        self._orders_dirty = True
        self._dirty = True

    # -- drawing ----------------------------------------------------------------------
    def _render(self) -> None:
        feed = self._feed
        if self._ring.total > self._seq:
            self.builder.add(self._ring.since(self._seq))
            self._seq = self._ring.total
        tick = float(feed.instrument.tick_size) if feed is not None else 1.0
        if self.builder.version != self._drawn_version or self._past_version != self._drawn_past:
            self._draw_candles(tick)
        if self._fills_dirty:
            self._draw_fills()
        if self._orders_dirty:
            self._draw_own_quotes(tick)
        if self._refs_dirty:
            self._draw_refs()

    def _draw_candles(self, tick: float) -> None:
        b = self.series = merge(self._past, self.builder)
        self._drawn_version = self.builder.version
        self._drawn_past = self._past_version
        n = len(b)
        note = short(self._past_note)
        if not n:
            self.candles.set_candles(np.empty(0), np.empty((0, 4)), 1.0)
            self.volume.set_volumes(np.empty(0), np.empty(0), np.empty(0), 1.0, 0.0)
            self.info.setText(f"no trades yet  ·  {note}" if note else "no trades yet")
            self.info.setToolTip(self._past_note)
            return
        width = b.interval_ns / 1e9
        x = b.start_ns / 1e9
        ohlc = np.empty((n, 4), np.float64)
        ohlc[:, 0], ohlc[:, 1], ohlc[:, 2], ohlc[:, 3] = b.open, b.high, b.low, b.close
        ohlc *= tick
        x0, x1 = self.x_window(x, width)
        i0 = int(np.searchsorted(x, x0))
        # The window always shows the newest candles: only those (and one before) are handed
        # to the items, so a redraw costs the same after an hour of 1 s candles as after a minute.
        s = max(i0 - 1, 0)
        self.candles.set_candles(x[s:], ohlc[s:], width)
        lo, hi = float(ohlc[i0:, 2].min()), float(ohlc[i0:, 1].max())
        pad = max((hi - lo) * 0.08, tick * 2)
        set_range_now(self.plot, x=(x0, x1), y=(lo - pad, hi + pad))
        lot = float(self._feed.instrument.lot_size) if self._feed is not None else 1.0
        bought = np.where(b.buy_volume[s:] >= 0, b.buy_volume[s:] * lot, -1.0)  # -1: the venue did not say
        self.volume.set_volumes(x[s:], b.volume[s:] * lot, bought, width, x0)
        if self._feed is not None:
            inst = self._feed.instrument
            last = (f"last {inst.ticks_to_price(int(b.close[-1]))}  "
                    f"vol {inst.lots_to_amount(int(b.volume[-1]))}")
            self.info.setText(f"{note}  ·  {last}" if note else last)
            self.info.setToolTip(self._past_note)

    def x_window(self, x: np.ndarray, width: float) -> tuple[float, float]:
        """The x range for candles starting at `x`: fit to the data while there are fewer than
        `visible_candles` intervals of it, else the newest `visible_candles` (plus margins)."""
        x1 = float(x[-1]) + 2 * width
        x0 = x1 - (self.visible_candles + 2) * width
        return max(x0, float(x[0]) - width), x1

    def _draw_fills(self) -> None:
        self._fills_dirty = False
        if not self._fills:
            self.buy_fills.setData([], [])
            self.sell_fills.setData([], [])
            return
        arr = np.array(self._fills, dtype=np.float64)
        buys = arr[:, 2] > 0
        self.buy_fills.setData(arr[buys, 0], arr[buys, 1])
        self.sell_fills.setData(arr[~buys, 0], arr[~buys, 1])

    def _draw_own_quotes(self, tick: float) -> None:
        self._orders_dirty = False
        bid, ask = self.own_best_ticks()
        for line, ticks in ((self.own_bid_line, bid), (self.own_ask_line, ask)):
            if ticks:
                line.setValue(ticks * tick)
                line.show()
            else:
                line.hide()

    def _draw_refs(self) -> None:
        self._refs_dirty = False
        for name, price in self._refs.items():
            line = self._ref_lines.get(name)
            if price is None:
                if line is not None:
                    line.hide()
                continue
            if line is None:  # once per name, not per update
                color = REF_COLORS[len(self._ref_lines) % len(REF_COLORS)]
                line = pg.InfiniteLine(angle=0, pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DotLine),
                                       label=name, labelOpts={"position": 0.9, "color": color})
                self.plot.addItem(line)
                self._ref_lines[name] = line
            line.setValue(float(price))
            line.show()
