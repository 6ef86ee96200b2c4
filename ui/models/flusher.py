"""One capped timer that flushes table models, only while someone can see them.

Models queue connector events; this timer applies them at most `hz` times a second
(default 10, capped at 30) and skips models whose views are all hidden, so a hidden
fills table costs nothing but its bounded buffer.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

MAX_HZ = 30.0


class Flushable(Protocol):
    def flush(self) -> bool: ...


class ModelFlusher(QObject):
    def __init__(self, parent: Any = None, *, hz: float = 10.0) -> None:
        super().__init__(parent)
        hz = min(max(hz, 0.1), MAX_HZ)
        self._entries: list[tuple[Flushable, Callable[[], bool]]] = []
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / hz))
        self._timer.timeout.connect(self.flush_now)

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def add(self, model: Flushable, *views: QWidget) -> None:
        """Flushes `model` while any of `views` is visible (always, if none given)."""
        if views:
            visible: Callable[[], bool] = lambda: any(v.isVisible() for v in views)  # noqa: E731
        else:
            visible = lambda: True  # noqa: E731
        self._entries.append((model, visible))

    def remove(self, model: Flushable) -> None:
        self._entries = [e for e in self._entries if e[0] is not model]

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def flush_now(self) -> int:
        """Flushes visible models; returns how many changed."""
        changed = 0
        for model, visible in self._entries:
            if visible() and model.flush():
                changed += 1
        return changed
