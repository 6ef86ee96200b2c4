"""Manual trading in the window: the order ticket, click-to-trade and drag-to-move on the
ladder, cancelling one order from the orders table, the hotkeys dialog and its model.

The widgets run against a real workspace holding a paper account on a scripted book in
simulated time (the test advances the clock), so every order takes the real path: the
manual desk, the manual bot's view, risk guard and journal, the paper venue.
"""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMessageBox, QToolButton

from app.domain import OrderStatus, OrderType, Side
from app.engine.journal import JournalStore
from app.engine.manual_orders import MANUAL
from app.engine.manual_ticket import ManualOrder, parse_decimal
from app.interfaces.clock import SimClock
from app.wiring.workspace import Workspace
from connectors.paper.connector import PaperConnector
from tests.paper_support import INST, ScriptedFeed
from ui.market import DomLadderView
from ui.market.dom_model import ASK_SIZE, BID_SIZE, OWN_BID
from ui.models import FillsModel, OrdersModel, table_rows
from ui.table_panel import TablePanel
from ui.trading.controller import ManualTrading
from ui.trading.hotkeys import HotkeysDialog, HotkeysModel
from ui.trading.ladder_clicks import LadderTrading
from ui.trading.settings import HOTKEYS, TradingSettings
from ui.trading.ticket import OrderTicket

MS = 1_000_000


class Market:
    """A workspace with one paper account ("paper") on a book of 100.00 / 100.02."""

    def __init__(self, tmp_path, *, confirm: bool = False) -> None:
        self.clock = SimClock(1_000 * MS)
        self.feed = ScriptedFeed(INST, self.clock)
        self.feed.set_levels(bids={10000: 5000, 9990: 3000}, asks={10002: 5000, 10010: 3000})
        self.paper = PaperConnector(self.feed, {"USD": "100000", "TST": "100"}, self.clock,
                                    order_latency_ns=MS, cancel_latency_ns=MS)
        self.journal = JournalStore(tmp_path / "journal.sqlite")
        self.workspace = Workspace(self.clock, journal=self.journal)
        self.workspace.add_connector(self.paper)
        self.workspace.start()
        self.settings = TradingSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        self.settings.confirm_simulated = confirm
        self.trading = ManualTrading(self.workspace, self.settings)
        self.messages: list[str] = []
        self.trading.message.connect(self.messages.append)

    def run(self, ms: int = 10) -> None:
        self.clock.run(until_ns=self.clock.now_ns() + ms * MS)

    def manual_orders(self):
        return self.workspace.manual.open_orders("paper")


@pytest.fixture
def market(tmp_path):
    m = Market(tmp_path)
    yield m
    m.journal.close()


# -- the ticket ---------------------------------------------------------------------------------
def test_ticket_previews_notional_and_fee_then_sends_through_the_manual_bot(qtbot, market):
    ticket = OrderTicket(market.workspace, market.trading)
    qtbot.addWidget(ticket)
    ticket.show()
    assert ticket.current_market == ("paper", INST.symbol)
    assert ticket.unit.text() == "TST"
    assert ticket.by_hand.text() == "nothing since the last flatten"
    assert ticket.available.text() == "100000 USD"  # what a buy spends
    ticket.sell.click()
    assert ticket.available.text() == "100 TST"
    ticket.buy.click()
    ticket.price.setText("99.5")
    ticket.amount.setText("2")
    assert ticket.preview.text() == "Notional 199 USD, fee 0.199 USD (maker 0.1%)"
    assert ticket.send_button.isEnabled() and ticket.send_button.text() == "Send buy"
    ticket.ask_button.click()  # the best ask: it would take liquidity
    assert ticket.price.text() == "100.02" and "taker 0.2%" in ticket.preview.text()
    ticket.post_only.setChecked(True)
    assert "would cross the best ask" in ticket.preview.text() and not ticket.send_button.isEnabled()
    ticket.bid_button.click()
    ticket.send_button.click()
    market.run()
    [order] = market.manual_orders()
    assert (order.side, order.type, order.price_ticks, order.amount_lots) == \
        (Side.BUY, OrderType.LIMIT_MAKER, 10000, 2000)
    assert ticket.message.text().startswith("Sent: buy 2 TST/USD at 100 (post-only) on paper")
    assert market.journal.order(order.client_order_id).bot == f"{MANUAL} paper {INST.symbol}"
    ticket.refresh_preview()
    assert ticket.available.text() == "99799.6 USD"  # the order locks 200 and its largest fee
    assert ticket.by_hand.text() == "0 TST, 1 open, PnL 0 USD (0 fills)"
    # a market sell: estimated at the best bid, taker fee
    ticket.sell.click()
    ticket.kind.setCurrentIndex(ticket.kind.findData("market"))
    assert not ticket.price.isEnabled() and not ticket.post_only.isChecked()
    assert ticket.preview.text() == "Notional ≈ 200 USD, fee ≈ 0.4 USD (taker 0.2%)"


def test_ticket_says_why_it_cannot_send(qtbot, market):
    ticket = OrderTicket(market.workspace, market.trading)
    qtbot.addWidget(ticket)
    ticket.price.setText("abc")
    ticket.amount.setText("1")
    assert ticket.preview.text() == "price: 'abc' is not a number" and not ticket.send_button.isEnabled()
    ticket.price.setText("99.999")
    assert "not a multiple of tick 0.01" in ticket.preview.text()
    ticket.price.setText("99")
    ticket.amount.setText("0.01")
    assert "below the minimum 5 USD" in ticket.preview.text()
    ticket.send()  # Return in a field sends too: refused with the same reason
    assert ticket.message.text().startswith("Not sent: notional 0.99 USD is below the minimum")
    assert market.manual_orders() == []


def test_confirmation_when_the_settings_ask_for_it(qtbot, tmp_path):
    m = Market(tmp_path, confirm=True)
    ticket = OrderTicket(m.workspace, m.trading)
    qtbot.addWidget(ticket)
    ticket.price.setText("99")
    ticket.amount.setText("1")
    ticket.send()
    box = m.trading.pending_box
    assert box is not None and "buy 1 TST/USD at 99 on paper" in box.text() and "maker" in box.text()
    box.button(QMessageBox.StandardButton.No).click()
    assert m.manual_orders() == [] and m.messages[-1] == "Cancelled: nothing sent"
    ticket.send()
    m.trading.pending_box.button(QMessageBox.StandardButton.Yes).click()
    m.run()
    assert len(m.manual_orders()) == 1
    m.journal.close()


def test_live_accounts_confirm_by_default(tmp_path):
    settings = TradingSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert settings.confirms(is_live=True) and not settings.confirms(is_live=False)
    settings.confirm_live = False
    reread = TradingSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert not reread.confirms(is_live=True)


# -- the ladder --------------------------------------------------------------------------------------
def ladder_for(qtbot, market, amount="1.5"):
    ladder = DomLadderView(rows=100, ticks_per_row=1)
    qtbot.addWidget(ladder)
    ladder.resize(500, 700)
    ladder.show()
    ladder.set_source(market.feed, market.paper)
    ladder.is_manual = lambda cid: market.workspace.owner_of(cid) == MANUAL
    ladder.refresh()
    trading = LadderTrading(ladder, market.trading, lambda: ("paper", INST.symbol), lambda: D(amount))
    return ladder, trading


def cell_centre(ladder, price_ticks: int, column: int) -> QPoint:
    index = ladder.model.index(ladder.model.row_of(price_ticks), column)
    ladder.table.scrollTo(index)
    return ladder.table.visualRect(index).center()


def test_click_on_bid_or_ask_places_a_limit_order_of_the_tickets_amount(qtbot, market):
    ladder, _ = ladder_for(qtbot, market)
    qtbot.mouseClick(ladder.table.viewport(), Qt.MouseButton.LeftButton, pos=cell_centre(ladder, 9990, BID_SIZE))
    qtbot.mouseClick(ladder.table.viewport(), Qt.MouseButton.LeftButton, pos=cell_centre(ladder, 10010, ASK_SIZE))
    market.run()
    orders = sorted(market.manual_orders(), key=lambda o: o.price_ticks)
    assert [(o.side, o.price_ticks, o.amount_lots, o.type) for o in orders] == [
        (Side.BUY, 9990, 1500, OrderType.LIMIT), (Side.SELL, 10010, 1500, OrderType.LIMIT)]
    ladder.mark_dirty()
    ladder.refresh()
    own = ladder.model.index(ladder.model.row_of(9990), OWN_BID)
    assert ladder.model.data(own).startswith("M 1.5")  # marked as placed by hand
    assert "of which 1.5 placed by hand" in ladder.model.data(own, Qt.ItemDataRole.ToolTipRole)


def test_click_on_own_order_cancels_it_and_a_drag_moves_it(qtbot, market):
    ladder, _ = ladder_for(qtbot, market)
    first = market.workspace.manual.place(ManualOrder("paper", INST.symbol, Side.BUY, "limit", D("1"), D("99.95")))
    market.run()
    ladder.mark_dirty()
    ladder.refresh()
    # drag from its own cell to 99.97: cancelled there, placed here with the same amount
    start = cell_centre(ladder, 9995, OWN_BID)
    end = cell_centre(ladder, 9997, OWN_BID)
    viewport = ladder.table.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, end)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    market.run()
    assert first.status is OrderStatus.CANCELLED
    [moved] = market.manual_orders()
    assert (moved.side, moved.price_ticks, moved.amount_lots) == (Side.BUY, 9997, 1000)
    assert market.messages[-1].startswith(f"Moved {first.client_order_id} to 99.97")
    # dropped outside the rows: nothing happens
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=cell_centre(ladder, 9997, OWN_BID))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(viewport.width() + 50, 5))
    market.run()
    assert moved.status is OrderStatus.OPEN and market.messages[-1].startswith("Move abandoned")
    # a click on it cancels it
    ladder.mark_dirty()
    ladder.refresh()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=cell_centre(ladder, 9997, OWN_BID))
    market.run()
    assert moved.status is OrderStatus.CANCELLED and market.manual_orders() == []
    # a click on an empty own cell says what it does instead of nothing
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=cell_centre(ladder, 9980, OWN_BID))
    assert "No order placed by hand in that row" in market.messages[-1]


def test_ladder_click_with_a_bad_ticket_amount_sends_nothing(qtbot, market):
    ladder = DomLadderView(rows=100, ticks_per_row=1)
    qtbot.addWidget(ladder)
    ladder.resize(500, 700)
    ladder.show()
    ladder.set_source(market.feed, market.paper)
    ladder.refresh()

    def bad_amount():
        return parse_decimal("x", "amount")

    LadderTrading(ladder, market.trading, lambda: ("paper", INST.symbol), bad_amount)
    qtbot.mouseClick(ladder.table.viewport(), Qt.MouseButton.LeftButton, pos=cell_centre(ladder, 9990, BID_SIZE))
    assert market.manual_orders() == [] and market.messages[-1] == "Not sent: the ticket's amount: 'x' is not a number"


# -- cancel one from the orders table -------------------------------------------------------------
def test_cancel_one_order_from_the_table_by_button_context_menu_and_delete(qtbot, market, qtmodeltester):
    model = OrdersModel(owner=market.workspace.owner_of)
    model.add_account("paper", market.paper)
    panel = TablePanel(model, "orders")
    qtbot.addWidget(panel)
    panel.show()
    cancelled: list[str] = []

    def cancel(rows: list[int]) -> None:
        for row in rows:
            account, order = model.order_at(row)
            cancelled.append(order.client_order_id)
            market.trading.cancel(account, order.client_order_id)

    action = panel.add_row_action("Cancel order", cancel, shortcut=QKeySequence(QKeySequence.StandardKey.Delete))
    orders = [market.workspace.manual.place(ManualOrder("paper", INST.symbol, Side.BUY, "limit", D("1"), D(p)))
              for p in ("99", "98", "97")]
    market.run()
    model.flush()
    qtmodeltester.check(model)
    assert model.data(model.index(0, model.COL_BOT)) == MANUAL
    assert not action.isEnabled()  # nothing selected
    assert action in panel.view.actions()  # the rows' context menu lists it
    assert panel.view.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    panel.view.selectRow(0)
    assert action.isEnabled()
    button = panel.findChild(QToolButton, "cancel_order_button")
    assert button is not None and button.defaultAction() is action
    button.click()  # the button
    panel.activateWindow()
    panel.view.setFocus()
    qtbot.waitUntil(panel.view.hasFocus)  # the key works while the table has the focus
    panel.view.selectRow(1)
    qtbot.keyClick(panel.view, Qt.Key.Key_Delete)  # the Delete key
    market.run()
    model.flush()
    assert len(cancelled) == 2
    assert sum(o.status is OrderStatus.CANCELLED for o in orders) == 2
    qtmodeltester.check(model)


def test_bot_column_in_fills_and_its_csv(qtbot, market, qtmodeltester, tmp_path):
    fills = FillsModel(owner=market.workspace.owner_of)
    fills.add_account("paper", market.paper)
    market.workspace.manual.place(ManualOrder("paper", INST.symbol, Side.BUY, "limit", D("1"), D("100.02")))
    market.run()
    fills.flush()
    qtmodeltester.check(fills)
    assert fills.rowCount() == 1 and fills.data(fills.index(0, fills.COL_BOT)) == MANUAL
    headers, rows = table_rows(fills)
    assert headers[1] == "Bot" and rows[0][1] == MANUAL


# -- hotkeys -------------------------------------------------------------------------------------------
def test_hotkeys_model_and_dialog(qtbot, tmp_path, qtmodeltester):
    settings = TradingSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    dialog = HotkeysDialog(settings)
    qtbot.addWidget(dialog)
    model = dialog.model
    qtmodeltester.check(model)
    assert model.rowCount() == len(HOTKEYS)
    assert [model.data(model.index(r, 1)) for r in range(2)] == ["F5", "F6"]
    changes: list[bool] = []
    dialog.changed.connect(lambda: changes.append(True))
    assert not dialog.assign("buy_bid", QKeySequence("F6"))  # the key of "Buy at the best ask"
    assert "already the key of “Buy at the best ask" in dialog.message.text()
    assert dialog.assign("buy_bid", QKeySequence("Shift+F5"))
    assert settings.hotkey("buy_bid") == QKeySequence("Shift+F5") and changes
    dialog.table.selectRow(1)
    dialog.clear_selected()
    assert settings.hotkey("buy_ask").isEmpty() and model.data(model.index(1, 1)) == ""
    dialog.reset()
    assert settings.hotkey("buy_bid") == QKeySequence("F5") and settings.hotkey("buy_ask") == QKeySequence("F6")
    dialog.confirm_simulated.setChecked(True)
    assert TradingSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)).confirm_simulated
    qtmodeltester.check(model)


def test_hotkeys_model_is_a_valid_table(qtmodeltester, tmp_path):
    model = HotkeysModel(TradingSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    qtmodeltester.check(model)
    assert model.headerData(0, Qt.Orientation.Horizontal) == "Action"
    assert model.name_at(len(HOTKEYS)) is None


def test_limits_on_manual_orders_from_the_dialog(qtbot, market):
    dialog = HotkeysDialog(market.settings, apply_limits=market.workspace.manual.set_risk)
    qtbot.addWidget(dialog)
    dialog.limits.editor("max_order_size").setText("0.5")
    assert dialog.apply_limits() and dialog.limits_message.text() == "Applied: max_order_size 0.5."
    assert market.settings.risk["max_order_size"] == "0.5"
    refused = market.workspace.manual.place(ManualOrder("paper", INST.symbol, Side.BUY, "limit", D("1"), D("99")))
    assert refused.status is OrderStatus.REJECTED and "max_order_size 0.5" in refused.reason
    dialog.limits.editor("max_position").setText("3")  # a spot market is traded by hand now
    assert not dialog.apply_limits() and "max_position" in dialog.limits_message.text()
    assert market.settings.risk == {"max_order_size": "0.5", "order_rate_window_seconds": "1.0",
                                    "flatten_slippage_bps": "50"}
    dialog.limits.editor("max_order_size").setText("-2")
    assert not dialog.limits_button.isEnabled()  # the form shows the error under the field
