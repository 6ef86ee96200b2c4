"""The desktop and user strategy files (offscreen, simulated time): the bot form lists
them; an edited file is noticed by the file watcher and the bot running its old code is
restarted on the new code from the Bots dock's notice (journaled); a broken save shows
its traceback and makes only that strategy unavailable while every bot goes on."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton

from app.engine.bot import BotState
from app.engine.journal import JournalStore
from app.interfaces.clock import SimClock
from app.wiring.user_strategies import CODE_CHANGED, strategies_dir
from app.wiring.workspace import build_workspace
from strategies import user_files
from strategies.registry import STRATEGIES
from strategies.user_files import digest
from ui.bots.bots_dock import BotsPanel
from ui.bots.strategy_files import StrategyFilesWatcher

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "examples" / "my_first_strategy.py"
NAME = "my_first_strategy"
TITLE = "My first strategy (mid +- spread)"
SEC = 1_000_000_000
QUOTER = {"order_amount": "0.001", "bid_spread_bps": 1, "ask_spread_bps": 1, "refresh_seconds": 5}
WAIT_MS = 15_000  # the watcher's signal, then its settle timer


def versioned(version: int) -> str:
    return EXAMPLE.read_text().replace(f'title = "{TITLE}"', f'title = "{TITLE}"\n    VERSION = {version}')


@pytest.fixture
def desktop(qtbot, tmp_path, monkeypatch):
    """The strategies folder with the example (version 1), a journaled demo workspace in
    simulated time, the watcher and the Bots panel as the main window wires them."""
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    folder = strategies_dir()
    folder.mkdir(parents=True)
    path = folder / "first.py"
    path.write_text(versioned(1))
    clock = SimClock(1_723_161_253 * SEC)
    workspace = build_workspace(clock, seed=5, journal=JournalStore(tmp_path / "journal.sqlite"))
    workspace.start()
    watcher = StrategyFilesWatcher(workspace)
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    panel.timer.stop()
    panel.attach_strategy_files(watcher)
    yield clock, workspace, watcher, panel, path
    for loaded in list(user_files.loaded_files()):
        user_files.forget(loaded)


def run_for(clock: SimClock, seconds: float) -> None:
    clock.run(until_ns=clock.now_ns() + int(seconds * SEC))


def start_mine(panel: BotsPanel):
    index = panel.strategy.findData(NAME)
    assert index >= 0 and panel.strategy.itemText(index) == f"{TITLE} (file)"
    panel.strategy.setCurrentIndex(index)
    assert panel.form.schema is STRATEGIES[NAME].schema
    panel.form.set_values({"spread_bps": "2"})
    bot = panel.start_now(NAME, "demo")
    assert bot is not None and bot.state is BotState.RUNNING
    return bot


def test_the_desktop_restarts_a_bot_on_the_new_code_of_its_edited_file(qtbot, desktop):
    clock, workspace, watcher, panel, path = desktop
    mine = start_mine(panel)
    other = workspace.create_bot("simple_quoter", QUOTER, connector="paper", name="other")
    other.start()
    run_for(clock, 5)
    assert panel.notices.isHidden()
    old_sha = digest(path.read_bytes())

    path.write_text(versioned(2))
    qtbot.waitUntil(lambda: path.resolve() in panel.notices.rows, timeout=WAIT_MS)
    row = panel.notices.rows[path.resolve()]
    assert "first.py changed. " + mine.name + " still runs its old code" in row.findChild(QLabel).text()
    assert not panel.notices.isHidden()
    assert type(mine.strategy).VERSION == 1 and STRATEGIES[NAME].VERSION == 2  # new bots get the new code
    assert panel.form.schema is STRATEGIES[NAME].schema  # the form follows the reloaded class

    row.findChild(QPushButton, "notice_restart").click()
    run_for(clock, 5)  # the old bot's cancels are confirmed, then the new bot starts
    qtbot.waitUntil(lambda: not panel.notices.rows, timeout=WAIT_MS)
    fresh = workspace.bots[mine.name]
    assert fresh is not mine and mine.state is BotState.STOPPED and fresh.state is BotState.RUNNING
    assert type(fresh.strategy).VERSION == 2 and str(fresh.strategy.params["spread_bps"]) == "2"
    assert other.state is BotState.RUNNING
    [record] = [r for r in workspace.journal.records(bot=mine.name) if r["kind"] == CODE_CHANGED]
    assert record["file"] == str(path.resolve()) and record["sha256"] == digest(path.read_bytes())
    assert record["previous_sha256"] == old_sha
    run_for(clock, 30)
    assert fresh.state is BotState.RUNNING and len(fresh.open_orders()) == 2


def test_a_broken_save_shows_its_traceback_and_only_that_strategy_goes(qtbot, desktop):
    clock, workspace, watcher, panel, path = desktop
    mine = start_mine(panel)
    run_for(clock, 5)
    path.write_text(versioned(2).replace("def on_book(self, event: BookUpdated) -> None:",
                                         "def on_book(self, event: BookUpdated) -> None:\n        undefined_name\n")
                    + "\nraise RuntimeError('saved half way')\n")
    qtbot.waitUntil(lambda: path.resolve() in panel.notices.rows, timeout=WAIT_MS)
    text = panel.notices.rows[path.resolve()].findChild(QLabel).text()
    assert f"first.py did not load: {path.resolve()}:" in text and "RuntimeError: saved half way" in text
    assert panel.strategy.findData(NAME) == -1 and panel.strategy.findData("simple_quoter") >= 0
    assert panel.strategy.currentData() != NAME and panel.form.schema is STRATEGIES[panel.strategy.currentData()].schema

    panel.notices.rows[path.resolve()].findChild(QPushButton, "notice_details").click()
    box = panel.notices.findChild(QMessageBox, "strategy_file_error")
    assert box is not None and box.isVisible()  # shown with open(): this test goes on while it is up
    assert box.detailedText().startswith("Traceback") and "saved half way" in box.detailedText()
    box.close()
    run_for(clock, 10)
    assert mine.state is BotState.RUNNING  # the running bot keeps its code

    shutil.copy(EXAMPLE, path)  # fixed: available again, and the bot is offered the new code
    qtbot.waitUntil(lambda: panel.strategy.findData(NAME) >= 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "still runs its old code" in panel.notices.rows[path.resolve()].findChild(QLabel).text(),
                    timeout=WAIT_MS)


def test_the_backtest_panel_runs_a_user_strategy_in_its_worker_process(qtbot, tmp_path, monkeypatch):
    from app.wiring.user_strategies import UserStrategyFiles
    from ui.backtest.backtest_panel import BacktestPanel

    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    strategies_dir().mkdir(parents=True)
    shutil.copy(EXAMPLE, strategies_dir() / "first.py")
    UserStrategyFiles().load_all()
    panel = BacktestPanel()
    qtbot.addWidget(panel)
    try:
        panel.strategy.setCurrentIndex(panel.strategy.findData(NAME))
        assert panel.form.schema is STRATEGIES[NAME].schema  # the form follows the chosen strategy
        panel.form.set_values({"spread_bps": "1"})
        panel.duration.setText("60")
        panel.start()
        qtbot.waitUntil(lambda: not panel.running, timeout=120_000)  # a spawned worker imports the app first
        assert panel.last_report is not None, panel.status.text()
        assert panel.last_report["strategy"] == NAME and panel.last_report["simulated_seconds"] == 60
    finally:
        panel.shutdown()
        for loaded in list(user_files.loaded_files()):
            user_files.forget(loaded)


def test_a_file_loaded_by_hand_and_a_folder_made_later(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    workspace = build_workspace(SimClock(1_723_161_253 * SEC), seed=5)
    watcher = StrategyFilesWatcher(workspace)
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    panel.timer.stop()
    panel.attach_strategy_files(watcher)
    try:
        elsewhere = tmp_path / "elsewhere.py"
        shutil.copy(EXAMPLE, elsewhere)
        assert watcher.add_file(elsewhere).status == "loaded"
        assert panel.strategy.findData(NAME) >= 0 and str(elsewhere) in watcher.watcher.files()
        other = tmp_path / "other.py"
        other.write_text("import colibri_no_such_module\n")
        assert watcher.add_file(other).status == "failed"
        assert "ModuleNotFoundError" in panel.notices.rows[other.resolve()].findChild(QLabel).text()

        strategies_dir().mkdir()  # the folder did not exist when the app started
        (strategies_dir() / "later.py").write_text(EXAMPLE.read_text().replace(f'"{NAME}"', '"later_strategy"'))
        qtbot.waitUntil(lambda: panel.strategy.findData("later_strategy") >= 0, timeout=WAIT_MS)
    finally:
        for loaded in list(user_files.loaded_files()):
            user_files.forget(loaded)
