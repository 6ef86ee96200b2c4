"""A chart redraw costs one paint of its plot, not two.

pyqtgraph applies a range change when it next paints; the items' bounds then move after the
scene was drawn and Qt paints them again (ui/market/plot_range.py). The charts that move
their range on redraws (heatmap: every column; candles and volume: as prices move; depth:
as the book grows) set it with `set_range_now`.
"""
from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from tests.ui.market_fakes import ASK, BID, ladder_feed, shown
from ui.market import CandlesView, DepthChartView, LiquidityHeatmapView

MID = 10_000
MS = 1_000_000


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


@pytest.mark.parametrize("factory", [lambda: LiquidityHeatmapView(rows=60), CandlesView, DepthChartView],
                         ids=["heatmap", "candles", "depth"])
def test_each_redraw_paints_each_plot_once(qtbot, factory):  # noqa: ANN001
    feed = ladder_feed(MID)
    view = shown(qtbot, factory(), 645, 300)
    qtbot.waitExposed(view)
    view.set_source(feed)
    plots = view.findChildren(pg.GraphicsView)
    counters = [PaintCounter() for _ in plots]
    for plot, counter in zip(plots, counters):
        plot.viewport().installEventFilter(counter)
    counts = []
    for i in range(16):
        feed.advance(400 * MS)  # the heatmap's time axis moves on by four columns
        move = 3 * i  # the price walks up: the candles' and the depth's ranges move too
        feed.levels(BID, {MID - 1 + move: 10 + 50 * i})
        feed.levels(ASK, {MID + 1 + move: 20 + 40 * i})
        feed.trades([(feed.clock.now_ns(), MID + move, 5 + i, 1 if i % 2 else -1)])
        assert view.refresh()
        for counter in counters:
            counter.count = 0
        for _ in range(5):
            QApplication.processEvents()
        counts.append([counter.count for counter in counters])
    assert counts[4:] == [[1] * len(plots)] * 12
