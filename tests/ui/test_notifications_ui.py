"""Notifications in the window: the newest notice in the status bar, warnings and errors
(and fills when asked) in the system tray, switches in the View menu that persist."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QMenu, QSystemTrayIcon

from app.wiring.notifications import BOT_FAILED, ERROR, FILL, INFO, Notice
from tests.test_notifications import setup
from ui.notifications import NotificationsUi


def make(qtbot, tmp_path, monkeypatch, tray: bool):
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: tray))
    popped = []
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda self, title, text, *_: popped.append((title, text)))
    window = QMainWindow()
    qtbot.addWidget(window)
    _clock, _workspace, _paper, notifier = setup()
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    ui = NotificationsUi(window, notifier, settings)
    return window, ui, notifier, popped


def test_newest_notice_in_the_status_bar_errors_in_red(qtbot, tmp_path, monkeypatch):
    window, ui, notifier, _popped = make(qtbot, tmp_path, monkeypatch, tray=False)
    assert ui.tray is None  # offscreen: no tray, the status bar still tells
    notifier.push(Notice(FILL, INFO, "Fill", "bot-1: buy 0.1", 1))
    notifier.push(Notice(BOT_FAILED, ERROR, "bot-1 failed", "bot-1 stopped on an error: boom", 2))
    assert len(ui.drain()) == 2
    assert window.statusBar().currentMessage() == "bot-1 stopped on an error: boom (+1 more: see the log)"
    assert "c82828" in window.statusBar().styleSheet()
    notifier.push(Notice(FILL, INFO, "Fill", "bot-1: sell 0.1", 3))
    ui.drain()
    assert window.statusBar().currentMessage() == "bot-1: sell 0.1" and window.statusBar().styleSheet() == ""
    assert ui.drain() == []  # nothing new: the message stays
    ui.stop()


def test_tray_gets_alerts_and_fills_only_when_asked(qtbot, tmp_path, monkeypatch):
    _window, ui, notifier, popped = make(qtbot, tmp_path, monkeypatch, tray=True)
    assert ui.tray is not None
    notifier.push(Notice(FILL, INFO, "Fill", "bot-1: buy 0.1", 1))
    notifier.push(Notice(BOT_FAILED, ERROR, "bot-1 failed", "boom", 2))
    ui.drain()
    assert popped == [("bot-1 failed", "boom")]
    menu = QMenu()
    ui.add_menu_actions(menu)
    fills = next(a for a in menu.actions() if a.objectName() == "notifications_tray_fills")
    assert not fills.isChecked()
    fills.setChecked(True)
    assert ui.tray_fills() and QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat).value(
        "notifications/tray_fills", type=bool)
    notifier.push(Notice(FILL, INFO, "Fill", "bot-1: sell 0.1", 3))
    ui.drain()
    assert popped[-1] == ("Fill", "bot-1: sell 0.1")
    ui.stop()


def test_an_error_is_never_hidden_by_a_later_fill_and_red_is_only_for_it(qtbot, tmp_path, monkeypatch):
    window, ui, notifier, _popped = make(qtbot, tmp_path, monkeypatch, tray=False)
    notifier.push(Notice(BOT_FAILED, ERROR, "bot-1 failed", "bot-1 stopped on an error: boom", 1))
    notifier.push(Notice(FILL, INFO, "Fill", "bot-2: buy 0.1", 2))
    ui.drain()
    assert window.statusBar().currentMessage() == "bot-1 stopped on an error: boom (+1 more: see the log)"
    window.statusBar().showMessage("Stopping bots and cancelling orders…")
    assert window.statusBar().styleSheet() == ""
    ui.stop()
