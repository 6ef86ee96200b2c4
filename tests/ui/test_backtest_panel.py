"""The desktop backtest panel: one-line errors, and a failed backtest never breaks the next."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from app.data.store import recordings_dir
from ui.backtest.backtest_panel import BacktestPanel

SPOT = recordings_dir() / "spot_btcusdt_20240808.gz"
needs_data = pytest.mark.skipif(not SPOT.is_file(), reason=f"real recording not found: {SPOT}")
WAIT_MS = 120_000  # a spawned worker imports the app first


def first_lines(n: int) -> bytes:
    out = []
    with gzip.open(SPOT, "rb") as fh:
        for line in fh:
            out.append(line)
            if len(out) >= n:
                break
    return b"".join(out)


@pytest.fixture
def panel(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    widget = BacktestPanel()
    qtbot.addWidget(widget)
    widget.source.setCurrentIndex(widget.source.findData("replay"))
    yield widget
    widget.shutdown()


def run(qtbot, panel: BacktestPanel, path: Path, duration: str = "30") -> str:
    panel.files.setText(str(path))
    panel.duration.setText(duration)
    panel.start()
    assert panel.running and panel.progress.isVisibleTo(panel)
    qtbot.waitUntil(lambda: not panel.running, timeout=WAIT_MS)
    assert panel.run_button.isEnabled() and not panel.progress.isVisibleTo(panel)
    return panel.status.text()


@needs_data
def test_failed_backtest_shows_one_line_and_the_next_one_runs(qtbot, panel, tmp_path) -> None:
    data = gzip.compress(first_lines(300))
    broken = tmp_path / "broken.gz"
    broken.write_bytes(data[: len(data) // 2])
    status = run(qtbot, panel, broken)
    assert status.startswith("Backtest failed: ") and "\n" not in status, status
    assert f"{broken}:" in status and "truncated" in status and "Traceback" not in status
    nosnap = tmp_path / "nosnap.gz"
    nosnap.write_bytes(gzip.compress(b"".join(l for l in first_lines(300).splitlines(True) if b"lastUpdateId" not in l)))
    status = run(qtbot, panel, nosnap)
    assert status == f"Backtest failed: no depth snapshot in {nosnap}: the book can never be built"
    good = tmp_path / "good.gz"
    good.write_bytes(data)
    status = run(qtbot, panel, good)
    assert status.startswith("Finished: end of data at 2024-08-08T23:54:"), status
    assert panel.last_report is not None and panel.last_report["end_reason"].startswith("end of data")
    assert "ended: end of data" in panel.report_text.toPlainText()


def test_missing_file_is_not_started(qtbot, panel, tmp_path) -> None:
    panel.files.setText(str(tmp_path / "nothere.gz"))
    panel.start()
    assert not panel.running
    assert panel.status.text().startswith("Not started: ") and "nothere.gz" in panel.status.text()


def test_broken_pool_is_replaced(qtbot, panel, tmp_path) -> None:
    """A worker that dies (not an exception: the process is gone) breaks the pool; the
    panel says so in one line and the next run gets a new worker."""
    import concurrent.futures as futures
    import concurrent.futures.process  # noqa: F401 - a lazy submodule: loaded here, not by an earlier test

    class Dead(futures.Future):
        def __init__(self) -> None:
            super().__init__()
            self.set_exception(futures.process.BrokenProcessPool("a child process terminated abruptly"))

    panel._future = Dead()
    panel._executor = futures.ProcessPoolExecutor(1)
    panel.timer.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=5_000)
    assert panel.status.text().startswith("Backtest failed: the worker process stopped")
    assert panel._executor is None and panel.run_button.isEnabled()


def test_worker_returns_errors_as_one_line(tmp_path) -> None:
    """An exception whose constructor takes several arguments (ConfigError, and RecordingError
    before it pickled itself) cannot be unpickled: raised in the worker, it broke the pool
    for every later run. The job now returns every error as text."""
    from app.config.bot_config import BotConfig
    from ui.backtest.backtest_panel import run_backtest_job

    config = BotConfig(source="panel")
    config.strategy = "no_such_strategy"
    result = run_backtest_job(config, 10)
    assert set(result) == {"error"} and "\n" not in result["error"] and result["error"]


def test_plots_show_the_run_after_a_demo_backtest(qtbot, tmp_path, monkeypatch) -> None:
    """A demo backtest through the worker process: the panel draws the report's mid with
    the bot's own buys and sells, its inventory and its PnL (ui/reports/plots.py)."""
    import numpy as np
    from PySide6.QtGui import QImage

    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    widget = BacktestPanel()
    qtbot.addWidget(widget)
    widget.resize(1400, 800)
    widget.show()
    widget.source.setCurrentIndex(widget.source.findData("demo"))
    widget.duration.setText("30")
    widget.start()
    try:
        qtbot.waitUntil(lambda: not widget.running, timeout=WAIT_MS)
    finally:
        widget.shutdown()
    report = widget.last_report
    assert report is not None and widget.status.text().startswith("Finished"), widget.status.text()
    assert report["fills"] > 0
    assert report["bot"] == f"backtest-{widget.strategy.currentData()}" and report["mode"] == "simulated"  # not "bot-1"
    plots = widget.plots
    assert len(plots.buy_dots.data) == report["buys"] and len(plots.sell_dots.data) == report["sells"]
    assert len(plots.mid_curve.getData()[0]) == len(report["price_path"]["points"]) > 10
    assert len(plots.pnl_curve.getData()[0]) == len(report["curve"]["points"])
    assert plots.pnl.titleLabel.text == "PnL vs holding (USDT)"
    text = widget.report_text.toPlainText()
    assert "markout 1s" in text and "attribution (USDT)" in text and "quoted both sides" in text
    shot = plots.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(shot.constBits(), dtype=np.uint32, count=shot.bytesPerLine() * shot.height() // 4)
    assert len(np.unique(raw & 0x00FFFFFF)) > 16  # drawn lines and markers, not an empty frame


def test_a_strategy_over_several_markets_is_refused_with_where_to_run_it(qtbot):
    panel = BacktestPanel()
    qtbot.addWidget(panel)
    panel.strategy.setCurrentIndex(panel.strategy.findData("cross_exchange_market_making"))
    panel.start()
    assert not panel.running
    assert panel.status.text().startswith("Not started:") and "markets: section" in panel.status.text()
    panel.shutdown()


def test_a_running_backtest_says_so_shows_progress_and_cancels(qtbot, tmp_path, monkeypatch) -> None:
    """A week of demo market (minutes to simulate): labelled as a backtest while it runs, progress in simulated
    seconds, and Cancel ends its worker process at once; the next run starts a fresh one."""
    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    widget = BacktestPanel()
    qtbot.addWidget(widget)
    widget.show()
    widget.source.setCurrentIndex(widget.source.findData("demo"))
    widget.duration.setText("604800")
    assert widget.build_config()[0].name.startswith("backtest-")
    assert not widget.cancel_button.isEnabled()
    try:
        widget.start()
        assert widget.running and widget.cancel_button.isEnabled() and not widget.run_button.isEnabled()
        assert widget.status.text().startswith("Backtest running (simulated, no live orders): ")
        assert widget.progress.isVisibleTo(widget) and widget.progress.format().startswith("backtest: 0 / 604800 s")
        qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=WAIT_MS)  # the worker reports progress
        workers = list(widget._executor._processes.values())
        assert workers and all(w.is_alive() for w in workers)
        widget.cancel_button.click()
        assert not widget.running and widget.run_button.isEnabled() and not widget.cancel_button.isEnabled()
        assert widget.status.text().startswith("Backtest cancelled after ") and not widget.progress.isVisibleTo(widget)
        for worker in workers:
            # Polled, not joined once: the executor's own thread may reap the process first, and
            # until it has recorded the exit code is_alive() cannot tell (waitpid fails with ECHILD).
            qtbot.waitUntil(lambda worker=worker: not worker.is_alive(), timeout=10_000)
        assert widget.last_report is None
        widget.start()  # a fresh worker
        assert widget.running
        widget.cancel()
        assert not widget.running
    finally:
        widget.shutdown()
