"""Performance dock charts: stepped x range and sticky y ranges (no auto-range each second)."""
from __future__ import annotations

from types import SimpleNamespace

from ui.performance_dock import X_STEP_S, PerformancePanel, _Series, stepped_x_range, sticky_y_range


def test_stepped_x_range():
    assert stepped_x_range(0.0, 0.0) == (0.0, X_STEP_S)
    assert stepped_x_range(3.0, 59.0) == (0.0, 60.0)
    assert stepped_x_range(3.0, 60.0) == (0.0, 120.0)  # the last sample is never on the edge
    assert stepped_x_range(61.0, 130.0, step=60.0) == (60.0, 180.0)


def test_sticky_y_range():
    y = sticky_y_range(0.0, 10.0, None)
    assert y == (-2.5, 12.5)
    assert sticky_y_range(1.0, 12.0, y) is y  # inside: unchanged
    assert sticky_y_range(1.0, 13.0, y) == (-2.0, 16.0)
    assert sticky_y_range(100.0, 100.5, None)[1] >= 105.0  # at least 5 % of the level  # left it: refit with headroom
    lo, hi = sticky_y_range(5.0, 5.0, None)
    assert lo < 5.0 < hi


def test_panel_axes_move_only_when_data_leave_them(qtbot):
    bot = SimpleNamespace(name="b1")
    panel = PerformancePanel(SimpleNamespace(bots={"b1": bot}))
    qtbot.addWidget(panel)
    panel.timer.stop()
    panel.bot_combo.addItem("b1")
    panel._report_text = ""  # no report in this test
    series = panel._series["b1"] = _Series()
    moves: list[str] = []
    vb = panel.pnl_plot.getViewBox()
    vb.sigRangeChanged.connect(lambda *_: moves.append("pnl"))
    for t in range(1, 31):  # 30 s of a slowly rising PnL
        series.add(float(t), 1.0 + 0.01 * t, -0.5)
        panel.redraw()
    r = panel.axis_ranges()
    assert r["x"] == (0.0, 60.0)
    assert r["pnl"][0] <= 1.01 and r["pnl"][1] >= 1.3
    assert len(moves) <= 8  # set-up and a few refits with headroom, not one per sample
    x = vb.viewRange()[0]
    assert abs(x[0]) < 1e-9 and abs(x[1] - 60.0) < 1e-9
    assert panel.inv_plot.getViewBox().viewRange()[0] == x  # linked
    moves.clear()
    series.add(61.0, 50.0, -0.5)  # leaves both the x and the y range
    panel.redraw()
    r2 = panel.axis_ranges()
    assert r2["x"] == (0.0, 120.0) and r2["pnl"][1] >= 50.0 and moves
