"""Table model of the DOM price ladder: one row per price group over a window of prices.

A row covers `ticks_per_row` ticks (1, 10, 100...): book sizes, own orders and traded
volume of the prices in the group are summed into it, shown with only the decimals the
group step needs (a 1.00 step shows "60023"). Bids are rounded down to the row's price and
asks up to it (a row at 60023 holds bids from 60023 to 60023.99 and asks from 60022.01 to
60023), so the best bid and the best ask never share a row, however coarse the grouping.
A window reaching below zero (an empty book) shows no price on those rows.

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
HEADERS = ("My bid", "Bid", "Price", "Ask", "My ask", "Vol")
HEADER_TIPS = ("Own resting bids (q = lots queued ahead; M = placed by hand)", "Resting bid size",
               "Price (bids rounded down to it, asks rounded up)", "Resting ask size",
               "Own resting asks (q = lots queued ahead; M = placed by hand)", "Traded volume, last minutes")
GROUPINGS = (1, 10, 100, 1000)
"""Ticks per row the ladder offers."""
RAW_ROLE = Qt.ItemDataRole.UserRole + 1
"""Integer value of a cell (lots, or ticks for the price column): for tests and tools."""

# Column layout of the state matrix.
(_F_BID, _F_ASK, _F_OWN_BID, _F_OWN_BID_Q, _F_OWN_ASK, _F_OWN_ASK_Q, _F_TRADED, _F_FLAGS, _F_OWN_BID_M,
 _F_OWN_ASK_M) = range(10)
_NFIELDS = 10
_FLAG_BEST_BID = 1
_FLAG_BEST_ASK = 2

_BRUSH_BID = QBrush(QColor(38, 166, 91, 60))
_BRUSH_ASK = QBrush(QColor(214, 69, 65, 60))
_BRUSH_BEST_BID = QBrush(QColor(38, 166, 91, 140))
_BRUSH_BEST_ASK = QBrush(QColor(214, 69, 65, 140))
_BRUSH_OWN = QBrush(QColor(52, 120, 220, 90))
_BRUSH_MANUAL = QBrush(QColor(150, 80, 210, 110))
"""Own orders of the row placed by hand (the manual desk's): the ones a click cancels."""
_BRUSH_TRADED = QBrush(QColor(200, 170, 40, 50))
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_CENTER = int(Qt.AlignmentFlag.AlignCenter)
_FIELDS = (_F_OWN_BID, _F_BID, -1, _F_ASK, _F_OWN_ASK, _F_TRADED)
_ALIGNS = (_ALIGN_RIGHT, _ALIGN_RIGHT, _ALIGN_CENTER, _ALIGN_RIGHT, _ALIGN_RIGHT, _ALIGN_RIGHT)
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_RAW = int(RAW_ROLE)
_ROLES = frozenset((_DISPLAY, _BACKGROUND, _ALIGNMENT, _TOOLTIP, _RAW))


def auto_ticks_per_row(mid_ticks: float, rows: int = 40, span_bp: float = 10.0) -> int:
    """The grouping (from GROUPINGS) with which `rows` rows cover about `span_bp` of the price."""
    if mid_ticks <= 0:
        return 1
    target = mid_ticks * span_bp * 1e-4 / rows
    return min(GROUPINGS, key=lambda g: abs(np.log10(g) - np.log10(max(target, 1e-9))))


def compact_amount(instrument: Instrument, lots: int) -> str:
    """Short size text for narrow columns: about 3-4 significant digits, exact when it is short.

    "23.5", "2.35", "0.235", "1234"; dust below 0.001 shows as "<0.001".
    The exact amount is in the cell's tooltip.
    """
    exact = fmt_amount(instrument, lots)
    if len(exact) <= 5:
        return exact
    value = float(instrument.lots_to_amount(lots))
    a = abs(value)
    if a >= 100:
        text = f"{value:.0f}"
    elif a >= 10:
        text = f"{value:.1f}"
    elif a >= 1:
        text = f"{value:.2f}"
    elif a >= 0.001:
        text = f"{value:.3f}"
    else:
        return "<0.001"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True, slots=True)
class OwnLevel:
    """Own resting orders at one price: total lots and the queue ahead of the first one."""

    side: int  # +1 bid, -1 ask
    price_ticks: int
    lots: int
    queue_ahead_lots: int | None
    manual: bool = False  # placed by hand (app/engine/manual_orders.py)


class DomModel(QAbstractTableModel):
    def __init__(self, rows: int = 400, parent=None, *, ticks_per_row: int = 1) -> None:  # noqa: ANN001 - QObject
        super().__init__(parent)
        if rows <= 0 or ticks_per_row <= 0:
            raise ValueError("rows and ticks_per_row must be positive")
        self._rows = rows
        self._group = int(ticks_per_row)
        self._instrument: Instrument | None = None
        self._top = 0  # price in ticks of row 0 (highest price; a multiple of the group)
        self.last_changed_rows = np.empty(0, np.int64)
        """Rows whose contents changed in the last `update` (the view sizes columns from them)."""
        self._state = np.zeros((rows, _NFIELDS), np.int64)
        self._cells: list[tuple | None] = [None] * rows
        """Per row, lazily: (texts, backgrounds) of its cells; None when the row changed since."""
        self._price_texts: list[str | None] = [None] * rows
        self.rows_emitted = 0
        """Rows announced through dataChanged since creation (for tests and benches)."""

    # -- window -----------------------------------------------------------------------
    @property
    def instrument(self) -> Instrument | None:
        return self._instrument

    @property
    def top_ticks(self) -> int:
        return self._top

    @property
    def window_rows(self) -> int:
        return self._rows

    @property
    def ticks_per_row(self) -> int:
        return self._group

    @property
    def bottom_ticks(self) -> int:
        """Lower edge of the last row."""
        return self.price_of(self._rows - 1)

    def ask_row_of(self, price_ticks: int) -> int:
        """The row an ask at `price_ticks` is shown in (asks round up to the row's price)."""
        return self._top // self._group - -(-int(price_ticks) // self._group)

    def row_of(self, price_ticks: int) -> int:
        """Row holding a price (may be outside 0..rows-1)."""
        return self._top // self._group - int(price_ticks) // self._group

    def price_of(self, row: int) -> int:
        """Lower edge, in ticks, of the prices a row covers."""
        return self._top - row * self._group

    def _rows_of(self, prices: np.ndarray, *, up: bool = False) -> np.ndarray:
        """Rows of `prices`: rounded down to the row's price (bids, trades) or up (asks)."""
        prices = np.asarray(prices, np.int64)
        groups = -(-prices // self._group) if up else prices // self._group
        return self._top // self._group - groups

    def set_ticks_per_row(self, ticks: int) -> None:
        """Changes the grouping: every row means another price range, so the model is reset."""
        ticks = int(ticks)
        if ticks <= 0:
            raise ValueError("ticks_per_row must be positive")
        if ticks == self._group:
            return
        self.beginResetModel()
        self._group = ticks
        self._top = (self._top // ticks) * ticks
        self._state[:] = 0
        self._clear_cells()
        self.last_changed_rows = np.empty(0, np.int64)
        self.endResetModel()

    def set_instrument(self, instrument: Instrument | None) -> None:
        self.beginResetModel()
        self._instrument = instrument
        self._state[:] = 0
        self._clear_cells()
        self._top = 0
        self.endResetModel()

    def set_top(self, top_ticks: int) -> None:
        """Moves the window (row 0 = the group holding `top_ticks`); every row changes."""
        top_ticks = (int(top_ticks) // self._group) * self._group
        if top_ticks == self._top:
            return
        self._top = top_ticks
        self._state[:] = 0
        self._clear_cells()
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
        self._scatter(new[:, _F_ASK], ask_prices, ask_qtys, up=True)
        self._scatter(new[:, _F_TRADED], traded_prices, traded_qtys)
        new[:, _F_OWN_BID_Q] = -1
        new[:, _F_OWN_ASK_Q] = -1
        for level in own:
            row = self.row_of(level.price_ticks) if level.side > 0 else self.ask_row_of(level.price_ticks)
            if not 0 <= row < n:
                continue
            f_lots, f_q = (_F_OWN_BID, _F_OWN_BID_Q) if level.side > 0 else (_F_OWN_ASK, _F_OWN_ASK_Q)
            new[row, f_lots] += level.lots
            if level.manual:
                new[row, _F_OWN_BID_M if level.side > 0 else _F_OWN_ASK_M] += level.lots
            if level.queue_ahead_lots is not None:
                q = new[row, f_q]
                new[row, f_q] = level.queue_ahead_lots if q < 0 else min(q, level.queue_ahead_lots)
        for price, flag, row_of in ((best_bid, _FLAG_BEST_BID, self.row_of),
                                    (best_ask, _FLAG_BEST_ASK, self.ask_row_of)):
            row = row_of(price)
            if price and 0 <= row < n:
                new[row, _F_FLAGS] |= flag
        changed = np.flatnonzero((new != self._state).any(axis=1))
        self._state = new
        self.last_changed_rows = changed
        cells = self._cells
        for row in changed.tolist():
            cells[row] = None
        if self._instrument is None or len(changed) == 0:
            return 0
        # Contiguous runs of changed rows -> one signal each.
        breaks = np.flatnonzero(np.diff(changed) != 1)
        starts = np.concatenate(([changed[0]], changed[breaks + 1]))
        ends = np.concatenate((changed[breaks], [changed[-1]]))
        for s, e in zip(starts.tolist(), ends.tolist()):
            self._emit_rows(s, e)
        return len(changed)

    def _scatter(self, out: np.ndarray, prices: np.ndarray, qtys: np.ndarray, *, up: bool = False) -> None:
        """Sums `qtys` into the rows of `prices` (several prices share a row when grouped)."""
        if len(prices) == 0:
            return
        rows = self._rows_of(prices, up=up)
        ok = (rows >= 0) & (rows < self._rows)
        if not ok.any():
            return
        # float64 sums are exact below 2**53 lots: far above any book
        out += np.rint(np.bincount(rows[ok], weights=np.asarray(qtys, np.float64)[ok],
                                   minlength=self._rows)[: self._rows]).astype(np.int64)

    def _clear_cells(self) -> None:
        self._cells = [None] * self._rows
        self._price_texts: list[str | None] = [None] * self._rows

    def _row_price_text(self, row: int) -> str:
        """The row's price text (depends only on the window: cached until it moves)."""
        text = self._price_texts[row] if 0 <= row < self._rows else None
        if text is None:
            price = self.price_of(row)
            text = self.price_text(price) if price >= 0 else ""  # below zero: an empty book's window
            if 0 <= row < self._rows:
                self._price_texts[row] = text
        return text

    def row_cells(self, row: int) -> tuple[tuple[str, ...], tuple[QBrush | None, ...]]:
        """(display texts, background brushes) of a row's cells, built once per change of the row."""
        cached = self._cells[row]
        if cached is None:
            st = self._state[row]
            texts = tuple(self._text(row, col, st) for col in range(len(HEADERS)))
            brushes = tuple(self._background(col, st) for col in range(len(HEADERS)))
            cached = self._cells[row] = (texts, brushes)
        return cached

    def cell(self, row: int, col: int) -> tuple | None:
        """(text, colour, background, alignment) of a cell, from the row's cache, for the
        ladder's CellDelegate (the text colour is the palette's)."""
        if self._instrument is None or not (0 <= row < self._rows and 0 <= col < len(HEADERS)):
            return None
        texts, brushes = self.row_cells(row)
        return texts[col], None, brushes[col], _ALIGNS[col]

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
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section] if 0 <= section < len(HEADERS) else None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return str(section + 1)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
        # Painting asks ~8 roles per visible cell: the unused ones return at once, and text and
        # brushes come from the row's cache (built once per change of the row).
        if role not in _ROLES or self._instrument is None or not index.isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < self._rows and 0 <= col < len(HEADERS)):
            return None
        if role == _DISPLAY:
            return self.row_cells(row)[0][col]
        if role == _BACKGROUND:
            return self.row_cells(row)[1][col]
        if role == _ALIGNMENT:
            return _ALIGNS[col]
        st = self._state[row]
        if role == _RAW:
            return self._raw(row, col, st)
        return self._tooltip(row, col, st)

    def _raw(self, row: int, col: int, st: np.ndarray) -> int:
        if col == PRICE:
            return self.price_of(row)
        return int(st[_FIELDS[col]])

    def price_text(self, ticks: int) -> str:
        """A row price with the decimals the row step needs (exact: rows start on a step)."""
        inst = self._instrument
        assert inst is not None
        text = fmt_price(inst, ticks)
        if self._group > 1 and "." in text:
            step = fmt_price(inst, self._group).rstrip("0")
            keep = len(step.split(".")[1]) if "." in step and not step.endswith(".") else 0
            head, frac = text.split(".")
            text = f"{head}.{frac[:keep]}" if keep else head
        return text

    def _text(self, row: int, col: int, st: np.ndarray, exact: bool = False) -> str:
        inst = self._instrument
        assert inst is not None
        if col == PRICE:
            return self._row_price_text(row)
        fmt = fmt_amount if exact else compact_amount
        if col in (OWN_BID, OWN_ASK):
            lots, q, manual = (st[_F_OWN_BID], st[_F_OWN_BID_Q], st[_F_OWN_BID_M]) if col == OWN_BID \
                else (st[_F_OWN_ASK], st[_F_OWN_ASK_Q], st[_F_OWN_ASK_M])
            if not lots:
                return ""
            text = ("M " if manual else "") + fmt(inst, int(lots))
            text = f"{text} (q {fmt(inst, int(q))})" if q >= 0 else text
            if exact and manual:
                text += f", of which {fmt(inst, int(manual))} placed by hand (click: cancel, drag: move)"
            return text
        value = int(st[_FIELDS[col]])
        return fmt(inst, value) if value else ""

    def _tooltip(self, row: int, col: int, st: np.ndarray) -> str | None:
        inst = self._instrument
        assert inst is not None
        lo = self.price_of(row)
        if lo < 0:
            return None
        span = fmt_price(inst, lo) if self._group == 1 else \
            f"bids {fmt_price(inst, lo)} – {fmt_price(inst, lo + self._group - 1)}, asks " \
            f"{fmt_price(inst, lo - self._group + 1)} – {fmt_price(inst, lo)}"
        if col == PRICE:
            return span
        text = self._text(row, col, st, exact=True)
        return f"{text} {inst.base} at {span}" if text else None

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
        if col == OWN_BID and st[_F_OWN_BID_M] or col == OWN_ASK and st[_F_OWN_ASK_M]:
            return _BRUSH_MANUAL
        if col == OWN_BID and st[_F_OWN_BID] or col == OWN_ASK and st[_F_OWN_ASK]:
            return _BRUSH_OWN
        if col == TRADED and st[_F_TRADED]:
            return _BRUSH_TRADED
        return None
