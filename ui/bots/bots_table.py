"""The bots table's columns in a narrow dock: the figures a trader reads first, wide enough
for their usual values, without re-fitting on every update."""
from __future__ import annotations

from PySide6.QtWidgets import QTableView

from ui.bots.bots_model import COLUMNS

FIGURES_FIRST = ("Bot", "State", "PnL", "Fills", "Mid", "Inventory", "Orders")
"""Shown first, so a narrow dock needs no sideways scrolling for them; the rest (own bid
and ask, strategy, account) follow."""
SAMPLES = {"State": "stopping", "PnL": "-12345.678", "Fills": "99999", "Mid": "123456.789",
           "Inventory": "+12.34567"}
"""Typical widest values: a column is never narrower, so a running bot's figures are not
elided before the next fit."""
PADDING_PX = 18


def show_figures_first(table: QTableView) -> None:
    header = table.horizontalHeader()
    for visual, name in enumerate(FIGURES_FIRST):
        header.moveSection(header.visualIndex(COLUMNS.index(name)), visual)
    # Fitted when bots come and go, not on every update: widths would jitter with the PnL's
    # digits, and the trader could not resize them.
    table.model().rowsInserted.connect(lambda *_: fit_columns(table))
    table.model().modelReset.connect(lambda: fit_columns(table))
    fit_columns(table)


def fit_columns(table: QTableView) -> None:
    table.resizeColumnsToContents()
    header, metrics = table.horizontalHeader(), table.fontMetrics()
    for name, sample in SAMPLES.items():
        column = COLUMNS.index(name)
        header.resizeSection(column, max(header.sectionSize(column), metrics.horizontalAdvance(sample) + PADDING_PX))
