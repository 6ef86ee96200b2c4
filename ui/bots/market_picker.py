"""One market role of a strategy in the bot form: an account and a symbol on it.

A strategy with several roles (a maker and a taker market) gets one picker per role; an
optional role (an external price source) can be left at "(none)". The symbols offered are
the chosen account's markets.
"""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy, QWidget

from app.interfaces.strategy import MarketRole
from app.wiring.workspace import Workspace

NONE = "(none)"


class MarketPicker(QWidget):
    """`account_combo`: an existing combo box to use as the account picker (the form's
    first role keeps its `bot_account` box); otherwise one named after the role."""

    def __init__(self, workspace: Workspace, role: MarketRole, account_combo: QComboBox | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.role = role
        self.account = account_combo or QComboBox(objectName=f"bot_account_{role.name}")
        self.symbol = QComboBox(objectName=f"bot_symbol_{role.name}")
        for box in (self.account, self.symbol):
            box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            box.setMinimumContentsLength(8)
        self.account.setToolTip(role.help or role.title)
        self.symbol.setToolTip(f"The market the {role.title.lower()} role trades on that account")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.account, 3)
        layout.addWidget(self.symbol, 2)
        self.account.currentTextChanged.connect(self._fill_symbols)
        self.refresh_accounts()

    def set_role(self, role: MarketRole) -> None:
        """The first role's picker stays and follows the chosen strategy's first role."""
        if role != self.role:
            self.role = role
            self.account.setToolTip(role.help or role.title)
            self.refresh_accounts()

    def refresh_accounts(self) -> None:
        """The workspace's accounts (kept selection when it is still there)."""
        current = self.account.currentText()
        names = ([NONE] if self.role.optional else []) + list(self.workspace.connectors)
        self.account.blockSignals(True)
        self.account.clear()
        self.account.addItems(names)
        if current in names:
            self.account.setCurrentText(current)
        self.account.blockSignals(False)
        self._fill_symbols()

    def _fill_symbols(self, *_args: object) -> None:
        connector = self.workspace.connectors.get(self.account.currentText())
        symbols = list(connector.instruments) if connector is not None else []
        current = self.symbol.currentText()
        self.symbol.blockSignals(True)
        self.symbol.clear()
        self.symbol.addItems(symbols)
        if current in symbols:
            self.symbol.setCurrentText(current)
        self.symbol.setEnabled(bool(symbols))
        self.symbol.blockSignals(False)

    def binding(self) -> tuple[str, str | None] | None:
        """(account, symbol), or None for an optional role left empty (or no account)."""
        account = self.account.currentText()
        if account not in self.workspace.connectors:
            return None
        return account, self.symbol.currentText() or None
