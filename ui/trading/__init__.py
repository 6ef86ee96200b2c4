"""Manual trading in the window: the order ticket, hotkeys, click-to-trade and cancel one.

`ManualTradingUi(window, settings)` adds it all to a MainWindow with as little of the
window's own code as possible: the "Order ticket" dock (following the window's market
selector), the hotkeys as application-wide actions rebound whenever the help dialog
changes one, the ladder's clicks and drags (ui/trading/ladder_clicks.py), a Cancel order
button, context-menu entry and Delete key on the orders table, and a Trading menu
(`add_menu()`, called once the window's menus exist). Each action lands in the
workspace's manual desk (app/engine/manual_orders.py): the bots' own order path.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QMainWindow, QScrollArea

from app.config.schema import ConfigError
from app.domain import Side
from app.engine.manual_orders import MANUAL
from app.engine.manual_ticket import TicketError
from ui.trading.controller import ManualTrading
from ui.trading.hotkeys import HotkeysDialog
from ui.trading.ladder_clicks import LadderTrading
from ui.trading.settings import HOTKEYS, TradingSettings
from ui.trading.ticket import OrderTicket

__all__ = ["ManualTradingUi", "ManualTrading", "OrderTicket", "TradingSettings"]

log = logging.getLogger(__name__)


class ManualTradingUi:
    def __init__(self, window: QMainWindow, settings: QSettings | None = None) -> None:
        from ui.layout import default_settings

        self.window = window
        self.settings = TradingSettings(settings if settings is not None else default_settings())
        self.trading = ManualTrading(window.workspace, self.settings, window)  # type: ignore[attr-defined]
        try:
            self.trading.desk.set_risk(self.settings.risk)  # the limits on manual orders saved last time
        except ConfigError as exc:
            log.warning("the saved limits on manual orders are not used: %s", exc)
        self.ticket = OrderTicket(window.workspace, self.trading)  # type: ignore[attr-defined]
        scroll = QScrollArea()  # a short dock scrolls the ticket rather than pushing the window's minimum size
        scroll.setWidget(self.ticket)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.dock = window._dock("Order ticket", "ticketDock", scroll,  # type: ignore[attr-defined]
                                 Qt.DockWidgetArea.RightDockWidgetArea)
        window.tabifyDockWidget(window.docks["tradesDock"], self.dock)  # type: ignore[attr-defined]
        window.docks["tradesDock"].raise_()  # type: ignore[attr-defined]
        self.trading.message.connect(lambda line: window.statusBar().showMessage(line, 8000))
        workspace = window.workspace  # type: ignore[attr-defined]
        ladder = window.ladder  # type: ignore[attr-defined]
        ladder.is_manual = lambda client_order_id: workspace.owner_of(client_order_id) == MANUAL
        self.ladder = LadderTrading(window.ladder, self.trading, self._ladder_market,  # type: ignore[attr-defined]
                                    self.ticket.ticket_amount)
        window.market.currentIndexChanged.connect(lambda _i: self._follow_market())  # type: ignore[attr-defined]
        self._follow_market()
        self.cancel_action = window.orders_panel.add_row_action(  # type: ignore[attr-defined]
            "Cancel order", self.cancel_selected, shortcut=QKeySequence(QKeySequence.StandardKey.Delete),
            tip="Cancel the selected open orders (Delete), whoever placed them")
        self.actions: dict[str, QAction] = {}
        handlers = {
            "buy_bid": lambda: self.at_touch(Side.BUY, Side.BUY), "buy_ask": lambda: self.at_touch(Side.BUY, Side.SELL),
            "sell_ask": lambda: self.at_touch(Side.SELL, Side.SELL),
            "sell_bid": lambda: self.at_touch(Side.SELL, Side.BUY),
            "cancel_all": self.cancel_all, "flatten": self.flatten, "send": self.ticket.send,
            "focus_ticket": self.focus_ticket, "help": self.show_help,
        }
        for hotkey in HOTKEYS:
            action = QAction(hotkey.title, window)
            action.setObjectName(f"hotkey_{hotkey.name}")
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)  # floating docks too
            action.triggered.connect(handlers[hotkey.name])
            window.addAction(action)
            self.actions[hotkey.name] = action
        self.bind_hotkeys()
        self.help_dialog: HotkeysDialog | None = None

    # -- wiring ---------------------------------------------------------------------------------------
    def add_menu(self) -> None:
        """The Trading menu, after the window's own menus."""
        menu = self.window.menuBar().addMenu("&Trading")
        menu.addAction(self.dock.toggleViewAction())
        menu.addSeparator()
        for name in ("send", "buy_bid", "buy_ask", "sell_ask", "sell_bid", "cancel_all", "flatten"):
            menu.addAction(self.actions[name])
        menu.addSeparator()
        menu.addAction(self.actions["help"])

    def bind_hotkeys(self) -> None:
        for name, action in self.actions.items():
            action.setShortcut(self.settings.hotkey(name))

    def _ladder_market(self) -> tuple[str, str] | None:
        data = self.window.market.currentData()  # type: ignore[attr-defined]
        return tuple(data) if data else None  # type: ignore[return-value]

    def _follow_market(self) -> None:
        market = self._ladder_market()
        if market is not None:
            self.ticket.set_market(*market)

    # -- actions ----------------------------------------------------------------------------------------
    def at_touch(self, side: Side, touch: Side) -> None:
        """A limit order of the ticket's amount at the best bid (touch BUY) or ask (SELL)."""
        market = self.ticket.current_market
        if market is None:
            return
        connector = self.window.workspace.connectors[market[0]]  # type: ignore[attr-defined]
        book = connector.feed(market[1]).book
        ticks = book.best_bid_ticks if touch is Side.BUY else book.best_ask_ticks
        if ticks <= 0:
            self.trading.message.emit(f"Not sent: no {'bid' if touch is Side.BUY else 'ask'} in the book")
            return
        try:
            order = self.ticket.order(side, connector.instruments[market[1]].ticks_to_price(ticks))
        except TicketError as exc:
            self.trading.message.emit(f"Not sent: {exc}")
            return
        self.trading.submit(order)

    def cancel_all(self) -> None:
        market = self.ticket.current_market
        if market is not None:
            self.trading.cancel_all(*market)

    def flatten(self) -> None:
        market = self.ticket.current_market
        if market is not None:
            self.trading.flatten(*market)

    def cancel_selected(self, rows: list[int]) -> None:
        """The orders table's Cancel order: each selected open order, whoever placed it."""
        model = self.window.orders_model  # type: ignore[attr-defined]
        chosen = [found for row in rows if (found := model.order_at(row)) is not None]
        open_ones = [(account, order) for account, order in chosen if not order.status.is_done]
        if not open_ones:
            self.trading.message.emit("Nothing to cancel: the selected orders are finished")
            return
        for account, order in open_ones:
            self.trading.cancel(account, order.client_order_id)

    def focus_ticket(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.ticket.amount.setFocus()
        self.ticket.amount.selectAll()

    def show_help(self) -> None:
        if self.help_dialog is None:
            self.help_dialog = HotkeysDialog(self.settings, self.window, apply_limits=self.trading.desk.set_risk)
            self.help_dialog.changed.connect(self.bind_hotkeys)
        self.help_dialog.show()
        self.help_dialog.raise_()
