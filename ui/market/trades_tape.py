"""Trades tape: the last public trades, newest on top, buys green and sells red.

The feed listener only appends to a numpy ring; the timer moves what arrived since the
previous refresh into the model in one batch. Columns are sized to their contents
(time HH:MM:SS, price, size, side) and only grow, measured on the rows just added, so a
narrow dock shows whole numbers instead of elided ones.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from ui.market._base import MarketViewBase
from ui.market.trade_ring import TradeRing
from ui.market.book_read import fmt_amount, fmt_price
from ui.market.cell_delegate import CellDelegate
from ui.market.trades_model import HEADERS, PRICE, SIDE, SIZE, TIME, TradesModel

_CELL_PAD = 12


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
        self.table.setItemDelegate(CellDelegate(self.model.cell, self.table))  # one call per cell
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(True)
        self._widths = [0] * len(HEADERS)
        self._reset_widths()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)

    def _on_source_changed(self) -> None:
        self._ring.clear()
        self._seq = 0
        self.model.set_instrument(self._feed.instrument if self._feed else None)
        self._reset_widths()

    def _on_book_changed(self) -> None:
        """Book updates do not change the tape."""

    def _on_trades(self, trades: np.ndarray) -> None:
        self._ring.append(trades)
        self._dirty = True

    def _render(self) -> None:
        new = self._ring.since(self._seq)
        self._seq = self._ring.total
        if self.model.add(new):
            self._fit_columns(new)

    # -- column widths ------------------------------------------------------------------
    def column_widths(self) -> list[int]:
        return [self.table.columnWidth(c) for c in range(len(HEADERS))]

    def _reset_widths(self) -> None:
        fm, hfm = self.table.fontMetrics(), self.table.horizontalHeader().fontMetrics()
        fixed = {TIME: "00:00:00", SIDE: "Sell"}
        self._widths = [max(hfm.horizontalAdvance(h), fm.horizontalAdvance(fixed.get(c, ""))) + _CELL_PAD
                        for c, h in enumerate(HEADERS)]
        for col, w in enumerate(self._widths):
            self.table.setColumnWidth(col, w)

    def _grow(self, col: int, text: str) -> None:
        need = self.table.fontMetrics().horizontalAdvance(text) + _CELL_PAD
        if need > self._widths[col]:
            self._widths[col] = need
            self.table.setColumnWidth(col, need)

    def _fit_columns(self, trades: np.ndarray) -> None:
        """Widens Price/Size for the batch just added: the longest texts, a few Decimal formats."""
        inst = self._feed.instrument if self._feed is not None else None
        if inst is None or len(trades) == 0:
            return
        batch = trades[-self.model.capacity:]
        self._grow(PRICE, fmt_price(inst, int(batch["price_ticks"].max())))
        # The longest size text among the distinct sizes (at most ~200 of them, always the largest).
        qtys = np.unique(batch["qty_lots"])
        if len(qtys) > 200:
            qtys = np.concatenate((qtys[:: len(qtys) // 200 + 1], qtys[-1:]))
        self._grow(SIZE, max((fmt_amount(inst, int(q)) for q in qtys.tolist()), key=len))
