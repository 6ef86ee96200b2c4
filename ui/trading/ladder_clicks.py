"""Click-to-trade on the DOM ladder (ui/market/dom_ladder.py).

- A click on a size in the Bid column buys, in the Ask column sells: a limit order of the
  ticket's amount at that row's price (the row's lower edge when rows group ticks).
- A click on your own order (My bid / My ask) cancels the orders placed by hand in that
  row and side; a bot's orders there are the bot's (cancel them from the orders table).
- Dragging your own order to another row moves it there (cancel and replace, same amount
  left, same side and type); dropped outside the rows, nothing happens.

Every action goes through ManualTrading (confirmation when the settings ask for it, the
manual desk's order path). The filter reads the press and the release on the table's
viewport: the press remembers the price and the hand-placed orders under it, the release
decides between a click (same row) and a move (another row), so a ladder that scrolls
meanwhile (auto-centre) still moves the order to the price under the cursor.
"""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from decimal import Decimal

from app.domain import OrderStatus, Side
from app.engine.manual_ticket import LIMIT, ManualOrder, TicketError
from ui.market.dom_ladder import DomLadderView
from ui.market.dom_model import ASK_SIZE, BID_SIZE, OWN_ASK, OWN_BID
from ui.trading.controller import ManualTrading


@dataclass(frozen=True, slots=True)
class _Press:
    pos: QPoint
    column: int
    price_ticks: int
    orders: tuple[str, ...]  # client ids of the manual orders in the pressed own cell


class LadderTrading(QObject):
    def __init__(self, ladder: DomLadderView, trading: ManualTrading, market, amount) -> None:  # noqa: ANN001
        """`market()`: the (account, symbol) the ladder shows; `amount()`: the ticket's
        amount (TicketError when it is not a number)."""
        super().__init__(ladder)
        self.ladder = ladder
        self.trading = trading
        self._market = market
        self._amount = amount
        self._press: _Press | None = None
        ladder.table.viewport().installEventFilter(self)
        ladder.table.viewport().setMouseTracking(False)
        ladder.table.setToolTip("Click a Bid or Ask size to buy or sell the ticket's amount there; click your "
                                "own order to cancel it, drag it to move it")

    # -- Qt ---------------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.LeftButton:
            self._pressed(event.position().toPoint())
            return self._press is not None
        if kind == QEvent.Type.MouseMove and self._press is not None and self._press.orders:
            distance = (event.position().toPoint() - self._press.pos).manhattanLength()  # type: ignore[attr-defined]
            if distance >= QApplication.startDragDistance():
                self.ladder.table.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return True
        if kind == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            press, self._press = self._press, None
            self.ladder.table.viewport().unsetCursor()
            self._released(press, event.position().toPoint())
            return True
        return False

    # -- what a press and a release mean ------------------------------------------------------------
    def _pressed(self, pos: QPoint) -> None:
        self._press = None
        index = self.ladder.table.indexAt(pos)
        if not index.isValid() or index.column() not in (BID_SIZE, ASK_SIZE, OWN_BID, OWN_ASK):
            return
        model = self.ladder.model
        price = model.price_of(index.row())
        orders: tuple[str, ...] = ()
        if index.column() in (OWN_BID, OWN_ASK):
            orders = tuple(self._manual_orders_in(index.row(), Side.BUY if index.column() == OWN_BID else Side.SELL))
        self._press = _Press(pos, index.column(), price, orders)

    def _released(self, press: _Press, pos: QPoint) -> None:
        market = self._market()
        if market is None:
            return
        account, symbol = market
        model = self.ladder.model
        index = self.ladder.table.indexAt(pos)
        same_place = index.isValid() and model.price_of(index.row()) == press.price_ticks
        instrument = model.instrument
        if instrument is None:
            return
        if press.column in (BID_SIZE, ASK_SIZE):
            if same_place and index.column() == press.column:
                self._place(account, symbol, Side.BUY if press.column == BID_SIZE else Side.SELL,
                            instrument.ticks_to_price(press.price_ticks))
            return
        if not press.orders:
            if same_place:
                self.trading.message.emit("No order placed by hand in that row: bots' orders are cancelled from "
                                          "the orders table")
            return
        if not index.isValid():  # dropped outside the rows: nothing happens
            self.trading.message.emit("Move abandoned: drop the order on a row of the ladder")
            return
        if same_place:
            for client_order_id in press.orders:
                self.trading.cancel(account, client_order_id)
            return
        target = instrument.ticks_to_price(model.price_of(index.row()))
        for client_order_id in press.orders:
            self.trading.move(account, client_order_id, target)

    def _place(self, account: str, symbol: str, side: Side, price: Decimal) -> None:
        try:
            amount = self._amount()
        except TicketError as exc:
            self.trading.message.emit(f"Not sent: the ticket's {exc}")
            return
        self.trading.submit(ManualOrder(account, symbol, side, LIMIT, amount, price))

    def _manual_orders_in(self, row: int, side: Side) -> list[str]:
        market = self._market()
        if market is None:
            return []
        model = self.ladder.model
        row_of = model.row_of if side is Side.BUY else model.ask_row_of  # asks round up to their row
        return [o.client_order_id for o in self.trading.desk.open_orders(*market)
                if o.side is side and o.price_ticks > 0 and o.status is not OrderStatus.PENDING_CANCEL
                and row_of(o.price_ticks) == row]
