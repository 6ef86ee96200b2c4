"""Export what a table shows (after sorting and filtering) to CSV.

`write_csv` is Qt-free and does the writing; `table_rows` reads the visible rows of any
Qt model (pass the proxy, so the file has the rows and order of the screen, with exact
values where cells show rounded ones); `CsvExportAction` is the small
UI piece: a QAction that asks for a file name with a non-blocking dialog (open(), never
exec(), which would break qasync's task bookkeeping) and writes the file.
"""
from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from ui.models.base import EXACT_ROLE

log = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(text: str) -> str:
    """Neutralises text a spreadsheet would run as a formula; numbers stay numbers."""
    if text.startswith(_FORMULA_START):
        try:
            float(text)
            return text
        except ValueError:
            return "'" + text
    return text


def write_csv(path: str | os.PathLike[str], headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Writes a header line and the rows (as text); returns the number of data rows.

    Writes to a temporary file first so a failed export never leaves half a file behind.
    """
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    count = 0
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([_safe_cell(str(h)) for h in headers])
        for row in rows:
            writer.writerow([_safe_cell("" if cell is None else str(cell)) for cell in row])
            count += 1
    os.replace(tmp, target)
    return count


def _cell_text(model: QAbstractItemModel, row: int, column: int) -> str:
    index = model.index(row, column)
    exact = model.data(index, EXACT_ROLE)
    if exact is None:  # not a KeyedTableModel: what the cell shows
        exact = model.data(index, Qt.ItemDataRole.DisplayRole)
    return "" if exact is None else str(exact)


def table_rows(model: QAbstractItemModel) -> tuple[list[str], list[list[str]]]:
    """Header texts and cell texts of every row the model exposes (in its order).

    Cells are exported exactly (EXACT_ROLE: full date-times, unrounded amounts) even where
    the table shows a shortened form; models without that role export their display text.
    """
    columns = model.columnCount(QModelIndex())
    headers = [str(model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) or "") for c in range(columns)]
    rows = []
    for r in range(model.rowCount(QModelIndex())):
        rows.append([_cell_text(model, r, c) for c in range(columns)])
    return headers, rows


def export_model(model: QAbstractItemModel, path: str | os.PathLike[str]) -> int:
    headers, rows = table_rows(model)
    return write_csv(path, headers, rows)


class CsvExportAction(QAction):
    """'Export CSV…' for one table; `model_getter` returns the proxy the view shows."""

    def __init__(self, model_getter: Callable[[], QAbstractItemModel], parent: QWidget, default_name: str = "table.csv") -> None:
        super().__init__("Export CSV…", parent)
        self._model_getter = model_getter
        self._parent = parent
        self._default_name = default_name
        self._dialog: QFileDialog | None = None
        self.triggered.connect(self.choose_file)

    def choose_file(self) -> None:
        dialog = QFileDialog(self._parent, "Export CSV", self._default_name, "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(self.export_to)
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()

    def export_to(self, path: str) -> int:
        """Writes the visible rows to `path`; errors are logged, not raised into Qt."""
        try:
            count = export_model(self._model_getter(), path)
        except OSError as exc:
            log.error("CSV export to %s failed: %s", path, exc)
            return -1
        log.info("exported %d rows to %s", count, path)
        return count
