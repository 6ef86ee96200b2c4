"""A demo backtest from the panel, replayed in the market views (ui/backtest/replay_window.py):
play, pause, speed, seek; the ladder, depth chart, candles and heatmap show the bot's own
orders as the backtest had them at that moment."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ui.backtest.backtest_panel import BacktestPanel
from ui.market.dom_model import OWN_ASK, OWN_BID, RAW_ROLE

WAIT_MS = 120_000  # a spawned worker imports the app first
_NS = 1_000_000_000


def ladder_own_lots(ladder) -> tuple[int, int]:
    """Own bid and ask lots the ladder shows, summed over its rows."""
    model = ladder.model
    bids = sum(model.data(model.index(r, OWN_BID), RAW_ROLE) or 0 for r in range(model.rowCount()))
    asks = sum(model.data(model.index(r, OWN_ASK), RAW_ROLE) or 0 for r in range(model.rowCount()))
    return bids, asks


def expected_own_lots(orders) -> tuple[int, int]:
    bids = sum(o.remaining_lots for o in orders if o.side.sign > 0 and o.price_ticks > 0)
    asks = sum(o.remaining_lots for o in orders if o.side.sign < 0 and o.price_ticks > 0)
    return bids, asks


def draw(window) -> None:
    """What the frame scheduler does over a few frames: every dirty view redraws."""
    for view in window.market.views():
        view.mark_dirty()
    window.market.refresh()


@pytest.fixture
def replayed(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    panel = BacktestPanel()
    qtbot.addWidget(panel)
    panel.source.setCurrentIndex(panel.source.findData("demo"))
    panel.duration.setText("60")
    assert not panel.replay_button.isEnabled()
    panel.start()
    try:
        qtbot.waitUntil(lambda: not panel.running, timeout=WAIT_MS)
    finally:
        panel._drop_executor()
    assert panel.status.text().startswith("Finished"), panel.status.text()
    assert panel.replay_button.isEnabled() and "replay_record" not in panel.last_report
    assert panel.last_report["own_orders"]["total"] > 0
    panel.replay_button.click()
    window = panel.replay_window
    assert window is not None and window.isVisible()
    window.resize(1400, 850)
    yield panel, window
    panel.shutdown()
    assert panel.replay_window is None


def test_play_pause_seek_shows_the_own_orders_of_that_moment(qtbot, replayed, tmp_path) -> None:
    panel, window = replayed
    replay = window.replay
    record = panel.replay_record
    assert window.slider.maximum() == int(replay.span_s() * 10)

    window.set_speed("100x")
    window.play()
    assert window.play_button.text() == "Pause" and window.timer.isActive()
    qtbot.waitUntil(lambda: replay.elapsed_s() > 5, timeout=20_000)
    window.pause()
    assert window.play_button.text() == "Play" and not window.timer.isActive()
    paused_at = replay.position_ns
    qtbot.wait(100)
    assert replay.position_ns == paused_at
    assert window.slider.value() == int(replay.elapsed_s() * 10)

    for seconds in (40.0, 12.3, 33.0):  # forwards, back (a rebuild), forwards again
        window.seek_seconds(seconds)
        at = record.start_ns + int(seconds * _NS)
        assert replay.position_ns == at
        wanted = record.open_at(at)
        assert {o.client_order_id for o in replay.orders.open_orders()} == set(wanted)
        draw(window)
        shown = ladder_own_lots(window.market.ladder)
        assert shown == expected_own_lots(replay.orders.open_orders())
        assert shown[0] > 0 and shown[1] > 0, f"own quotes on both sides at {seconds} s"
        assert window.position.text().startswith(f"0:{int(seconds):02d}")
    assert replay.rebuilds >= 2

    # The other views draw the same moment's own orders.
    market = window.market
    bid = max(o.price_ticks for o in replay.orders.open_orders() if o.side.sign > 0)
    tick = float(record.instrument.tick_size)
    assert market.candles.own_bid_line.isVisible() and market.candles.own_bid_line.value() == pytest.approx(bid * tick)
    market.charts.setCurrentWidget(market.depth)
    draw(window)
    xs, _ = market.depth.own_order_points()
    assert len(xs) == len(replay.orders.open_orders())
    market.charts.setCurrentWidget(market.heatmap)
    draw(window)
    own_bids, own_asks = market.heatmap.own_lines()
    assert own_bids[-1] == pytest.approx(bid * tick) and np.isfinite(own_asks[-1])

    # Playing on at max speed runs to the end, where every order is gone and play stops.
    window.set_speed("max")
    window.play()
    qtbot.waitUntil(lambda: not replay.playing, timeout=30_000)
    assert replay.finished and window.play_button.text() == "Play" and replay.orders.open_orders() == []
    assert window.slider.value() == window.slider.maximum()

    shot = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    path = tmp_path / "backtest-replay.png"
    assert shot.save(str(path)) and path.stat().st_size > 10_000
    raw = np.frombuffer(shot.constBits(), dtype=np.uint32, count=shot.bytesPerLine() * shot.height() // 4)
    assert len(np.unique(raw & 0x00FFFFFF)) > 32


def test_slider_keys_seek_and_a_drag_seeks_once_released(qtbot, replayed) -> None:
    _, window = replayed
    replay = window.replay
    window.slider.setValue(200)  # a click on the groove or a key: seeks at once
    assert replay.elapsed_s() == pytest.approx(20.0)
    window.slider.setSliderDown(True)
    window.slider.setValue(450)
    assert replay.elapsed_s() == pytest.approx(20.0)  # not while dragging
    assert window.position.text().startswith("0:45.0")
    window.slider.setSliderDown(False)
    window.slider.sliderReleased.emit()
    assert replay.elapsed_s() == pytest.approx(45.0)


def test_a_new_replay_replaces_the_open_one(qtbot, replayed) -> None:
    panel, first = replayed
    panel.open_replay()
    assert panel.replay_window is not first and panel.replay_window.isVisible() and not first.isVisible()
