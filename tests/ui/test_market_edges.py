"""Rough edges of the market views: clock times on a short candle axis, and each market's
candles kept while another market is shown (the heatmap's: tests/ui/test_heatmap.py)."""
from __future__ import annotations

import time

import numpy as np

from tests.ui.market_fakes import BID, ScriptedFeed, ladder_feed, shown
from ui.market.candles import CandlesView
from ui.market.source_history import SourceHistory

MID = 10_000
SEC = 1_000_000_000


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


def test_switching_market_keeps_each_markets_candles(qtbot):
    view = shown(qtbot, CandlesView(interval="1s"))
    first, second = ladder_feed(MID, "first"), ladder_feed(2 * MID, "second")
    view.set_source(first)
    t0 = (first.clock.now_ns() // SEC) * SEC
    first.trades([(t0 + k * SEC, MID + k, 1, 1) for k in range(10)])
    assert view.refresh() and len(view.builder) == 10
    view.set_source(second)
    second.trades([(t0 + k * SEC, 2 * MID, 1, 1) for k in range(3)])
    view.refresh()
    assert len(view.builder) == 3 and int(view.builder.open[0]) == 2 * MID
    view.set_interval("5s")  # changed while the first market is away
    view.set_source(first)
    view.refresh()
    assert int(view.builder.volume.sum()) == 10 and len(view.builder) in (2, 3)  # rebuilt at 5 s
    first.trades([(t0 + 10 * SEC, MID, 1, 1)])
    view.refresh()
    assert int(view.builder.volume.sum()) == 11
    view.set_source(second)
    view.refresh()
    assert int(view.builder.volume.sum()) == 3
    view.detach()  # a closed view left on the shared scheduler crashed a later test's paint


def test_the_history_keeps_the_most_recently_shown_markets():
    history = SourceHistory(keep=2)
    feeds = [ScriptedFeed() for _ in range(3)]
    for k, feed in enumerate(feeds):
        history.stash(feed, {"k": k})
    assert len(history) == 2 and history.take(feeds[0]) is None
    assert history.take(feeds[2]) == {"k": 2} and history.take(feeds[2]) is None


def test_ladder_grouping_never_merges_the_best_bid_and_ask_and_shows_no_negative_price(qtbot):
    from PySide6.QtCore import Qt

    from ui.market.dom_ladder import DomLadderView
    from ui.market.dom_model import ASK_SIZE, BID_SIZE, PRICE

    feed = ScriptedFeed()
    feed.levels(BID, {MID + 3: 7, MID + 1: 5})  # 100.03 and 100.01
    from tests.ui.market_fakes import ASK
    feed.levels(ASK, {MID + 6: 4, MID + 12: 2})  # 100.06 and 100.12
    view = shown(qtbot, DomLadderView(rows=60, ticks_per_row=10))  # rows of 0.10
    view.set_source(feed)
    assert view.refresh()
    model = view.model
    bid_row, ask_row = model.row_of(MID + 3), model.ask_row_of(MID + 6)
    assert bid_row != ask_row  # floor would have put both in the 100.00 row
    assert model.data(model.index(bid_row, PRICE)) == "100.0" and model.data(model.index(bid_row, BID_SIZE))
    assert model.data(model.index(ask_row, PRICE)) == "100.1" and model.data(model.index(ask_row, ASK_SIZE))
    assert model.data(model.index(ask_row, BID_SIZE)) in ("", None)
    assert model.data(model.index(model.ask_row_of(MID + 12), PRICE)) == "100.2"
    view.detach()

    empty = shown(qtbot, DomLadderView(rows=60))
    empty.set_source(ScriptedFeed())  # no book at all
    empty.refresh()
    prices = [empty.model.data(empty.model.index(r, PRICE)) for r in range(empty.model.rowCount())]
    assert not any(p and p.startswith("-") for p in prices), prices
    assert empty.model.data(empty.model.index(59, PRICE), Qt.ItemDataRole.ToolTipRole) is None
    empty.detach()
