"""Table model of the trades tape: the newest public trades first, bounded.

Rows live in one numpy structured array (newest first). Each refresh inserts the
trades that arrived since the last one as a single beginInsertRows block at the top,
then trims the oldest rows with a single beginRemoveRows, so a burst of hundreds of
trades costs two model signals, not hundreds.

The tape paints every visible cell on each repaint (ui/market/cell_delegate.py asks
`cell` once per cell), so a trade's texts are formatted once, when first shown, and kept by
its sequence number (rows move down as trades arrive; a trade's number does not). `flags`
is Qt's default (enabled, selectable): a Python override would be one more call per cell.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.domain import TRADE_DTYPE, Instrument
from ui.market.book_read import fmt_amount, fmt_price

TIME, PRICE, SIZE, SIDE = range(4)
HEADERS = ("Time", "Price", "Size", "Side")
BUY_BRUSH = QBrush(QColor(38, 166, 91))
SELL_BRUSH = QBrush(QColor(214, 69, 65))
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_ALIGN = (_ALIGN_LEFT, _ALIGN_RIGHT, _ALIGN_RIGHT, _ALIGN_LEFT)  # per column
_DISPLAY, _TOOLTIP = Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole
_FOREGROUND, _ALIGNMENT = Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.TextAlignmentRole
_ROLES = frozenset((_DISPLAY, _TOOLTIP, _FOREGROUND, _ALIGNMENT))


def fmt_time(ts_ns: int) -> str:
    """Local wall time to the second (the tooltip has the milliseconds)."""
    return datetime.fromtimestamp(ts_ns / 1e9).strftime("%H:%M:%S")


def fmt_time_ms(ts_ns: int) -> str:
    """Local wall time with milliseconds: what a trader compares with the exchange UI."""
    dt = datetime.fromtimestamp(ts_ns / 1e9)
    return dt.strftime("%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


class TradesModel(QAbstractTableModel):
    def __init__(self, capacity: int = 500, parent=None) -> None:  # noqa: ANN001 - QObject
        super().__init__(parent)
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._rows = np.zeros(0, dtype=TRADE_DTYPE)
        self._instrument: Instrument | None = None
        self._added = 0  # trades ever added: row r shows trade number _added - 1 - r
        self._texts: dict[int, tuple] = {}  # trade number -> (time, price, size, side, tooltip, brush)

    def set_instrument(self, instrument: Instrument | None) -> None:
        self.beginResetModel()
        self._instrument = instrument
        self._rows = np.zeros(0, dtype=TRADE_DTYPE)
        self._texts = {}
        self.endResetModel()

    def clear(self) -> None:
        self.set_instrument(self._instrument)

    def trade(self, row: int) -> np.void:
        """The raw TRADE_DTYPE record shown in a row (row 0 = newest)."""
        return self._rows[row]

    def add(self, trades: np.ndarray) -> int:
        """Adds a batch (oldest first); returns the number of rows inserted."""
        if len(trades) == 0 or self._instrument is None:
            return 0
        new = trades[::-1][: self.capacity]
        k = len(new)
        old = len(self._rows)
        keep = min(old, self.capacity - k)
        if keep < old:
            self.beginRemoveRows(QModelIndex(), keep, old - 1)
            self._rows = self._rows[:keep]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, k - 1)
        self._rows = np.concatenate((new, self._rows))
        self._added += len(trades)
        self.endInsertRows()
        if len(self._texts) > 2 * self.capacity:  # now and then: the trades no longer held
            oldest = self._added - len(self._rows)
            self._texts = {n: t for n, t in self._texts.items() if n >= oldest}
        return k

    # -- Qt model API ------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return str(section + 1)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if role not in _ROLES or not index.isValid():
            return None
        col = index.column()
        texts = self._texts_of(index.row()) if 0 <= col < len(HEADERS) else None
        if texts is None:
            return None
        if role == _ALIGNMENT:
            return _ALIGN[col]
        if role == _DISPLAY:
            return texts[col]
        if role == _TOOLTIP:
            return texts[4]
        return None if col == TIME else texts[5]

    def cell(self, row: int, col: int) -> tuple | None:
        """(text, colour, background, alignment) of a cell, for the tape's CellDelegate."""
        texts = self._texts_of(row) if 0 <= col < len(HEADERS) else None
        if texts is None:
            return None
        return texts[col], None if col == TIME else texts[5], None, _ALIGN[col]

    def _texts_of(self, row: int) -> tuple | None:
        """A row's texts and colour, formatted when its trade is first shown, kept by its number."""
        if self._instrument is None or not 0 <= row < len(self._rows):
            return None
        number = self._added - 1 - row
        texts = self._texts.get(number)
        if texts is None:
            texts = self._texts[number] = self._format(self._rows[row])
        return texts

    def _format(self, rec: np.void) -> tuple:
        inst = self._instrument
        ts = int(rec["ts_ns"])
        bought = rec["taker_side"] > 0
        return (fmt_time(ts), fmt_price(inst, int(rec["price_ticks"])), fmt_amount(inst, int(rec["qty_lots"])),
                "Buy" if bought else "Sell", fmt_time_ms(ts), BUY_BRUSH if bought else SELL_BRUSH)
