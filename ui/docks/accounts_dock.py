"""Accounts dock: the account list, the selected account's balances, add/remove/test.

The list is only as tall as its few entries; the balances table takes the rest of the
dock, its amount columns sharing the width (rounded for reading, exact in the tooltip).

The dock only edits the registry (app.accounts) and shows balances; connecting and
disconnecting connectors is the main window's job, triggered by `account_added` /
`account_removed`. The balances model is fed by whoever owns the connectors; the dock
flushes it from a capped timer while it is visible.
"""
from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.account_check import CheckResult, CheckStatus, check_stored_account
from app.accounts import Account, AccountError, AccountStore, SecretStoreError
from app.redact import redact
from ui.dialogs.add_account import AddAccountDialog, Checker
from ui.models.balances_model import BalancesModel
from ui.models.proxy import TableProxy
from ui.table_panel import configure_single_line

log = logging.getLogger(__name__)

ACCOUNT_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
FLUSH_HZ = 10
LIST_MAX_ROWS = 6
"""The account list grows with its entries up to this many rows, then scrolls."""


def describe(account: Account) -> str:
    if account.builtin:
        return f"{account.label}  (built in)"
    flags = "".join(f" · {name}" for name, on in (("sandbox", account.sandbox), ("read-only", account.read_only)) if on)
    return f"{account.label}  — {account.exchange_id}{flags}"


class AccountsDock(QDockWidget):
    account_added = Signal(str)
    account_removed = Signal(str)
    account_selected = Signal(str)

    def __init__(self, store: AccountStore, balances_model: BalancesModel | None = None,
                 parent: QWidget | None = None, *, checker: Checker | None = None) -> None:
        super().__init__("Accounts", parent)
        self.setObjectName("accountsDock")
        self._store = store
        self._checker = checker
        self.balances_model = balances_model if balances_model is not None else BalancesModel(self)
        self.dialog: AddAccountDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self._test_task: asyncio.Task[CheckResult] | None = None

        self.account_list = QListWidget()
        self.account_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.add_button = QPushButton("Add…")
        self.remove_button = QPushButton("Remove…")
        self.test_button = QPushButton("Test")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)

        self.proxy = TableProxy(self)
        self.proxy.setSourceModel(self.balances_model)
        self.balances_view = QTableView()
        self.balances_view.setModel(self.proxy)
        self.balances_view.setSortingEnabled(True)
        self.balances_view.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.balances_view.verticalHeader().hide()
        configure_single_line(self.balances_view)
        header = self.balances_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # the amounts share the width
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)  # asset
        self.balances_view.setColumnHidden(0, True)  # the selected account is the filter
        self.account_list.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.test_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.account_list)  # compact: as tall as its rows (see _fit_list_height)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(self.balances_view, 1)  # the balances take the rest
        self.setWidget(body)

        self._timer = QTimer(self)
        self._timer.setInterval(1000 // FLUSH_HZ)
        self._timer.timeout.connect(self.balances_model.flush)

        self.add_button.clicked.connect(self.open_add_dialog)
        self.remove_button.clicked.connect(lambda: self.request_remove())
        self.test_button.clicked.connect(lambda: self.test_selected())
        self.account_list.currentItemChanged.connect(self._on_current_changed)
        self.refresh()

    # -- list -------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """Reloads the list from the registry, keeping (or setting) the selection."""
        keep = select or self.selected_account()
        self.account_list.blockSignals(True)
        self.account_list.clear()
        for account in self._store.accounts():
            item = QListWidgetItem(describe(account))
            item.setData(ACCOUNT_ID_ROLE, account.id)
            tip = f"id: {account.id}"
            if account.read_only:
                tip += "\nread-only key: balances and checks only, never used to trade"
            if account.url:
                tip += f"\nAPI URL: {account.url}"
            item.setToolTip(tip)
            self.account_list.addItem(item)
        self.account_list.blockSignals(False)
        self._fit_list_height()
        self.select_account(keep or self._store.accounts()[0].id)

    def _fit_list_height(self) -> None:
        """Sizes the account list to its rows (at least one, at most LIST_MAX_ROWS)."""
        rows = min(max(self.account_list.count(), 1), LIST_MAX_ROWS)
        row_height = self.account_list.sizeHintForRow(0) if self.account_list.count() else -1
        if row_height <= 0:
            row_height = self.account_list.fontMetrics().height() + 4
        self.account_list.setFixedHeight(rows * row_height + 2 * self.account_list.frameWidth())

    def account_ids(self) -> list[str]:
        return [self.account_list.item(i).data(ACCOUNT_ID_ROLE) for i in range(self.account_list.count())]

    def selected_account(self) -> str | None:
        item = self.account_list.currentItem()
        return item.data(ACCOUNT_ID_ROLE) if item is not None else None

    def select_account(self, account_id: str) -> None:
        for i in range(self.account_list.count()):
            if self.account_list.item(i).data(ACCOUNT_ID_ROLE) == account_id:
                self.account_list.setCurrentRow(i)
                return

    def _on_current_changed(self, current: QListWidgetItem | None, _previous: object) -> None:
        account_id = current.data(ACCOUNT_ID_ROLE) if current is not None else None
        self.proxy.set_column_filter(0, account_id)
        builtin = True
        if account_id is not None:
            try:
                builtin = self._store.get(account_id).builtin
            except AccountError:
                pass
        self.remove_button.setEnabled(not builtin)
        self.test_button.setEnabled(not builtin)
        self.status_label.clear()
        if account_id is not None:
            self.account_selected.emit(account_id)

    # -- add ----------------------------------------------------------------------------
    def open_add_dialog(self) -> AddAccountDialog:
        """Opens the non-blocking Add dialog (open(), never exec())."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        dialog = AddAccountDialog(self._store, self, checker=self._checker)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.account_saved.connect(self._on_saved)
        dialog.destroyed.connect(lambda: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_saved(self, account_id: str) -> None:
        self.refresh(select=account_id)
        self.account_added.emit(account_id)

    # -- remove ---------------------------------------------------------------------------
    def request_remove(self, account_id: str | None = None) -> QMessageBox | None:
        """Asks for confirmation (non-modal to the event loop); None for built-in accounts."""
        account_id = account_id or self.selected_account()
        if account_id is None:
            return None
        account = self._store.get(account_id)
        if account.builtin:
            return None
        box = QMessageBox(QMessageBox.Icon.Question, "Remove account",
                          f"Remove “{account.label}” ({account.exchange_id})?\n\n"
                          "Its API key and secret are deleted from the system keyring.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda result: self._on_confirm(account_id, result))
        box.destroyed.connect(lambda: setattr(self, "confirm_box", None))
        self.confirm_box = box
        box.open()
        return box

    def _on_confirm(self, account_id: str, result: int) -> None:
        if result == int(QMessageBox.StandardButton.Yes.value):
            self.remove_account(account_id)

    def remove_account(self, account_id: str) -> bool:
        """Removes without asking (the confirmation is request_remove's job)."""
        try:
            self._store.delete(account_id)
        except (AccountError, SecretStoreError, OSError) as exc:
            self.status_label.setText(f"Not removed: {exc}")
            return False
        if account_id in self.balances_model.accounts():
            self.balances_model.remove_account(account_id)
        self.refresh()
        self.account_removed.emit(account_id)
        return True

    # -- test -----------------------------------------------------------------------------
    def test_selected(self) -> asyncio.Task[CheckResult] | None:
        """Tests the selected live account on the running loop; the result shows below."""
        account_id = self.selected_account()
        if account_id is None or self._store.get(account_id).builtin:
            return None
        if self._test_task is not None and not self._test_task.done():
            return self._test_task
        self.status_label.setText("Testing…")
        self.test_button.setEnabled(False)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        self._test_task = loop.create_task(self._run_test(account_id))
        return self._test_task

    async def _run_test(self, account_id: str) -> CheckResult:
        try:
            if self._checker is not None:
                account = self._store.get(account_id)
                result = await self._checker(account.exchange_id, self._store.credentials(account_id), account.sandbox)
            else:
                result = await check_stored_account(self._store, account_id)
        except (AccountError, SecretStoreError) as exc:
            result = CheckResult(CheckStatus.AUTH_ERROR, redact(str(exc)))
        finally:
            self.test_button.setEnabled(True)
        self.status_label.setText(result.message)
        return result

    # -- visibility-driven refresh ----------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.balances_model.flush()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
