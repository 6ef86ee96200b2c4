"""“Add account”: pick a ccxt exchange, enter API credentials, test them, save.

Errors are shown under the field they concern, as the user types, instead of in a
message box after the fact. “Test” runs the async connection check on the qasync loop
as a task, so the window keeps repainting while the exchange answers; closing the
dialog cancels a test still in flight. The dialog is shown with open() by its caller,
never exec(): a nested event loop inside qasync breaks its task bookkeeping.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.account_check import CheckResult, CheckStatus, check_account
from app.redact import redact
from app.accounts import AccountError, AccountStore, Credentials, SecretStoreError, ccxt_exchange_ids, validate

log = logging.getLogger(__name__)

Checker = Callable[[str, Credentials, bool], Awaitable[CheckResult]]

_ERROR_STYLE = "color: #d64541;"
_OK_STYLE = "color: #26a65b;"


class AddAccountDialog(QDialog):
    account_saved = Signal(str)
    """The id of the account just stored."""
    test_finished = Signal(object)
    """The CheckResult of a connection test."""

    FIELDS = ("exchange_id", "label", "key", "secret", "passphrase", "sandbox", "read_only")

    def __init__(self, store: AccountStore, parent: QWidget | None = None, *,
                 exchanges: list[str] | None = None, checker: Checker | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add exchange account")
        self.setObjectName("addAccountDialog")
        self._store = store
        self._exchanges = sorted(exchanges if exchanges is not None else ccxt_exchange_ids())
        self._checker: Checker = checker or (lambda ex, creds, sandbox: check_account(ex, creds, sandbox))
        self._test_task: asyncio.Task[CheckResult] | None = None

        self.exchange_edit = QLineEdit()
        self.exchange_edit.setPlaceholderText("ccxt exchange id, e.g. binance")
        completer = QCompleter(self._exchanges, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.exchange_edit.setCompleter(completer)
        self.label_edit = QLineEdit()
        self.label_edit.setPlaceholderText("optional, e.g. Main spot")
        self.key_edit = self._secret_edit()
        self.secret_edit = self._secret_edit()
        self.passphrase_edit = self._secret_edit()
        self.passphrase_edit.setPlaceholderText("only if the exchange requires one")
        self.sandbox_check = QCheckBox("Use the exchange's sandbox (testnet)")
        self.read_only_check = QCheckBox("Read-only key (balances and checks only; never trade with it)")
        self.read_only_check.setToolTip("Stored with the account: Colibri refuses to place orders with a read-only key")

        self._errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, title, widget in (
            ("exchange_id", "Exchange", self.exchange_edit),
            ("label", "Label", self.label_edit),
            ("key", "API key", self.key_edit),
            ("secret", "API secret", self.secret_edit),
            ("passphrase", "Passphrase", self.passphrase_edit),
            ("sandbox", "", self.sandbox_check),
            ("read_only", "", self.read_only_check),
        ):
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.setSpacing(2)
            column.addWidget(widget)
            error = QLabel()
            error.setObjectName(f"error_{name}")
            error.setStyleSheet(_ERROR_STYLE)
            error.setWordWrap(True)
            error.hide()
            column.addWidget(error)
            self._errors[name] = error
            form.addRow(title, box)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_button = QPushButton("Test")
        self.test_button.setToolTip("Check the key with one authenticated request (fetch balance)")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        self.test_button.clicked.connect(self.test_connection)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status_label)
        layout.addWidget(buttons)

        self.exchange_edit.editingFinished.connect(self._check_exchange_field)
        for name, edit in (("exchange_id", self.exchange_edit), ("label", self.label_edit), ("key", self.key_edit),
                           ("secret", self.secret_edit), ("passphrase", self.passphrase_edit)):
            edit.textEdited.connect(lambda _text, n=name: self._set_error(n, ""))
        self.sandbox_check.toggled.connect(lambda _on: self._set_error("sandbox", ""))
        self.finished.connect(self._cancel_test)

    @staticmethod
    def _secret_edit() -> QLineEdit:
        edit = QLineEdit()
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        return edit

    # -- inputs and errors --------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {
            "exchange_id": self.exchange_edit.text().strip(),
            "label": self.label_edit.text().strip(),
            "key": self.key_edit.text(),
            "secret": self.secret_edit.text(),
            "passphrase": self.passphrase_edit.text(),
            "sandbox": self.sandbox_check.isChecked(),
            "read_only": self.read_only_check.isChecked(),
        }

    def errors(self) -> dict[str, str]:
        """Errors currently shown, by field (for callers and tests)."""
        return {name: label.text() for name, label in self._errors.items() if label.text()}

    def _set_error(self, name: str, message: str) -> None:
        label = self._errors[name]
        label.setText(message)
        label.setVisible(bool(message))

    def _show_errors(self, errors: dict[str, str]) -> bool:
        for name in self.FIELDS:
            self._set_error(name, errors.get(name, ""))
        return not errors

    def _validate(self) -> bool:
        v = self.values()
        return self._show_errors(validate(v["exchange_id"], v["key"], v["secret"], v["passphrase"], v["sandbox"], v["label"]))

    def _check_exchange_field(self) -> None:
        exchange_id = self.exchange_edit.text().strip()
        if exchange_id and exchange_id not in self._exchanges:
            self._set_error("exchange_id", f"Unknown exchange “{exchange_id}”: not a ccxt exchange id.")

    def _set_status(self, text: str, ok: bool | None = None) -> None:
        self.status_label.setText(text)
        self.status_label.setStyleSheet("" if ok is None else (_OK_STYLE if ok else _ERROR_STYLE))

    # -- test -----------------------------------------------------------------------------
    @property
    def pending_test(self) -> asyncio.Task[CheckResult] | None:
        return self._test_task

    def test_connection(self) -> asyncio.Task[CheckResult] | None:
        """Starts the connection check on the running loop; None when the inputs are invalid."""
        if self._test_task is not None and not self._test_task.done():
            return self._test_task
        if not self._validate():
            return None
        v = self.values()
        credentials = Credentials(v["key"].strip(), v["secret"].strip(), v["passphrase"].strip())
        self.test_button.setEnabled(False)
        self._set_status(f"Testing {v['exchange_id']}…")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        self._test_task = loop.create_task(self._run_test(v["exchange_id"], credentials, v["sandbox"]))
        return self._test_task

    async def _run_test(self, exchange_id: str, credentials: Credentials, sandbox: bool) -> CheckResult:
        try:
            result = await self._checker(exchange_id, credentials, sandbox)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a checker bug must not leave the button disabled
            log.exception("connection test failed")  # redacted by app.redact's log record factory
            result = CheckResult(CheckStatus.EXCHANGE_ERROR, redact(f"The test failed: {exc}"))
        self.test_button.setEnabled(True)
        self._set_status(result.message, result.ok)
        self.test_finished.emit(result)
        return result

    def _cancel_test(self) -> None:
        if self._test_task is not None and not self._test_task.done():
            self._test_task.cancel()

    # -- save -----------------------------------------------------------------------------
    def save(self) -> None:
        if not self._validate():
            return
        v = self.values()
        try:
            account = self._store.add(v["exchange_id"], v["key"], v["secret"], v["passphrase"],
                                      label=v["label"], sandbox=v["sandbox"], read_only=v["read_only"])
        except AccountError as exc:
            if exc.field in self._errors:
                self._set_error(exc.field, str(exc))
            else:
                self._set_status(str(exc), False)
            return
        except (SecretStoreError, OSError) as exc:
            self._set_status(f"Not saved: {exc}", False)
            return
        self.account_saved.emit(account.id)
        self.accept()
