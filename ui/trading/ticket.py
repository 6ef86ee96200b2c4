"""The order ticket: one order typed by hand, with its notional and fee before it leaves.

Account, market, side, type (limit or market), price, amount, post-only and IOC. The
line under the fields is the order's preview from the core's checks
(app/engine/manual_ticket.py): notional and fee (maker or taker against the current book),
or why it cannot be sent; it follows the market on a light timer while the ticket is
shown. The ticket follows the window's market selector, and its amount is the size the
ladder's clicks and the hotkeys trade. Send (or its hotkey) hands the order to
ManualTrading (ui/trading/controller.py), which confirms when asked and sends it. Under
the fields: the balance the order would spend and what was traded by hand on the market
(position, open orders, PnL), so a flatten's effect is known before its key is pressed.
"""
from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import Side
from app.engine.manual_ticket import LIMIT, MARKET, ManualOrder, TicketError, parse_decimal
from app.wiring.workspace import CONNECTOR_ADDED, CONNECTOR_REMOVED, Workspace
from ui.models.base import fmt_money
from ui.trading.controller import ManualTrading

PREVIEW_MS = 500
"""The preview follows the book this often while the ticket is shown (maker or taker may change)."""

_BUY_STYLE = "QPushButton:checked { background: rgb(38, 166, 91); color: white; font-weight: bold; }"
_SELL_STYLE = "QPushButton:checked { background: rgb(214, 69, 65); color: white; font-weight: bold; }"


class OrderTicket(QWidget):
    market_changed = Signal(str, str)
    """(account, symbol) chosen in the ticket."""

    def __init__(self, workspace: Workspace, trading: ManualTrading, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("order_ticket")
        self.workspace = workspace
        self.trading = trading

        self.account = QComboBox(self, objectName="ticket_account")
        self.market = QComboBox(self, objectName="ticket_market")
        self.buy = QPushButton("Buy", self, objectName="ticket_buy", checkable=True)
        self.sell = QPushButton("Sell", self, objectName="ticket_sell", checkable=True)
        self.buy.setStyleSheet(_BUY_STYLE)
        self.sell.setStyleSheet(_SELL_STYLE)
        self.sides = QButtonGroup(self)
        self.sides.setExclusive(True)
        self.sides.addButton(self.buy)
        self.sides.addButton(self.sell)
        self.buy.setChecked(True)
        self.kind = QComboBox(self, objectName="ticket_type")
        self.kind.addItem("Limit", LIMIT)
        self.kind.addItem("Market", MARKET)
        self.price = QLineEdit(self, objectName="ticket_price")
        self.price.setPlaceholderText("price")
        self.bid_button = QPushButton("Bid", self, objectName="ticket_use_bid")
        self.bid_button.setToolTip("Use the best bid as the price")
        self.ask_button = QPushButton("Ask", self, objectName="ticket_use_ask")
        self.ask_button.setToolTip("Use the best ask as the price")
        self.amount = QLineEdit(self, objectName="ticket_amount")
        self.amount.setPlaceholderText("amount")
        self.amount.setToolTip("Also the size of the ladder's clicks and of the buy/sell hotkeys")
        self.unit = QLabel("", self)
        self.post_only = QCheckBox("Post-only", self, objectName="ticket_post_only")
        self.post_only.setToolTip("Refused rather than trading at once: it only rests (maker fee)")
        self.ioc = QCheckBox("IOC", self, objectName="ticket_ioc")
        self.ioc.setToolTip("Immediate or cancel: takes what the book offers at the price, the rest is cancelled")
        self.available = QLabel("", self, objectName="ticket_available")
        self.available.setToolTip("What the account has free for this side (total less what open orders lock)")
        self.by_hand = QLabel("", self, objectName="ticket_by_hand", wordWrap=True)
        self.by_hand.setToolTip("Traded by hand on this market since the last flatten: the position, the orders "
                                "still open, the PnL at the mid against holding (fees counted) and the fills")
        self.preview = QLabel("", self, objectName="ticket_preview", wordWrap=True)
        self.send_button = QPushButton("Send", self, objectName="ticket_send")
        self.message = QLabel("", self, objectName="ticket_message", wordWrap=True)
        self.message.setStyleSheet("color: palette(mid);")

        sides = QHBoxLayout()
        sides.addWidget(self.buy)
        sides.addWidget(self.sell)
        price = QHBoxLayout()
        price.addWidget(self.price, 1)
        price.addWidget(self.bid_button)
        price.addWidget(self.ask_button)
        amount = QHBoxLayout()
        amount.addWidget(self.amount, 1)
        amount.addWidget(self.unit)
        flags = QHBoxLayout()
        flags.addWidget(self.post_only)
        flags.addWidget(self.ioc)
        flags.addStretch(1)
        form = QFormLayout()
        form.addRow("Account", self.account)
        form.addRow("Market", self.market)
        form.addRow("Side", sides)
        form.addRow("Type", self.kind)
        form.addRow("Price", price)
        form.addRow("Amount", amount)
        form.addRow("", flags)
        form.addRow("Available", self.available)
        form.addRow("By hand", self.by_hand)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.send_button)
        layout.addWidget(self.message)
        layout.addStretch(1)

        self._fill_accounts()
        self.account.currentIndexChanged.connect(lambda _i: self._fill_markets())
        self.market.currentIndexChanged.connect(lambda _i: self._on_market())
        for signal in (self.price.textChanged, self.amount.textChanged):
            signal.connect(lambda _t: self.refresh_preview())
        for box in (self.post_only, self.ioc):
            box.toggled.connect(lambda _on: self.refresh_preview())
        self.sides.buttonToggled.connect(lambda *_: self._on_side())
        self.kind.currentIndexChanged.connect(lambda _i: self._on_kind())
        self.bid_button.clicked.connect(lambda: self.use_touch(Side.SELL))
        self.ask_button.clicked.connect(lambda: self.use_touch(Side.BUY))
        self.send_button.clicked.connect(self.send)
        self.amount.returnPressed.connect(self.send)
        self.price.returnPressed.connect(self.send)
        trading.message.connect(self.message.setText)
        workspace.add_listener(self._on_workspace_changed)
        self._timer = QTimer(self)
        self._timer.setInterval(PREVIEW_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._on_side()
        self._on_market()

    # -- what is chosen -------------------------------------------------------------------------------
    @property
    def current_market(self) -> tuple[str, str] | None:
        account, symbol = self.account.currentText(), self.market.currentText()
        return (account, symbol) if account and symbol else None

    @property
    def side(self) -> Side:
        return Side.BUY if self.buy.isChecked() else Side.SELL

    def set_market(self, account: str, symbol: str) -> None:
        """Shows `account` and `symbol` (the window's market selector calls this)."""
        index = self.account.findText(account)
        if index >= 0:
            self.account.setCurrentIndex(index)
        index = self.market.findText(symbol)
        if index >= 0:
            self.market.setCurrentIndex(index)

    def order(self, side: Side | None = None, price: Decimal | None = None) -> ManualOrder:
        """The ticket as an order (`side`/`price` replace its own: a hotkey, a ladder
        click). TicketError for a field that is not a number, or no market."""
        market = self.current_market
        if market is None:
            raise TicketError("choose an account and a market")
        kind = self.kind.currentData()
        amount = parse_decimal(self.amount.text(), "amount")
        if price is None and kind == LIMIT:
            price = parse_decimal(self.price.text(), "price")
        return ManualOrder(market[0], market[1], side or self.side, LIMIT if price is not None else kind, amount,
                           price, post_only=self.post_only.isChecked(), ioc=self.ioc.isChecked())

    def ticket_amount(self) -> Decimal:
        """The ticket's amount (TicketError when it is not a number): the ladder's click size."""
        return parse_decimal(self.amount.text(), "amount")

    # -- actions -------------------------------------------------------------------------------------------
    def send(self) -> None:
        try:
            order = self.order()
        except TicketError as exc:
            self.message.setText(f"Not sent: {exc}")
            return
        self.trading.submit(order)

    def use_touch(self, against: Side) -> None:
        """Fills the price with the best bid (against a seller) or ask (against a buyer)."""
        market = self.current_market
        if market is None:
            return
        connector = self.workspace.connectors[market[0]]
        book = connector.feed(market[1]).book
        ticks = book.best_ask_ticks if against is Side.BUY else book.best_bid_ticks
        if ticks > 0:
            self.price.setText(str(connector.instruments[market[1]].ticks_to_price(ticks)))

    def refresh_preview(self) -> None:
        self._show_available()
        try:
            order = self.order()
            preview = self.trading.preview(order)
        except TicketError as exc:
            self.preview.setText(str(exc))
            self.preview.setStyleSheet("color: rgb(214, 69, 65);")
            self.send_button.setEnabled(False)
            return
        instrument = self.workspace.connectors[order.account].instruments[order.symbol]
        text = preview.describe(instrument)
        self.preview.setText(text[:1].upper() + text[1:])
        self.preview.setStyleSheet("")
        self.send_button.setEnabled(True)

    def _show_available(self) -> None:
        """The free balance the chosen side spends (the quote to buy, the base to sell; the
        settlement asset for a derivative) and what was traded by hand on the market."""
        market = self.current_market
        if market is None:
            self.available.setText("")
            return
        connector = self.workspace.connectors[market[0]]
        instrument = connector.instruments[market[1]]
        if instrument.is_derivative:
            asset = instrument.settle_asset
        else:
            asset = instrument.quote if self.side is Side.BUY else instrument.base
        balance = connector.balances().get(asset)
        free = balance.available if balance is not None else Decimal(0)
        self.available.setText(f"{fmt_money(free)} {asset}")
        summary = self.trading.desk.summary(*market)
        self.by_hand.setText(summary.describe() if summary is not None else "nothing since the last flatten")

    # -- keeping up -----------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.isVisible():
            if not self.amount.text() and not self.amount.hasFocus():
                self._default_amount()
            self.refresh_preview()

    def _default_amount(self) -> None:
        """A first amount: the smallest round one above the market's minimum notional."""
        market = self.current_market
        if market is None:
            return
        connector = self.workspace.connectors[market[0]]
        instrument = connector.instruments[market[1]]
        ticks = connector.feed(market[1]).book.best_bid_ticks
        if ticks <= 0:
            return  # no price yet: filled once the book has one
        least = instrument.lots_to_amount(instrument.min_lots_at(ticks))
        round_up = Decimal(1).scaleb(least.adjusted() + (0 if least == Decimal(1).scaleb(least.adjusted()) else 1))
        lots = max(instrument.min_lots_at(ticks), instrument.round_amount_to_lots(round_up))
        self.amount.setText(str(instrument.lots_to_amount(lots)))

    def _on_side(self) -> None:
        buy = self.side is Side.BUY
        self.send_button.setText("Send buy" if buy else "Send sell")
        style = _BUY_STYLE if buy else _SELL_STYLE
        self.send_button.setStyleSheet(style.replace(":checked", ""))
        self.refresh_preview()

    def _on_kind(self) -> None:
        limit = self.kind.currentData() == LIMIT
        for widget in (self.price, self.bid_button, self.ask_button, self.post_only, self.ioc):
            widget.setEnabled(limit)
        if not limit:
            self.post_only.setChecked(False)
            self.ioc.setChecked(False)
        self.refresh_preview()

    def _fill_accounts(self) -> None:
        current = self.account.currentText()
        self.account.blockSignals(True)
        self.account.clear()
        self.account.addItems(list(self.workspace.connectors))
        self.account.blockSignals(False)
        index = self.account.findText(current)
        self.account.setCurrentIndex(max(index, 0))
        self._fill_markets()

    def _fill_markets(self) -> None:
        connector = self.workspace.connectors.get(self.account.currentText())
        self.market.blockSignals(True)
        self.market.clear()
        if connector is not None:
            self.market.addItems(list(connector.instruments))
        self.market.blockSignals(False)
        self._on_market()

    def _on_market(self) -> None:
        market = self.current_market
        if market is not None:
            instrument = self.workspace.connectors[market[0]].instruments[market[1]]
            self.unit.setText("contracts" if instrument.is_derivative else instrument.base)
            if not self.amount.text():
                self._default_amount()
            self.market_changed.emit(*market)
        self.refresh_preview()

    def _on_workspace_changed(self, event) -> None:  # noqa: ANN001 - WorkspaceChanged
        if event.kind in (CONNECTOR_ADDED, CONNECTOR_REMOVED):
            self._fill_accounts()
