"""The bot history table: every bot the journal knows, this run's and earlier runs'.

One row per bot name with its orders, fills and PnL over every run (recomputed from the
journal's fills by app/engine/journal/history.py) and, for a bot that stopped, the PnL it
showed when it stopped. A bot that no longer runs is marked as history in its State cell
(greyed); a bot running now says so (its live figures are in the Bots table).

The journal is read by `HistoryLoader` in a worker thread on its own read-only
connection; the rows arrive through a queued signal and are applied as one batch (only
the rows that changed are signalled), so nothing here reads the journal on the GUI loop.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Hashable, Iterable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from app.domain import Instrument
from app.engine.journal.history import BotSummary, load_summaries
from ui.models.base import KeyedTableModel, RowData, fmt_clock_ns, fmt_decimal, fmt_money, fmt_time_ns

log = logging.getLogger(__name__)

_HISTORY = QBrush(QColor(128, 128, 128))

STATE_WORDS = {
    "stopped": "history: stopped",
    "stopping": "history: ended while stopping",
    "running": "history: ended without a clean stop",
    "recovered": "history: recovered",
    "created": "history: never started",
}


class BotHistoryModel(KeyedTableModel):
    COLUMNS = ("Bot", "State", "Orders", "Fills", "PnL", "PnL at stop", "Asset", "Strategy", "Account", "Symbol",
               "Started", "Stopped")  # the figures first: they fit a narrow dock
    NUMERIC = frozenset({2, 3, 4, 5})
    COL_STATE = 1

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._history: set[Hashable] = set()

    def set_summaries(self, summaries: Iterable[BotSummary], running: set[str]) -> bool:
        """Shows `summaries` (one per bot); `running`: the names of bots running now. Rows of
        bots no longer in the list are removed. Returns whether any row changed."""
        upserts: dict[Hashable, RowData] = {}
        history: set[Hashable] = set()
        for item in summaries:
            upserts[item.name] = self._row(item, item.name in running)
            if item.name not in running:
                history.add(item.name)
        self._history = history
        gone = [key for key in self._keys if key not in upserts]
        return self._apply(upserts, gone)

    def is_history(self, name: str) -> bool:
        """True for a bot that does not run in this process (its row is marked as history)."""
        return name in self._history

    @staticmethod
    def _row(item: BotSummary, running: bool) -> RowData:
        state = "running (this run)" if running else STATE_WORDS.get(item.state, f"history: {item.state}")
        at_stop = fmt_money(item.pnl_at_stop) if item.pnl_at_stop is not None else ""
        pnl = fmt_money(item.pnl)
        if item.other_assets:  # markets valued in another asset are not added in the wrong unit
            pnl += f" (without its {', '.join(item.other_assets)} markets)"
        display = (item.name, state, str(item.orders), str(item.fills), pnl, at_stop, item.pnl_asset,
                   item.strategy, item.account, item.symbol, _when(item.started_ns), _when(item.stopped_ns))
        sort = (item.name, state, item.orders, item.fills, item.pnl,
                item.pnl_at_stop if item.pnl_at_stop is not None else 0, item.pnl_asset, item.strategy,
                item.account, item.symbol, item.started_ns or 0, item.stopped_ns or 0)
        exact = ("", "", "", "", fmt_decimal(item.pnl), fmt_decimal(item.pnl_at_stop), "", "", "", "",
                 fmt_time_ns(item.started_ns or 0), fmt_time_ns(item.stopped_ns or 0))
        return RowData(display, sort, exact)

    def _extra_data(self, key: Hashable, column: int, role: int) -> Any:
        if key not in self._history:
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            return _HISTORY
        if role == Qt.ItemDataRole.ToolTipRole and column == self.COL_STATE:
            return "Not running in this run of Colibri: its orders, fills and PnL come from the journal."
        return None


def _when(ts_ns: int | None) -> str:
    """Date and time of day for a start or stop (the day matters for earlier runs)."""
    if not ts_ns:
        return ""
    return fmt_time_ns(ts_ns)[:10] + " " + fmt_clock_ns(ts_ns)[:8]


class HistoryLoader(QObject):
    """Reads the bot summaries in a worker thread; `loaded(list[BotSummary])` on the GUI
    thread. A request while one runs is remembered and run once after it (coalesced)."""

    loaded = Signal(object)

    def __init__(self, path: str, instruments: Callable[[], dict[tuple[str, str], Instrument]],
                 parent: Any = None) -> None:
        super().__init__(parent)
        self._path = path
        self._instruments = instruments  # called on the GUI thread: a snapshot for the worker
        self._lock = threading.Lock()
        self._running = False
        self._again = False

    def request(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        self._start()

    def _start(self) -> None:
        known = dict(self._instruments())
        thread = threading.Thread(target=self._work, args=(known,), name="bot-history", daemon=True)
        thread.start()

    def _work(self, known: dict[tuple[str, str], Instrument]) -> None:
        try:
            result = load_summaries(self._path, lambda account, symbol: known.get((account, symbol)))
        except Exception as exc:  # a journal removed or damaged meanwhile: one line, the table stays
            log.warning("bot history: %s", exc)
            result = None
        try:
            if result is not None:
                self.loaded.emit(result)  # before the next read may start: results arrive in order
        except RuntimeError:  # the window closed meanwhile: nobody to show it to
            return
        with self._lock:
            again, self._again = self._again, False
            self._running = again
        if again:
            self._work(known)
