"""The Sweep panel: the backtest panel's settings run over one or two parameters' values.

The base of every run is what the Backtest panel holds (strategy, its parameters, the data
source, the duration); this panel picks up to two parameters and their values (the same
`V1, V2` or `LOW..HIGH:STEP` text as `python main.py sweep --grid`, checked by the same
schema) and shows the runs as they finish: a progress bar (runs done, best so far, time
left), a heatmap of the metric over the two parameters and the best runs in a table.

The sweep engine (app/wiring/sweep.py) runs in a plain thread that only waits on worker
processes (the backtests are in those, never in this process), so the window keeps
drawing; a timer reads the tracker's figures. Cancel stops queued and running runs.
"""
from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.config.schema import ConfigError
from app.wiring.sweep import GridDriver, SweepTracker, clock_text, describe_error, run_sweep
from app.wiring.sweep_backends import ProcessBackend, default_workers
from app.wiring.sweep_space import Axis, format_value, parse_axis, sweepable_fields

NONE = "(none)"
METRICS = ("pnl_quote", "pnl", "return_pct", "max_drawdown", "fills", "volume_quote", "fees_quote", "rejected_orders")
TABLE_ROWS = 20
DEFAULT_VALUES = {"bid_spread_bps": "0.5, 1, 2, 4", "ask_spread_bps": "0.5, 1, 2, 4"}


def _lut(minimize: bool) -> np.ndarray:
    """uint8 RGB lookup table (viridis): the best cell is the brightest either way."""
    table = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False).astype(np.uint8)
    return table[::-1].copy() if minimize else table


class SweepPanel(QWidget):
    def __init__(self, backtest: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.backtest = backtest
        self.tracker: SweepTracker | None = None
        self.axes: list[Axis] = []
        self._backend: ProcessBackend | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._error: str | None = None
        self._completed = False
        self._shown = -1
        self.grid = np.full((1, 1), np.nan, dtype=np.float32)

        self.param_a = QComboBox(objectName="sw_param_a")
        self.values_a = QLineEdit(objectName="sw_values_a")
        self.param_b = QComboBox(objectName="sw_param_b")
        self.values_b = QLineEdit(objectName="sw_values_b")
        self.metric_box = QComboBox(objectName="sw_metric")
        self.metric_box.setEditable(True)
        self.metric_box.addItems(METRICS)
        self.minimize = QCheckBox("lower is better", objectName="sw_minimize")
        self.workers = QSpinBox(objectName="sw_workers")
        self.workers.setRange(1, max(1, default_workers()))
        self.workers.setValue(max(1, default_workers()))
        self.run_button = QPushButton("Run sweep", objectName="sw_run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", objectName="sw_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.status = QLabel("The Backtest panel's settings are the base of every run.", objectName="sw_status")
        self.status.setWordWrap(True)
        self.progress = QProgressBar(objectName="sw_progress")
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.table = QTableWidget(0, 0, objectName="sw_table")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

        self.plot = pg.PlotWidget(title="Metric by parameter")
        self.plot.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.plot.setMouseEnabled(x=False, y=False)

        form = QFormLayout()
        row_a, row_b = QHBoxLayout(), QHBoxLayout()
        row_a.addWidget(self.param_a, 2)
        row_a.addWidget(self.values_a, 3)
        row_b.addWidget(self.param_b, 2)
        row_b.addWidget(self.values_b, 3)
        metric_row = QHBoxLayout()
        metric_row.addWidget(self.metric_box, 1)
        metric_row.addWidget(self.minimize)
        form.addRow("Parameter (x)", row_a)
        form.addRow("Parameter (y)", row_b)
        form.addRow("Metric", metric_row)
        form.addRow("Workers", self.workers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(form)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status)
        left_layout.addWidget(self.progress)
        left_layout.addWidget(self.table, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.plot)
        split.setSizes([420, 600])
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        self.timer = QTimer(self)
        self.timer.setInterval(200)
        self.timer.timeout.connect(self._poll)
        self.param_a.currentIndexChanged.connect(lambda *_: self._suggest_values(self.param_a, self.values_a))
        self.param_b.currentIndexChanged.connect(lambda *_: self._suggest_values(self.param_b, self.values_b))
        backtest.strategy.currentIndexChanged.connect(self._strategy_changed)
        self._strategy_changed()

    # -- parameters -----------------------------------------------------------------------------
    def _strategy_changed(self, *_args) -> None:
        """The parameters on offer are the chosen strategy's (and the venue's and rules')."""
        keys = list(sweepable_fields(self.backtest.strategy.currentData()))
        for combo, first in ((self.param_a, "bid_spread_bps"), (self.param_b, "ask_spread_bps")):
            combo.blockSignals(True)
            combo.clear()
            if combo is self.param_b:
                combo.addItem(NONE)
            combo.addItems(keys)
            combo.setCurrentIndex(max(0, combo.findText(first)))
            combo.blockSignals(False)
        self._suggest_values(self.param_a, self.values_a)
        self._suggest_values(self.param_b, self.values_b)

    def _suggest_values(self, combo: QComboBox, edit: QLineEdit) -> None:
        key = combo.currentText()
        fields = sweepable_fields(self.backtest.strategy.currentData())
        spec = fields.get(key)
        edit.setEnabled(spec is not None)
        if spec is None:
            edit.setText("")
        elif key in DEFAULT_VALUES:
            edit.setText(DEFAULT_VALUES[key])
        elif spec.kind == "choice":
            edit.setText(", ".join(spec.choices))
        elif spec.kind == "bool":
            edit.setText("true, false")
        else:
            edit.setText("" if spec.default is None else format_value(spec.default))

    def build_axes(self) -> list[Axis]:
        """The chosen parameters with their checked values; ConfigError naming the bad one."""
        strategy = self.backtest.strategy.currentData()
        axes = [parse_axis(f"{self.param_a.currentText()}={self.values_a.text()}", strategy)]
        if self.param_b.currentText() != NONE:
            if self.param_b.currentText() == self.param_a.currentText():
                raise ConfigError("", self.param_b.currentText(), "is already the x parameter")
            axes.append(parse_axis(f"{self.param_b.currentText()}={self.values_b.text()}", strategy))
        return axes

    # -- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self.running:
            return
        try:
            config, duration = self.backtest.build_config()
            axes = self.build_axes()
        except ConfigError as exc:
            where = f"{exc.field_path}: " if exc.field_path else ""
            self.status.setText(f"Not started: {where}{exc.reason}")
            return
        metric = self.metric_box.currentText().strip() or None
        driver = GridDriver(axes)
        self.axes = axes
        self.tracker = SweepTracker(driver.total, [a.key for a in axes], metric, self.minimize.isChecked())
        workers = min(self.workers.value(), driver.total)
        if self._backend is None or self._backend.slots != workers:
            self._close_backend()
            self._backend = ProcessBackend(workers)
        self._error, self._completed, self._shown = None, False, -1
        self._stop.clear()
        self._reset_plot(minimize=self.minimize.isChecked())
        backend, tracker, stop = self._backend, self.tracker, self._stop

        def work() -> None:
            try:
                self._completed = run_sweep(backend, config, duration, driver, tracker, tick_s=0.2, stop=stop)
            except Exception as exc:  # noqa: BLE001 - e.g. a metric the report does not have: one line
                self._error = describe_error(exc)

        self._thread = threading.Thread(target=work, name="sweep", daemon=True)
        self._thread.start()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, driver.total)
        self.progress.setValue(0)
        self.progress.setFormat(f"0 / {driver.total} runs")
        self.progress.setVisible(True)
        self.status.setText(f"Running {driver.total} backtest(s) of {duration:g} simulated s, {workers} at once…")
        self.timer.start()

    def cancel(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        tracker, thread = self.tracker, self._thread
        if tracker is None or thread is None:
            return
        finished = not thread.is_alive()
        if tracker.done != self._shown or finished:
            self._shown = tracker.done
            self._show_results(tracker)
        eta = tracker.eta_s()
        left = f" · ~{_clock(eta)} left" if eta is not None and tracker.done < tracker.total else ""
        best = tracker.value(tracker.best) if tracker.best is not None else None
        self.progress.setValue(tracker.done)
        self.progress.setFormat(f"{tracker.done} / {tracker.total} runs"
                                + (f" · best {float(best):.6g}" if best is not None else "") + left)
        if not finished:
            self.status.setText(f"Running: best {tracker.describe_best()}" if tracker.best is not None
                                else self.status.text())
            return
        self._thread = None
        self.timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setVisible(False)
        failed = f", {tracker.failed} failed" if tracker.failed else ""
        if self._error:
            self.status.setText(f"Sweep failed: {self._error}")
        elif not self._completed:
            self.status.setText(f"Cancelled after {tracker.done} of {tracker.total} runs{failed}; "
                                f"best {tracker.describe_best()}.")
        else:
            self.status.setText(f"Finished {tracker.done} runs{failed} in {_clock(tracker.elapsed_s())}; "
                                f"best {tracker.describe_best()}.")

    # -- results --------------------------------------------------------------------------------
    def _reset_plot(self, minimize: bool) -> None:
        xs = self.axes[0].values
        ys = self.axes[1].values if len(self.axes) > 1 else ("",)
        self.grid = np.full((len(xs), len(ys)), np.nan, dtype=np.float32)
        self._lut = _lut(minimize)
        self.image.setImage(self.grid, autoLevels=False, levels=(0.0, 1.0), lut=self._lut)
        self.image.setRect(QRectF(-0.5, -0.5, len(xs), len(ys)))
        bottom, side = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        bottom.setTicks([[(i, format_value(v)) for i, v in enumerate(xs)]])
        side.setTicks([[(j, format_value(v)) for j, v in enumerate(ys)]])
        self.plot.setLabel("bottom", self.axes[0].key)
        self.plot.setLabel("left", self.axes[1].key if len(self.axes) > 1 else "")
        self.plot.setXRange(-0.5, len(xs) - 0.5, padding=0)
        self.plot.setYRange(-0.5, len(ys) - 0.5, padding=0)
        self.plot.setTitle(self.metric_box.currentText() or "metric")
        self.table.setRowCount(0)

    def _show_results(self, tracker: SweepTracker) -> None:
        xs = {format_value(v): i for i, v in enumerate(self.axes[0].values)}
        ys = {format_value(v): j for j, v in enumerate(self.axes[1].values)} if len(self.axes) > 1 else None
        for result in tracker.results:
            value = tracker.value(result)
            i = xs.get(format_value(result.params.get(self.axes[0].key)))
            j = 0 if ys is None else ys.get(format_value(result.params.get(self.axes[1].key)))
            if i is not None and j is not None:
                self.grid[i, j] = np.nan if value is None else float(value)
        finite = self.grid[np.isfinite(self.grid)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if not high > low:
            low, high = low - 1.0, high + 1.0
        self.image.setImage(self.grid, autoLevels=False, levels=(low, high), lut=self._lut)
        self.plot.setTitle(f"{tracker.metric or 'metric'}: {_short(low)} … {_short(high)}")
        self._fill_table(tracker)

    def _fill_table(self, tracker: SweepTracker) -> None:
        metric = tracker.metric or "metric"
        columns = [*tracker.keys, metric, "fills", "error"]
        rows = tracker.sorted_results()[:TABLE_ROWS]
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels(columns)
        self.table.setRowCount(len(rows))
        for row, result in enumerate(rows):
            value = tracker.value(result)
            cells = [*(format_value(result.params[k]) for k in tracker.keys),
                     "" if value is None else format_value(value), format_value(result.metrics.get("fills", "")),
                     result.error or ""]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _close_backend(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.cancel([])

    def shutdown(self) -> None:
        """Stops a running sweep (its worker processes too) and the pool."""
        self.timer.stop()
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(10)
        self._close_backend()


def _short(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else "-"


def _clock(seconds: float) -> str:
    return clock_text(seconds)
