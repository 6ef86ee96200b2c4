"""Liquidity heatmap: resting size per price (rows) over time (columns) as one ImageItem.

Each refresh in which the book changed writes one column: the sizes in a band of ticks
around the mid, log-scaled, into a float32 ring. The ring is stored twice side by side
(each column is written at i and i + columns) so the chronological window is always one
contiguous slice: no np.roll copy per frame, and the ImageItem stays on its fast path
(C-contiguous float32, no NaN, fixed levels, a 256-entry uint8 lookup table). When the
mid drifts out of the middle half of the band the band is re-based and the history is
shifted so each row keeps meaning the same price.

The bot's own orders, when the view has a connector: its best own bid and ask per column
as dashed lines, and a marker in the column where an own buy or sell filled.

Rows are `ticks_per_row` ticks tall; by default that is chosen from the price (a 1-2-5
step) so the band spans about ±`band_bp` basis points around the mid: wide enough that
ordinary moves stay inside and re-bases are rare.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.domain import OrderFilled, Side
from ui.market._base import MarketViewBase
from ui.market.book_read import ASK, BID, fmt_price, levels_in
from ui.market.depth_chart import StaleOverlay, human_amount
from ui.market.source_history import SourceHistory

DYNAMIC_RANGE_DECADES = 3.5
"""Colour scale: sizes more than this many decades below the top are drawn black."""


def nice_ticks(target: float) -> int:
    """The 1-2-5 step (1, 2, 5, 10, 20...) nearest to `target` ticks in log scale; at least 1."""
    if target <= 1.0:
        return 1
    decade = 10 ** int(np.floor(np.log10(target)))
    steps = [m * decade for m in (1, 2, 5, 10)]
    return int(min(steps, key=lambda v: abs(np.log10(v) - np.log10(target))))


def make_lut(name: str = "inferno") -> np.ndarray:
    """256 x 3 uint8 table: the ImageItem fast path needs an integer LUT of <= 256 entries."""
    lut = pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)
    return np.ascontiguousarray(lut, dtype=np.uint8)


class LiquidityHeatmapView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, columns: int = 300, rows: int = 200,
                 ticks_per_row: int | None = None, band_bp: float = 20.0, refresh_hz: float = 20.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        if columns <= 0 or rows <= 0 or (ticks_per_row is not None and ticks_per_row <= 0) or band_bp <= 0:
            raise ValueError("columns, rows, ticks_per_row and band_bp must be positive")
        self.columns = columns
        self.rows = rows
        self.band_bp = band_bp
        self._fixed_tpr = ticks_per_row
        self.ticks_per_row = ticks_per_row or 1
        self.rebase_count = 0
        self._max_lots = 0
        self._buf = np.zeros((2 * columns, rows), np.float32)
        self._best = np.full((2, 2 * columns), np.nan)  # best bid / ask price per column
        self._own = np.full((2, 2 * columns), np.nan)  # the bot's best own bid / ask per column
        self._own_fills = np.full((2, 2 * columns), np.nan)  # price of an own buy / sell fill per column
        self._pending_fills: list[tuple[int, float]] = []  # (0 buy / 1 sell, price) since the last column
        self._xs = np.arange(columns, dtype=np.float64) + 0.5
        self._history = SourceHistory()  # other markets' heatmaps, back when one is shown again
        self._written = 0
        self._base = 0  # ticks of row 0's lower edge
        self._levels = (0.0, 1.0)
        self._pending_rect: QRectF | None = None

        self.info = QLabel("", self)
        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.getPlotItem().getViewBox().disableAutoRange()
        self.plot.getPlotItem().getAxis("bottom").setLabel("refreshes (newest right)")
        self.plot.getPlotItem().getAxis("left").setWidth(72)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setLookupTable(make_lut())
        self.bid_line = pg.PlotDataItem(pen=pg.mkPen((90, 230, 140), width=1), connect="finite")
        self.ask_line = pg.PlotDataItem(pen=pg.mkPen((250, 110, 100), width=1), connect="finite")
        dash = Qt.PenStyle.DashLine
        self.own_bid_line = pg.PlotDataItem(pen=pg.mkPen((120, 200, 255), width=2, style=dash), connect="finite")
        self.own_ask_line = pg.PlotDataItem(pen=pg.mkPen((255, 170, 230), width=2, style=dash), connect="finite")
        self.own_buy_fills = pg.ScatterPlotItem(symbol="t1", size=10, pen=pg.mkPen("w"), brush=pg.mkBrush(90, 230, 140))
        self.own_sell_fills = pg.ScatterPlotItem(symbol="t", size=10, pen=pg.mkPen("w"), brush=pg.mkBrush(250, 110, 100))
        for item in (self.image, self.bid_line, self.ask_line, self.own_bid_line, self.own_ask_line,
                     self.own_buy_fills, self.own_sell_fills):
            self.plot.addItem(item)
        self.plot.setXRange(0, columns, padding=0)
        self.stale_overlay = StaleOverlay(self.plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)

    # -- inspection -------------------------------------------------------------------
    @property
    def base_ticks(self) -> int:
        return self._base

    @property
    def levels(self) -> tuple[float, float]:
        return self._levels

    @property
    def columns_written(self) -> int:
        return self._written

    def frame(self) -> np.ndarray:
        """The displayed (columns x rows) window, oldest column first (a view, not a copy)."""
        start = self._written % self.columns
        return self._buf[start:start + self.columns]

    def best_lines(self) -> tuple[np.ndarray, np.ndarray]:
        start = self._written % self.columns
        return self._best[0, start:start + self.columns], self._best[1, start:start + self.columns]

    def own_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """The bot's best own bid and ask price per displayed column (NaN: none)."""
        start = self._written % self.columns
        return self._own[0, start:start + self.columns], self._own[1, start:start + self.columns]

    def own_fill_marks(self) -> tuple[np.ndarray, np.ndarray]:
        """The price of an own buy / sell fill in each displayed column (NaN: none)."""
        start = self._written % self.columns
        return self._own_fills[0, start:start + self.columns], self._own_fills[1, start:start + self.columns]

    # -- own orders (publisher callback: no Qt) ----------------------------------------
    def _on_own_order(self, event) -> None:  # noqa: ANN001 - OrderUpdated
        self._dirty = True

    def _on_own_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        self._pending_fills.append((0 if fill.side is Side.BUY else 1, float(fill.price)))
        self._dirty = True

    def _own_best(self) -> tuple[int, int]:
        """The bot's highest own bid and lowest own ask now, in ticks (0: none)."""
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

    # -- state ------------------------------------------------------------------------
    # A market's columns and scale, kept while another market is shown.
    _KEPT = ("_buf", "_best", "_own", "_own_fills", "_written", "_base", "_levels", "_max_lots", "ticks_per_row")

    def _leave_source(self, feed) -> None:  # noqa: ANN001 - MarketFeed
        self._history.stash(feed, {name: getattr(self, name) for name in self._KEPT})

    def _on_source_changed(self) -> None:
        self._pending_fills.clear()
        self.rebase_count = 0
        kept = self._history.take(self._feed) if self._feed is not None else None
        if kept is not None:
            for name, value in kept.items():
                setattr(self, name, value)
            if self._base:
                self._place_band()
            return
        # New arrays, not cleared ones: the market left keeps its own.
        self._buf = np.zeros_like(self._buf)
        self._best = np.full_like(self._best, np.nan)
        self._own = np.full_like(self._own, np.nan)
        self._own_fills = np.full_like(self._own_fills, np.nan)
        self._written = 0
        self._base = 0
        self._levels = (0.0, 1.0)
        self._max_lots = 0
        if self._fixed_tpr is None:
            self.ticks_per_row = 1  # chosen from the first mid

    def _choose_rows(self, mid_ticks: float) -> None:
        """Row height so the band covers about ±band_bp around the mid."""
        if self._fixed_tpr is None:
            self.ticks_per_row = nice_ticks(2.0 * mid_ticks * self.band_bp * 1e-4 / self.rows)

    def _rebase(self, mid_ticks: float) -> None:
        tpr, rows = self.ticks_per_row, self.rows
        new_base = (int(mid_ticks) // tpr - rows // 2) * tpr
        self.rebase_count += 1
        if self._base:
            shift = (new_base - self._base) // tpr  # rows moved up by `shift`
            if abs(shift) >= rows:
                self._buf[:] = 0.0
                self._best[:] = np.nan
                self._own[:] = np.nan
                self._own_fills[:] = np.nan
            elif shift > 0:
                self._buf[:, : rows - shift] = self._buf[:, shift:]
                self._buf[:, rows - shift:] = 0.0
            elif shift < 0:
                self._buf[:, -shift:] = self._buf[:, : rows + shift]
                self._buf[:, :-shift] = 0.0
        self._base = new_base
        self._place_band()

    def _place_band(self) -> None:
        """The image and the y range on the band starting at `_base`."""
        tpr, rows, base = self.ticks_per_row, self.rows, self._base
        tick = float(self._feed.instrument.tick_size) if self._feed else 1.0
        # Applied after the next setImage: ImageItem cannot map a rect before it has an image.
        self._pending_rect = QRectF(0.0, base * tick, float(self.columns), rows * tpr * tick)
        self.plot.setYRange(base * tick, (base + rows * tpr) * tick, padding=0)

    # -- drawing ----------------------------------------------------------------------
    def _render(self) -> None:
        feed = self._feed
        if feed is None:
            return
        book = feed.book
        tick = float(feed.instrument.tick_size)
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        mid = book.mid_ticks or float(bb or ba)
        self.stale_overlay.show_reason((book.stale_reason or "book not trusted") if book.is_stale else None)
        if not mid:
            self.info.setText("empty book")
            return
        if not self._base:
            self._choose_rows(mid)
        span = self.rows * self.ticks_per_row
        row_of_mid = (mid - self._base) / self.ticks_per_row
        if not self._base or not self.rows / 4 <= row_of_mid <= 3 * self.rows / 4:
            self._rebase(mid)
        lo, hi = self._base, self._base + span - 1
        column = np.zeros(self.rows, np.float64)
        for side in (BID, ASK):
            prices, qtys = levels_in(book, side, lo, hi)
            if len(prices):
                column += np.bincount((prices - lo) // self.ticks_per_row, weights=qtys, minlength=self.rows)
        col = np.log10(1.0 + column).astype(np.float32)
        top_lots = int(column.max())
        self._max_lots = max(self._max_lots, top_lots)
        if top_lots > (10 ** self._levels[1] - 1) or self._written == 0:
            # Fixed levels, raised only when exceeded (with headroom), so colours keep their meaning.
            top = max(float(np.log10(1.0 + 1.5 * top_lots)), 1.0)
            self._levels = (max(0.0, top - DYNAMIC_RANGE_DECADES), top)
        i = self._written % self.columns
        self._buf[i] = col
        self._buf[i + self.columns] = col
        for k, price in enumerate((bb, ba)):
            # No line where there is nothing to show: an empty side, or a price off the band.
            value = price * tick if price and lo <= price <= hi else np.nan
            self._best[k, i] = value
            self._best[k, i + self.columns] = value
        for k, price in enumerate(self._own_best()):
            value = price * tick if price and lo <= price <= hi else np.nan
            self._own[k, i] = self._own[k, i + self.columns] = value
        marks = [np.nan, np.nan]
        for k, price in self._pending_fills:  # the last buy and sell fill since the previous column
            marks[k] = price
        self._pending_fills.clear()
        self._own_fills[:, i] = self._own_fills[:, i + self.columns] = marks
        self._written += 1

        self.image.setImage(self.frame(), autoLevels=False, levels=self._levels)
        if self._pending_rect is not None:
            self.image.setRect(self._pending_rect)
            self._pending_rect = None
        bids, asks = self.best_lines()
        self.bid_line.setData(self._xs, bids)
        self.ask_line.setData(self._xs, asks)
        own_bids, own_asks = self.own_lines()
        self.own_bid_line.setData(self._xs, own_bids)
        self.own_ask_line.setData(self._xs, own_asks)
        for item, marks in zip((self.own_buy_fills, self.own_sell_fills), self.own_fill_marks()):
            at = np.isfinite(marks)
            item.setData(self._xs[at], marks[at])
        self.info.setText(self.caption())

    def caption(self) -> str:
        """E.g. "BTC/USDT  ±17 bp, rows of 1.00 USDT · max 21.98 BTC at a level"."""
        feed = self._feed
        if feed is None:
            return ""
        inst = feed.instrument
        half_bp = self.rows * self.ticks_per_row / 2.0 / max(self._base + self.rows * self.ticks_per_row / 2.0, 1.0) * 1e4
        amount = human_amount(float(inst.lots_to_amount(self._max_lots)))
        where = "at a level" if self.ticks_per_row == 1 else "in a row"
        return (f"{inst.symbol}  ±{half_bp:.3g} bp, rows of {fmt_price(inst, self.ticks_per_row)} {inst.quote}"
                f" · max {amount} {inst.base} {where}")
