"""Uncaught exceptions: log them, show them, keep the app running.

A trading app must not vanish because a slot raised: open orders would be left on the
exchange with nobody watching. `ErrorReporter` hooks every place an exception can go
uncaught — sys.excepthook (the main thread, including Qt slots and timer callbacks,
which PySide routes there), threading.excepthook (worker threads) and the asyncio loop's
exception handler (tasks and callbacks on qasync) — logs the traceback and shows a
non-modal dialog with a Copy button.

Reports from any thread travel to the GUI thread through a queued signal. Dialogs are
de-duplicated (the same error again bumps a counter on the open dialog) and rate-limited
(a few open at once, a few new per minute), so an exception storm cannot open 1,000
windows; everything is still logged, repeats as one line without the traceback.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections import deque
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.redact import redact

log = logging.getLogger("colibri.errors")


def signature(exc_type: type[BaseException], tb: TracebackType | None, message: str = "") -> str:
    """Identifies "the same error": its type and where it was raised (not its message)."""
    frames = traceback.extract_tb(tb)[-3:] if tb is not None else []
    where = ";".join(f"{f.filename}:{f.lineno}" for f in frames)
    return f"{exc_type.__module__}.{exc_type.__qualname__}@{where or message}"


class ErrorDialog(QDialog):
    """Non-modal window with the traceback, a Copy button and a repeat counter."""

    def __init__(self, title: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Colibri: unexpected error")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.count = 1
        self.summary = QLabel(title)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.repeats = QLabel()
        self.repeats.hide()
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setMinimumSize(560, 240)
        note = QLabel("Colibri keeps running. The error was logged; copy it for a bug report.")
        note.setWordWrap(True)
        self.copy_button = QPushButton("Copy")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        self.copy_button.clicked.connect(self.copy)
        layout = QVBoxLayout(self)
        for widget in (self.summary, self.repeats, self.details, note, buttons):
            layout.addWidget(widget)

    def copy(self) -> None:
        QApplication.clipboard().setText(self.details.toPlainText())

    def bump(self) -> None:
        self.count += 1
        self.repeats.setText(f"This error happened {self.count} times.")
        self.repeats.show()


class ErrorReporter(QObject):
    dialog_opened = Signal(object)
    """The ErrorDialog just shown (for tests and for a status-bar indicator)."""

    _deliver = Signal(str, str, str)  # signature, title, details: queued into the GUI thread

    def __init__(self, parent: QObject | None = None, *, max_open: int = 3, max_per_minute: int = 5,
                 dialog_parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_open = max_open
        self.max_per_minute = max_per_minute
        self.dialog_parent = dialog_parent
        self.suppressed = 0
        self.reported = 0
        self._open: dict[str, ErrorDialog] = {}
        self._opened_at: deque[float] = deque()
        self._seen: dict[str, float] = {}  # signature -> last time logged with a traceback
        self._lock = threading.Lock()
        self._installed = False
        self._previous: tuple[Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_loop_handler: Any = None
        self._deliver.connect(self._show, Qt.ConnectionType.QueuedConnection)

    # -- hooks ---------------------------------------------------------------------------
    def install(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Hooks sys/threading excepthooks and, when given, the asyncio loop's handler."""
        if not self._installed:
            self._previous = (sys.excepthook, threading.excepthook)
            sys.excepthook = self._sys_hook
            threading.excepthook = self._thread_hook
            self._installed = True
        if loop is not None:
            self._loop = loop
            self._previous_loop_handler = loop.get_exception_handler()
            loop.set_exception_handler(self._loop_handler)

    def uninstall(self) -> None:
        if self._installed and self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._installed = False
        if self._loop is not None:
            self._loop.set_exception_handler(self._previous_loop_handler)
            self._loop = None

    def _sys_hook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):  # Ctrl+C in a terminal keeps its meaning
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.report(exc_type, exc, tb, "main thread")

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "unknown"
        self.report(args.exc_type, args.exc_value, args.exc_traceback, f"thread {name}")

    def _loop_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = context.get("message", "asyncio error")
        if exc is None:  # e.g. "Unclosed client session": worth a log line, not a dialog
            log.warning("asyncio: %s", message)
            return
        self.report(type(exc), exc, exc.__traceback__, f"asyncio: {message}")

    # -- reporting -------------------------------------------------------------------------
    def report(self, exc_type: type[BaseException], exc: BaseException | None,
               tb: TracebackType | None, where: str = "") -> None:
        """Logs and queues a dialog; safe from any thread."""
        sig = signature(exc_type, tb, str(exc))
        # API keys and secrets loaded in this process never reach the log, the dialog or the clipboard
        title = redact(f"{exc_type.__name__}: {exc}") if str(exc) else exc_type.__name__
        details = redact("".join(traceback.format_exception(exc_type, exc, tb)))
        now = time.monotonic()
        with self._lock:
            self.reported += 1
            repeat = now - self._seen.get(sig, -1e9) < 60.0
            if not repeat:
                self._seen[sig] = now
        if repeat:
            log.error("uncaught exception again (%s): %s", where, title)
        else:
            log.error("uncaught exception (%s): %s\n%s", where, title, details.rstrip())
        self._deliver.emit(sig, f"{title}\n(in {where})" if where else title, details)

    def _show(self, sig: str, title: str, details: str) -> None:
        existing = self._open.get(sig)
        if existing is not None:
            existing.bump()
            return
        now = time.monotonic()
        while self._opened_at and now - self._opened_at[0] > 60.0:
            self._opened_at.popleft()
        if len(self._open) >= self.max_open or len(self._opened_at) >= self.max_per_minute:
            self.suppressed += 1
            if self.suppressed == 1 or self.suppressed % 100 == 0:
                log.warning("too many errors: %d error dialog(s) not shown (see the log)", self.suppressed)
            return
        dialog = ErrorDialog(title, details, self.dialog_parent)
        self._open[sig] = dialog
        self._opened_at.append(now)
        dialog.finished.connect(lambda _r, s=sig: self._open.pop(s, None))
        dialog.show()
        self.dialog_opened.emit(dialog)

    def open_dialogs(self) -> list[ErrorDialog]:
        return list(self._open.values())

    def close_all(self) -> None:
        for dialog in list(self._open.values()):
            dialog.close()
        self._open.clear()


def install_error_hooks(loop: asyncio.AbstractEventLoop | None = None, parent: QObject | None = None,
                        dialog_parent: QWidget | None = None) -> ErrorReporter:
    """Creates and installs the app's reporter; keep the returned object alive."""
    reporter = ErrorReporter(parent, dialog_parent=dialog_parent)
    reporter.install(loop)
    return reporter
