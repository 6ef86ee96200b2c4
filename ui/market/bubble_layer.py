"""The heatmap's trade bubbles on a plot: bought green, sold red, area by volume.

pyqtgraph's ScatterPlotItem rebuilds every point's style when its data are set (2-3 ms
for the 1,200 bubbles of a busy minute), so the layer hands over as little as it can: the
open bucket's few bubbles every refresh in an item of their own; the bubbles closed since
the last draw appended to the closed ones (`addPoints` styles only the new points) while
the view moves forward at the same scale; all of the buckets in view only when that is not
so (the view scrolled back or zoomed, the size reference or the tick changed) or when the
bubbles that scrolled out of view, which the item still holds but does not paint, reach
MAX_BUBBLES. The cap is per bucket (each shows its largest MAX_BUBBLES / buckets in view),
so a closing bucket is capped on its own and appended like the others.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ui.market.trade_bubbles import TradeBubbles, largest_per_bucket

BUBBLE_PX = (4, 36)
"""Smallest and largest bubble diameter in pixels; area grows with the traded volume."""
MAX_BUBBLES = 1_500
"""Bubbles drawn at most in view: each bucket shows its largest MAX_BUBBLES / (buckets in view)
(12 per half second over a minute), so a busy market stays a readable, evenly dense picture
and thousands of circles never cost frames."""
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
        self._drawn: dict | None = None  # what the closed items hold: style, count, held, b0, b1, capped
        self.full_draws = 0  # closed bubbles handed over all at once (for tests)

    def set_visible(self, visible: bool) -> None:
        for item in self.items:
            item.setVisible(visible)

    def draw(self, bubbles: TradeBubbles, t0_ns: int, t1_ns: int, tick: float, span_ns: int | None = None) -> None:
        """Draws the bubbles of the buckets overlapping [t0_ns, t1_ns); `span_ns`, the width of
        the view (the data may cover less of it), sets how many a bucket shows."""
        b0, b1 = t0_ns // bubbles.bucket_ns, -(-t1_ns // bubbles.bucket_ns)
        bucket_s = bubbles.bucket_ns / 1e9
        reference = bubbles.reference
        buckets_in_view = -(-(span_ns or t1_ns - t0_ns) // bubbles.bucket_ns)
        per_bucket = max(1, MAX_BUBBLES // max(buckets_in_view, 1))
        style = (reference, tick, bucket_s, per_bucket)
        count = bubbles.closed_count
        last = self._drawn
        if last is None or style != last["style"] or b0 < last["b0"] or b1 < last["b1"]:
            self._draw_closed(bubbles.closed_between(b0, b1), style, count, b0, b1)
        elif count != last["count"]:
            new = bubbles.newest_closed(count - last["count"])
            if len(new) < count - last["count"] or last["held"] + len(new) > 2 * MAX_BUBBLES:
                self._draw_closed(bubbles.closed_between(b0, b1), style, count, b0, b1)
            else:
                new = largest_per_bucket(new, per_bucket)
                for item, bought in ((self.bought, True), (self.sold, False)):
                    part = new[(new["taker_side"] > 0) == bought]
                    if len(part):
                        item.addPoints(x=(part["bucket"] + 0.5) * bucket_s, y=part["price_ticks"] * tick,
                                       size=bubble_sizes(part["qty_lots"], reference))
                last.update(count=count, held=last["held"] + len(new), b0=b0, b1=b1)
        else:
            last.update(b0=b0, b1=b1)
        now = largest_per_bucket(bubbles.open[bubbles.open["bucket"] < b1], per_bucket)
        self.running.setData((now["bucket"] + 0.5) * bucket_s, now["price_ticks"] * tick,
                             size=bubble_sizes(now["qty_lots"], reference),
                             brush=[self._brushes[0] if side > 0 else self._brushes[1]
                                    for side in now["taker_side"].tolist()])

    def _draw_closed(self, shown: np.ndarray, style: tuple, count: int, b0: int, b1: int) -> None:
        """All the closed bubbles in view, the largest `per_bucket` of each bucket."""
        reference, tick, bucket_s, per_bucket = style
        shown = largest_per_bucket(shown, per_bucket)
        for item, bought in ((self.bought, True), (self.sold, False)):
            part = shown[(shown["taker_side"] > 0) == bought]
            item.setData((part["bucket"] + 0.5) * bucket_s, part["price_ticks"] * tick,
                         size=bubble_sizes(part["qty_lots"], reference))
        self._drawn = {"style": style, "count": count, "held": len(shown), "b0": b0, "b1": b1}
        self.full_draws += 1

    def forget(self) -> None:
        """Redraw everything at the next `draw` (another market's bubbles are shown)."""
        self._drawn = None

    def drawn(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(x, price, diameter px) of every bubble in view, bought then sold (open ones included)."""
        out = []
        running = self.running.data
        window = self._drawn
        for item, bought in ((self.bought, True), (self.sold, False)):
            data = item.data
            if window is not None:  # the item also holds bubbles that scrolled out of view
                bucket_s = window["style"][2]
                data = data[(data["x"] >= window["b0"] * bucket_s) & (data["x"] < window["b1"] * bucket_s)]
            mine = np.array([(brush is self._brushes[0]) == bought for brush in running["brush"]], bool)
            out.append(tuple(np.concatenate((data[k], running[k][mine])) for k in ("x", "y", "size")))
        return out[0], out[1]
