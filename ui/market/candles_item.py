"""A pyqtgraph item drawing OHLC candles, painting only the candles in view.

Candles are kept as float64 numpy arrays; `paint` finds the visible slice with a binary
search on x and issues one drawLines (wicks) and one drawRects (bodies) per colour, so
the cost follows what is on screen, not how much history is kept.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QPainter

UP_COLOR = (38, 166, 91)
DOWN_COLOR = (214, 69, 65)


class CandlesItem(pg.GraphicsObject):
    def __init__(self) -> None:
        super().__init__()
        self._x = np.empty(0, np.float64)
        self._ohlc = np.empty((0, 4), np.float64)
        self._width = 1.0
        self._bounds = QRectF()
        self._up_pen = pg.mkPen(UP_COLOR, width=1)
        self._down_pen = pg.mkPen(DOWN_COLOR, width=1)
        self._up_brush = pg.mkBrush(*UP_COLOR, 160)
        self._down_brush = pg.mkBrush(*DOWN_COLOR, 160)
        self.painted_candles = 0
        """Candles drawn by the last paint (tests check that only visible ones are)."""

    def set_candles(self, x: np.ndarray, ohlc: np.ndarray, width: float) -> None:
        """x: candle start (float64, sorted); ohlc: (n, 4) float64; width: candle duration."""
        self.prepareGeometryChange()
        self._x = np.ascontiguousarray(x, np.float64)
        self._ohlc = np.ascontiguousarray(ohlc, np.float64)
        self._width = float(width)
        if len(self._x):
            lo = float(self._ohlc[:, 2].min())
            hi = float(self._ohlc[:, 1].max())
            self._bounds = QRectF(float(self._x[0]), lo, float(self._x[-1] - self._x[0]) + self._width,
                                  max(hi - lo, 1e-12))
        else:
            self._bounds = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def visible_slice(self) -> tuple[int, int]:
        """Indices [i0, i1) of the candles inside the view's x range."""
        vb = self.getViewBox()
        if vb is None or not len(self._x):
            return 0, len(self._x)
        x0, x1 = vb.viewRange()[0]
        i0 = int(np.searchsorted(self._x, x0 - self._width, side="left"))
        i1 = int(np.searchsorted(self._x, x1, side="right"))
        return i0, i1

    def paint(self, p: QPainter, *args) -> None:  # noqa: ANN002 - Qt passes option and widget
        i0, i1 = self.visible_slice()
        self.painted_candles = max(0, i1 - i0)
        if i1 <= i0:
            return
        x = self._x[i0:i1]
        o, h, lo, c = (self._ohlc[i0:i1, k] for k in range(4))
        mid = x + self._width * 0.5
        body = self._width * 0.8
        left = mid - body * 0.5
        up = c >= o
        for mask, pen, brush in ((up, self._up_pen, self._up_brush), (~up, self._down_pen, self._down_brush)):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            p.setPen(pen)
            p.drawLines([QLineF(mid[i], lo[i], mid[i], h[i]) for i in idx.tolist()])
            p.setBrush(brush)
            bottom = np.minimum(o[idx], c[idx])
            height = np.abs(c[idx] - o[idx])
            p.drawRects([QRectF(left[i], b, body, hh)
                         for i, b, hh in zip(idx.tolist(), bottom.tolist(), height.tolist())])
