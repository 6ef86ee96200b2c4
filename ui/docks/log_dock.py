"""A bounded, filterable log view.

`LogBuffer` is a logging.Handler that only appends to a bounded deque, so any thread
(ccxt, the engine, asyncio callbacks) may log at any rate without touching Qt. The dock
reads new records from a timer at a few Hz, only while visible, and appends them in one
batch to a QPlainTextEdit whose block count is capped too.
"""
from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

DEFAULT_CAPACITY = 5000
REFRESH_HZ = 5
LEVELS = (("Debug", logging.DEBUG), ("Info", logging.INFO), ("Warning", logging.WARNING), ("Error", logging.ERROR))
_FORMAT = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    level: int
    text: str  # formatted, possibly several lines (tracebacks)


class LogBuffer(logging.Handler):
    """Keeps the last `capacity` formatted records; safe to call from any thread."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.setFormatter(_FORMAT)
        self._lines: deque[LogLine] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self._last = 0
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)
            return
        with self._guard:
            seq = next(self._seq)
            self._lines.append(LogLine(seq, record.levelno, text))
            self._last = seq

    @property
    def last_seq(self) -> int:
        return self._last

    def since(self, seq: int) -> list[LogLine]:
        """Lines newer than `seq`, oldest first (lines already evicted are skipped)."""
        with self._guard:
            if self._last <= seq:
                return []
            out: list[LogLine] = []
            for line in reversed(self._lines):
                if line.seq <= seq:
                    break
                out.append(line)
        out.reverse()
        return out

    def clear(self) -> None:
        with self._guard:
            self._lines.clear()


def install(logger: logging.Logger | None = None, capacity: int = DEFAULT_CAPACITY) -> LogBuffer:
    """Attaches a new LogBuffer to `logger` (default: the root logger)."""
    buffer = LogBuffer(capacity)
    (logger or logging.getLogger()).addHandler(buffer)
    return buffer


class LogDock(QDockWidget):
    def __init__(self, buffer: LogBuffer, parent: QWidget | None = None, *, max_lines: int = DEFAULT_CAPACITY) -> None:
        super().__init__("Log", parent)
        self.setObjectName("logDock")
        self.buffer = buffer
        self._shown_seq = 0

        self.level_combo = QComboBox()
        for title, level in LEVELS:
            self.level_combo.addItem(title, level)
        self.level_combo.setCurrentIndex(1)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter…")
        self.filter_edit.setClearButtonEnabled(True)
        self.clear_button = QPushButton("Clear")
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(max_lines)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        bar = QHBoxLayout()
        bar.addWidget(self.level_combo)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.clear_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.view)
        self.setWidget(body)

        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REFRESH_HZ)
        self._timer.timeout.connect(self.refresh)
        self.level_combo.currentIndexChanged.connect(self.rebuild)
        self.filter_edit.textChanged.connect(self.rebuild)
        self.clear_button.clicked.connect(self.clear)

    @property
    def min_level(self) -> int:
        return int(self.level_combo.currentData())

    def set_min_level(self, level: int) -> None:
        index = self.level_combo.findData(level)
        if index >= 0:
            self.level_combo.setCurrentIndex(index)

    def _accepts(self, line: LogLine, needle: str) -> bool:
        return line.level >= self.min_level and (not needle or needle in line.text.lower())

    def refresh(self) -> int:
        """Appends lines logged since the last refresh; returns how many were shown."""
        if self.buffer.last_seq == self._shown_seq:
            return 0
        lines = self.buffer.since(self._shown_seq)
        self._shown_seq = self.buffer.last_seq if not lines else lines[-1].seq
        needle = self.filter_edit.text().strip().lower()
        shown = [line.text for line in lines if self._accepts(line, needle)]
        if shown:
            self.view.appendPlainText("\n".join(shown))
            bar = self.view.verticalScrollBar()
            bar.setValue(bar.maximum())
        return len(shown)

    def rebuild(self) -> None:
        """Re-renders the kept lines after a filter change."""
        self.view.clear()
        self._shown_seq = 0
        self.refresh()

    def clear(self) -> None:
        self.buffer.clear()
        self._shown_seq = self.buffer.last_seq
        self.view.clear()

    def text(self) -> str:
        return self.view.toPlainText()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
