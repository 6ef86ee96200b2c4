"""A table view over a model, with a text filter, sorting and CSV export.

Trading tables are read like tapes: one line per row (no word wrap, one fixed row
height, so a long cell never doubles a row), columns as wide as their contents and the
last column taking the remaining width. Columns are fitted to their (sampled) contents
when the first rows arrive and after a model reset, never on every flush. Later inserts
only look at the inserted rows (at most GROW_SAMPLE_ROWS of them) and widen a column
whose new text would be cut; they never shrink one. A column the user resized is left
alone from then on.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.models import TableProxy
from ui.models.csv_export import CsvExportAction

ROW_PADDING = 6
"""Pixels added to the font height for a row."""

FIT_SAMPLE_ROWS = 200
"""Rows sampled when fitting a column to its contents (bounds the cost on big tables)."""

GROW_SAMPLE_ROWS = 64
"""Inserted rows looked at, per batch, to widen columns whose new text would be cut."""


def configure_single_line(view: QTableView) -> None:
    """One text line per row: no wrapping, uniform (fixed) row heights, last column stretched."""
    view.setWordWrap(False)
    rows = view.verticalHeader()
    rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    rows.setDefaultSectionSize(view.fontMetrics().height() + ROW_PADDING)
    rows.setMinimumSectionSize(view.fontMetrics().height() + 2)
    columns = view.horizontalHeader()
    columns.setResizeContentsPrecision(FIT_SAMPLE_ROWS)
    columns.setStretchLastSection(True)


class TablePanel(QWidget):
    def __init__(self, model: QAbstractItemModel, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_model = model
        self.proxy = TableProxy(self)
        self.proxy.setSourceModel(model)
        self.view = QTableView(objectName=f"{name}_table")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.verticalHeader().setVisible(False)
        configure_single_line(self.view)
        self.filter = QLineEdit(objectName=f"{name}_filter")
        self.filter.setPlaceholderText("Filter…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_filter_text)
        self.export_action = CsvExportAction(lambda: self.proxy, self, f"{name}.csv")
        export = QToolButton()
        export.setDefaultAction(self.export_action)
        top = QHBoxLayout()
        top.addWidget(self.filter)
        top.addWidget(export)
        self._top = top
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.view)

        # Fit columns once rows exist (and again after a reset), not on every flush.
        self.columns_fitted = False
        self._fitting = False
        self._user_sized: set[int] = set()
        self._inserted: list[tuple[int, int]] = []
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)  # after the current batch of inserts
        self._fit_timer.timeout.connect(self._after_inserts)
        self.proxy.rowsInserted.connect(self._on_rows_inserted)
        self.proxy.modelReset.connect(self._on_reset)
        self.view.horizontalHeader().sectionResized.connect(self._on_section_resized)
        if self.proxy.rowCount() > 0:
            self._fit_timer.start()

    def add_row_action(self, text: str, handler: Callable[[list[int]], None], *, shortcut: QKeySequence | None = None,
                       tip: str = "") -> QAction:
        """An action on the selected rows (source-model row numbers): a button next to the
        filter, an entry of the rows' context menu and, with `shortcut`, a key while the
        table has the focus. Enabled only while a row is selected."""
        action = QAction(text, self.view)
        action.setToolTip(tip or text)
        if shortcut is not None:
            action.setShortcut(shortcut)
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.setEnabled(False)
        action.triggered.connect(lambda: handler(self.selected_rows()))
        self.view.addAction(action)  # its shortcut works while the table has the focus
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        button = QToolButton(objectName=f"{action.text().lower().replace(' ', '_')}_button")
        button.setDefaultAction(action)
        self._top.insertWidget(self._top.count() - 1, button)
        self.view.selectionModel().selectionChanged.connect(lambda *_: action.setEnabled(bool(self.selected_rows())))
        return action

    def add_toggle(self, text: str, handler: Callable[[bool], None], *, name: str, checked: bool = False,
                   tip: str = "") -> QCheckBox:
        """A check box next to the filter that switches a view mode of the model (e.g. the
        orders table's finished orders); `handler(checked)` runs on each change."""
        box = QCheckBox(text, objectName=name)
        box.setChecked(checked)
        box.setToolTip(tip or text)
        box.toggled.connect(handler)
        self._top.insertWidget(self._top.count() - 1, box)
        return box

    def selected_rows(self) -> list[int]:
        """The selected rows as the source model numbers them (the view sorts and filters)."""
        selection = self.view.selectionModel()
        if selection is None:
            return []
        return sorted({self.proxy.mapToSource(index).row() for index in selection.selectedRows()})

    def fit_columns(self) -> None:
        """Sizes every column the user has not resized to its header and sampled contents."""
        self._fitting = True
        try:
            for column in range(self.proxy.columnCount()):
                if column not in self._user_sized and not self.view.isColumnHidden(column):
                    self.view.resizeColumnToContents(column)
        finally:
            self._fitting = False
        self.columns_fitted = True

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        last = self.view.horizontalHeader().count() - 1
        if not self._fitting and column != last:  # the last section follows the view's width
            self._user_sized.add(column)

    def _on_rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        if self.columns_fitted:
            self._inserted.append((first, last))
        self._fit_timer.start()

    def _on_reset(self) -> None:
        self.columns_fitted = False
        self._inserted.clear()
        self._fit_timer.start()

    def _after_inserts(self) -> None:
        if not self.columns_fitted:
            self._inserted.clear()
            if self.proxy.rowCount() > 0:
                self.fit_columns()
            return
        self._grow_for_inserted()

    def _grow_for_inserted(self) -> None:
        """Widens columns whose newly inserted text would be cut (inserted rows only)."""
        ranges, self._inserted = self._inserted, []
        rows: list[int] = []
        count = self.proxy.rowCount()
        for first, last in reversed(ranges):  # the newest batch first
            rows.extend(r for r in range(first, min(last, count - 1) + 1) if r not in rows)
            if len(rows) >= GROW_SAMPLE_ROWS:
                break
        rows = rows[:GROW_SAMPLE_ROWS]
        if not rows:
            return
        header = self.view.horizontalHeader()
        self._fitting = True
        try:
            for column in range(header.count() - 1):  # the last section stretches anyway
                if column in self._user_sized or self.view.isColumnHidden(column):
                    continue
                needed = max(self.view.sizeHintForIndex(self.proxy.index(r, column)).width() for r in rows)
                needed += 1 if self.view.showGrid() else 0
                if needed > header.sectionSize(column):
                    self.view.setColumnWidth(column, needed)
        finally:
            self._fitting = False
