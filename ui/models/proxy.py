"""Sorting and filtering for every trading table.

Sorting uses the models' SORT_ROLE (Decimal for prices and amounts, int nanoseconds for
times) and compares in Python, so "10.5" sorts after "9.75" and two prices that differ
in the 18th digit still sort exactly. The text filter matches any column's display text
(case-insensitive); an optional exact column filter narrows to, e.g., one account.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from ui.models.base import SORT_ROLE

AnyIndex = QModelIndex | QPersistentModelIndex


def _sort_less(left: Any, right: Any) -> bool:
    if left is None:
        return right is not None  # unknown values first
    if right is None:
        return False
    numeric = (int, float, Decimal)
    if isinstance(left, numeric) and isinstance(right, numeric):
        return left < right  # type: ignore[operator]
    if type(left) is type(right):
        try:
            return left < right
        except TypeError:
            pass
    return str(left) < str(right)


class TableProxy(QSortFilterProxyModel):
    """The proxy between a KeyedTableModel and its QTableView."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)
        self._column_filter: tuple[int, str] | None = None
        self._filter_text = ""

    def set_filter_text(self, text: str) -> None:
        """Shows rows where any column contains `text` (plain text, not a pattern)."""
        self._filter_text = text.strip()
        self.setFilterFixedString(self._filter_text)

    def filter_text(self) -> str:
        return self._filter_text

    def set_column_filter(self, column: int | None, value: str | None = None) -> None:
        """Keeps only rows whose `column` display text equals `value`; None clears it."""
        new = None if column is None or value is None else (column, value)
        if new == self._column_filter:
            return
        self.beginFilterChange()
        self._column_filter = new
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def lessThan(self, source_left: AnyIndex, source_right: AnyIndex) -> bool:
        model = self.sourceModel()
        return _sort_less(model.data(source_left, SORT_ROLE), model.data(source_right, SORT_ROLE))

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if self._column_filter is not None:
            column, value = self._column_filter
            index = self.sourceModel().index(source_row, column, source_parent)
            if self.sourceModel().data(index, Qt.ItemDataRole.DisplayRole) != value:
                return False
        return super().filterAcceptsRow(source_row, source_parent)

