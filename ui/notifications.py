"""Notifications in the window: the status bar and the system tray.

The Qt-free Notifier (app/wiring/notifications.py) collects notices; this face drains it
four times a second, shows the newest in the status bar (errors in red, until the next
notice) and pops warnings, errors and, when asked, fills in the system tray. The View menu
has the switches; they persist in the window's settings.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMainWindow, QMenu, QSystemTrayIcon

from app.wiring.notifications import ERROR, FILL, INFO, RECONNECTED, WARNING, Notice, Notifier

DRAIN_MS = 250
STATUS_MS = {INFO: 8_000, WARNING: 20_000, ERROR: 0}  # 0: until the next message
TRAY_MS = 6_000
TRAY_FILLS_KEY = "notifications/tray_fills"
TRAY_ALERTS_KEY = "notifications/tray_alerts"
SEVERITY = {INFO: 0, WARNING: 1, ERROR: 2}
_TRAY_ICON = {INFO: QSystemTrayIcon.MessageIcon.Information, WARNING: QSystemTrayIcon.MessageIcon.Warning,
              ERROR: QSystemTrayIcon.MessageIcon.Critical}


class NotificationsUi:
    def __init__(self, window: QMainWindow, notifier: Notifier, settings: QSettings) -> None:
        self.window = window
        self.notifier = notifier
        self.settings = settings
        self.shown: list[Notice] = []  # the last notices shown (the newest last), for the status bar's tooltip
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(QApplication.windowIcon(), window)
            self.tray.setToolTip("Colibri")
            self.tray.activated.connect(lambda _reason: (window.showNormal(), window.raise_(), window.activateWindow()))
            self.tray.show()
        # Red is for our error only: whatever the window shows next is in the normal colour.
        window.statusBar().messageChanged.connect(self._message_changed)
        self._red_text = ""
        self.timer = QTimer(window)
        self.timer.setInterval(DRAIN_MS)
        self.timer.timeout.connect(self.drain)
        self.timer.start()

    def tray_fills(self) -> bool:
        return self.settings.value(TRAY_FILLS_KEY, False, type=bool)

    def tray_alerts(self) -> bool:
        return self.settings.value(TRAY_ALERTS_KEY, True, type=bool)

    def add_menu_actions(self, menu: QMenu) -> None:
        """Two switches: fills in the tray (off by default: a market maker fills often) and
        warnings and errors in the tray (on)."""
        for key, text, current in ((TRAY_ALERTS_KEY, "Notify bot stops, errors and disconnects", self.tray_alerts()),
                                   (TRAY_FILLS_KEY, "Notify every fill", self.tray_fills())):
            action = QAction(text, self.window, checkable=True, checked=current)
            action.setObjectName(key.replace("/", "_"))
            action.toggled.connect(lambda on, k=key: self.settings.setValue(k, on))
            menu.addAction(action)

    def drain(self) -> list[Notice]:
        notices = self.notifier.drain()
        if not notices:
            return notices
        # The most severe of this drain (the newest of those): an error is never hidden by a fill.
        shown = max(reversed(notices), key=lambda n: SEVERITY[n.level])
        more = f" (+{len(notices) - 1} more: see the log)" if len(notices) > 1 else ""
        bar = self.window.statusBar()
        text = f"{shown.text}{more}"
        self._red_text = text if shown.level == ERROR else ""
        bar.setStyleSheet("color: #c82828;" if shown.level == ERROR else "")
        bar.showMessage(text, STATUS_MS[shown.level])
        self.shown = (self.shown + notices)[-20:]
        bar.setToolTip("\n".join(n.text for n in self.shown[-10:]))
        for notice in notices:
            self._to_tray(notice)
        return notices

    def _message_changed(self, text: str) -> None:
        if text != self._red_text and self.window.statusBar().styleSheet():
            self.window.statusBar().setStyleSheet("")

    def _to_tray(self, notice: Notice) -> None:
        if self.tray is None:
            return
        if notice.kind == FILL:
            wanted = self.tray_fills()
        else:  # a stop the trader asked for is no news; one the bot made, an error or the network is
            wanted = self.tray_alerts() and (notice.level != INFO or notice.kind == RECONNECTED)
        if wanted:
            self.tray.showMessage(notice.title, notice.text, _TRAY_ICON[notice.level], TRAY_MS)

    def stop(self) -> None:
        self.timer.stop()
        self.notifier.close()
        if self.tray is not None:
            self.tray.hide()
