"""Accounts dock and the Add-account dialog (in-memory keyring, scripted checker)."""
from __future__ import annotations

import asyncio

import pytest
import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHeaderView, QLineEdit, QMessageBox

from app.account_check import CheckResult, CheckStatus
from app.accounts import DEMO_ACCOUNT_ID, PAPER_ACCOUNT_ID, SERVICE, AccountStore
from tests.ui.shell_fakes import FakeConnector
from ui.dialogs.add_account import AddAccountDialog
from ui.docks.accounts_dock import LIST_MAX_ROWS, AccountsDock
from ui.models.balances_model import BalancesModel


@pytest.fixture
def store(tmp_path, monkeypatch, memory_keyring):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path))
    return AccountStore()


@pytest.fixture
def qloop(qapp):
    """A qasync loop for driving tasks from synchronous tests (run_until_complete)."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()  # while Qt objects are alive: a loop closed by the GC would warn


class ScriptedChecker:
    """Answers after a short delay, like a real exchange round trip."""

    def __init__(self, result: CheckResult, delay: float = 0.2) -> None:
        self.result = result
        self.delay = delay
        self.calls: list[tuple[str, str, bool]] = []

    async def __call__(self, exchange_id, credentials, sandbox):
        self.calls.append((exchange_id, credentials.key, sandbox))
        await asyncio.sleep(self.delay)
        return self.result


def fill(dialog: AddAccountDialog, exchange="binance", key="k", secret="s", passphrase="", label="") -> None:
    dialog.exchange_edit.setText(exchange)
    dialog.key_edit.setText(key)
    dialog.secret_edit.setText(secret)
    dialog.passphrase_edit.setText(passphrase)
    dialog.label_edit.setText(label)


def test_dialog_masks_secrets_and_offers_completion(qtbot, store):
    dialog = AddAccountDialog(store)
    qtbot.addWidget(dialog)
    for edit in (dialog.key_edit, dialog.secret_edit, dialog.passphrase_edit):
        assert edit.echoMode() == QLineEdit.EchoMode.Password
    completer = dialog.exchange_edit.completer()
    completer.setCompletionPrefix("inanc")
    matches = {completer.completionModel().index(r, 0).data() for r in range(completer.completionCount())}
    assert "binance" in matches, "contains-matching completer"


def test_dialog_inline_errors(qtbot, store):
    dialog = AddAccountDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    fill(dialog, exchange="nosuchexchange", key="")
    dialog.save()
    errors = dialog.errors()
    assert "Unknown exchange" in errors["exchange_id"]
    assert "API key is empty" in errors["key"]
    assert dialog.findChild(type(dialog.status_label), "error_key").isVisible()
    assert dialog.result() == 0 and store.accounts()[2:] == []
    qtbot.keyClicks(dialog.key_edit, "x")
    assert "key" not in dialog.errors(), "typing clears the field's error"
    fill(dialog, exchange="okx", key="k", secret="s")
    dialog.save()
    assert set(dialog.errors()) == {"passphrase"}
    assert dialog.test_connection() is None, "invalid inputs are not sent to the exchange"


def test_dialog_unknown_exchange_flagged_on_editing_finished(qtbot, store):
    dialog = AddAccountDialog(store, exchanges=["binance", "kraken"])
    qtbot.addWidget(dialog)
    dialog.exchange_edit.setText("bogus")
    dialog.exchange_edit.editingFinished.emit()
    assert "bogus" in dialog.errors()["exchange_id"]


def test_dialog_save_stores_in_keyring(qtbot, store, memory_keyring):
    dialog = AddAccountDialog(store)
    qtbot.addWidget(dialog)
    fill(dialog, key="K1", secret="S1", label="Spot")
    with qtbot.waitSignal(dialog.account_saved) as saved:
        dialog.save()
    account = store.get(saved.args[0])
    assert account.label == "Spot" and account.exchange_id == "binance"
    assert memory_keyring.items[(SERVICE, f"{account.id}:secret")] == "S1"
    assert dialog.result() == 1


def test_dialog_test_runs_without_freezing(qtbot, store, qloop):
    checker = ScriptedChecker(CheckResult(CheckStatus.AUTH_ERROR, "The exchange refused the API key: bad"))
    dialog = AddAccountDialog(store, checker=checker)
    qtbot.addWidget(dialog)
    fill(dialog, key="K", secret="S")
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    results = []
    dialog.test_finished.connect(results.append)
    task = dialog.test_connection()
    assert not dialog.test_button.isEnabled() and "Testing" in dialog.status_label.text()
    result = qloop.run_until_complete(task)
    timer.stop()
    assert result.status is CheckStatus.AUTH_ERROR and results == [result]
    assert len(ticks) >= 5, "the Qt event loop kept running while the check was awaited"
    assert dialog.test_button.isEnabled() and "refused" in dialog.status_label.text()
    assert checker.calls == [("binance", "K", False)]


def test_dialog_close_cancels_running_test(qtbot, store, qloop):
    dialog = AddAccountDialog(store, checker=ScriptedChecker(CheckResult(CheckStatus.OK, "ok"), delay=30))
    qtbot.addWidget(dialog)
    fill(dialog)
    task = dialog.test_connection()
    qloop.run_until_complete(asyncio.sleep(0.05))
    dialog.reject()
    with pytest.raises(asyncio.CancelledError):
        qloop.run_until_complete(task)


def test_dock_lists_builtin_accounts_and_protects_them(qtbot, store):
    dock = AccountsDock(store)
    qtbot.addWidget(dock)
    assert dock.account_ids() == [DEMO_ACCOUNT_ID, PAPER_ACCOUNT_ID]
    assert dock.selected_account() == DEMO_ACCOUNT_ID
    assert not dock.remove_button.isEnabled()
    assert dock.request_remove() is None


def test_dock_add_via_dialog(qtbot, store):
    dock = AccountsDock(store)
    qtbot.addWidget(dock)
    dialog = dock.open_add_dialog()
    assert dialog.isVisible() and dialog.isModal() is True  # window-modal via open()
    fill(dialog, key="K", secret="S", label="Mine")
    with qtbot.waitSignal(dock.account_added) as added:
        dialog.save()
    assert dock.account_ids()[-1] == added.args[0] == dock.selected_account()
    assert dock.remove_button.isEnabled()


def test_dock_remove_with_confirmation(qtbot, store, memory_keyring):
    account = store.add("binance", "K", "S")
    dock = AccountsDock(store)
    qtbot.addWidget(dock)
    dock.select_account(account.id)
    box = dock.request_remove()
    assert box is not None and box.isVisible()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert account.id in dock.account_ids(), "cancel keeps the account"
    box = dock.request_remove()
    with qtbot.waitSignal(dock.account_removed):
        box.button(QMessageBox.StandardButton.Yes).click()
    assert account.id not in dock.account_ids()
    assert memory_keyring.items == {}


def test_dock_shows_selected_account_balances(qtbot, store):
    model = BalancesModel()
    demo, paper = FakeConnector("demo"), FakeConnector("paper")
    demo.set_balance("USDT", "10000")
    paper.set_balance("USDT", "5")
    paper.set_balance("BTC", "1")
    model.add_account(DEMO_ACCOUNT_ID, demo)
    model.add_account(PAPER_ACCOUNT_ID, paper)
    dock = AccountsDock(store, model)
    qtbot.addWidget(dock)
    dock.show()
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=2000)  # flushed by the dock's timer
    assert dock.proxy.rowCount() == 1
    dock.select_account(PAPER_ACCOUNT_ID)
    assert dock.proxy.rowCount() == 2
    demo.set_balance("BTC", "2")
    dock.select_account(DEMO_ACCOUNT_ID)
    qtbot.waitUntil(lambda: dock.proxy.rowCount() == 2, timeout=2000)
    dock.hide()
    assert not dock._timer.isActive(), "no refresh while hidden"


def test_dock_test_selected_account(qtbot, store, qloop):
    account = store.add("binance", "K", "S", sandbox=True)
    checker = ScriptedChecker(CheckResult(CheckStatus.OK, "Connected to binance: 2 asset(s) with a balance.", 2), 0.01)
    dock = AccountsDock(store, checker=checker)
    qtbot.addWidget(dock)
    dock.select_account(account.id)
    result = qloop.run_until_complete(dock.test_selected())
    assert result.ok and "Connected" in dock.status_label.text()
    assert checker.calls == [("binance", "K", True)]


def test_dock_list_is_compact_and_balances_take_the_rest(qtbot, store):
    model = BalancesModel()
    demo = FakeConnector("demo")
    demo.set_balance("USDT", "99393.1408475", "1801.9270269")
    demo.set_balance("BTC", "1.09198", "0.03")
    model.add_account(DEMO_ACCOUNT_ID, demo)
    dock = AccountsDock(store, model)
    qtbot.addWidget(dock)
    dock.resize(440, 630)
    dock.show()
    qtbot.waitUntil(lambda: dock.proxy.rowCount() == 2, timeout=2000)
    listing = dock.account_list
    rows = listing.count()
    assert rows == 2
    assert listing.height() == rows * listing.sizeHintForRow(0) + 2 * listing.frameWidth(), "sized to its rows"
    assert dock.balances_view.height() > dock.height() // 2, "the balances table gets the room"
    for i in range(LIST_MAX_ROWS + 3):
        store.add("binance", f"K{i}", f"S{i}")
    dock.refresh()
    assert listing.height() == LIST_MAX_ROWS * listing.sizeHintForRow(0) + 2 * listing.frameWidth(), "then it scrolls"

    header = dock.balances_view.horizontalHeader()
    assert [header.sectionResizeMode(c) for c in (2, 3, 4)] == [QHeaderView.ResizeMode.Stretch] * 3
    viewport = dock.balances_view.viewport().width()
    assert abs(sum(header.sectionSize(c) for c in range(1, 5)) - viewport) <= 2, "no empty space on the right"
    assert not dock.balances_view.wordWrap()

    proxy = dock.proxy
    usdt = next(r for r in range(proxy.rowCount()) if proxy.data(proxy.index(r, 1)) == "USDT")
    total = proxy.index(usdt, 2)
    assert proxy.data(total) == "99393.14"
    assert proxy.data(total, Qt.ItemDataRole.ToolTipRole) == "99393.1408475"


def test_read_only_checkbox_is_stored_and_shown(qtbot, store):
    dock = AccountsDock(store)
    qtbot.addWidget(dock)
    dialog = dock.open_add_dialog()
    fill(dialog, key="K", secret="S", label="Watch")
    dialog.read_only_check.setChecked(True)
    with qtbot.waitSignal(dock.account_added) as added:
        dialog.save()
    account = AccountStore().get(added.args[0])
    assert account.read_only
    item = dock.account_list.item(dock.account_ids().index(account.id))
    assert "read-only" in item.text() and "never used to trade" in item.toolTip()
    plain = store.add("binance", "K2", "S2")
    dock.refresh()
    assert "read-only" not in dock.account_list.item(dock.account_ids().index(plain.id)).text()


def test_dock_test_without_network_says_so_without_the_signed_url(qtbot, store, qloop):
    """A real check against a port nobody listens on: "No network", never the request."""
    import socket

    from app.account_check import check_account
    from tests.test_accounts import _pointing_at

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    async def unreachable(exchange_id, credentials, sandbox):
        return await check_account(exchange_id, credentials, sandbox, timeout=5, configure=_pointing_at(port, "x"))

    account = store.add("binance", "K", "S")
    dock = AccountsDock(store, checker=unreachable)
    qtbot.addWidget(dock)
    dock.select_account(account.id)
    result = qloop.run_until_complete(dock.test_selected())
    text = dock.status_label.text()
    assert result.status is CheckStatus.NETWORK_ERROR and text.startswith("No network: cannot reach binance")
    assert "signature" not in text and "timestamp" not in text and "http" not in text, text


def test_dock_test_without_a_secret_service_says_how_to_get_one(qtbot, store, qloop):
    import keyring
    from keyring.backends import fail

    account = store.add("binance", "K", "S")
    keyring.set_keyring(fail.Keyring())  # as on a desktop without a Secret Service (memory_keyring restores)
    dock = AccountsDock(store)
    qtbot.addWidget(dock)
    dock.select_account(account.id)
    result = qloop.run_until_complete(dock.test_selected())
    text = dock.status_label.text()
    assert not result.ok and "no usable Secret Service" in text
    assert "gnome-keyring-daemon" in text and "--keystore encrypted-file" in text, text
