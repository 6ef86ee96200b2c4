"""Table model of the DOM price ladder: one row per tick over a window of prices.

The model holds plain int64 arrays (one per column) for a fixed window of rows; `update`
receives fresh arrays, compares them with the current ones in numpy and emits
`dataChanged` only for the runs of rows that differ, so the view repaints a handful of
cells per refresh instead of the whole ladder. Text is produced lazily in `data()` for
the rows Qt actually paints, with exact Decimal prices from the instrument.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.domain import Instrument
from ui.market.book_read import fmt_amount, fmt_price

OWN_BID, BID_SIZE, PRICE, ASK_SIZE, OWN_ASK, TRADED = range(6)
HEADERS = ("My bids", "Bid", "Price", "Ask", "My asks", "Traded")
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
"""Integer value of a cell (lots, or ticks for the price column): for tests and tools."""

# Column layout of the state matrix.
_F_BID, _F_ASK, _F_OWN_BID, _F_OWN_BID_Q, _F_OWN_ASK, _F_OWN_ASK_Q, _F_TRADED, _F_FLAGS = range(8)
_FLAG_BEST_BID = 1
_FLAG_BEST_ASK = 2

_BRUSH_BID = QBrush(QColor(38, 166, 91, 60))
_BRUSH_ASK = QBrush(QColor(214, 69, 65, 60))
_BRUSH_BEST_BID = QBrush(QColor(38, 166, 91, 140))
_BRUSH_BEST_ASK = QBrush(QColor(214, 69, 65, 140))
_BRUSH_OWN = QBrush(QColor(52, 120, 220, 90))
_BRUSH_TRADED = QBrush(QColor(200, 170, 40, 50))
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_CENTER = int(Qt.AlignmentFlag.AlignCenter)


@dataclass(frozen=True, slots=True)
class OwnLevel:
    """Own resting orders at one price: total lots and the queue ahead of the first one."""

    side: int  # +1 bid, -1 ask
    price_ticks: int
    lots: int
    queue_ahead_lots: int | None


class DomModel(QAbstractTableModel):
    def __init__(self, rows: int = 400, parent=None) -> None:  # noqa: ANN001 - QObject
        super().__init__(parent)
        if rows <= 0:
            raise ValueError("rows must be positive")
        self._rows = rows
        self._instrument: Instrument | None = None
        self._top = 0  # price in ticks of row 0 (highest price)
        self._state = np.zeros((rows, 8), np.int64)
        self.rows_emitted = 0
        """Rows announced through dataChanged since creation (for tests and benches)."""

    # -- window -----------------------------------------------------------------------
    @property
    def top_ticks(self) -> int:
        return self._top

    @property
    def window_rows(self) -> int:
        return self._rows

    def row_of(self, price_ticks: int) -> int:
        """Row of a price (may be outside 0..rows-1)."""
        return self._top - int(price_ticks)

    def price_of(self, row: int) -> int:
        return self._top - row

    def set_instrument(self, instrument: Instrument | None) -> None:
        self.beginResetModel()
        self._instrument = instrument
        self._state[:] = 0
        self._top = 0
        self.endResetModel()

    def set_top(self, top_ticks: int) -> None:
        """Moves the window; every row now shows another price, so all rows change."""
        top_ticks = int(top_ticks)
        if top_ticks == self._top:
            return
        self._top = top_ticks
        self._state[:] = 0
        if self._instrument is not None:
            self._emit_rows(0, self._rows - 1)

    # -- updating ---------------------------------------------------------------------
    def update(self, bid_prices: np.ndarray, bid_qtys: np.ndarray, ask_prices: np.ndarray,
               ask_qtys: np.ndarray, own: list[OwnLevel], traded_prices: np.ndarray,
               traded_qtys: np.ndarray, best_bid: int, best_ask: int) -> int:
        """Replaces the window's contents; emits dataChanged for changed rows; returns their count."""
        n = self._rows
        new = np.zeros_like(self._state)
        self._scatter(new[:, _F_BID], bid_prices, bid_qtys)
        self._scatter(new[:, _F_ASK], ask_prices, ask_qtys)
        if len(traded_prices):
            rows = self._top - np.asarray(traded_prices, np.int64)
            ok = (rows >= 0) & (rows < n)
            new[:, _F_TRADED] = np.bincount(rows[ok], weights=np.asarray(traded_qtys)[ok],
                                            minlength=n)[:n].astype(np.int64)
        new[:, _F_OWN_BID_Q] = -1
        new[:, _F_OWN_ASK_Q] = -1
        for level in own:
            row = self._top - level.price_ticks
            if not 0 <= row < n:
                continue
            f_lots, f_q = (_F_OWN_BID, _F_OWN_BID_Q) if level.side > 0 else (_F_OWN_ASK, _F_OWN_ASK_Q)
            new[row, f_lots] += level.lots
            if level.queue_ahead_lots is not None:
                q = new[row, f_q]
                new[row, f_q] = level.queue_ahead_lots if q < 0 else min(q, level.queue_ahead_lots)
        for price, flag in ((best_bid, _FLAG_BEST_BID), (best_ask, _FLAG_BEST_ASK)):
            row = self._top - price
            if price and 0 <= row < n:
                new[row, _F_FLAGS] |= flag
        changed = np.flatnonzero((new != self._state).any(axis=1))
        self._state = new
        if self._instrument is None or len(changed) == 0:
            return 0
        # Contiguous runs of changed rows -> one signal each.
        breaks = np.flatnonzero(np.diff(changed) != 1)
        starts = np.concatenate(([changed[0]], changed[breaks + 1]))
        ends = np.concatenate((changed[breaks], [changed[-1]]))
        for s, e in zip(starts.tolist(), ends.tolist()):
            self._emit_rows(s, e)
        return len(changed)

    def _scatter(self, out: np.ndarray, prices: np.ndarray, qtys: np.ndarray) -> None:
        if len(prices) == 0:
            return
        rows = self._top - np.asarray(prices, np.int64)
        ok = (rows >= 0) & (rows < self._rows)
        out[rows[ok]] = np.asarray(qtys, np.int64)[ok]

    def _emit_rows(self, first: int, last: int) -> None:
        self.rows_emitted += last - first + 1
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(HEADERS) - 1))

    # -- Qt model API ------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        if parent.isValid() or self._instrument is None:
            return 0
        return self._rows

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
        if not (0 <= row < self._rows and 0 <= col < len(HEADERS)):
            return None
        st = self._state[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col, st)
        if role == RAW_ROLE:
            return self._raw(row, col, st)
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._background(col, st)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGN_CENTER if col == PRICE else _ALIGN_RIGHT
        return None

    def _raw(self, row: int, col: int, st: np.ndarray) -> int:
        if col == PRICE:
            return self.price_of(row)
        field = (_F_OWN_BID, _F_BID, -1, _F_ASK, _F_OWN_ASK, _F_TRADED)[col]
        return int(st[field])

    def _text(self, row: int, col: int, st: np.ndarray) -> str:
        inst = self._instrument
        assert inst is not None
        if col == PRICE:
            return fmt_price(inst, self.price_of(row))
        if col in (OWN_BID, OWN_ASK):
            lots, q = (st[_F_OWN_BID], st[_F_OWN_BID_Q]) if col == OWN_BID else (st[_F_OWN_ASK], st[_F_OWN_ASK_Q])
            if not lots:
                return ""
            text = fmt_amount(inst, int(lots))
            return f"{text} (q {fmt_amount(inst, int(q))})" if q >= 0 else text
        value = int(st[(_F_OWN_BID, _F_BID, -1, _F_ASK, _F_OWN_ASK, _F_TRADED)[col]])
        return fmt_amount(inst, value) if value else ""

    @staticmethod
    def _background(col: int, st: np.ndarray) -> QBrush | None:
        flags = int(st[_F_FLAGS])
        if col == PRICE:
            if flags & _FLAG_BEST_BID:
                return _BRUSH_BEST_BID
            if flags & _FLAG_BEST_ASK:
                return _BRUSH_BEST_ASK
            return None
        if col == BID_SIZE and st[_F_BID]:
            return _BRUSH_BEST_BID if flags & _FLAG_BEST_BID else _BRUSH_BID
        if col == ASK_SIZE and st[_F_ASK]:
            return _BRUSH_BEST_ASK if flags & _FLAG_BEST_ASK else _BRUSH_ASK
        if col == OWN_BID and st[_F_OWN_BID] or col == OWN_ASK and st[_F_OWN_ASK]:
            return _BRUSH_OWN
        if col == TRADED and st[_F_TRADED]:
            return _BRUSH_TRADED
        return None
