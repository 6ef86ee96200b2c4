"""A crosshair on the candle chart with the OHLCV of the candle under the mouse.

Mouse moves reach it through a rate-limited proxy (30 Hz at most), and the lookup is one
binary search in the builder's start times, so hovering never costs a redraw of the
candles. The readout uses the instrument's own tick and lot, so prices and volumes print
exactly as the ladder and tables print them.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from ui.market.candle_builder import CandleBuilder
from ui.market.candle_history import CandleSeries

PEN = pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DashLine)


def clock_text(seconds: float, interval_s: float) -> str:
    """Local clock time of a candle start: with seconds below a minute's interval."""
    fmt = "%H:%M:%S" if interval_s < 60 else "%H:%M"
    return time.strftime(fmt, time.localtime(seconds))


class CandleCrosshair:
    def __init__(self, plot: pg.PlotWidget, builder: Callable[[], "CandleBuilder | CandleSeries"],
                 instrument: Callable[[], object],
                 readout: QLabel) -> None:
        self.plot = plot
        self.builder = builder
        self.instrument = instrument
        self.readout = readout
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=PEN)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=PEN)
        for line in (self.vline, self.hline):
            plot.addItem(line, ignoreBounds=True)
            line.hide()
        self._proxy = pg.SignalProxy(plot.scene().sigMouseMoved, rateLimit=30, slot=self._moved)

    def _moved(self, args: tuple) -> None:
        self.show_at(args[0])

    def show_at(self, scene_pos) -> str:  # noqa: ANN001 - QPointF in scene coordinates
        """Moves the crosshair to a scene position and returns the readout ("" off the chart)."""
        box = self.plot.getPlotItem().getViewBox()
        if not box.sceneBoundingRect().contains(scene_pos):
            return self.hide()
        point = box.mapSceneToView(scene_pos)
        self.vline.setPos(point.x())
        self.hline.setPos(point.y())
        self.vline.show()
        self.hline.show()
        text = self.describe(point.x(), point.y())
        self.readout.setText(text)
        return text

    def hide(self) -> str:
        self.vline.hide()
        self.hline.hide()
        self.readout.setText("")
        return ""

    def describe(self, x: float, y: float) -> str:
        """The candle containing time x (seconds) and the price at y, as one line."""
        inst = self.instrument()
        if inst is None:
            return ""
        price = inst.ticks_to_price(round(y / float(inst.tick_size)))
        b = self.builder()
        width = b.interval_ns / 1e9
        if not len(b):
            return f"price {price}"
        starts = b.start_ns / 1e9
        i = int(np.searchsorted(starts, x, side="right")) - 1
        if i < 0 or x >= starts[i] + width:
            return f"price {price}"
        o, h, lo, c = (inst.ticks_to_price(int(v[i])) for v in (b.open, b.high, b.low, b.close))
        volume = inst.lots_to_amount(int(b.volume[i]))
        split = f" (bought {inst.lots_to_amount(int(b.buy_volume[i]))})" if b.buy_volume[i] >= 0 else ""
        return f"{clock_text(starts[i], width)}  O {o}  H {h}  L {lo}  C {c}  V {volume}{split}  ·  price {price}"
