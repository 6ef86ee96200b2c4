"""The Backtest panel: a strategy config and a data source, run without freezing the UI.

The backtest runs in a separate process (the engine is CPU-bound and holds the GIL), so
the window keeps drawing; a timer polls the future and the worker's progress queue. The
report and its plots (price with own fills, inventory, PnL: ui/reports/plots.py, the same
the command line's --plots writes) are shown when it finishes. While it runs the panel says
it is a backtest (simulated time, with a progress bar) and Cancel stops its worker; its bot
is named "backtest-<strategy>", never like a live bot ("bot-1"). A failed backtest shows
one line (the same message the command line prints) and never breaks the next one: the
worker returns errors as text instead of raising (exceptions that cannot be pickled would
break the pool), and a pool that broke anyway (a crashed worker) is replaced.
"""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import queue as queue_module
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.config.bot_config import BotConfig, VENUE_SCHEMA
from app.config.schema import ConfigError, Field
from strategies.registry import STRATEGIES, strategy_class
from strategies.user_files import strategy_file_of
from ui.bots.schema_form import SchemaForm
from ui.bots.strategy_files import fill_strategy_box
from ui.reports.plots import ReportPlots


REPLAY_KEY = "replay_record"
"""Where the worker puts the BacktestRecord (app/wiring/backtest_capture.py) for the replay."""
_progress_queue: Any = None  # in the worker process: where progress goes (set by _init_worker)


def _init_worker(progress_queue: Any) -> None:
    global _progress_queue
    _progress_queue = progress_queue


def error_line(exc: BaseException) -> str:
    """The one line the command line would print for this error (no traceback)."""
    from app.config.schema import ConfigError

    if isinstance(exc, (ConfigError, ValueError)):
        return str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def run_backtest_job(config: BotConfig, duration_s: float) -> dict[str, Any]:
    """Runs in the worker process. Never raises: an error comes back as {"error": line}."""
    from app.wiring.runners import run_simulated

    last = [0.0]

    def progress(session: Any) -> None:
        clock = session.clock
        bot = session.bot
        # Not `if bot.start_ns`: a demo market's simulated clock starts at 0, so a bot started
        # at its first instant has start_ns 0 (the bar then never moved).
        done = (clock.now_ns() - bot.start_ns) / 1e9 if bot.state.value != "ready" else 0.0
        if _progress_queue is not None and (done - last[0] >= duration_s / 1000 or done >= duration_s):
            last[0] = done
            try:
                _progress_queue.put_nowait(done)
            except Exception:  # a full or closed queue only loses a progress update
                pass

    from app.wiring.backtest_capture import BacktestCapture

    capture = BacktestCapture()  # the bot's order activity (and the demo market) for the replay
    try:
        report = run_simulated(config, duration_s, progress=progress, on_ready=capture.attach)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line for the panel
        return {"error": error_line(exc)}
    try:
        record = capture.finish()
    except Exception as exc:  # noqa: BLE001 - the report stands without a replay
        report.setdefault("notes", []).append(f"no replay: {error_line(exc)}")
        return report
    report["own_orders"] = record.own_orders_table()
    if record.replay_note:
        report.setdefault("notes", []).append(record.replay_note)
    report[REPLAY_KEY] = record  # taken out by the panel: the report stays plain JSON
    return report


def default_recordings() -> list[Path]:
    from app.data.store import recordings_dir

    folder = recordings_dir()
    return sorted(folder.glob("spot_btcusdt_*.gz")) if folder.is_dir() else []


class BacktestPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._executor: futures.ProcessPoolExecutor | None = None
        self._future: futures.Future | None = None
        self._progress: Any = None  # the worker's progress queue (multiprocessing)
        self._duration = 0.0
        self.last_report: dict[str, Any] | None = None
        self.replay_record: Any = None  # the last run's BacktestRecord, for "Replay"
        self.replay_window: Any = None

        self.strategy = QComboBox(objectName="bt_strategy")
        fill_strategy_box(self.strategy)  # built-ins, then user strategy files marked "(file)"
        self.source = QComboBox(objectName="bt_source")
        self.source.addItem("Demo market (synthetic)", "demo")
        self.source.addItem("Recorded market (paper fills)", "replay")
        self.seed = QLineEdit("7", objectName="bt_seed")
        self.files = QLineEdit(", ".join(str(p) for p in default_recordings()), objectName="bt_files")
        browse = self._browse_button = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.duration = QLineEdit("600", objectName="bt_duration")
        self.form = SchemaForm(strategy_class(self.strategy.currentData()).schema, parent=self)
        self.run_button = QPushButton("Run backtest", objectName="bt_run")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", objectName="bt_cancel")
        self.cancel_button.setToolTip("Stops the running backtest (its worker process ends; nothing is reported)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.replay_button = QPushButton("Replay in market views", objectName="bt_replay")
        self.replay_button.setToolTip("Play the run again: the book, trades and the bot's quotes, cancels and fills")
        self.replay_button.setEnabled(False)
        self.replay_button.clicked.connect(self.open_replay)
        self.status = QLabel("", objectName="bt_status")
        self.status.setWordWrap(True)
        self.progress = QProgressBar(objectName="bt_progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.report_text = QPlainTextEdit(objectName="bt_report")
        self.report_text.setReadOnly(True)
        self.plots = ReportPlots()  # price with own fills, inventory, PnL on one time axis

        files_row = QHBoxLayout()
        files_row.addWidget(self.files)
        files_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Strategy", self.strategy)
        form.addRow("Data", self.source)
        form.addRow("Demo seed", self.seed)
        form.addRow("Recordings", files_row)
        form.addRow("Duration (s)", self.duration)
        settings = QWidget()
        settings_layout = self._settings_layout = QVBoxLayout(settings)
        settings_layout.addLayout(form)
        settings_layout.addWidget(self.form)
        scroll = QScrollArea()  # the form scrolls; the report keeps its room
        scroll.setWidgetResizable(True)
        scroll.setWidget(settings)
        scroll.setMinimumHeight(100)
        left = QSplitter()
        left.setOrientation(left.orientation().Vertical)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.cancel_button)
        results_layout.addLayout(run_row)
        results_layout.addWidget(self.replay_button)
        results_layout.addWidget(self.status)
        results_layout.addWidget(self.progress)
        results_layout.addWidget(self.report_text)
        left.addWidget(scroll)
        left.addWidget(results)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.plots)
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.timer = QTimer(self)
        self.timer.setInterval(200)
        self.timer.timeout.connect(self._poll)
        self.source.currentIndexChanged.connect(self._source_changed)
        self._source_changed()
        self.strategy.currentIndexChanged.connect(self._strategy_changed)

    def _strategy_changed(self, *_args) -> None:
        """The chosen strategy's form; values of fields it shares with the last one kept."""
        cls = strategy_class(self.strategy.currentData())
        if self.form.schema is cls.schema:
            return
        kept = self.form.raw_values()
        self.form.setParent(None)
        self.form.deleteLater()
        self.form = SchemaForm(cls.schema, parent=self)
        self.form.set_values({k: v for k, v in kept.items() if k in cls.schema.by_name()})
        self._settings_layout.addWidget(self.form)

    def refresh_strategies(self) -> None:
        """User strategy files loaded, changed or gone: the list as the registry is now, and
        the form (and the sweep panel's parameters) if the chosen strategy's class changed."""
        fill_strategy_box(self.strategy)
        if strategy_class(self.strategy.currentData()).schema is not self.form.schema:
            self.strategy.currentIndexChanged.emit(self.strategy.currentIndex())

    def _source_changed(self, *_args) -> None:
        """Only the fields of the chosen data source are editable."""
        demo = self.source.currentData() == "demo"
        self.seed.setEnabled(demo)
        self.files.setEnabled(not demo)
        self._browse_button.setEnabled(not demo)

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Recordings", "", "Binance recordings (*.gz)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda names: self.files.setText(", ".join(names)))
        dialog.open()

    def build_config(self) -> tuple[BotConfig, float]:
        """Validates the panel; raises ConfigError naming the bad field."""
        duration = Field("duration", "float", minimum=1, maximum=7 * 86400).coerce(self.duration.text(), "backtest")
        config = BotConfig(source="backtest panel")
        config.strategy = self.strategy.currentData()
        config.name = f"backtest-{config.strategy}"  # never named like a live bot (bot-1, ...)
        roles = STRATEGIES[config.strategy].roles
        if any(not role.optional for role in roles[1:]):
            raise ConfigError("backtest", "strategy", f"{config.strategy} trades {len(roles)} markets "
                              f"({', '.join(r.name for r in roles)}): backtest it from a config with a markets: "
                              f"section (python main.py backtest --config resources/configs/{config.strategy}.yaml)")
        config.strategy_file = strategy_file_of(config.strategy)  # a user strategy: the worker loads its file
        config.params = self.form.values()
        kind = self.source.currentData()
        venue: dict[str, Any] = {"kind": kind}
        if kind == "demo":
            venue["seed"] = Field("seed", "int", minimum=0).coerce(self.seed.text(), "backtest")
        else:
            paths = [Path(p.strip()) for p in self.files.text().split(",") if p.strip()]
            missing = [str(p) for p in paths if not p.is_file()]
            if not paths or missing:
                raise ConfigError("backtest", "recordings", f"file not found: {', '.join(missing) or '(none given)'}")
            config.recordings = paths
        config.venue = VENUE_SCHEMA.validate(venue, "backtest", "venue.")
        return config, duration

    def start(self) -> None:
        if self._future is not None:
            return
        try:
            config, duration = self.build_config()
        except ConfigError as exc:
            self.status.setText(f"Not started: {exc}")
            return
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._progress = context.Queue()
            self._executor = futures.ProcessPoolExecutor(
                1, mp_context=context, initializer=_init_worker, initargs=(self._progress,)
            )
        self._duration = duration
        try:
            self._future = self._executor.submit(run_backtest_job, config, duration)
        except (futures.BrokenExecutor, RuntimeError):  # broken or shut down: a fresh pool
            self._drop_executor()
            self.start()
            return
        self._drain_progress()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        data = (f"the demo market (seed {config.venue['seed']})" if config.venue["kind"] == "demo"
                else f"{len(config.recordings)} recording{'s' if len(config.recordings) != 1 else ''}")
        self.status.setText(f"Backtest running (simulated, no live orders): {config.strategy} on {data}…")
        self.progress.setValue(0)
        self.progress.setFormat(f"backtest: 0 / {duration:g} s simulated")
        self.progress.setVisible(True)
        self.timer.start()

    @property
    def running(self) -> bool:
        return self._future is not None

    def _drain_progress(self) -> float | None:
        latest = None
        if self._progress is None:
            return None
        try:
            while True:
                latest = self._progress.get_nowait()
        except (queue_module.Empty, OSError, ValueError, EOFError):
            pass
        return latest

    def _drop_executor(self) -> None:
        executor, self._executor = self._executor, None
        progress, self._progress = self._progress, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        if progress is not None:
            progress.close()

    def _poll(self) -> None:
        if self._future is None:
            return
        done_s = self._drain_progress()
        if done_s is not None and self._duration > 0:
            self.progress.setValue(int(1000 * min(1.0, done_s / self._duration)))
            self.progress.setFormat(f"backtest: {done_s:,.0f} / {self._duration:g} s simulated")
        if not self._future.done():
            return
        future, self._future = self._future, None
        self._idle()
        try:
            report = future.result()
        except futures.BrokenExecutor as exc:  # the worker died: the next run gets a new one
            self._drop_executor()
            self.status.setText(f"Backtest failed: the worker process stopped ({exc}); the next run starts a new one")
            return
        except Exception as exc:  # noqa: BLE001 - shown where the user looks, one line
            self.status.setText(f"Backtest failed: {error_line(exc)}")
            return
        if "error" in report:
            self.status.setText(f"Backtest failed: {report['error']}")
            return
        self.replay_record = report.pop(REPLAY_KEY, None)
        self.replay_button.setEnabled(self.replay_record is not None)
        self.show_report(report)

    def _idle(self) -> None:
        self.timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setVisible(False)

    def cancel(self) -> None:
        """Stops the running backtest: its worker process is ended (a simulation cannot be
        interrupted from outside otherwise) and the next run starts a fresh one."""
        if self._future is None:
            return
        done_s = self._drain_progress()
        self._future = None
        executor = self._executor
        for process in list(getattr(executor, "_processes", {}).values()) if executor is not None else []:
            process.terminate()
        self._drop_executor()
        self._idle()
        shown = self.progress.value() / 1000 * self._duration if done_s is None else done_s
        self.status.setText(f"Backtest cancelled after {shown:,.0f} of {self._duration:g} s simulated; "
                            "nothing reported.")

    def open_replay(self) -> None:
        """Opens the last run in a replay window (one at a time: a new run replaces it)."""
        if self.replay_record is None:
            return
        from ui.backtest.replay_window import BacktestReplayWindow

        self._close_replay()
        try:
            self.replay_window = BacktestReplayWindow(self.replay_record)
        except (ValueError, OSError) as exc:  # the recording moved or changed since the run
            self.status.setText(f"Replay failed: {error_line(exc)}")
            return
        self.replay_window.resize(1400, 850)
        self.replay_window.show()

    def _close_replay(self) -> None:
        window, self.replay_window = self.replay_window, None
        if window is not None:
            window.close()
            window.deleteLater()

    def show_report(self, report: dict[str, Any]) -> None:
        from app.engine.report import format_summary

        from app.wiring.runners import format_backtest_notes

        self.last_report = report
        notes = format_backtest_notes(report)
        if report.get("bot_error"):
            self.status.setText(f"The bot failed: {report['bot_error']}")
        else:
            self.status.setText("Finished" + (f": {notes[0].removeprefix('ended: ')}." if notes else "."))
        text = format_summary(report)
        extra = [line for line in notes if line not in text]
        self.report_text.setPlainText(text + ("\n" + "\n".join(extra) if extra else ""))
        self.plots.show_report(report)

    def shutdown(self) -> None:
        self.timer.stop()
        self._close_replay()
        self._future = None
        self._drop_executor()
