"""Liquidity heatmap as Bookmap draws it: resting size per price over clock time.

The x axis is time (clock labels): each column is a fixed slice of the feed's clock
(`column_ms`, 100 ms by default), so a replay's heatmap reads in the recording's time and a
live one in wall time (ui/market/heatmap_columns.py keeps the history and fills the
columns the view did not redraw). Over the liquidity the view draws the best bid and ask,
public trades as bubbles whose area grows with the volume (summed per half second, price
and aggressor: ui/market/trade_bubbles.py, drawn by ui/market/bubble_layer.py), and, with a connector, the bot's best own bid and
ask as dashed lines and its fills as triangles.

Reading it:
- Contrast: how many decades of size the colours span; more contrast leaves only the
  largest resting sizes bright.
- Scrolling back: drag (or wheel-zoom) the time axis; the view stops following the
  market and a "Live" button brings it back. The history holds `history_s` seconds.

Drawing stays on fast paths: only the columns in view are coloured (one contiguous
slice of the history through a 256-colour table, fixed levels) and handed to the
ImageItem as RGBA, which Qt paints without converting it. Rows are `ticks_per_row` ticks tall, by default a 1-2-5
step chosen so the band spans about ±`band_bp` basis points around the mid; when the mid
drifts out of the middle half of the band the band is re-based and the history shifted
so each row keeps its price.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.domain import OrderFilled
from ui.market._base import MarketViewBase
from ui.market.book_read import ASK, BID, fmt_price, levels_in
from ui.market.depth_chart import StaleOverlay, human_amount
from ui.market.heatmap_columns import HeatmapColumns
from ui.market.source_history import SourceHistory
from ui.market.time_axis import ClockAxisItem
from ui.market.bubble_layer import BUY_COLOR, SELL_COLOR, BubbleLayer
from ui.market.trade_bubbles import TradeBubbles
from ui.market.plot_range import set_range_now, without_si_prefixes
from ui.steady_label import SteadyLabel

DEFAULT_DECADES = 3.5
"""Colour scale at the middle contrast: sizes this many decades below the top are black."""
MIN_DECADES, MAX_DECADES = 1.0, 6.0
RECORDING_GAP_S = 1.0
"""Wall time between two recordings beyond which the columns between are left blank."""
IDLE_REDRAW_S = 1.0
"""A shown view on an idle market redraws this often, so its time axis keeps moving."""
BUBBLE_COLUMNS = 5
"""Trades are summed into bubbles per this many columns (half a second by default)."""


def nice_ticks(target: float) -> int:
    """The 1-2-5 step (1, 2, 5, 10, 20...) nearest to `target` ticks in log scale; at least 1."""
    if target <= 1.0:
        return 1
    decade = 10 ** int(np.floor(np.log10(target)))
    steps = [m * decade for m in (1, 2, 5, 10)]
    return int(min(steps, key=lambda v: abs(np.log10(v) - np.log10(target))))


def make_lut(name: str = "inferno") -> np.ndarray:
    """256 x 4 uint8 RGBA colours of the size scale, opaque."""
    lut = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=True)
    return np.ascontiguousarray(lut, dtype=np.uint8)


def colorize(sizes: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """(columns x rows) log sizes -> (rows x columns x 4) RGBA, row-major and contiguous.

    Done here rather than by the ImageItem: given float data it builds an 8-bit indexed
    QImage, which the painter converts on every paint (3-4 ms for 600 x 200 scaled to a
    window); an RGBX image paints in a fifth of that. The colours are gathered as one
    uint32 per pixel in the history's layout and transposed once (0.5 ms for 600 x 200).
    """
    lo, hi = levels
    scaled = (sizes - np.float32(lo)) * np.float32(255.0 / max(hi - lo, 1e-9))
    np.clip(scaled, 0.0, 255.0, out=scaled)
    rgba32 = lut.view(np.uint32).ravel()[scaled.astype(np.uint8)]
    return np.ascontiguousarray(rgba32.T).view(np.uint8).reshape(sizes.shape[1], sizes.shape[0], 4)


def decades_for(contrast: int) -> float:
    """Contrast slider 0..100 -> decades of size spanned by the colours (50 -> the default)."""
    t = min(max(contrast, 0), 100) / 100.0
    if t <= 0.5:
        return MAX_DECADES + (DEFAULT_DECADES - MAX_DECADES) * t * 2.0
    return DEFAULT_DECADES + (MIN_DECADES - DEFAULT_DECADES) * (t - 0.5) * 2.0


class LiquidityHeatmapView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, column_ms: int = 100, visible_s: float = 60.0,
                 history_s: float = 600.0, rows: int = 200, ticks_per_row: int | None = None,
                 band_bp: float = 20.0, refresh_hz: float | None = None) -> None:
        # One redraw per column by default: a faster one would mostly redraw the same columns.
        super().__init__(parent, refresh_hz=refresh_hz or 1000.0 / max(column_ms, 1))
        if column_ms <= 0 or rows <= 0 or (ticks_per_row is not None and ticks_per_row <= 0) or band_bp <= 0:
            raise ValueError("column_ms, rows, ticks_per_row and band_bp must be positive")
        if not 0 < visible_s <= history_s:
            raise ValueError("visible_s must be positive and at most history_s")
        self.column_s = column_ms / 1000.0
        self.rows = rows
        self.band_bp = band_bp
        self._history_columns = max(int(round(history_s / self.column_s)), 10)
        self._fixed_tpr = ticks_per_row
        self._decades = DEFAULT_DECADES
        self._changed_ns: int | None = None  # when the book first changed since the last column
        self._shown = (0, 0)  # the columns drawn last
        self._fills_drawn: bytes | None = None  # which of the own fills are drawn (None: draw again)
        self._fills_array = np.zeros((0, 3))
        self._state_reset()
        self._visible_s = float(visible_s)
        self._history = SourceHistory(keep=4)  # other markets' heatmaps, back when one is shown again

        self.info = SteadyLabel("", self)
        self.contrast = QSlider(Qt.Orientation.Horizontal, self, objectName="heatmap_contrast")
        self.contrast.setRange(0, 100)
        self.contrast.setValue(50)
        self.contrast.setFixedWidth(110)
        self.contrast.setToolTip("Contrast: higher leaves only the largest resting sizes bright")
        self.contrast.valueChanged.connect(self.set_contrast)
        self.show_trades = QCheckBox("Trades", self, objectName="heatmap_trades")
        self.show_trades.setChecked(True)
        self.show_trades.setToolTip("Public trades as bubbles: area by volume, green bought, red sold")
        self.show_trades.toggled.connect(lambda on: self.bubbles.set_visible(on))
        self.live_button = QPushButton("Live ▶", self, objectName="heatmap_live")
        self.live_button.setToolTip("Follow the market again (drag or wheel the time axis to look back)")
        self.live_button.clicked.connect(lambda: self.set_follow(True))
        self.live_button.hide()
        bar = QHBoxLayout()
        bar.addWidget(self.info, 1)
        bar.addWidget(self.live_button)
        bar.addWidget(self.show_trades)
        bar.addWidget(QLabel("Contrast", self))
        bar.addWidget(self.contrast)

        self.plot = pg.PlotWidget(self, axisItems={"bottom": ClockAxisItem()})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        vb = self.plot.getPlotItem().getViewBox()
        vb.disableAutoRange()
        vb.setMouseEnabled(x=True, y=False)  # time scrolls and zooms; the price band is the view's
        vb.setLimits(minXRange=10 * self.column_s, maxXRange=self._history_columns * self.column_s)
        vb.sigRangeChangedManually.connect(self._user_moved_time)
        self.plot.getPlotItem().getAxis("left").setWidth(72)
        without_si_prefixes(self.plot)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.lut = make_lut()
        self.bid_line = pg.PlotDataItem(pen=pg.mkPen(BUY_COLOR, width=1), connect="finite")
        self.ask_line = pg.PlotDataItem(pen=pg.mkPen(SELL_COLOR, width=1), connect="finite")
        dash = Qt.PenStyle.DashLine
        self.own_bid_line = pg.PlotDataItem(pen=pg.mkPen((120, 200, 255), width=2, style=dash), connect="finite")
        self.own_ask_line = pg.PlotDataItem(pen=pg.mkPen((255, 170, 230), width=2, style=dash), connect="finite")
        self.own_buy_fills = pg.ScatterPlotItem(symbol="t1", size=12, pen=pg.mkPen("w"), brush=pg.mkBrush(*BUY_COLOR))
        self.own_sell_fills = pg.ScatterPlotItem(symbol="t", size=12, pen=pg.mkPen("w"), brush=pg.mkBrush(*SELL_COLOR))
        for item in (self.image, self.bid_line, self.ask_line):
            self.plot.addItem(item)
        self.bubbles = BubbleLayer(self.plot)
        for item in (self.own_bid_line, self.own_ask_line, self.own_buy_fills, self.own_sell_fills):
            self.plot.addItem(item)
        self.stale_overlay = StaleOverlay(self.plot)
        # Once a column: a hidden view keeps recording the book (not drawing it), and a shown
        # one on an idle market moves its time axis on once a second.
        self._column_timer = QTimer(self)
        self._column_timer.setInterval(max(int(column_ms), 1))
        self._column_timer.timeout.connect(self._on_column_timer)
        self._column_timer.start()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)

    def _state_reset(self) -> None:
        """Fresh per-market state (new objects: a market left keeps its own)."""
        self._cols = HeatmapColumns(self._history_columns, self.rows, int(round(self.column_s * 1e9)))
        self._bubbles = TradeBubbles(self._cols.column_ns * BUBBLE_COLUMNS)
        self._fills: deque[tuple[float, float, int]] = deque(maxlen=2_000)  # (time s, price, +1 buy / -1 sell)
        self._resets_seen = 0
        self._recorded_at = float("-inf")  # time.monotonic() of the last column written
        self._base = 0  # ticks of row 0's lower edge
        self._top = 1.0  # log10 of the largest size the colours reach
        self._max_lots = 0
        self._follow = True
        self.rebase_count = 0
        self.ticks_per_row = self._fixed_tpr or 1

    # -- inspection -------------------------------------------------------------------
    @property
    def base_ticks(self) -> int:
        return self._base

    @property
    def levels(self) -> tuple[float, float]:
        return max(0.0, self._top - self._decades), self._top

    @property
    def columns(self) -> HeatmapColumns:
        return self._cols

    @property
    def following(self) -> bool:
        """Whether the time axis follows the newest column (False: the user scrolled back)."""
        return self._follow

    def shown_columns(self) -> tuple[int, int]:
        """The absolute columns [c0, c1) drawn last."""
        return self._shown

    def frame(self) -> np.ndarray:
        """The drawn (columns x rows) window, oldest column first (a view, not a copy)."""
        return self._cols.window(*self._shown)[0]

    def best_lines(self) -> tuple[np.ndarray, np.ndarray]:
        best = self._cols.window(*self._shown)[1]
        return best[0], best[1]

    def own_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """The bot's best own bid and ask price per drawn column (NaN: none)."""
        own = self._cols.window(*self._shown)[2]
        return own[0], own[1]

    def own_fill_marks(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(x, price) of the drawn own buy and own sell fill markers."""
        return self.own_buy_fills.getData(), self.own_sell_fills.getData()

    # -- controls ---------------------------------------------------------------------
    def set_contrast(self, value: int) -> None:
        """0..100: how few decades of size the colours span (50: DEFAULT_DECADES)."""
        if self.contrast.value() != value:
            self.contrast.setValue(value)  # re-enters through the signal
            return
        self._decades = decades_for(value)
        self.mark_dirty()

    def set_follow(self, follow: bool) -> None:
        """Follows the newest column (True) or stays where the user scrolled (False)."""
        self._follow = bool(follow)
        self.live_button.setVisible(not self._follow)
        self.mark_dirty()

    def _user_moved_time(self, *_args) -> None:  # noqa: ANN002 - pyqtgraph's signal arguments
        """A drag or wheel on the time axis: a pan back leaves live, a zoom changes the span."""
        (x0, x1), _ = self.plot.getPlotItem().getViewBox().viewRange()
        width = x1 - x0
        zoomed = abs(width - self._visible_s) > 0.01 * self._visible_s
        if zoomed:
            self._visible_s = width
        newest = self._cols.span()[1] * self.column_s
        if not (zoomed and self._follow):
            self.set_follow(x1 >= newest - 2 * self.column_s)
        self.mark_dirty()

    def _on_column_timer(self) -> None:
        if self._feed is None:
            return
        if self.is_shown():
            if self._follow and not self._dirty and time.monotonic() - self._recorded_at >= IDLE_REDRAW_S:
                self.mark_dirty()
        elif self._changed_ns is not None:
            self._record_now()

    # -- events (publisher callback: no Qt) --------------------------------------------
    def _on_book_changed(self) -> None:
        if self._changed_ns is None and self._feed is not None:
            self._changed_ns = self._feed.clock.now_ns()
        self._dirty = True

    def _on_trades(self, trades: np.ndarray) -> None:
        self._bubbles.trades.append(trades)
        self._dirty = True

    def _on_own_order(self, event) -> None:  # noqa: ANN001 - OrderUpdated
        self._dirty = True

    def _on_own_fill(self, event: OrderFilled) -> None:
        mark = self.fill_mark(event)
        if mark is not None:
            self._fills.append(mark)
            self._fills_drawn = None
            self._dirty = True

    # -- per-market state ---------------------------------------------------------------
    _KEPT = ("_cols", "_bubbles", "_fills", "_resets_seen", "_recorded_at", "_base", "_top", "_max_lots", "_follow",
             "ticks_per_row", "rebase_count")

    def _leave_source(self, feed) -> None:  # noqa: ANN001 - MarketFeed
        self._history.stash(feed, {name: getattr(self, name) for name in self._KEPT})

    def _on_source_changed(self) -> None:
        self._changed_ns = None
        self._shown = (0, 0)
        self._fills_drawn = None
        self.bubbles.forget()
        kept = self._history.take(self._feed) if self._feed is not None else None
        if kept is None:
            self._state_reset()
        else:
            for name, value in kept.items():
                setattr(self, name, value)
            if self._base:
                self._place_band()
        self.live_button.setVisible(not self._follow)

    def _choose_rows(self, mid_ticks: float) -> None:
        """Row height so the band covers about ±band_bp around the mid."""
        if self._fixed_tpr is None:
            self.ticks_per_row = nice_ticks(2.0 * mid_ticks * self.band_bp * 1e-4 / self.rows)

    def _rebase(self, mid_ticks: float) -> None:
        tpr, rows = self.ticks_per_row, self.rows
        new_base = (int(mid_ticks) // tpr - rows // 2) * tpr
        self.rebase_count += 1
        if self._base:
            self._cols.shift_rows((new_base - self._base) // tpr)
        self._base = new_base
        self._place_band()

    def _place_band(self) -> None:
        """The y range on the band starting at `_base` (the image follows at the next draw)."""
        tick = self._tick()
        set_range_now(self.plot, y=(self._base * tick, (self._base + self.rows * self.ticks_per_row) * tick))

    def _tick(self) -> float:
        return float(self._feed.instrument.tick_size) if self._feed is not None else 1.0

    # -- drawing ----------------------------------------------------------------------
    def _render(self) -> None:
        feed = self._feed
        if feed is None:
            return
        book = feed.book
        self.stale_overlay.show_reason((book.stale_reason or "book not trusted") if book.is_stale else None)
        if not self._record_now():
            self.info.setText("empty book")
            return
        self._draw()
        self.info.setText(self.caption())

    def _record_now(self) -> bool:
        """Records the book now, if it has a price; returns whether it did."""
        book = self._feed.book
        mid = book.mid_ticks or float(book.best_bid_ticks or book.best_ask_ticks)
        if not mid:
            return False
        self._record(book, mid, self._feed.clock.now_ns())
        return True

    def _record(self, book, mid: float, now_ns: int) -> None:  # noqa: ANN001 - OrderBook
        """Writes the book's state now into the current column (and what is known of the gap)."""
        if not self._base:
            self._choose_rows(mid)
        row_of_mid = (mid - self._base) / self.ticks_per_row
        if not self._base or not self.rows / 4 <= row_of_mid <= 3 * self.rows / 4:
            self._rebase(mid)
        tick = self._tick()
        lo, hi = self._base, self._base + self.rows * self.ticks_per_row - 1
        sizes = np.zeros(self.rows, np.float64)
        for side in (BID, ASK):
            prices, qtys = levels_in(book, side, lo, hi)
            if len(prices):
                sizes += np.bincount((prices - lo) // self.ticks_per_row, weights=qtys, minlength=self.rows)
        top_lots = int(sizes.max())
        self._max_lots = max(self._max_lots, top_lots)
        if top_lots > 10 ** self._top - 1 or self._cols.last is None:
            # The top is raised only when exceeded (with headroom), so colours keep their meaning.
            self._top = max(float(np.log10(1.0 + 1.5 * top_lots)), 1.0)

        def on_band(price: int) -> float:  # no line off the band or on an empty side
            return price * tick if price and lo <= price <= hi else np.nan

        best = (on_band(book.best_bid_ticks), on_band(book.best_ask_ticks))
        own = tuple(on_band(p) for p in self.own_best_ticks())
        changed, self._changed_ns = self._changed_ns, None
        wall = time.monotonic()
        recording = wall - self._recorded_at <= RECORDING_GAP_S  # else the loop stalled: leave the gap blank
        self._recorded_at = wall
        self._cols.write(now_ns, np.log10(1.0 + sizes).astype(np.float32), best, own, changed, recording)
        if self._cols.resets != self._resets_seen:  # time went back (a replay's seek): a new history
            self._resets_seen = self._cols.resets
            self._bubbles.clear()
            self._fills.clear()
            self._fills_drawn = None
        self._bubbles.update(now_ns)

    def _draw(self) -> None:
        cs, cols = self.column_s, self._cols
        vb = self.plot.getPlotItem().getViewBox()
        newest = cols.span()[1]
        if self._follow:
            c1 = newest
            c0 = c1 - max(int(round(self._visible_s / cs)), 1)
            set_range_now(vb, x=(c0 * cs, c1 * cs))
        else:
            (x0, x1), _ = vb.viewRange()
            c0, c1 = int(np.floor(x0 / cs)), int(np.ceil(x1 / cs))
        c0, c1 = cols.clamp(c0, c1)
        self._shown = (c0, c1)
        sizes, best, own = cols.window(c0, c1)
        tick = self._tick()
        if c1 > c0:
            self.image.setImage(colorize(sizes, self.levels, self.lut), autoLevels=False)
            self.image.setRect(QRectF(c0 * cs, self._base * tick, (c1 - c0) * cs, self.rows * self.ticks_per_row * tick))
            self.image.show()
        else:
            self.image.hide()
        xs = (np.arange(c0, c1, dtype=np.float64) + 0.5) * cs
        self.bid_line.setData(xs, best[0])
        self.ask_line.setData(xs, best[1])
        self.own_bid_line.setData(xs, own[0])
        self.own_ask_line.setData(xs, own[1])
        if self.show_trades.isChecked():
            self.bubbles.draw(self._bubbles, c0 * cols.column_ns, c1 * cols.column_ns, tick,
                              span_ns=int(round(self._visible_s * 1e9)))
        self._draw_fills(c0 * cs, c1 * cs)

    def _draw_fills(self, x0: float, x1: float) -> None:
        """The own fills in [x0, x1), handed to the items only when that set changed (a fill
        arrived or one scrolled out), not at every column."""
        if self._fills_drawn is None:
            self._fills_array = np.array(self._fills, np.float64).reshape(-1, 3)
        fills = self._fills_array
        inside = (fills[:, 0] >= x0) & (fills[:, 0] < x1)
        key = inside.tobytes()
        if key == self._fills_drawn:
            return
        self._fills_drawn = key
        fills = fills[inside]
        buys = fills[:, 2] > 0
        self.own_buy_fills.setData(fills[buys, 0], fills[buys, 1])
        self.own_sell_fills.setData(fills[~buys, 0], fills[~buys, 1])

    def caption(self) -> str:
        """E.g. "BTC/USDT  ±17 bp, rows of 1.00 USDT · max 21.98 BTC in a row"."""
        feed = self._feed
        if feed is None:
            return ""
        inst = feed.instrument
        half_bp = self.rows * self.ticks_per_row / 2.0 / max(self._base + self.rows * self.ticks_per_row / 2.0, 1.0) * 1e4
        amount = human_amount(float(inst.lots_to_amount(self._max_lots)))
        where = "at a level" if self.ticks_per_row == 1 else "in a row"
        return (f"{inst.symbol}  ±{half_bp:.3g} bp, rows of {fmt_price(inst, self.ticks_per_row)} {inst.quote}"
                f" · max {amount} {inst.base} {where}")
