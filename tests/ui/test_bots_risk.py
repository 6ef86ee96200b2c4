"""The bots panel's risk controls: the limits form, Cancel all, Flatten, and a risk stop
shown in the table and the panel (offscreen, simulated time, a scripted paper market)."""
from __future__ import annotations

from decimal import Decimal as D

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QMessageBox

from app.engine.bot import BotState
from app.interfaces.clock import SimClock
from app.wiring.workspace import Workspace
from connectors.paper.connector import PaperConnector
from tests.paper_support import INST, ScriptedFeed
from ui.bots.bots_dock import BotsPanel

MS = 1_000_000
QUOTER = {"order_amount": "0.1", "bid_spread_bps": "2", "ask_spread_bps": "2", "refresh_seconds": "60"}


def make_panel(qtbot):
    clock = SimClock(1_000 * MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "1000", "TST": "5"}, clock, order_latency_ns=5 * MS,
                           cancel_latency_ns=5 * MS)
    workspace = Workspace(clock)
    workspace.add_connector(paper, name="paper")
    workspace.start()
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    panel.timer.stop()
    return clock, feed, workspace, panel


def confirm(panel) -> None:
    box = panel._pending_box
    assert box is not None
    box.button(QMessageBox.StandardButton.Yes).click()


def test_the_risk_form_gives_a_new_bot_its_limits_and_refuses_bad_values(qtbot):
    clock, feed, workspace, panel = make_panel(qtbot)
    panel.form.set_values(QUOTER)
    size = panel.risk_form.editor("max_order_size")
    assert isinstance(size, QLineEdit)
    size.setText("-1")
    assert not panel.start_button.isEnabled()
    assert "must be greater than 0" in panel.risk_form.error_text("max_order_size")
    size.setText("0.05")
    assert panel.start_button.isEnabled()
    bot = panel.start_now("simple_quoter", "paper")
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert bot.risk.limits.get("max_order_size") == D("0.05") and bot.risk.limits.get("max_daily_loss") is None
    assert bot.open_orders() == [] and bot.risk.refused["max_order_size"] >= 2  # 0.1 per order: refused
    # Apply: the form's limits replace the running bot's (an emptied field turns a limit off).
    panel.table.selectRow(0)
    size.setText("")
    panel.risk_form.editor("max_open_orders").setText("4")
    panel.apply_to_selected()
    assert bot.risk.limits.get("max_order_size") is None and bot.risk.limits.get("max_open_orders") == 4
    assert "max_open_orders None -> 4" in panel.message.text()


def test_cancel_all_and_flatten_from_the_panel(qtbot):
    clock, feed, workspace, panel = make_panel(qtbot)
    bot = workspace.create_bot("simple_quoter", QUOTER, connector="paper")
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    panel.model.refresh(list(workspace.bots.values()))
    panel.table.selectRow(0)
    assert panel.cancel_all_button.isEnabled() and panel.flatten_button.isEnabled()
    panel.cancel_all_button.click()
    confirm(panel)
    assert panel.message.text() == f"{bot.name}: cancelling 2 orders."
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert bot.state is BotState.RUNNING and bot.open_orders() == []
    feed.set_levels(bids={10000: 5000})  # it quotes again
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    feed.trade((9990, 100_000, -1))  # its bid fills: +0.1 TST
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert bot.pnl.base_delta == D("0.1")
    panel.flatten_button.click()
    confirm(panel)
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert bot.state is BotState.STOPPED and bot.pnl.base_delta == 0 and bot.open_orders() == []
    panel.refresh()
    assert not panel.cancel_all_button.isEnabled() and not panel.flatten_button.isEnabled()


def test_a_risk_stop_shows_in_the_table_and_the_panel(qtbot):
    clock, feed, workspace, panel = make_panel(qtbot)
    bot = workspace.create_bot("simple_quoter", QUOTER, connector="paper", risk={"max_daily_loss": "0.5"})
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    feed.trade((9990, 100_000, -1))
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    feed.set_levels(bids={10000: 0, 9000: 5000}, asks={10002: 0, 9002: 5000})  # -1 USD at the mark
    clock.run(until_ns=clock.now_ns() + 1_100 * MS)
    assert bot.state is BotState.STOPPED and bot.stopped_by.startswith("risk: daily loss 1.0")
    panel.model.refresh(list(workspace.bots.values()))
    state = panel.model.data(panel.model.index(0, 3))
    assert state == f"stopped by {bot.stopped_by}"
    assert bot.stopped_by in panel.model.data(panel.model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert panel.model.data(panel.model.index(0, 3), Qt.ItemDataRole.ForegroundRole) is not None
    panel.table.selectRow(0)
    assert not panel.failure.isHidden() and "stopped by a risk limit" in panel.failure.text()
    assert bot.stopped_by in panel.failure.text()


def test_the_start_confirmation_says_which_risk_limits_the_new_bot_gets(qtbot):
    """The limits form keeps the values last shown (maybe another bot's): Start says them."""
    clock, feed, workspace, panel = make_panel(qtbot)
    panel.form.set_values(QUOTER)
    panel.request_start()
    assert "Risk limits: none." in panel._pending_box.text()
    panel._pending_box.button(QMessageBox.StandardButton.No).click()
    panel.risk_form.editor("max_inventory").setText("0.001")
    panel.request_start()
    assert "Risk limits: max_inventory 0.001." in panel._pending_box.text()
