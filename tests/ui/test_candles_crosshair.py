"""The candle chart's crosshair readout (the hovered candle's OHLCV in the instrument's
units) and its volume pane (bought over total, x-linked, y fitted to what is shown)."""
from __future__ import annotations

import time

import pytest

from tests.ui.market_fakes import ScriptedConnector
from tests.ui.test_market_views import MID, feed, shown  # noqa: F401 - the fixture
from ui.market.candle_crosshair import clock_text
from ui.market.candles import CandlesView

SEC = 1_000_000_000


def test_crosshair_reads_the_candle_under_the_mouse_and_volume_pane_follows(qtbot, feed):  # noqa: F811
    view = shown(qtbot, CandlesView(interval="1s", visible_candles=30))
    view.set_source(feed, ScriptedConnector(feed))
    t0 = (feed.clock.now_ns() // SEC) * SEC
    rows = []
    for k in range(40):  # candle k: opens at MID+k%5, dips 3 ticks, closes 2 up; 1 lot bought, 2 sold, 3 bought
        base = MID + k % 5
        rows += [(t0 + k * SEC, base, 1, 1), (t0 + k * SEC + 1, base - 3, 2, -1), (t0 + k * SEC + 2, base + 2, 3, 1)]
    feed.trades(rows)
    assert view.refresh()
    view.grab()
    inst = feed.instrument
    x = (t0 + 7 * SEC) / 1e9 + 0.5
    text = view.crosshair.describe(x, float(inst.ticks_to_price(MID)) + 0.004)
    base = MID + 7 % 5
    expected = (f"{clock_text((t0 + 7 * SEC) / 1e9, 1.0)}  O {inst.ticks_to_price(base)}  "
                f"H {inst.ticks_to_price(base + 2)}  L {inst.ticks_to_price(base - 3)}  "
                f"C {inst.ticks_to_price(base + 2)}  V {inst.lots_to_amount(6)} (bought {inst.lots_to_amount(4)})  "
                f"·  price {inst.ticks_to_price(MID)}")
    assert text == expected
    assert view.crosshair.describe((t0 + 100 * SEC) / 1e9, 1.0).startswith("price ")  # no candle there
    # Through the mouse path: a point inside the plot shows the lines and the readout.
    box = view.plot.getPlotItem().getViewBox()
    scene = box.mapViewToScene(box.viewRect().center())
    assert view.crosshair.show_at(scene) == view.readout.text() != ""
    assert view.crosshair.vline.isVisible()
    outside = box.sceneBoundingRect().topLeft() - box.sceneBoundingRect().bottomRight()
    assert view.crosshair.show_at(outside) == "" and not view.crosshair.vline.isVisible()
    # The volume pane: one bar per candle in view (30, plus the margins) in base units, bought
    # over total, x linked.
    heights = view.volume.total.opts["height"]
    assert len(heights) == 32 and heights[7] == pytest.approx(float(inst.lots_to_amount(6)))
    assert view.volume.bought.opts["height"][7] == pytest.approx(float(inst.lots_to_amount(4)))
    assert view.volume.getPlotItem().getViewBox().viewRange()[0] == pytest.approx(box.viewRange()[0])


def test_clock_text_keeps_seconds_below_a_minute():
    t = time.mktime((2026, 12, 2, 16, 5, 7, 0, 0, -1))
    assert clock_text(t, 1.0) == "16:05:07" and clock_text(t, 60.0) == "16:05"
