"""More markets at once: a window of its own per market, each with its own market selector.

The main window shows one market in its docks; *View → New market window* opens another
window with the same views (MarketView: header, ladder, candles, depth, heatmap, tape) on
any account's market. Each window binds its views to one feed, so two windows never share
a source, and hidden chart tabs cost nothing. The header names the market and the venue
whose book is shown. A window whose account is removed shows no market rather than a
stale book.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.wiring.workspace import CONNECTOR_ADDED, CONNECTOR_REMOVED, Workspace, WorkspaceChanged
from ui.market.market_view import MarketView


def market_label(account: str, symbol: str) -> str:
    return f"{account} · {symbol}"


def fill_market_box(box: QComboBox, workspace: Workspace) -> None:
    """Every account's markets, as (account, symbol) items."""
    for name, connector in workspace.connectors.items():
        add_account_markets(box, name, connector)


def add_account_markets(box: QComboBox, name: str, connector) -> None:  # noqa: ANN001 - Connector
    for symbol in connector.instruments:
        box.addItem(market_label(name, symbol), (name, symbol))


def remove_account_markets(box: QComboBox, name: str) -> None:
    for index in reversed(range(box.count())):
        data = box.itemData(index)
        if data and data[0] == name:
            box.removeItem(index)


def find_market(box: QComboBox, account: str, symbol: str) -> int:
    """The item's index, -1 if absent (findData cannot compare the Python tuples)."""
    return next((i for i in range(box.count()) if tuple(box.itemData(i) or ()) == (account, symbol)), -1)


class MarketWindow(QWidget):
    closed = Signal(object)

    def __init__(self, workspace: Workspace, market: tuple[str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.workspace = workspace
        self.market_box = QComboBox(self, objectName="market_window_select")
        fill_market_box(self.market_box, workspace)
        self.view = MarketView(self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Market:"))
        bar.addWidget(self.market_box)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.resize(1200, 760)
        self.market_box.currentIndexChanged.connect(lambda _i: self._show_selected())
        workspace.add_listener(self._on_workspace, kinds=(WorkspaceChanged,))
        if market is not None:
            self.select(*market)
        self._show_selected()

    def shown(self) -> tuple[str, str] | None:
        """The (account, symbol) whose views are bound, None for none."""
        return self.market_box.currentData()

    def select(self, account: str, symbol: str) -> bool:
        index = find_market(self.market_box, account, symbol)
        if index >= 0:
            self.market_box.setCurrentIndex(index)
        return index >= 0

    def _show_selected(self) -> None:
        data = self.market_box.currentData()
        connector = self.workspace.connectors.get(data[0]) if data else None
        if connector is None:
            self.view.set_source(None)
            self.setWindowTitle("Colibri — no market")
            return
        account, symbol = data
        self.view.set_source(connector.feed(symbol), connector)
        self.setWindowTitle(f"Colibri — {symbol} on {account}")

    def _on_workspace(self, event: WorkspaceChanged) -> None:
        if event.kind == CONNECTOR_ADDED and event.name in self.workspace.connectors:
            add_account_markets(self.market_box, event.name, self.workspace.connectors[event.name])
        elif event.kind == CONNECTOR_REMOVED:
            showing = self.shown()
            self.market_box.blockSignals(True)
            remove_account_markets(self.market_box, event.name)
            self.market_box.blockSignals(False)
            if showing and showing[0] == event.name:
                self._show_selected()  # another market, or none: never the removed account's feed

    def closeEvent(self, event: QCloseEvent) -> None:
        self.view.detach()
        self.workspace.remove_listener(self._on_workspace)
        self.closed.emit(self)
        super().closeEvent(event)
