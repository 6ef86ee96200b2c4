"""PnL and inventory over time for one bot, with its performance report.

Samples are taken from a 1 Hz timer into numpy buffers (never per event); the plot
redraws only when visible and a new sample arrived. The report text is rebuilt half a
second later, in another event-loop iteration than the chart redraw, and only when the
panel is visible: the two costs never add up in one frame. The grid is a `GridItem`
(see ui/market/grid_item.py), so a chart redraw does not repaint the axes' labels.

The charts never auto-range: the x range grows in X_STEP_S steps and a y range changes
only when the data leave it (then with headroom), so most seconds move neither axis and
the axes (ticks, labels, layout) are not rebuilt.
"""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from app.engine.bot import Bot
from app.engine.report import build_report, format_summary
from app.wiring.workspace import Workspace
from ui.market.grid_item import GridItem
from ui.market.plot_range import set_range_now

CAPACITY = 36_000  # 10 h at 1 Hz per bot
X_STEP_S = 60.0
"""The time axis extends in steps of this many seconds."""
Y_HEADROOM = 0.25
"""When data leave a y range, the new one has this fraction of the data span as margin."""


def stepped_x_range(t_first: float, t_last: float, step: float = X_STEP_S) -> tuple[float, float]:
    """Time range covering [t_first, t_last], edges on multiples of `step` (at least one step)."""
    lo = np.floor(t_first / step) * step
    hi = max(np.ceil(t_last / step) * step, lo + step)
    if hi <= t_last:
        hi += step
    return float(lo), float(hi)


def sticky_y_range(lo: float, hi: float, current: tuple[float, float] | None) -> tuple[float, float]:
    """`current` while it holds [lo, hi]; otherwise a range around the data with headroom."""
    if current is not None and current[0] <= lo and hi <= current[1]:
        return current
    span = hi - lo
    pad = max(Y_HEADROOM * span, 0.05 * max(abs(lo), abs(hi)), 1e-9)
    return float(lo - pad), float(hi + pad)


class _Series:
    __slots__ = ("t", "pnl", "inv", "n")

    def __init__(self) -> None:
        self.t = np.zeros(CAPACITY, dtype=np.float64)
        self.pnl = np.zeros(CAPACITY, dtype=np.float64)
        self.inv = np.zeros(CAPACITY, dtype=np.float64)
        self.n = 0

    def add(self, t: float, pnl: float, inv: float) -> None:
        if self.n == CAPACITY:  # keep the newest half, amortised
            half = CAPACITY // 2
            for arr in (self.t, self.pnl, self.inv):
                arr[:half] = arr[half:]
            self.n = half
        self.t[self.n], self.pnl[self.n], self.inv[self.n] = t, pnl, inv
        self.n += 1


class PerformancePanel(QWidget):
    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._series: dict[str, _Series] = {}
        self._t0 = time.monotonic()
        self._drawn = (None, -1)
        self._ranges: dict[str, tuple[float, float] | None] = {"x": None, "pnl": None, "inv": None}
        self._report_text: str | None = None
        self.bot_combo = QComboBox(objectName="perf_bot")
        self.pnl_plot = pg.PlotWidget(title="PnL vs holding (quote asset)")
        self.inv_plot = pg.PlotWidget(title="Inventory change (base)")
        for plot in (self.pnl_plot, self.inv_plot):
            plot.setClipToView(True)
            plot.grid = GridItem(plot.getPlotItem(), alpha=0.2)
            plot.setLabel("bottom", "time since the app started", units="s")
            plot.disableAutoRange()
            plot.setMouseEnabled(x=False, y=False)
        self.inv_plot.setXLink(self.pnl_plot)
        self.pnl_curve = self.pnl_plot.plot(pen=pg.mkPen("#3fb950", width=1))
        self.inv_curve = self.inv_plot.plot(pen=pg.mkPen("#58a6ff", width=1))
        self.report = QPlainTextEdit(objectName="perf_report")
        self.report.setReadOnly(True)
        self.report.setMaximumBlockCount(50)
        # Side by side, not stacked: the bottom dock is about 250 px tall by default, and two
        # stacked plots with their titles and axes left each about 20 px of curve.
        split = QSplitter(Qt.Orientation.Horizontal)
        for part in (self.pnl_plot, self.inv_plot, self.report):
            split.addWidget(part)
        split.setSizes([400, 400, 300])
        top = QHBoxLayout()
        top.addWidget(QLabel("Bot"))
        top.addWidget(self.bot_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self._on_timer)
        self._half = False
        self.timer.start()

    def _on_timer(self) -> None:
        """Every second: sample (and redraw the charts); half a second later: the report."""
        self._half = not self._half
        if self._half:
            self.sample()
        elif self.isVisible():
            self.update_report()

    def sample(self) -> None:
        """Records every running bot (visible or not), then redraws if visible."""
        now = time.monotonic() - self._t0
        for name, bot in self.workspace.bots.items():
            if self.bot_combo.findText(name) < 0:
                self.bot_combo.addItem(name)
            pnl = bot.pnl_value()  # every market of the bot, in its valuation asset
            if pnl is None or bot.start_ns == 0:
                continue
            if bot.state.value in ("running", "stopping") or name not in self._series:
                series = self._series.setdefault(name, _Series())
                series.add(now, float(pnl), float(bot.status().inventory_base))
        if self.isVisible():
            self.redraw()

    def selected(self) -> Bot | None:
        return self.workspace.bots.get(self.bot_combo.currentText())

    def redraw(self) -> None:
        """Redraws the charts if a sample arrived since (the report: `update_report`)."""
        bot = self.selected()
        if bot is None:
            return
        series = self._series.get(bot.name)
        if series is not None and self._drawn != (bot.name, series.n):
            if self._drawn[0] != bot.name:
                self._ranges = {"x": None, "pnl": None, "inv": None}
            self._drawn = (bot.name, series.n)
            n = series.n
            if n:
                self._fit_ranges(series)
            self.pnl_curve.setData(series.t[:n], series.pnl[:n])
            self.inv_curve.setData(series.t[:n], series.inv[:n])
        if self._report_text is None:  # first draw: the report too, at once
            self.update_report()

    def _fit_ranges(self, series: _Series) -> None:
        """Moves an axis range only when the data leave it (x: in X_STEP_S steps)."""
        n = series.n
        r = self._ranges
        x = r["x"]
        t_first, t_last = float(series.t[0]), float(series.t[n - 1])
        if x is None or t_first < x[0] or t_last >= x[1]:
            r["x"] = x = stepped_x_range(t_first, t_last)
            set_range_now(self.pnl_plot, x=x, linked=(self.inv_plot,))  # the inventory chart is x-linked
        for key, plot, values in (("pnl", self.pnl_plot, series.pnl[:n]), ("inv", self.inv_plot, series.inv[:n])):
            y = sticky_y_range(float(values.min()), float(values.max()), r[key])
            if y != r[key]:
                r[key] = y
                set_range_now(plot, y=y)

    def axis_ranges(self) -> dict[str, tuple[float, float] | None]:
        """The ranges last set: x (shared) and each chart's y (for tests)."""
        return dict(self._ranges)

    def update_report(self) -> None:
        """Rebuilds the selected bot's report text; sets it only when it changed."""
        bot = self.selected()
        if bot is None:
            return
        text = format_summary(build_report(bot, venue=bot.connector.name, mode="real time"))
        if text != self._report_text:
            self._report_text = text
            self.report.setPlainText(text)
