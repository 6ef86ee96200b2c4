"""The real main window on the demo exchange, driven the way a trader would.

The scenario runs as a coroutine on the qasync loop (one loop for UI and engine, as in
the app); it polls with asyncio.sleep, never qtbot.wait*, which would nest event loops.
"""
from __future__ import annotations

import asyncio
import time

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QLineEdit, QMessageBox

from app.engine.bot import BotState
from app.interfaces.clock import RealClock
from app.wiring.workspace import Workspace, build_workspace
from ui.bots.bots_model import COLUMNS
from ui.main_window import MainWindow


async def until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


async def answer_yes(panel) -> None:
    await until(lambda: panel._pending_box is not None, 5, "a confirmation box")
    box = panel._pending_box
    box.button(QMessageBox.StandardButton.Yes).click()


@pytest.fixture
def app_env(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path))
    # As in ui/app.py: the window's shutdown decides when to quit, not Qt closing the last
    # window (which would stop the qasync loop before the scenario resumes).
    qapp.setQuitOnLastWindowClosed(False)
    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    workspace = build_workspace(RealClock(loop))
    window = MainWindow(workspace, settings=settings)
    yield loop, workspace, window
    if not window._closed:
        window._finish_shutdown()
    asyncio.set_event_loop(None)
    loop.close()


def set_field(panel, name: str, text: str) -> None:
    editor = panel.form.editor(name)
    assert isinstance(editor, QLineEdit)
    editor.setText(text)


def test_trader_starts_edits_and_stops_a_bot_then_quits(app_env):
    loop, workspace, window = app_env

    async def scenario() -> None:
        started = time.monotonic()
        workspace.start()
        window.show()
        book = workspace.demo.feed(workspace.demo_symbol).book
        await until(lambda: book.best_bid_ticks > 0 and book.best_ask_ticks > 0, 2, "a living book")
        assert time.monotonic() - started < 2.0
        await until(lambda: window.ladder.render_count > 0 and window.tape.model.rowCount() > 0, 5, "views drawing")

        panel = window.bots_panel
        panel.account.setCurrentText("demo")
        set_field(panel, "order_amount", "0.01")
        set_field(panel, "bid_spread_bps", "0")
        set_field(panel, "ask_spread_bps", "0")
        set_field(panel, "refresh_seconds", "3")
        await until(lambda: panel.preview.rowCount() == 2, 3, "the quote preview")
        panel.start_button.click()
        await answer_yes(panel)
        await until(lambda: len(workspace.bots) == 1, 2, "the bot to start")
        bot = next(iter(workspace.bots.values()))
        assert bot.state is BotState.RUNNING

        await until(lambda: window.orders_model.rowCount() > 0, 5, "orders in the orders table")
        await until(lambda: f"{bot.name} mid" in window.candles.reference_lines(), 3, "the bot's mid line on the candles")
        window.docks["fillsDock"].raise_()
        await until(lambda: window.fills_model.rowCount() > 0, 60, "fills in the fills table")

        set_field(panel, "bid_spread_bps", "1.5")
        panel.apply_button.click()
        assert str(bot.strategy.params["bid_spread_bps"]) == "1.5"
        assert bot.audit[-1]["changes"]["bid_spread_bps"] == ["0", "1.5"]

        panel.table.selectRow(0)
        panel.stop_button.click()
        await answer_yes(panel)
        await until(lambda: bot.state is BotState.STOPPED, 5, "the bot to stop")
        assert workspace.demo.open_orders() == []
        await until(lambda: window.orders_model.rowCount() == 0, 3, "the orders table to empty")

        done = asyncio.Event()
        window.shutdown_finished.connect(done.set)
        window.quit_action.trigger()
        await asyncio.wait_for(done.wait(), 10)
        assert not window.isVisible()

    loop.run_until_complete(scenario())


def test_quitting_with_a_running_bot_asks_then_cancels_everything(app_env):
    loop, workspace, window = app_env

    async def scenario() -> None:
        workspace.start()
        window.show()
        bot = workspace.create_bot("simple_quoter", {"order_amount": "0.01"}, connector="demo")
        bot.start()
        await until(lambda: len(workspace.demo.open_orders()) > 0, 10, "resting orders")
        done = asyncio.Event()
        window.shutdown_finished.connect(done.set)
        window.close()
        await until(lambda: window._confirm_box is not None, 5, "the quit confirmation")
        window._confirm_box.button(QMessageBox.StandardButton.Yes).click()
        await asyncio.wait_for(done.wait(), 20)
        assert bot.state is BotState.STOPPED
        assert workspace.demo.open_orders() == []

    loop.run_until_complete(scenario())


def test_bad_form_input_shows_errors_and_never_starts(app_env):
    loop, workspace, window = app_env
    panel = window.bots_panel
    set_field(panel, "bid_spread_bps", "-1")
    assert "at least 0" in panel.form.error_text("bid_spread_bps")
    assert not panel.start_button.isEnabled()
    set_field(panel, "bid_spread_bps", "2")
    set_field(panel, "order_amount", "lots")
    assert "expected a number" in panel.form.error_text("order_amount")
    assert not panel.start_button.isEnabled()
    panel.request_start()
    assert panel._pending_box is None and workspace.bots == {}
    set_field(panel, "order_amount", "0.01")
    assert panel.form.error_text("order_amount") == "" and panel.start_button.isEnabled()


def test_window_fits_a_laptop_screen(app_env):
    _loop, _workspace, window = app_env
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 800, (hint.width(), hint.height())


def test_backtest_fields_follow_the_data_source(app_env):
    _loop, _workspace, window = app_env
    panel = window.backtest
    panel.source.setCurrentIndex(panel.source.findData("demo"))
    assert panel.seed.isEnabled() and not panel.files.isEnabled()
    panel.source.setCurrentIndex(panel.source.findData("replay"))
    assert panel.files.isEnabled() and not panel.seed.isEnabled()


def test_the_rehearsal_exchange_joins_from_the_accounts_menu(app_env):
    """Accounts → Start rehearsal exchange: a live account appears in the market selector
    and the bots panel, its book fills, and it stops cleanly from the same menu."""
    from app.wiring.live_accounts import REHEARSAL_ID

    loop, workspace, window = app_env

    async def scenario() -> None:
        workspace.start()
        window.show()
        window.live.rehearsal_action.trigger()
        await until(lambda: REHEARSAL_ID in workspace.connectors, 20, "the rehearsal account")
        markets = [window.market.itemData(i) for i in range(window.market.count())]
        assert (REHEARSAL_ID, "BTC/USDT") in markets
        accounts = [window.bots_panel.account.itemText(i) for i in range(window.bots_panel.account.count())]
        assert REHEARSAL_ID in accounts
        book = workspace.connectors[REHEARSAL_ID].feed("BTC/USDT").book
        await until(lambda: not book.is_stale and book.best_bid_ticks > 0, 10, "its book")
        await until(lambda: window.live.rehearsal_action.isEnabled(), 5, "the menu ready")
        assert window.live.rehearsal_action.text().startswith("Stop rehearsal")
        window.live.rehearsal_action.trigger()
        await until(lambda: REHEARSAL_ID not in workspace.connectors, 10, "the rehearsal account gone")
        assert (REHEARSAL_ID, "BTC/USDT") not in [window.market.itemData(i) for i in range(window.market.count())]
        await window.live.close()

    loop.run_until_complete(scenario())


def test_help_menu_comes_last_and_opens_about(app_env):
    _loop, _workspace, window = app_env
    menus = [action.text() for action in window.menuBar().actions()]
    assert menus[-1] == "&Help" and "&Trading" in menus
    about = next(a for a in window.menuBar().actions()[-1].menu().actions() if a.objectName() == "about_action")
    about.trigger()
    dialog = window.findChild(QDialog, "about_dialog")
    assert dialog is not None and dialog.isVisible()
    dialog.close()


def test_pnl_and_inventory_charts_are_readable_in_the_default_layout(app_env):
    """Issue 9: in the default layout they were about 20 px tall, stacked in the bottom dock."""
    _loop, workspace, window = app_env
    workspace.start()
    window.show()
    window.docks["performanceDock"].raise_()
    window.grab()  # lays the window out
    for plot in (window.performance.pnl_plot, window.performance.inv_plot):
        area = plot.getPlotItem().getViewBox().sceneBoundingRect()
        assert area.height() >= 100 and area.width() >= 200, area


def test_bots_table_shows_state_pnl_fills_and_mid_without_scrolling(app_env):
    _loop, workspace, window = app_env
    workspace.start()
    window.show()
    window.bots_panel.start_now("simple_quoter", "demo")
    window.grab()
    table = window.bots_panel.table
    header = table.horizontalHeader()
    for name in ("Bot", "State", "PnL", "Fills", "Mid"):
        column = COLUMNS.index(name)
        right = header.sectionViewportPosition(column) + header.sectionSize(column)
        assert right <= table.viewport().width(), f"{name} ends at {right} px of {table.viewport().width()}"
        if name in ("State", "PnL", "Mid"):  # wide enough for the usual values: never elided
            text = table.model().index(0, column).data()
            assert table.fontMetrics().horizontalAdvance(str(text)) < header.sectionSize(column), (name, text)
