"""The heatmap's trade bubbles on a plot: bought green, sold red, area by volume.

pyqtgraph's ScatterPlotItem costs about half a microsecond per point and per call to
set its data (it rebuilds each point's style), so the layer hands over as little as it
can: the closed bubbles (ui/market/trade_bubbles.py) only when they or the buckets in
view changed, the open bucket's few bubbles every refresh in an item of their own.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ui.market.trade_bubbles import TradeBubbles

BUBBLE_PX = (4, 36)
"""Smallest and largest bubble diameter in pixels; area grows with the traded volume."""
MAX_BUBBLES = 1_500
"""Closed bubbles drawn at most (the largest in view): thousands of circles would cost frames."""
BUY_COLOR, SELL_COLOR = (90, 230, 140), (250, 110, 100)


def bubble_sizes(qtys: np.ndarray, reference: float) -> np.ndarray:
    """Diameters in whole pixels with area proportional to volume, `reference` at the largest."""
    lo, hi = BUBBLE_PX
    scale = np.sqrt(np.asarray(qtys, np.float64) / max(float(reference), 1.0))
    return np.rint(lo + (hi - lo) * np.clip(scale, 0.0, 1.0))  # whole pixels: few cached symbols


class BubbleLayer:
    """Three scatter items on `plot`: closed bought, closed sold, and the open bucket."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        outline = pg.mkPen(255, 255, 255, 140)
        self._brushes = (pg.mkBrush(*BUY_COLOR, 150), pg.mkBrush(*SELL_COLOR, 150))
        self.bought = pg.ScatterPlotItem(pen=outline, brush=self._brushes[0])
        self.sold = pg.ScatterPlotItem(pen=outline, brush=self._brushes[1])
        self.running = pg.ScatterPlotItem(pen=outline)  # the bucket the clock is in
        self.items = (self.bought, self.sold, self.running)
        for item in self.items:
            plot.addItem(item)
        self._drawn_key: tuple | None = None

    def set_visible(self, visible: bool) -> None:
        for item in self.items:
            item.setVisible(visible)

    def draw(self, bubbles: TradeBubbles, t0_ns: int, t1_ns: int, tick: float) -> None:
        """Draws the bubbles of the buckets overlapping [t0_ns, t1_ns)."""
        b0, b1 = t0_ns // bubbles.bucket_ns, -(-t1_ns // bubbles.bucket_ns)
        bucket_s = bubbles.bucket_ns / 1e9
        reference = bubbles.reference
        key = (b0, b1, bubbles.closed_count, reference, tick)
        if key != self._drawn_key:
            self._drawn_key = key
            shown = bubbles.closed_between(b0, b1)
            if len(shown) > MAX_BUBBLES:
                shown = shown[np.argpartition(shown["qty_lots"], -MAX_BUBBLES)[-MAX_BUBBLES:]]
            for item, bought in ((self.bought, True), (self.sold, False)):
                part = shown[(shown["taker_side"] > 0) == bought]
                item.setData((part["bucket"] + 0.5) * bucket_s, part["price_ticks"] * tick,
                             size=bubble_sizes(part["qty_lots"], reference))
        now = bubbles.open[bubbles.open["bucket"] < b1]
        self.running.setData((now["bucket"] + 0.5) * bucket_s, now["price_ticks"] * tick,
                             size=bubble_sizes(now["qty_lots"], reference),
                             brush=[self._brushes[0] if side > 0 else self._brushes[1]
                                    for side in now["taker_side"].tolist()])

    def forget(self) -> None:
        """Redraw everything at the next `draw` (another market's bubbles are shown)."""
        self._drawn_key = None

    def drawn(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(x, price, diameter px) of every bubble drawn, bought then sold (open ones included)."""
        out = []
        running = self.running.data
        for item, bought in ((self.bought, True), (self.sold, False)):
            data = item.data
            mine = np.array([(brush is self._brushes[0]) == bought for brush in running["brush"]], bool)
            out.append(tuple(np.concatenate((data[k], running[k][mine])) for k in ("x", "y", "size")))
        return out[0], out[1]
