"""A cheap background grid for the market charts.

pyqtgraph draws its grid (`showGrid`) as part of the axes: every axis' tick lines are
extended across the plot, so the axes' bounding rects cover the whole view and every data
update (which dirties the view) replays both axes' cached QPictures, tick labels included.
On a chart redrawn at 20 Hz that replay cost more than the data itself.

`GridItem` draws the same lines (the axes' own major and minor tick values) straight in
the ViewBox's pixel coordinates: one `drawLines` per level, a few dozen integer lines. The
axes then repaint only when their range changes.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen


class GridItem(pg.GraphicsObject):
    """Grid lines at the tick values of `plot`'s bottom and left axes, under the data."""

    def __init__(self, plot_item: pg.PlotItem, alpha: float = 0.15) -> None:
        self._vb = plot_item.getViewBox()
        super().__init__(self._vb)
        self._axes = (plot_item.getAxis("bottom"), plot_item.getAxis("left"))
        self._pens = []
        try:  # opaque lines, pre-blended over the (opaque) background, are cheaper to draw
            bg = pg.mkColor(pg.getConfigOption("background"))
        except Exception:  # noqa: BLE001 - e.g. a transparent background option
            bg = None
        for level_alpha in (1.0, 0.5):
            a = alpha * level_alpha
            if bg is not None and bg.alpha() == 255:
                color = QColor(*(round(200 * a + c * (1 - a)) for c in (bg.red(), bg.green(), bg.blue())))
            else:
                color = QColor(200, 200, 200, max(1, int(255 * a)))
            pen = QPen(color)
            pen.setWidth(0)
            pen.setCosmetic(True)
            self._pens.append(pen)
        self._key = None
        self._lines: list[list[QLineF]] = []
        self.setZValue(-1000)  # under the ViewBox's child group (the data)
        self.setFlag(self.GraphicsItemFlag.ItemIgnoresParentOpacity, False)
        self._vb.sigRangeChanged.connect(self._changed)
        self._vb.sigResized.connect(self._resized)

    def _changed(self, *args) -> None:  # noqa: ANN002
        self.update()

    def _resized(self, *args) -> None:  # noqa: ANN002
        self.prepareGeometryChange()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._vb.boundingRect()

    def _compute(self, rect: QRectF) -> list[list[QLineF]]:
        (x0, x1), (y0, y1) = self._vb.viewRange()
        w, h = rect.width(), rect.height()
        key = (x0, x1, y0, y1, w, h)
        if key == self._key:
            return self._lines
        lines: list[list[QLineF]] = [[], []]
        if w > 1 and h > 1 and x1 > x0 and y1 > y0:
            sx, sy = w / (x1 - x0), h / (y1 - y0)
            xaxis, yaxis = self._axes
            for axis, lo, hi, size, vertical in ((xaxis, x0, x1, w, True), (yaxis, y0, y1, h, False)):
                try:
                    levels = axis.tickValues(lo, hi, size)
                except Exception:  # noqa: BLE001 - a date axis before its first layout
                    continue
                seen: set[float] = set()
                for level, (_, values) in enumerate(levels[:2]):
                    for v in values:
                        if v in seen or not lo <= v <= hi:
                            continue
                        seen.add(v)
                        if vertical:
                            px = round((v - x0) * sx) + 0.5
                            lines[level].append(QLineF(px, 0.0, px, h))
                        else:
                            py = round((y1 - v) * sy) + 0.5
                            lines[level].append(QLineF(0.0, py, w, py))
        self._key, self._lines = key, lines
        return lines

    def paint(self, p: QPainter, *args) -> None:  # noqa: ANN002 - Qt passes option and widget
        for pen, lines in zip(self._pens, self._compute(self._vb.boundingRect())):
            if lines:
                p.setPen(pen)
                p.drawLines(lines)
