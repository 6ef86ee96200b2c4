"""A table view over a model, with a text filter, sorting and CSV export."""
from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QLineEdit, QTableView, QToolButton, QVBoxLayout, QWidget

from ui.models import TableProxy
from ui.models.csv_export import CsvExportAction


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
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().setVisible(False)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.view)
