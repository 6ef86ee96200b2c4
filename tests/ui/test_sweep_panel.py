"""The desktop sweep panel: the backtest panel's settings over two parameters, a real
sweep in worker processes, its progress, heatmap and table; bad values and Cancel."""
from __future__ import annotations

import numpy as np
import pytest

from ui.backtest.backtest_panel import BacktestPanel
from ui.backtest.sweep_panel import NONE, SweepPanel

WAIT_MS = 180_000  # spawned workers import the app first, on a shared 2-core machine


@pytest.fixture
def panels(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    backtest = BacktestPanel()
    sweep = SweepPanel(backtest)
    qtbot.addWidget(backtest)
    qtbot.addWidget(sweep)
    backtest.source.setCurrentIndex(backtest.source.findData("demo"))
    backtest.duration.setText("20")
    yield backtest, sweep
    sweep.shutdown()
    backtest.shutdown()


def choose(sweep: SweepPanel, a: str, values_a: str, b: str = NONE, values_b: str = "") -> None:
    sweep.param_a.setCurrentText(a)
    sweep.values_a.setText(values_a)
    sweep.param_b.setCurrentText(b)
    sweep.values_b.setText(values_b)


def test_parameters_on_offer_are_the_strategys_and_the_venues(panels) -> None:
    _, sweep = panels
    keys = [sweep.param_a.itemText(i) for i in range(sweep.param_a.count())]
    assert "bid_spread_bps" in keys and "venue.latency_ms" in keys and "instrument.maker_fee" in keys
    assert "venue.kind" not in keys
    assert sweep.param_b.itemText(0) == NONE
    sweep.param_a.setCurrentText("post_only")
    assert sweep.values_a.text() == "true, false"


@pytest.mark.parametrize("a, values, b, expected", [
    ("bid_spread_bps", "1, 9999", NONE, "Not started: bid_spread_bps: must be at most 5000 bp, got '9999'"),
    ("bid_spread_bps", "1", "bid_spread_bps", "Not started: bid_spread_bps: is already the x parameter"),
    ("order_levels", "1..4", NONE, "Not started: order_levels: a range needs a step for a grid (1..4:STEP)"),
])
def test_bad_choices_are_not_started(panels, a, values, b, expected) -> None:
    _, sweep = panels
    choose(sweep, a, values, b, "1")
    sweep.start()
    assert not sweep.running
    assert sweep.status.text().startswith(expected), sweep.status.text()


def test_a_real_sweep_fills_the_heatmap_and_the_table(qtbot, panels) -> None:
    _, sweep = panels
    choose(sweep, "bid_spread_bps", "0.5, 2", "order_levels", "1, 2")
    sweep.workers.setValue(2)
    sweep.metric_box.setCurrentText("pnl_quote")
    sweep.start()
    assert sweep.running and sweep.progress.isVisibleTo(sweep) and not sweep.run_button.isEnabled()
    assert sweep.progress.maximum() == 4
    qtbot.waitUntil(lambda: not sweep.running, timeout=WAIT_MS)
    assert sweep.status.text().startswith("Finished 4 runs in "), sweep.status.text()
    assert "best pnl_quote " in sweep.status.text()
    assert sweep.run_button.isEnabled() and not sweep.progress.isVisibleTo(sweep)

    image = sweep.image.image
    assert image.dtype == np.float32 and image.shape == (2, 2) and np.isfinite(image).all()
    low, high = sweep.image.levels
    assert low == pytest.approx(float(image.min())) and high == pytest.approx(float(image.max()))
    lut = sweep.image.lut
    assert lut.dtype == np.uint8 and lut.shape == (256, 3)
    ticks = sweep.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _, label in ticks] == ["0.5", "2"]
    assert [label for _, label in sweep.plot.getAxis("left")._tickLevels[0]] == ["1", "2"]

    sweep.resize(1200, 600)
    sweep.show()
    qtbot.waitExposed(sweep)
    picture = sweep.plot.grab().toImage()  # painted for real (a shadowed QWidget method once crashed here)
    colours = {picture.pixel(x, y) for x in range(0, picture.width(), 8) for y in range(0, picture.height(), 8)}
    assert not picture.isNull() and len(colours) >= 4

    tracker = sweep.tracker
    assert tracker is not None and tracker.done == 4 and tracker.failed == 0
    best = tracker.best
    i = ["0.5", "2"].index(str(best.params["bid_spread_bps"].normalize()))
    j = [1, 2].index(best.params["order_levels"])
    assert image[i, j] == pytest.approx(float(image.max()))  # the brightest cell is the best run
    assert sweep.table.rowCount() == 4
    assert sweep.table.horizontalHeaderItem(2).text() == "pnl_quote"
    values = [float(sweep.table.item(r, 2).text()) for r in range(4)]
    assert values == sorted(values, reverse=True)


def test_cancel_stops_the_sweep_and_keeps_what_finished(qtbot, panels) -> None:
    backtest, sweep = panels
    backtest.duration.setText("300")
    choose(sweep, "bid_spread_bps", "0.5, 1, 2, 3, 4, 5")
    sweep.workers.setValue(1)
    sweep.start()
    qtbot.waitUntil(lambda: sweep.tracker is not None and sweep.tracker.done >= 1, timeout=WAIT_MS)
    sweep.cancel()
    qtbot.waitUntil(lambda: not sweep.running, timeout=60_000)
    assert sweep.status.text().startswith("Cancelled after "), sweep.status.text()
    assert sweep.tracker.done < 6 and sweep.run_button.isEnabled()
