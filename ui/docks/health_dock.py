"""Exchange health per connection: state, latency, reconnects, rate-limit budget, stale books.

Connectors differ in what they know. Stale/resynced books come from events every feed
publishes (BookStale / BookResynced); the rest comes from an optional `health()` method
returning a dict, polled at 2 Hz while the dock is visible. Recognised keys: "state",
"latency_ms", "reconnects", "rate_limit" (any printable budget, e.g. "80%" or "950/1200");
every other key is shown in the row's tooltip. Unknown values show as "—".
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Hashable, Iterable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import QDockWidget, QHeaderView, QTableView, QWidget

from app.domain import BookResynced, BookStale
from ui.models.base import KeyedTableModel, RowData, fmt_time_ns
from ui.models.buffer import CoalescingBuffer

log = logging.getLogger(__name__)

REFRESH_HZ = 2
UNKNOWN = "—"
_WARN = QBrush(QColor(214, 69, 65))
_KNOWN_KEYS = ("state", "latency_ms", "reconnects", "rate_limit")


class HealthModel(KeyedTableModel):
    COLUMNS = ("Connection", "State", "Latency (ms)", "Reconnects", "Rate limit", "Stale books", "Last change")
    NUMERIC = frozenset({2, 3})
    COL_STATE = 1
    COL_STALE = 5

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._sources: dict[str, tuple[object, list[tuple[object, Callable[[object], None]]]]] = {}
        self._events: CoalescingBuffer[tuple[str, str], tuple[bool, str, int]] = CoalescingBuffer()
        self._stale: dict[str, dict[str, tuple[str, int]]] = {}  # name -> symbol -> (reason, ts)
        self._changed_ns: dict[str, int] = {}
        self._tooltips: dict[str, str] = {}

    def add_connection(self, name: str, connector: object, feeds: Iterable[object] = ()) -> None:
        """Watches `connector` (and its market `feeds`) under the row `name`."""
        if name in self._sources:
            raise ValueError(f"connection {name!r} is already shown")

        def listener(event: object) -> None:
            if isinstance(event, BookStale):
                self._events.put((name, event.symbol), (True, event.reason, event.ts_ns))
            elif isinstance(event, BookResynced):
                self._events.put((name, event.symbol), (False, "", event.ts_ns))

        subscribed = []
        for source in (connector, *feeds):
            source.add_listener(listener)  # type: ignore[attr-defined]
            subscribed.append((source, listener))
        self._sources[name] = (connector, subscribed)
        self._stale[name] = {}
        for feed in feeds:  # a feed already stale before we subscribed
            if getattr(feed, "is_stale", False):
                symbol = getattr(getattr(feed, "instrument", None), "symbol", "?")
                self._events.put((name, symbol), (True, "stale when added", time.time_ns()))

    def remove_connection(self, name: str) -> None:
        entry = self._sources.pop(name, None)
        if entry is None:
            return
        for source, listener in entry[1]:
            source.remove_listener(listener)  # type: ignore[attr-defined]
        self._stale.pop(name, None)
        self._changed_ns.pop(name, None)
        self._tooltips.pop(name, None)
        self._remove([name])

    def connections(self) -> list[str]:
        return list(self._sources)

    def stale_symbols(self, name: str) -> list[str]:
        return sorted(self._stale.get(name, {}))

    def refresh(self) -> bool:
        """Applies stale/resync events and polls health(); returns whether rows changed."""
        for (name, symbol), (stale, reason, ts_ns) in self._events.drain().items():
            books = self._stale.get(name)
            if books is None:
                continue
            if stale:
                books[symbol] = (reason, ts_ns)
            else:
                books.pop(symbol, None)
            self._changed_ns[name] = max(self._changed_ns.get(name, 0), ts_ns)
        rows: dict[Hashable, RowData] = {}
        for name, (connector, _subs) in self._sources.items():
            rows[name] = self._row(name, self._poll(name, connector))
        return self._apply(rows)

    def _poll(self, name: str, connector: object) -> dict[str, Any]:
        health = getattr(connector, "health", None)
        if not callable(health):
            self._tooltips[name] = "This connection reports no health details; stale books come from its events."
            return {}
        try:
            report = dict(health())
        except Exception as exc:  # noqa: BLE001 - a failing report must not stop the dock
            log.warning("health() of %s failed: %s", name, exc)
            self._tooltips[name] = f"health() failed: {exc}"
            return {"state": "health unavailable"}
        extra = {k: v for k, v in report.items() if k not in _KNOWN_KEYS}
        self._tooltips[name] = "\n".join(f"{k}: {v}" for k, v in sorted(extra.items()))
        return report

    def _row(self, name: str, report: dict[str, Any]) -> RowData:
        books = self._stale.get(name, {})
        stale_text = ", ".join(f"{s} ({r})" if r else s for s, (r, _ts) in sorted(books.items()))
        latency = report.get("latency_ms")
        reconnects = report.get("reconnects")
        state = report.get("state")
        if books and state in (None, "live"):
            state = "books stale"  # connected, but a book cannot be trusted: say the worse
        elif state is None:
            state = UNKNOWN
        latency_text = f"{latency:.1f}" if isinstance(latency, (int, float)) else (str(latency) if latency is not None else UNKNOWN)
        changed = self._changed_ns.get(name, 0)
        display = (
            name, str(state), latency_text, str(reconnects) if reconnects is not None else UNKNOWN,
            str(report["rate_limit"]) if report.get("rate_limit") is not None else UNKNOWN,
            stale_text, fmt_time_ns(changed),
        )
        sort = (name, str(state), latency if isinstance(latency, (int, float)) else None,
                reconnects if isinstance(reconnects, int) else None, display[4], len(books), changed)
        return RowData(display, sort)

    def _extra_data(self, key: Hashable, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column in (self.COL_STALE, self.COL_STATE):
            if self._stale.get(key):  # type: ignore[arg-type]
                return _WARN
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltips.get(key) or None  # type: ignore[arg-type]
        return None


class HealthDock(QDockWidget):
    def __init__(self, model: HealthModel | None = None, parent: QWidget | None = None) -> None:
        super().__init__("Exchange health", parent)
        self.setObjectName("healthDock")
        self.model = model if model is not None else HealthModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.setWidget(self.view)
        self._timer = QTimer(self)
        self._timer.setInterval(1000 // REFRESH_HZ)
        self._timer.timeout.connect(self.model.refresh)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.model.refresh()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)
