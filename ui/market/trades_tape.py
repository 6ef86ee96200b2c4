"""Trades tape: the last public trades, newest on top, buys green and sells red.

The feed listener only appends to a numpy ring; the timer moves what arrived since the
previous refresh into the model in one batch.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from ui.market._base import MarketViewBase
from ui.market.trade_ring import TradeRing
from ui.market.trades_model import TIME, TradesModel


class TradesTapeView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, capacity: int = 500,
                 refresh_hz: float = 20.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        self.model = TradesModel(capacity, self)
        # Only the newest `capacity` trades can ever be shown: the ring needs no more.
        self._ring = TradeRing(capacity)
        self._seq = 0
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(TIME, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(TIME, self.table.fontMetrics().horizontalAdvance("00:00:00.000") + 16)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)

    def _on_source_changed(self) -> None:
        self._ring.clear()
        self._seq = 0
        self.model.set_instrument(self._feed.instrument if self._feed else None)

    def _on_book_changed(self) -> None:
        """Book updates do not change the tape."""

    def _on_trades(self, trades: np.ndarray) -> None:
        self._ring.append(trades)
        self._dirty = True

    def _render(self) -> None:
        new = self._ring.since(self._seq)
        self._seq = self._ring.total
        self.model.add(new)
