"""Painting the ladder's and the tape's cells from their models' cached rows, one call per cell.

These tables repaint up to 20 times a second, most of their cells each time. Qt's styled
delegate asks the model for seven roles per cell (seven calls from C++ into Python) and
lays each text out through the style; this one asks the model once, `cell(row, col)`, for
what the rows already cache (text, colour, background, alignment) and draws the text with
the style's margins and elision. It draws what the styled delegate draws for these plain
text cells, pixel for pixel (tests/ui/test_cell_delegate.py), in about half the time (a
selected cell or the one with keyboard focus is left to the styled delegate):
measured on a 270 x 700 trades tape, 2.7 -> 1.3 ms per paint, with the model's `flags` left
to Qt's default.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

Cell = tuple[str, QBrush | None, QBrush | None, int]
"""(text, text colour or None for the palette's, background or None, alignment flags)."""

_SELECTED_OR_FOCUSED = QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_HasFocus
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight


class CellDelegate(QStyledItemDelegate):
    def __init__(self, cell: Callable[[int, int], Cell | None], parent: QWidget) -> None:
        super().__init__(parent)
        self._cell = cell
        style = parent.style()
        self._margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, parent) + 1

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        if option.state & _SELECTED_OR_FOCUSED:  # a clicked row or the keyboard's cell: rare, Qt's own look
            super().paint(painter, option, index)
            return
        cell = self._cell(index.row(), index.column())
        if cell is None:
            return
        text, colour, background, align = cell
        rect = option.rect
        if background is not None:
            painter.fillRect(rect, background)
        if not text:
            return
        painter.setPen(colour.color() if colour is not None else option.palette.text().color())
        box = rect.adjusted(self._margin, 0, -self._margin, 0)
        metrics = option.fontMetrics
        if metrics.horizontalAdvance(text) > box.width():  # as the styled delegate: "650…", never a cut number
            text = metrics.elidedText(text, _ELIDE_RIGHT, box.width())
        painter.drawText(box, align, text)
