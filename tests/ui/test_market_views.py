"""Market views against a scripted feed over the real L2 book (or its stand-in)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.ui.market_fakes import ASK, BID, ScriptedConnector, ScriptedFeed
from ui.market.book_read import levels_in
from ui.market.depth_chart import DepthChartView, step_xy
from tests.ui.market_fakes import StandInBook

MID = 10_000  # ticks: 100.00 with a 0.01 tick


@pytest.fixture
def feed() -> ScriptedFeed:
    f = ScriptedFeed()
    f.ladder(MID, depth=20, qty=1000)
    return f


def shown(qtbot, view, w: int = 800, h: int = 500):
    qtbot.addWidget(view)
    view.resize(w, h)
    view.show()
    return view


# -- shared behaviour ---------------------------------------------------------------------
def test_levels_in_falls_back_to_top_levels():
    book = StandInBook()
    for p in (95, 97, 99):
        book.apply_delta(BID, p, 1)
    prices, qtys = levels_in(book, BID, 96, 100)
    assert prices.tolist() == [99, 97] and qtys.tolist() == [1, 1]


def test_step_xy_staircase():
    x, y = step_xy(np.array([10.0, 9.0]), np.array([1.0, 3.0]), 8.0)
    assert x.tolist() == [10.0, 10.0, 9.0, 9.0, 8.0]
    assert y.tolist() == [0.0, 1.0, 1.0, 3.0, 3.0]


# -- depth chart ----------------------------------------------------------------------------
def test_depth_curves_match_book_cumulative_sums(qtbot, feed):
    feed.levels(BID, {MID - 3: 2500, MID - 10: 0})  # change one level, delete one
    view = shown(qtbot, DepthChartView(window_pct=0.1))  # +-10 ticks
    view.set_source(feed)
    assert view.refresh()
    (bx, by), (ax, ay) = view.curve_data()
    book = feed.book
    bp, bq = book.top_levels(BID, 100)
    bp, bq = bp[bp >= MID - 10], bq[bp >= MID - 10]
    # y at each step top equals the book's cumulative lots in base units
    np.testing.assert_allclose(by[1:-1:2], np.cumsum(bq) * 0.001)
    np.testing.assert_allclose(bx[0:-1:2], bp * 0.01)
    ap, aq = book.top_levels(ASK, 100)
    ap, aq = ap[ap <= MID + 10], aq[ap <= MID + 10]
    np.testing.assert_allclose(ay[1:-1:2], np.cumsum(aq) * 0.001)
    assert bx[-1] == pytest.approx((MID - 10) * 0.01) and ax[-1] == pytest.approx((MID + 10) * 0.01)
    assert "mid 100" in view.info.text() and "spread 0.02" in view.info.text()
    xr = view.plot.getPlotItem().getViewBox().viewRange()[0]
    assert xr[0] == pytest.approx(99.9) and xr[1] == pytest.approx(100.1)


def test_depth_no_redraw_without_change_and_throttled_by_timer(qtbot, feed):
    view = shown(qtbot, DepthChartView())
    view.set_source(feed)
    assert view.refresh()
    assert not view.refresh() and view.render_count == 1
    for i in range(50):  # a burst of market events: only flags, no drawing
        feed.levels(BID, {MID - 1: 1000 + i})
    assert view.render_count == 1 and view.is_dirty
    view._on_timer()
    assert view.render_count == 2
    view._on_timer()  # nothing new
    assert view.render_count == 2
    assert view.refresh_interval_ms >= 33
    view.set_refresh_hz(1000)
    assert view.refresh_interval_ms >= 33


def test_hidden_view_does_not_redraw(qtbot, feed):
    view = DepthChartView()
    qtbot.addWidget(view)
    view.set_source(feed)
    feed.levels(BID, {MID - 1: 5})
    view._on_timer()
    assert view.render_count == 0 and view.is_dirty


def test_depth_stale_overlay(qtbot, feed):
    view = shown(qtbot, DepthChartView())
    view.set_source(feed)
    view.refresh()
    assert not view.stale_overlay.isVisible()
    feed.stale("sequence gap")
    assert view.refresh()
    assert view.stale_overlay.isVisible() and view.stale_overlay.text() == "STALE: sequence gap"
    feed.resynced()
    assert view.refresh()
    assert not view.stale_overlay.isVisible()


def test_depth_detach_removes_listeners(qtbot, feed):
    conn = ScriptedConnector(feed)
    view = shown(qtbot, DepthChartView())
    view.set_source(feed, conn)
    assert feed.listener_count() == 1 and conn.listener_count() == 1
    view.detach()
    assert feed.listener_count() == 0 and conn.listener_count() == 0
    view.set_source(feed)
    view.set_source(None)
    assert feed.listener_count() == 0 and view.info.text() == "no feed"
