"""Cumulative depth chart: how much base volume sits within a price distance of the mid.

Two stepped, lightly filled curves (bids, asks) are updated in place with `setData`; the
x range is set explicitly to a window around the mid (auto-range would make every frame
several times slower) and the y range only moves when the depth changes a lot, so the
chart does not breathe with every update.

The bot's own resting orders are squares on their side's curve, at their price and the
depth resting up to it.

The window's half-width comes from the book: the distance from the mid within which
`DEPTH_SHARE` of each side's volume (inside the widest window, `window_pct`) rests, with
some margin, rounded to a round step. It changes only when that distance leaves
[HYSTERESIS_LOW, 1] of the current half-width, so it does not jump every frame; and the
window re-centres only when the mid has moved RECENTRE of the half-width off its centre.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.domain import OrderFilled, OrderUpdated, Side
from ui.market._base import MarketViewBase
from ui.market.book_read import ASK, BID, fmt_price, levels_in, mid_text
from ui.market.grid_item import GridItem
from ui.market.plot_range import set_range_now, without_si_prefixes
from ui.steady_label import SteadyLabel

BID_COLOR = (38, 166, 91)
ASK_COLOR = (214, 69, 65)
DEPTH_SHARE = 0.9
"""Share of each side's volume (within the widest window) the chart shows."""
MARGIN = 1.25
HYSTERESIS_LOW = 0.5
MIN_HALF_TICKS = 10
RECENTRE = 0.25
"""The window re-centres on the mid only when the mid is more than this share of the
half-width off its centre: a fixed x range keeps the axis (labels) from being rebuilt and
repainted on every tick the mid moves."""


def human_amount(value: float) -> str:
    """A short amount for captions: 56.58, 1,234, 0.0123."""
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 1:
        return f"{value:.2f}"
    if a == 0:
        return "0"
    return f"{value:.3g}"


_NICE = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_up(x: float) -> float:
    """The smallest round step (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten) >= x."""
    if x <= 0:
        return 0.0
    decade = 10 ** np.floor(np.log10(x))
    for m in _NICE:
        if m * decade >= x * (1 - 1e-12):
            return float(m * decade)
    return float(10 * decade)


def depth_distance(prices: np.ndarray, qtys: np.ndarray, mid: float, share: float = DEPTH_SHARE) -> float:
    """Distance (ticks) from `mid` within which `share` of the levels' total volume rests."""
    if len(prices) == 0:
        return 0.0
    cum = np.cumsum(qtys, dtype=np.float64)
    i = int(np.searchsorted(cum, share * cum[-1], side="left"))
    return abs(float(prices[min(i, len(prices) - 1)]) - mid)


def step_xy(prices: np.ndarray, cum: np.ndarray, edge: float) -> tuple[np.ndarray, np.ndarray]:
    """Staircase points for cumulative depth starting at the best level.

    At each level price the curve jumps from the previous cumulative size to the new one;
    after the last level it stays flat to `edge` (the window border).
    """
    if len(prices) == 0:
        return np.empty(0, np.float64), np.empty(0, np.float64)
    x = np.empty(2 * len(prices) + 1, np.float64)
    y = np.empty_like(x)
    x[:-1] = np.repeat(prices, 2)
    x[-1] = edge
    y[0] = 0.0
    y[1:-1:2] = cum
    y[2:-1:2] = cum[:-1]
    y[-1] = cum[-1]
    return x, y


class StepCurve(pg.GraphicsObject):
    """A staircase filled down to y = 0: one drawPolygon (fill) and one drawPolyline (edge).

    pyqtgraph's PlotDataItem with a fill level builds a QPainterPath and fills it in chunks
    (dozens of fillPath calls per paint for a book side); a polygon is one call.
    """

    def __init__(self, color: tuple[int, int, int], fill_alpha: int = 40) -> None:
        super().__init__()
        self._pen = pg.mkPen(color, width=1)
        self._pen.setCosmetic(True)
        self._brush = pg.mkBrush(*color, fill_alpha)
        self._x = np.empty(0, np.float64)
        self._y = np.empty(0, np.float64)
        self._line = fn.create_qpolygonf(0)
        self._fill = fn.create_qpolygonf(0)
        self._bounds = QRectF()

    def setData(self, x, y) -> None:  # noqa: ANN001, N802 - the pyqtgraph spelling
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        self._x, self._y = x, y
        n = len(x)
        self._line = fn.create_qpolygonf(n)
        if n:
            line = fn.ndarray_from_qpolygonf(self._line)
            line[:, 0], line[:, 1] = x, y
            self._fill = fn.create_qpolygonf(n + 2)
            fill = fn.ndarray_from_qpolygonf(self._fill)
            fill[1:-1] = line
            fill[0] = (x[0], 0.0)
            fill[-1] = (x[-1], 0.0)
            x0, x1 = float(x.min()), float(x.max())
            bounds = QRectF(x0, 0.0, max(x1 - x0, 1e-12), max(float(y.max()), 1e-12))
        else:
            self._fill = fn.create_qpolygonf(0)
            bounds = QRectF()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self.update()

    def getData(self) -> tuple[np.ndarray, np.ndarray]:  # noqa: N802
        return self._x, self._y

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, p: QPainter, *args) -> None:  # noqa: ANN002 - Qt passes option and widget
        if not len(self._x):
            return
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._brush)
        p.drawPolygon(self._fill)
        p.setPen(self._pen)
        p.drawPolyline(self._line)


class StaleOverlay(QLabel):
    """A red banner over a chart while the book cannot be trusted."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(
            "QLabel { background: rgba(160, 20, 20, 200); color: white; font-weight: bold;"
            " padding: 6px 12px; border-radius: 4px; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()

    def show_reason(self, reason: str | None) -> None:
        """Shows "STALE: reason" (None hides); keeps itself centred on the parent."""
        if reason is None:
            self.hide()
            return
        text = f"STALE: {reason}" if reason else "STALE"
        if self.text() != text:
            self.setText(text)
            self.adjustSize()
        parent = self.parentWidget()
        if parent is not None:
            self.move(max(0, (parent.width() - self.width()) // 2), max(0, parent.height() // 3))
        self.show()
        self.raise_()


class DepthChartView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, window_pct: float = 0.5,
                 refresh_hz: float = 20.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        self._window = window_pct / 100.0
        self._ymax = 0.0
        self._xrange: tuple[float, float] | None = None
        self._half = 0.0  # half-width of the shown window, ticks (0: not chosen yet)
        self._centre = 0.0  # centre of the shown window, ticks
        self.auto_window = True
        """Fit the window to the book (False: always the widest window, ±window_pct)."""

        self.info = SteadyLabel("no feed", self)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = pg.PlotWidget(self)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.grid = GridItem(self.plot.getPlotItem(), alpha=0.15)
        self.plot.getPlotItem().getAxis("left").setWidth(56)
        without_si_prefixes(self.plot)
        # The y unit as a plain label over the chart's top-left corner (an axis label would
        # take width from the narrow dock).
        self.unit_label = QLabel("", self.plot)
        self.unit_label.setStyleSheet("QLabel { color: rgb(170, 170, 170); background: transparent; }")
        self.unit_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.unit_label.move(4, 2)
        vb = self.plot.getPlotItem().getViewBox()
        vb.disableAutoRange()
        self.bid_curve = StepCurve(BID_COLOR)
        self.ask_curve = StepCurve(ASK_COLOR)
        self.mid_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((150, 150, 150), width=1,
                                                              style=Qt.PenStyle.DashLine))
        # The bot's own resting orders: a square on the curve of its side, at its price.
        self.own_orders = pg.ScatterPlotItem(size=9, symbol="s", pen=pg.mkPen((235, 235, 235), width=1))
        self._own_brushes = {Side.BUY: pg.mkBrush(*BID_COLOR), Side.SELL: pg.mkBrush(*ASK_COLOR)}
        for item in (self.bid_curve, self.ask_curve, self.mid_line, self.own_orders):
            self.plot.addItem(item)
        self.mid_line.hide()
        self.stale_overlay = StaleOverlay(self.plot)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)

    # -- settings ---------------------------------------------------------------------
    @property
    def window_pct(self) -> float:
        return self._window * 100.0

    def set_window_pct(self, pct: float) -> None:
        """Half-width of the price window around the mid, in percent."""
        if pct <= 0:
            raise ValueError("window must be positive")
        self._window = pct / 100.0
        self._xrange = None
        self._half = 0.0
        self.mark_dirty()

    @property
    def half_width_ticks(self) -> float:
        """Half-width of the window shown, in ticks."""
        return self._half

    def _on_source_changed(self) -> None:
        self._ymax = 0.0
        self._xrange = None
        self._half = 0.0
        self._set_unit(self._feed.instrument.base if self._feed is not None else "")

    def _set_unit(self, base: str) -> None:
        """Names the y unit: the base asset ("cumulative BTC")."""
        self.unit_label.setText(f"cumulative {base}" if base else "")
        self.unit_label.adjustSize()

    def _on_own_order(self, event: OrderUpdated) -> None:
        self._dirty = True

    def _on_own_fill(self, event: OrderFilled) -> None:
        self._dirty = True

    def own_order_points(self) -> tuple[np.ndarray, np.ndarray]:
        """(prices, cumulative depth) of the own-order markers as last drawn."""
        return self.own_orders.getData()

    def _draw_own(self, bp: np.ndarray, bcum: np.ndarray, ap: np.ndarray, acum: np.ndarray,
                  lo: int, hi: int, tick: float) -> None:
        """Marks each own order inside the window on its side's curve (the depth up to and
        including its price), so the trader sees how much rests in front of it."""
        xs: list[float] = []
        ys: list[float] = []
        brushes = []
        conn, feed = self._connector, self._feed
        for order in conn.open_orders(feed.instrument.symbol) if conn is not None and feed is not None else ():
            price = order.price_ticks
            if price <= 0 or order.remaining_lots <= 0 or not lo <= price <= hi:
                continue
            if order.side is Side.BUY:
                i = int(np.searchsorted(-bp, -price, side="right"))  # bids best first: prices >= this one
                depth = float(bcum[i - 1]) if i else 0.0
            else:
                i = int(np.searchsorted(ap, price, side="right"))
                depth = float(acum[i - 1]) if i else 0.0
            xs.append(price * tick)
            ys.append(depth)
            brushes.append(self._own_brushes[order.side])
        self.own_orders.setData(x=xs, y=ys, brush=brushes)

    def _choose_half(self, mid: float, max_half: float, bp, bq, ap, aq) -> float:  # noqa: ANN001
        """The shown half-width (ticks): from the book, with hysteresis; never above max_half."""
        if not self.auto_window:
            return max_half
        need = max(depth_distance(bp, bq, mid), depth_distance(ap, aq, mid), MIN_HALF_TICKS)
        need = min(need * MARGIN, max_half)
        half = self._half
        if not half or need > half or need < HYSTERESIS_LOW * half:
            half = min(nice_up(need), max_half)
        return half

    # -- drawing ----------------------------------------------------------------------
    def curve_data(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(bid x, y), (ask x, y) as last drawn: prices and cumulative base amounts."""
        return self.bid_curve.getData(), self.ask_curve.getData()

    def _render(self) -> None:
        feed = self._feed
        if feed is None:
            self.bid_curve.setData([], [])
            self.ask_curve.setData([], [])
            self.mid_line.hide()
            self.own_orders.setData([], [])
            self.info.setText("no feed")
            self.stale_overlay.show_reason(None)
            return
        inst = feed.instrument
        book = feed.book
        tick = float(inst.tick_size)
        lot = float(inst.lot_size)
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        mid = book.mid_ticks or float(bb or ba)
        self.stale_overlay.show_reason((book.stale_reason or "book not trusted") if book.is_stale else None)
        if not mid:
            self.bid_curve.setData([], [])
            self.ask_curve.setData([], [])
            self.mid_line.hide()
            self.own_orders.setData([], [])
            self.info.setText(f"{inst.symbol}: empty book")
            return
        max_half = mid * self._window
        bp, bq = levels_in(book, BID, int(np.floor(mid - max_half)), int(np.ceil(mid + max_half)))
        ap, aq = levels_in(book, ASK, int(np.floor(mid - max_half)), int(np.ceil(mid + max_half)))
        half = self._choose_half(mid, max_half, bp, bq, ap, aq)
        if half != self._half or abs(mid - self._centre) > RECENTRE * half:
            self._centre = mid
        self._half = half
        lo = int(np.floor(self._centre - half))
        hi = int(np.ceil(self._centre + half))
        keep = bp >= lo
        bp, bq = bp[keep], bq[keep]
        keep = ap <= hi
        ap, aq = ap[keep], aq[keep]
        bcum = np.cumsum(bq) * lot
        acum = np.cumsum(aq) * lot
        bx, by = step_xy(bp * tick, bcum, lo * tick)
        ax, ay = step_xy(ap * tick, acum, hi * tick)
        self.bid_curve.setData(bx, by)
        self.ask_curve.setData(ax, ay)
        self._draw_own(bp, bcum, ap, acum, lo, hi, tick)
        self.mid_line.setValue(mid * tick)
        self.mid_line.show()

        xr = (lo * tick, hi * tick)
        if xr != self._xrange:
            set_range_now(self.plot, x=xr)
            self._xrange = xr
        top = max(bcum[-1] if len(bcum) else 0.0, acum[-1] if len(acum) else 0.0)
        if top > self._ymax or top < 0.5 * self._ymax:
            self._ymax = top * 1.15 if top > 0 else 1.0
            set_range_now(self.plot, y=(0.0, self._ymax))

        mid_txt = mid_text(inst, bb, ba)
        if mid_txt is None:
            self.info.setText(f"{inst.symbol}  one-sided book")
        else:
            spread = book.spread_ticks
            bps = spread / mid * 1e4
            self.info.setText(
                f"{inst.symbol}  bid {fmt_price(inst, bb)}  ask {fmt_price(inst, ba)}  "
                f"mid {mid_txt}  spread {fmt_price(inst, spread)} "
                f"({spread} tick{'' if spread == 1 else 's'}, {bps:.1f} bp)")

    def resizeEvent(self, event) -> None:  # noqa: ANN001 - QResizeEvent
        super().resizeEvent(event)
        if self.stale_overlay.isVisible():
            self.stale_overlay.show_reason(self._feed.book.stale_reason if self._feed else None)
