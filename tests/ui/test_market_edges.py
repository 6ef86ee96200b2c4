"""Rough edges of the market views: clock times on a short candle axis."""
from __future__ import annotations

import time

from ui.market.candles import CandlesView

def shown(qtbot, view, w: int = 800, h: int = 500):
    qtbot.addWidget(view)
    view.resize(w, h)
    view.show()
    return view


def test_the_candle_axis_reads_clock_times_on_a_short_span(qtbot):
    view = shown(qtbot, CandlesView(interval="1s"))
    axis = view.plot.getPlotItem().getAxis("bottom")
    now = float(int(time.time()))
    view.plot.setXRange(now, now + 2, padding=0)
    qtbot.wait(10)
    labels = [text for spacing, values in axis.tickValues(now, now + 2, axis.width())
              for text in axis.tickStrings(values, 1.0, spacing)]
    assert labels, "no tick labels"
    clock = time.strftime("%H:%M:%S", time.localtime(now + 1))
    assert clock in labels, labels  # "14:30:16", not "16.000"
    assert all(label.count(":") == 2 for label in labels), labels
