"""What the ticket, the ladder, the hotkeys and the orders table do, in one place.

Every action goes to the workspace's manual desk (app/engine/manual_orders.py: the bots'
own order path); this class adds what only a window needs: the confirmation box when the
settings ask for one (opened with `open()`, never a nested `exec()`: the qasync loop keeps
running the market and the engine while it is up) and one line saying what happened,
for the ticket and the status bar.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.domain import Order, OrderStatus
from app.engine.manual_ticket import ManualOrder, TicketError, TicketPreview, check_ticket
from app.wiring.workspace import Workspace
from ui.trading.settings import TradingSettings

log = logging.getLogger(__name__)


class ManualTrading(QObject):
    message = Signal(str)
    """One line about the last action (sent, refused and why, cancelled...)."""

    def __init__(self, workspace: Workspace, settings: TradingSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.desk = workspace.manual
        self.settings = settings
        self._parent = parent
        self.pending_box: QMessageBox | None = None
        self.last_order: Order | None = None

    # -- orders ------------------------------------------------------------------------------------
    def preview(self, order: ManualOrder) -> TicketPreview:
        """The order's notional and fee on the current book; TicketError when it cannot go."""
        connector = self.desk.connector(order.account)
        instrument = connector.instruments.get(order.symbol)
        if instrument is None:
            raise TicketError(f"{order.symbol} is not traded on {order.account}")
        book = connector.feed(order.symbol).book
        return check_ticket(order, instrument, book.best_bid_ticks, book.best_ask_ticks)

    def submit(self, order: ManualOrder) -> None:
        """Checks the order, asks for confirmation if the settings say so, then sends it."""
        try:
            preview = self.preview(order)
        except TicketError as exc:
            self._say(f"Not sent: {exc}")
            return
        instrument = self.desk.connector(order.account).instruments[order.symbol]
        self._after_confirmation(f"Send this order?\n\n{order.describe()}\n{preview.describe(instrument)}",
                                 order.account, lambda: self._send(order))

    def _send(self, order: ManualOrder) -> None:
        try:
            placed = self.desk.place(order)
        except TicketError as exc:  # the book moved under a post-only order, the account went away...
            self._say(f"Not sent: {exc}")
            return
        self._placed(placed, f"Refused: {order.describe()}", f"Sent: {order.describe()}")

    def _placed(self, placed, refused: str, sent: str) -> None:  # noqa: ANN001 - Order
        """One report for an order just sent (placed or moved): why it was refused, or its id."""
        self.last_order = placed
        if placed.status is OrderStatus.REJECTED:
            self._say(f"{refused}: {placed.reason}")
        else:
            self._say(f"{sent} ({placed.client_order_id})")

    def cancel(self, account: str, client_order_id: str) -> None:
        """Cancels one order, whoever placed it (no confirmation: a cancel only removes risk)."""
        try:
            owner = self.desk.cancel(account, client_order_id)
        except TicketError as exc:
            self._say(f"Not cancelled: {exc}")
            return
        self._say(f"Cancelling {client_order_id} ({owner})")

    def move(self, account: str, client_order_id: str, price: Decimal) -> None:
        """Moves a manual order to `price` (cancel and replace), after confirmation if asked."""
        order = self.desk.connector(account).get_order(client_order_id)
        if order is None:
            self._say(f"Not moved: order {client_order_id} is gone")
            return

        def move() -> None:
            try:
                placed = self.desk.move(account, client_order_id, price)
            except TicketError as exc:
                self._say(f"Not moved: {exc}")
                return
            self._placed(placed, "Moved order refused", f"Moved {client_order_id} to {price}")

        self._after_confirmation(f"Move your {order.side.value} order {client_order_id} to {price}?", account, move)

    def cancel_all(self, account: str, symbol: str) -> None:
        ids = self.desk.cancel_all(account, symbol)
        self._say(f"Cancelling {len(ids)} manual order(s) on {account} {symbol}" if ids
                  else f"No manual order open on {account} {symbol}")

    def flatten(self, account: str, symbol: str) -> None:
        """Cancels the market's manual orders and closes their position, after confirmation if asked."""
        def flatten() -> None:
            try:
                done = self.desk.flatten(account, symbol)
            except (RuntimeError, TicketError) as exc:
                self._say(f"Not flattened: {exc}")
                return
            self._say(f"Flattening manual trading on {account} {symbol}" if done
                      else f"Nothing placed by hand on {account} {symbol} to flatten")

        self._after_confirmation(f"Flatten {account} {symbol}?\n\nEvery manual order there is cancelled, then what "
                                 "they bought or sold is closed with one IOC order.", account, flatten)

    # -- helpers ------------------------------------------------------------------------------------
    def _after_confirmation(self, text: str, account: str, action: Callable[[], None]) -> None:
        try:
            live = self.desk.connector(account).is_live
        except TicketError as exc:
            self._say(str(exc))
            return
        if not self.settings.confirms(live):
            action()
            return
        if self.pending_box is not None:
            self.pending_box.close()
        box = QMessageBox(QMessageBox.Icon.Question, "Manual order", text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self._parent)
        box.setObjectName("manual_order_confirm")
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def finished(_result: int) -> None:
            if self.pending_box is box:
                self.pending_box = None
            if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes:
                action()
            else:
                self._say("Cancelled: nothing sent")

        box.finished.connect(finished)
        self.pending_box = box
        box.open()

    def _say(self, line: str) -> None:
        log.debug("manual trading: %s", line)  # the desk logs what it sent or cancelled
        self.message.emit(line)
