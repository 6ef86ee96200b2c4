"""A one-line label for figures that change many times a second, without re-laying out its window.

`QLabel.setText` asks the parent layouts to recompute whenever the text changes, since its
size hint may have changed. For a readout beside other widgets that is a relayout of the
whole window up to 20 times a second, and a QTabWidget on the way repaints its full area on
each: measured in a market window, the candles readout ("last 65000.12  vol 0.031") caused
20 layout passes a second and as many repaints of the whole candles tab.

A widget whose minimum and maximum sizes are equal does not ask for a layout when its text
changes (QWidget::updateGeometry returns early), so this label keeps a fixed size: as wide
as the widest text it has shown (it grows, once, for a wider one, and never clips), as
tall as its lines. `reset_width` lets it shrink again, e.g. when another market is shown.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QWidget


class SteadyLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, **kwargs) -> None:  # noqa: ANN003 - QLabel's
        super().__init__("", parent, **kwargs)
        self._fit("")
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        if text == self.text():
            return
        super().setText(text)
        self._fit(text)

    def reset_width(self) -> None:
        """Shrinks to the current text (one layout pass)."""
        self.setFixedWidth(self._needed(self.text()).width())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):  # a style sheet's font, once polished
            self.reset_width()

    def _needed(self, text: str):  # noqa: ANN202 - QSize
        margins = self.contentsMargins()
        size = self.fontMetrics().size(0, text or " ")
        size.setWidth(size.width() + margins.left() + margins.right() + 2 * self.margin() + 2)
        size.setHeight(size.height() + margins.top() + margins.bottom() + 2 * self.margin())
        return size

    def _fit(self, text: str) -> None:
        need = self._needed(text)
        if need.width() > self.minimumWidth() or self.minimumWidth() != self.maximumWidth():
            self.setFixedWidth(max(need.width(), self.minimumWidth()))
        if need.height() != self.minimumHeight() or self.minimumHeight() != self.maximumHeight():
            self.setFixedHeight(need.height())
