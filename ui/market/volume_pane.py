"""The volume pane under the candles: one bar per candle, the bought part drawn over the
total, x-linked to the candle chart so zoom and scroll move both. A candle whose venue did
not say how much was bought (history from ccxt's OHLCV) gets one grey bar."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ui.market.candles_item import DOWN_COLOR, UP_COLOR
from ui.market.plot_range import set_range_now, without_si_prefixes


class VolumePane(pg.PlotWidget):
    def __init__(self, parent=None, *, candles: pg.PlotWidget) -> None:  # noqa: ANN001 - QWidget
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMaximumHeight(110)
        self.setMinimumHeight(60)
        item = self.getPlotItem()
        item.getViewBox().disableAutoRange()
        item.getAxis("left").setWidth(72)  # lines up with the candles' price axis
        item.hideAxis("bottom")
        without_si_prefixes(item)
        item.setXLink(candles.getPlotItem())
        self.total = pg.BarGraphItem(x=[], height=[], width=1.0, brush=pg.mkBrush(*DOWN_COLOR, 150), pen=pg.mkPen(None))
        self.bought = pg.BarGraphItem(x=[], height=[], width=1.0, brush=pg.mkBrush(*UP_COLOR, 170), pen=pg.mkPen(None))
        self.unsplit = pg.BarGraphItem(x=[], height=[], width=1.0, brush=pg.mkBrush(140, 140, 140, 150),
                                       pen=pg.mkPen(None))
        self.addItem(self.total)
        self.addItem(self.bought)
        self.addItem(self.unsplit)

    def set_volumes(self, x: np.ndarray, volume: np.ndarray, bought: np.ndarray, width: float,
                    visible_from: float) -> None:
        """Bars at candle centres (x: starts in seconds, volumes in base units; bought < 0:
        not known); the y range fits the visible candles' largest volume."""
        centres = x + width / 2
        known = bought >= 0
        self.total.setOpts(x=centres, height=np.where(known, volume, 0), width=width * 0.8)
        self.bought.setOpts(x=centres, height=np.where(known, bought, 0), width=width * 0.8)
        self.unsplit.setOpts(x=centres, height=np.where(known, 0, volume), width=width * 0.8)
        shown = volume[x >= visible_from]
        top = float(shown.max()) if shown.size else 0.0
        set_range_now(self, y=(0, top * 1.1 if top > 0 else 1.0))  # the x range, linked, settles too
