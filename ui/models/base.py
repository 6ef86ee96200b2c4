"""A keyed table model that applies batches of row changes with minimal signals.

Every trading table (orders, fills, balances) is a list of rows identified by a key
(account + order id, account + asset...). Models compute a `RowData` per changed key
at flush time and hand the batch to `_apply`, which emits insertRows for new keys,
dataChanged only for rows whose values really changed, and removeRows in contiguous
runs. Views and proxies therefore do work proportional to what changed, not to the
table size.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Hashable, Iterable, Mapping

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.domain import numbers
from app.domain.numbers import fmt_plain

SORT_ROLE = int(Qt.ItemDataRole.UserRole) + 1
"""Role returning a sortable Python value (Decimal, int, str) for the cell."""

KEY_ROLE = int(Qt.ItemDataRole.UserRole) + 2
"""Role returning the row's key (same for every column of the row)."""

EXACT_ROLE = int(Qt.ItemDataRole.UserRole) + 3
"""Role returning the cell's exact, unabridged text (what CSV export writes).

Equal to the display text unless the cell shows a shortened form (a rounded amount,
the time of day without the date); the tooltip then shows this text too.
"""


_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

AnyIndex = QModelIndex | QPersistentModelIndex


def fmt_decimal(value: Decimal | None) -> str:
    """Exact, human form of a Decimal: no exponent, no trailing zeros, never a binary float
    (app.domain.numbers.fmt_plain, which the core's messages use too)."""
    return "" if value is None else fmt_plain(value)


def fmt_money(value: Decimal | None) -> str:
    """Readable form of an amount of money, for display only (app.domain.numbers.fmt_money:
    the summaries round the same way). Sorting and CSV use the exact value."""
    return "" if value is None else numbers.fmt_money(value)


def _local_time(ts_ns: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts_ns // 1_000_000_000).replace(
        microsecond=(ts_ns % 1_000_000_000) // 1000
    )


def fmt_time_ns(ts_ns: int) -> str:
    """Local date and wall time with milliseconds; empty for an unknown (zero) time."""
    if not ts_ns:
        return ""
    moment = _local_time(ts_ns)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def fmt_clock_ns(ts_ns: int) -> str:
    """Local time of day with milliseconds (HH:MM:SS.mmm); empty for an unknown (zero) time.

    For table cells: one short line. Pair it with `fmt_time_ns` as the cell's exact text
    (tooltip and CSV) so the date is never lost.
    """
    if not ts_ns:
        return ""
    moment = _local_time(ts_ns)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


_HISTORY_BRUSH = QBrush(QColor(128, 128, 128))
HISTORY_TIP = "From the journal: placed in an earlier run of Colibri"


def history_mark(is_history: bool, column: int, role: int, bot_column: int) -> Any:
    """A row from an earlier run (the journal): greyed text, and a tooltip on its Bot cell."""
    if not is_history:
        return None
    if role == Qt.ItemDataRole.ForegroundRole:
        return _HISTORY_BRUSH
    if role == Qt.ItemDataRole.ToolTipRole and column == bot_column:
        return HISTORY_TIP
    return None


@dataclass(frozen=True, slots=True)
class RowData:
    """What one row shows (`display`), how each cell sorts (`sort`) and, where the display
    is shortened, each cell's exact text (`exact`: "" or a missing tuple = same as display).
    """

    display: tuple[str, ...]
    sort: tuple[Any, ...]
    exact: tuple[str, ...] = ()

    def exact_text(self, column: int) -> str:
        if column < len(self.exact) and self.exact[column]:
            return self.exact[column]
        return self.display[column]

    def tooltip(self, column: int) -> str | None:
        """The exact text when it differs from what the cell shows; None otherwise."""
        if column < len(self.exact) and self.exact[column] and self.exact[column] != self.display[column]:
            return self.exact[column]
        return None


class KeyedTableModel(QAbstractTableModel):
    """Base for tables whose rows are keyed; subclasses define COLUMNS and NUMERIC."""

    COLUMNS: tuple[str, ...] = ()
    NUMERIC: frozenset[int] = frozenset()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._keys: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        self._rows: dict[Hashable, RowData] = {}

    # -- Qt model interface ------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._keys) and 0 <= column < len(self.COLUMNS)):
            return None
        key = self._keys[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[key].display[column]
        if role == SORT_ROLE:
            return self._rows[key].sort[column]
        if role == KEY_ROLE:
            return key
        if role == EXACT_ROLE:
            return self._rows[key].exact_text(column)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._rows[key].tooltip(column)
            if tip is not None:
                return tip
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.NUMERIC:
            return _RIGHT
        return self._extra_data(key, column, role)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return self.COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and section in self.NUMERIC:
                return _RIGHT
            return None
        return super().headerData(section, orientation, role)

    # -- helpers for subclasses and callers --------------------------------------------
    def _extra_data(self, key: Hashable, column: int, role: int) -> Any:
        """Hook for colours, tooltips...; None by default."""
        return None

    def key_at(self, row: int) -> Hashable | None:
        return self._keys[row] if 0 <= row < len(self._keys) else None

    def row_of(self, key: Hashable) -> int | None:
        return self._index.get(key)

    def keys(self) -> list[Hashable]:
        return list(self._keys)

    def _apply(self, upserts: Mapping[Hashable, RowData], removals: Iterable[Hashable] = ()) -> bool:
        """Applies one batch; returns whether any row was inserted, changed or removed."""
        changed = self._remove(removals)
        new: list[Hashable] = []
        last_column = len(self.COLUMNS) - 1
        for key, row in upserts.items():
            position = self._index.get(key)
            if position is None:
                new.append(key)
                continue
            old = self._rows[key]
            if old == row:
                continue
            self._rows[key] = row
            differing = [
                c for c in range(len(row.display))
                if old.display[c] != row.display[c] or old.sort[c] != row.sort[c]
                or old.exact_text(c) != row.exact_text(c)
            ]
            first, last = (differing[0], differing[-1]) if differing else (0, last_column)
            self.dataChanged.emit(self.index(position, first), self.index(position, last))
            changed = True
        if new:
            start = len(self._keys)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            for offset, key in enumerate(new):
                self._keys.append(key)
                self._index[key] = start + offset
                self._rows[key] = upserts[key]
            self.endInsertRows()
            changed = True
        return changed

    def _remove(self, keys: Iterable[Hashable]) -> bool:
        positions = sorted({self._index[k] for k in keys if k in self._index}, reverse=True)
        if not positions:
            return False
        runs: list[tuple[int, int]] = []  # (first, last), descending
        for position in positions:
            if runs and runs[-1][0] == position + 1:
                runs[-1] = (position, runs[-1][1])
            else:
                runs.append((position, position))
        for first, last in runs:
            self.beginRemoveRows(QModelIndex(), first, last)
            for key in self._keys[first : last + 1]:
                del self._rows[key]
            del self._keys[first : last + 1]
            self.endRemoveRows()
        self._index = {key: i for i, key in enumerate(self._keys)}
        return True

    def _remove_front(self, count: int) -> None:
        """Drops the `count` oldest rows in one removeRows (bounded tables)."""
        count = min(count, len(self._keys))
        if count <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, count - 1)
        for key in self._keys[:count]:
            del self._rows[key]
        del self._keys[:count]
        self.endRemoveRows()
        self._index = {key: i for i, key in enumerate(self._keys)}

    def _reset(self, rows: Iterable[tuple[Hashable, RowData]]) -> None:
        """Replaces every row (used for rare view-mode toggles, not for updates)."""
        self.beginResetModel()
        self._keys = []
        self._rows = {}
        for key, row in rows:
            if key not in self._rows:
                self._keys.append(key)
            self._rows[key] = row
        self._index = {key: i for i, key in enumerate(self._keys)}
        self.endResetModel()


class AccountFedModel(KeyedTableModel):
    """A table fed by the events of one or more accounts (connectors).

    Subclasses set `_subs` (their connector subscriptions) and `_buffer` (the queued
    changes a flush applies) in __init__; the reads below are the same for all of them.
    """

    _subs: Any
    _buffer: Any

    def accounts(self) -> list[str]:
        return self._subs.accounts()

    def pending(self) -> int:
        """Queued changes not applied yet."""
        return len(self._buffer)
