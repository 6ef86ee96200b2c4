"""The liquidity heatmap: columns of clock time, trade bubbles, own orders and fills,
contrast, scrolling back, and each market's history kept while another is shown."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.domain import OrderType, Side
from app.domain.instrument import BTC_USDT
from tests.ui.market_fakes import ASK, BID, ScriptedConnector, ScriptedFeed, ladder_feed, shown
from ui.market.bubble_layer import bubble_sizes
from ui.market.heatmap import LiquidityHeatmapView, colorize, decades_for, make_lut, nice_ticks
from ui.market.heatmap_columns import HeatmapColumns
from ui.market.time_axis import ClockAxisItem
from ui.market.trade_bubbles import BUBBLE_DTYPE, TradeBubbles, largest_per_bucket, sum_by_bucket_price_side

MID = 10_000  # ticks: 100.00 with a 0.01 tick
MS = 1_000_000
COL = 100 * MS  # the view's default column: 100 ms


@pytest.fixture
def feed() -> ScriptedFeed:
    return ladder_feed(MID)


def col_of(feed: ScriptedFeed) -> int:
    return feed.clock.now_ns() // COL


# -- the history, Qt-free ----------------------------------------------------------------------
def _state(v: float) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    return np.full(4, v, np.float32), (v, v + 1), (np.nan, v + 2)


def test_columns_fill_what_the_view_did_not_see_by_what_is_known_of_it():
    cols = HeatmapColumns(history=50, rows=4, column_ns=COL)
    t0 = 1_000 * COL
    assert cols.write(t0, *_state(1.0)) == 1_000
    # idle for 5 columns, then a change 5 columns in, drawn 2 columns later: repeat, then now
    cols.write(t0 + 7 * COL, *_state(2.0), changed_ns=t0 + 5 * COL)
    sizes, best, own = cols.window(*cols.span())
    assert sizes[:, 0].tolist() == [1.0] * 5 + [2.0] * 3
    assert best[0].tolist() == [1.0] * 5 + [2.0] * 3 and np.isnan(own[0]).all()
    # a change, then nobody recorded (a stalled loop): black, no lines
    gap = 30
    cols.write(t0 + 8 * COL + gap * COL, *_state(3.0), changed_ns=t0 + 9 * COL, fill_gap=False)
    sizes, best, _ = cols.window(*cols.span())
    assert sizes[-1, 0] == 3.0 and sizes[8, 0] == 2.0  # up to the change: as drawn last
    assert (sizes[9:-1] == 0).all() and np.isnan(best[0, 9:-1]).all()
    # the same column again: overwritten, not appended
    newest = 1_000 + 8 + gap
    cols.write(newest * COL + COL // 2, *_state(4.0))
    assert cols.window(*cols.span())[0][-1, 0] == 4.0 and cols.span() == (1_000, newest + 1)
    # the history is bounded and each window one contiguous slice
    cols.write((newest + 30) * COL, *_state(5.0), changed_ns=(newest + 30) * COL)
    assert cols.span() == (newest + 31 - 50, newest + 31)
    assert cols.window(*cols.span())[0].flags.c_contiguous
    assert cols.window(*cols.span())[0][:, 0].tolist()[-31:] == [4.0] * 30 + [5.0]


def test_time_going_back_starts_a_new_history_and_rows_shift_with_the_band():
    cols = HeatmapColumns(history=50, rows=4, column_ns=COL)
    cols.write(100 * COL, np.array([1, 2, 3, 4], np.float32), (1.0, 2.0), (np.nan, np.nan))
    cols.shift_rows(1)  # the band's base rose one row: row k now holds what row k+1 held
    assert cols.window(*cols.span())[0][0].tolist() == [2, 3, 4, 0]
    cols.shift_rows(-2)
    assert cols.window(*cols.span())[0][0].tolist() == [0, 0, 2, 3]
    cols.write(90 * COL, *_state(9.0))  # a replay seeking back
    assert cols.resets == 1 and cols.span() == (90, 91)


def test_trades_become_one_bubble_per_bucket_price_and_aggressor():
    trades = np.array([(5 * COL, 100, 3, 1), (5 * COL + 1, 100, 4, 1), (5 * COL + 2, 100, 2, -1),
                       (6 * COL, 101, 1, 1)], dtype=[("ts_ns", "<i8"), ("price_ticks", "<i8"),
                                                     ("qty_lots", "<i8"), ("taker_side", "i1")])
    summed = sum_by_bucket_price_side(trades, COL)
    assert [tuple(r) for r in summed] == [(5, 100, 2, -1), (5, 100, 7, 1), (6, 101, 1, 1)]
    bubbles = TradeBubbles(COL, capacity=3)
    bubbles.trades.append(trades[:2])
    bubbles.update(5 * COL)  # bucket 5 still open: re-summed when more of it arrives
    assert bubbles.closed_count == 0 and [tuple(r) for r in bubbles.open] == [(5, 100, 7, 1)]
    bubbles.trades.append(trades[2:])
    bubbles.update(6 * COL + 1)
    assert [tuple(r) for r in bubbles.closed()] == [(5, 100, 2, -1), (5, 100, 7, 1)]
    assert [tuple(r) for r in bubbles.open] == [(6, 101, 1, 1)] and bubbles.reference == 1.5 * 7
    bubbles.update(8 * COL)
    assert [tuple(r) for r in bubbles.closed_between(6, 7)] == [(6, 101, 1, 1)]
    bubbles.trades.append(np.array([(8 * COL, 99, 5, -1)], dtype=trades.dtype))
    bubbles.update(9 * COL)  # capacity 3: the oldest dropped
    assert [tuple(r)[0] for r in bubbles.closed()] == [5, 6, 8] and bubbles.closed_count == 4


def test_colours_come_from_the_table_within_the_levels():
    lut = make_lut()
    assert lut.shape == (256, 4) and lut.dtype == np.uint8 and (lut[:, 3] == 255).all()
    sizes = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 9.0]], np.float32)  # 2 columns x 3 rows
    rgba = colorize(sizes, (1.0, 3.0), lut)
    assert rgba.shape == (3, 2, 4) and rgba.flags.c_contiguous  # rows x columns: price up, time across
    assert (rgba[0, 0] == lut[0]).all() and (rgba[2, 0] == lut[127]).all() and (rgba[2, 1] == lut[255]).all()


def test_bubble_area_grows_with_volume_and_contrast_spans_fewer_decades():
    small, big = bubble_sizes(np.array([1, 100]), 100)
    assert big == 36 and small == round(4 + 32 * 0.1)  # diameter by sqrt: area by volume
    assert decades_for(0) == 6.0 and decades_for(50) == 3.5 and decades_for(100) == 1.0


# -- the view -----------------------------------------------------------------------------------
def test_columns_levels_time_axis_and_rebase(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    assert view.refresh_interval_ms == 100  # one redraw per 100 ms column
    view.set_source(feed)
    assert view.refresh()
    frame = view.frame()
    assert frame.shape == (1, 60) and frame.dtype == np.float32 and frame.flags.c_contiguous
    base = view.base_ticks
    assert base == MID - 30
    assert frame[-1][(MID - 1) - base] == pytest.approx(np.log10(1001.0)) and frame[-1][MID - base] == 0.0
    assert view.levels[0] == 0.0 and view.levels[1] >= np.log10(1001.0)
    shown_rgba = view.image.image
    assert shown_rgba.shape == (60, 1, 4) and (shown_rgba[:, 0] == colorize(frame, view.levels, view.lut)[:, 0]).all()
    # x is clock time: the image spans its column's 100 ms, on the price band
    c = col_of(feed)
    band = view.image.mapRectToParent(view.image.boundingRect())
    assert band.left() == pytest.approx(c * 0.1) and band.width() == pytest.approx(0.1)
    assert band.top() == pytest.approx(base * 0.01) and band.height() == pytest.approx(0.6)
    assert isinstance(view.plot.getPlotItem().getAxis("bottom"), ClockAxisItem)
    (x0, x1), _ = view.plot.getPlotItem().getViewBox().viewRange()
    assert x1 == pytest.approx((c + 1) * 0.1) and x1 - x0 == pytest.approx(60.0)  # following, 60 s
    bids, asks = view.best_lines()
    assert bids[-1] == pytest.approx(99.99) and asks[-1] == pytest.approx(100.01)
    # one column per 100 ms of clock time, however often the view redraws
    assert not view.refresh()
    for i in range(45):
        feed.advance(50 * MS)
        feed.levels(BID, {MID - 2: 10 + i})
        view.refresh()
    assert view.shown_columns()[1] - view.shown_columns()[0] == col_of(feed) - c + 1
    assert view.frame()[-1][(MID - 2) - base] == pytest.approx(np.log10(1.0 + 54))
    lv = view.levels
    feed.levels(BID, {MID - 3: 1200})  # slightly bigger: the colour scale stays
    view.refresh()
    assert view.levels == lv
    # the mid walks far up: the band is re-based, the history shifted to keep its prices
    old = view.frame()[-1].copy()
    feed.advance(COL)
    feed.levels(ASK, {p: 0 for p in range(MID + 1, MID + 21)})
    feed.levels(ASK, {MID + 25: 5})
    feed.levels(BID, {MID + 23: 5})
    view.refresh()
    shift = view.base_ticks - base
    assert shift > 0
    np.testing.assert_array_equal(view.frame()[-2][: 60 - shift], old[shift:])
    view.detach()
    assert feed.listener_count() == 0


def test_trades_are_bubbles_sized_by_volume_and_can_be_hidden(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    view.set_source(feed)
    now = feed.clock.now_ns()
    feed.trades([(now, MID + 1, 40, 1), (now, MID + 1, 60, 1), (now, MID - 1, 1, -1)])
    view.refresh()
    (bx, by, bsize), (sx, sy, ssize) = view.bubbles.drawn()
    # 40 + 60 bought in the running half second: one bubble, the largest so far (at 1/1.5 of the top)
    assert by.tolist() == [pytest.approx(100.01)] and bsize.tolist() == [round(4 + 32 * (1 / 1.5) ** 0.5)]
    assert sy.tolist() == [pytest.approx(99.99)] and ssize.tolist() == [round(4 + 32 * (1 / 150) ** 0.5)]
    bucket = feed.clock.now_ns() // (5 * COL)
    assert bx[0] == pytest.approx((bucket + 0.5) * 0.5)
    feed.advance(5 * COL)  # the half second is over: the bubbles are closed, same place and size
    feed.trades([(feed.clock.now_ns(), MID + 2, 150, 1)])
    view.refresh()
    (bx, by, bsize), _ = view.bubbles.drawn()
    assert by.tolist() == [pytest.approx(100.01), pytest.approx(100.02)]
    assert bsize.tolist() == [round(4 + 32 * (1 / 1.5) ** 0.5), 36]  # 150 is the top of the scale: not raised
    assert all(item.isVisible() for item in view.bubbles.items)
    view.show_trades.setChecked(False)
    assert not any(item.isVisible() for item in view.bubbles.items)


def test_new_closed_bubbles_are_appended_while_following_and_all_redrawn_after_a_scroll_back(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView(rows=60, visible_s=10.0))
    view.set_source(feed)
    feed.trades([(feed.clock.now_ns(), MID + 1, 500, 1)])  # the size reference, from the start
    view.refresh()
    layer = view.bubbles
    for i in range(60):  # 30 s: a new bubble each half second, the oldest scrolling out of the 10 s view
        feed.advance(5 * COL)
        feed.trades([(feed.clock.now_ns(), MID + 1 + i % 3, 10 + i, 1 if i % 2 else -1)])
        view.refresh()
    assert layer.full_draws == 1  # the first draw; every bubble closed since was appended
    c0, c1 = view.shown_columns()
    expected = view._bubbles.closed_between(c0 // 5, -(-c1 // 5))
    bought, sold = layer.drawn()
    open_bubbles = view._bubbles.open
    assert len(bought[0]) + len(sold[0]) == len(expected) + len(open_bubbles[open_bubbles["bucket"] < -(-c1 // 5)])
    assert len(layer.bought.data) + len(layer.sold.data) > len(expected)  # scrolled-out ones held, not drawn
    # dragged back in time: everything in view is handed over again, only what is in view
    vb = view.plot.getPlotItem().getViewBox()
    (x0, x1), _ = vb.viewRange()
    vb.setXRange(x0 - 8.0, x1 - 8.0, padding=0)
    view._user_moved_time()
    view.refresh()
    assert not view.following and layer.full_draws == 2
    assert len(layer.bought.data) + len(layer.sold.data) == sum(len(side[0]) for side in layer.drawn())


def test_largest_per_bucket_keeps_each_buckets_largest_in_bucket_order():
    b = np.array([(2, 100, 5, 1), (1, 101, 9, -1), (2, 99, 7, -1), (1, 100, 1, 1), (2, 98, 6, 1), (3, 97, 2, 1)],
                 dtype=BUBBLE_DTYPE)
    assert [tuple(r) for r in largest_per_bucket(b, 2)] == [(1, 101, 9, -1), (1, 100, 1, 1), (2, 99, 7, -1),
                                                             (2, 98, 6, 1), (3, 97, 2, 1)]
    assert [tuple(r)[:3] for r in largest_per_bucket(b, 1)] == [(1, 101, 9), (2, 99, 7), (3, 97, 2)]
    assert len(largest_per_bucket(b[:0], 3)) == 0 and len(largest_per_bucket(b, 0)) == 0


def test_a_busy_market_shows_each_half_seconds_largest_bubbles_appended_as_buckets_close(qtbot, feed, monkeypatch):
    monkeypatch.setattr("ui.market.bubble_layer.MAX_BUBBLES", 240)  # 120 half seconds in view: 2 per bucket
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    view.set_source(feed)
    layer = view.bubbles
    for i in range(8):  # three bubbles a bucket, two drawn: the largest two
        now = feed.clock.now_ns()
        feed.trades([(now, MID + 1, 10 + i, 1), (now, MID - 1, 30 + i, -1), (now, MID + 2, 20 + i, 1)])
        feed.advance(5 * COL)
        view.refresh()
    assert layer.full_draws == 1  # the first draw; every bucket closed since was appended
    bought, sold = layer.drawn()
    # each bucket in view (the first one closed before the first column): its largest (30 + i, sold)
    # and its second (20 + i, bought at 100.02), never the third (10 + i, bought at 100.01)
    assert len(sold[1]) == len(bought[1]) == 7
    assert set(np.round(sold[1], 2)) == {99.99} and set(np.round(bought[1], 2)) == {100.02}
    assert len(layer.bought.data) + len(layer.sold.data) == 14  # all held are in view


def test_own_orders_and_fills_are_drawn_on_it(qtbot, feed):
    conn = ScriptedConnector(feed)
    sym = feed.instrument.symbol
    bid = conn.place_order(sym, Side.BUY, OrderType.LIMIT, 5, MID - 4)
    conn.place_order(sym, Side.SELL, OrderType.LIMIT, 5, MID + 6)
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    view.set_source(feed, conn)
    view.refresh()
    own_bids, own_asks = view.own_lines()
    assert own_bids[-1] == pytest.approx(99.96) and own_asks[-1] == pytest.approx(100.06)
    feed.advance(COL)
    conn.fill(bid.client_order_id, 5)
    view.refresh()
    (buy_x, buy_y), (sell_x, _) = view.own_fill_marks()
    assert buy_y.tolist() == [pytest.approx(99.96)] and len(sell_x) == 0
    assert buy_x[0] == pytest.approx(feed.clock.now_ns() / 1e9)
    assert np.isnan(view.own_lines()[0][-1])  # the filled bid is gone from the newest column


def test_contrast_narrows_the_colour_scale(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    view.set_source(feed)
    view.refresh()
    top = view.levels[1]
    view.set_contrast(100)
    view.refresh()
    assert view.levels == (pytest.approx(max(0.0, top - 1.0)), top)
    assert (view.image.image == colorize(view.frame(), view.levels, view.lut)).all()


def newest_edge(feed: ScriptedFeed) -> float:
    return (col_of(feed) + 1) * 0.1


def _drag(view: LiquidityHeatmapView, dx_px: int) -> None:
    """A real left-button drag across the plot (mouse events through the viewport)."""
    viewport = view.plot.viewport()
    start = QPointF(viewport.width() / 2, viewport.height() / 2)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseButtonPress, start, start, left, left,
                                                 Qt.KeyboardModifier.NoModifier))
    for k in range(1, 6):
        at = QPointF(start.x() + dx_px * k / 5, start.y())
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, at, at, none, left,
                                                     Qt.KeyboardModifier.NoModifier))
    end = QPointF(start.x() + dx_px, start.y())
    QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseButtonRelease, end, end, left, none,
                                                 Qt.KeyboardModifier.NoModifier))


def test_dragging_back_in_time_stops_following_until_live(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView(rows=60, visible_s=10.0))
    view.set_source(feed)
    for i in range(300):  # 30 s of history
        feed.advance(COL)
        feed.levels(BID, {MID - 2: 10 + i})
        view.refresh()
    assert view.following and view.live_button.isHidden()
    view.plot.grab()  # painted once, as on screen: the view maps pixels to times from then on
    _drag(view, 300)  # the past comes into view from the left
    assert not view.following and not view.live_button.isHidden()
    vb = view.plot.getPlotItem().getViewBox()
    (x0, x1), _ = vb.viewRange()
    assert x1 - x0 == pytest.approx(10.0) and 3.0 < newest_edge(feed) - x1 < 5.0  # 300 px of 720: ~4 s
    feed.advance(COL)
    feed.levels(BID, {MID - 2: 999})
    view.refresh()
    assert vb.viewRange()[0] == pytest.approx([x0, x1])  # stays put while the market moves on
    c0, c1 = view.shown_columns()
    assert c0 == pytest.approx(x0 / 0.1, abs=1) and c1 == pytest.approx(x1 / 0.1, abs=1)
    view.live_button.click()
    view.refresh()
    assert view.following and vb.viewRange()[0][1] == pytest.approx(newest_edge(feed))


def test_an_idle_market_keeps_its_liquidity_a_hidden_view_records_and_a_stall_stays_blank(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    view.set_source(feed)
    view.refresh()
    first = view.frame()[-1].copy()
    feed.advance(30 * COL)  # nothing changes for 3 s
    view.mark_dirty()
    view.refresh()
    frame = view.frame()
    assert len(frame) == 31 and all(np.array_equal(row, first) for row in frame)
    # tabbed away: its column timer keeps recording the book, without drawing it
    view.hide()
    drawn = view.render_count
    feed.levels(BID, {MID - 2: 5000})
    feed.advance(COL)
    view._on_column_timer()
    assert view.columns.span()[1] == col_of(feed) + 1 and view.render_count == drawn
    feed.advance(COL)
    view._on_column_timer()  # nothing changed since: nothing to do
    assert view.columns.span()[1] == col_of(feed)
    view.show()
    view.refresh()
    row = (MID - 2) - view.base_ticks
    assert view.frame()[-2, row] == view.frame()[-1, row] > first[row] == view.frame()[-3, row]
    # the loop stalled for seconds after a change: the columns nobody recorded stay black
    view._recorded_at -= 5.0
    feed.levels(BID, {MID - 2: 7})
    feed.advance(50 * COL)
    view.refresh()
    frame = view.frame()
    assert (frame[-50:-1] == 0).all() and frame[-1].any() and len(frame) == 31 + 2 + 50


def test_the_stale_overlay_names_the_reason(qtbot, feed):
    view = shown(qtbot, LiquidityHeatmapView())
    view.set_source(feed)
    feed.stale("disconnected")
    view.refresh()
    assert view.stale_overlay.isVisible() and "disconnected" in view.stale_overlay.text()


def test_switching_market_keeps_each_markets_heatmap(qtbot):
    view = shown(qtbot, LiquidityHeatmapView(rows=60))
    first, second = ladder_feed(MID, "first"), ladder_feed(2 * MID, "second")
    view.set_source(first)
    for i in range(5):
        first.advance(COL)
        first.levels(BID, {MID - 2: 10 + i})
        view.refresh()
    assert len(view.frame()) == 5 and view.base_ticks == MID - 30
    kept = view.frame().copy()
    view.set_source(second)
    view.refresh()
    assert len(view.frame()) == 1 and view.base_ticks != MID - 30
    view.set_source(first)
    assert view.base_ticks == MID - 30
    first.advance(COL)
    first.levels(BID, {MID - 2: 99})
    view.refresh()
    assert np.array_equal(view.frame()[:5], kept)
    band = view.image.mapRectToParent(view.image.boundingRect())
    assert abs(band.top() - (MID - 30) * 0.01) < 1e-9  # the image back on the first market's band
    view.detach()


BTC_MID = 6_000_000  # ticks: 60,000.00


def test_the_band_adapts_to_the_price_and_keeps_its_history(qtbot):
    btc = ScriptedFeed(BTC_USDT)
    btc.ladder(BTC_MID, depth=200, qty=12_345)
    btc.ladder(BTC_MID, depth=60, qty=250_000, step=100)
    view = shown(qtbot, LiquidityHeatmapView())
    view.set_source(btc)
    assert view.refresh()
    # rows of 100 ticks ($1): 200 rows span $200, about ±17 bp at 60,000
    assert nice_ticks(120) == 100 and view.ticks_per_row == 100
    assert view.caption() == "BTC/USDT  ±16.7 bp, rows of 1.00 USDT · max 14.72 BTC in a row"
    base = view.base_ticks
    first = view.frame()[-1].copy()
    for k in range(1, 20):  # ordinary moves of a few dollars do not re-base
        btc.advance(COL)
        btc.levels(BID, {BTC_MID - 1 + k * 100: 5_000})
        view.refresh()
    assert view.rebase_count == 1
    btc.advance(COL)  # a $60 move re-bases once and the history moves with its prices
    btc.levels(ASK, {p: 0 for p in range(BTC_MID + 1, BTC_MID + 6_001)})
    btc.levels(BID, {BTC_MID + 6_000: 7_000})
    btc.levels(ASK, {BTC_MID + 6_002: 7_000})
    view.refresh()
    assert view.rebase_count == 2
    shift = (view.base_ticks - base) // 100
    assert shift > 0
    frame = view.frame()
    np.testing.assert_array_equal(frame[0][: 200 - shift], first[shift:])
    assert (frame > 0).any(axis=1).all()
    asks = view.best_lines()[1]
    assert asks[-1] == pytest.approx(60_060.02) and not np.isnan(asks).any()

