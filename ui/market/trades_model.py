"""Table model of the trades tape: the newest public trades first, bounded.

Rows live in one numpy structured array (newest first). Each refresh inserts the
trades that arrived since the last one as a single beginInsertRows block at the top,
then trims the oldest rows with a single beginRemoveRows, so a burst of hundreds of
trades costs two model signals, not hundreds.
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

    def set_instrument(self, instrument: Instrument | None) -> None:
        self.beginResetModel()
        self._instrument = instrument
        self._rows = np.zeros(0, dtype=TRADE_DTYPE)
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
        self.endInsertRows()
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

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        if not index.isValid() or self._instrument is None:
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self._rows) and 0 <= col < len(HEADERS)):
            return None
        rec = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == TIME:
                return fmt_time(int(rec["ts_ns"]))
            if col == PRICE:
                return fmt_price(self._instrument, int(rec["price_ticks"]))
            if col == SIZE:
                return fmt_amount(self._instrument, int(rec["qty_lots"]))
            return "Buy" if rec["taker_side"] > 0 else "Sell"
        if role == Qt.ItemDataRole.ToolTipRole:
            return fmt_time_ms(int(rec["ts_ns"]))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == TIME:
                return None
            return BUY_BRUSH if rec["taker_side"] > 0 else SELL_BRUSH
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN_LEFT if col in (TIME, SIDE) else _ALIGN_RIGHT
        return None
