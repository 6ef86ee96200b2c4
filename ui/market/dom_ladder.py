"""DOM price ladder: book sizes, own orders with queue position and recent traded volume.

The ladder covers a fixed window of ticks (`rows`) that is re-based only when the
market walks near its edge; within the window, refreshes change only the rows whose
numbers moved. Auto-centre scrolls the table so the spread stays in the middle of the
viewport; the trader can switch it off to look elsewhere and press "Centre" to come back.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import OrderFilled, OrderUpdated, Side
from ui.market._base import MarketViewBase
from ui.market.book_read import ASK, BID, fmt_price, levels_in
from ui.market.dom_model import PRICE, DomModel, OwnLevel
from ui.market.trade_ring import TradeRing


class DomLadderView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, rows: int = 400,
                 volume_window_s: float = 300.0, refresh_hz: float = 20.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        self.model = DomModel(rows, self)
        self._volume_window_ns = int(volume_window_s * 1e9)
        self._trades = TradeRing(100_000)
        self._vol_seq = 0  # sequence of the oldest trade that may still be recent
        self._centre_row: int | None = None
        self._recentre_requested = True

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)

        self.centre_button = QPushButton("Centre", self)
        self.centre_button.setToolTip("Scroll the ladder back to the spread")
        self.centre_button.clicked.connect(self.centre)
        self.auto_centre = QCheckBox("Auto-centre", self)
        self.auto_centre.setChecked(True)
        self.auto_centre.toggled.connect(self._on_auto_toggled)
        self.status = QLabel("", self)

        bar = QHBoxLayout()
        bar.addWidget(self.centre_button)
        bar.addWidget(self.auto_centre)
        bar.addStretch(1)
        bar.addWidget(self.status)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

    # -- actions ----------------------------------------------------------------------
    def centre(self) -> None:
        """Re-bases the window on the spread and scrolls it to the middle of the viewport."""
        self._recentre_requested = True
        self.mark_dirty()
        self.refresh()

    def _on_auto_toggled(self, on: bool) -> None:
        if on:
            self.centre()

    def _size_price_column(self) -> None:
        """Fixed width fitting the widest price: ResizeToContents would measure every row."""
        feed = self._feed
        assert feed is not None
        widest = max(feed.book.best_ask_ticks, feed.book.best_bid_ticks, 1) * 10 + 9
        text = fmt_price(feed.instrument, widest)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(PRICE, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(PRICE, self.table.fontMetrics().horizontalAdvance(text) + 16)

    # -- events -----------------------------------------------------------------------
    def _on_source_changed(self) -> None:
        self._trades.clear()
        self._vol_seq = 0
        self._centre_row = None
        self._recentre_requested = True
        self.model.set_instrument(self._feed.instrument if self._feed else None)
        if self._feed is not None:
            self._size_price_column()

    def _on_trades(self, trades: np.ndarray) -> None:
        self._trades.append(trades)
        self._dirty = True

    def _on_own_order(self, event: OrderUpdated) -> None:
        self._dirty = True

    def _on_own_fill(self, event: OrderFilled) -> None:
        self._dirty = True

    # -- drawing ----------------------------------------------------------------------
    def _own_levels(self) -> list[OwnLevel]:
        conn, feed = self._connector, self._feed
        if conn is None or feed is None:
            return []
        out: list[OwnLevel] = []
        for order in conn.open_orders(feed.instrument.symbol):
            if order.price_ticks <= 0 or order.remaining_lots <= 0:
                continue
            side = BID if order.side is Side.BUY else ASK
            out.append(OwnLevel(side, order.price_ticks, order.remaining_lots,
                                conn.queue_ahead_lots(order.client_order_id)))
        return out

    def _render(self) -> None:
        feed = self._feed
        if feed is None:
            self.status.setText("no feed")
            return
        book = feed.book
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        centre = int(round(book.mid_ticks)) if bb and ba else (bb or ba)
        model = self.model
        n = model.window_rows
        if centre:
            row = model.row_of(centre)
            margin = max(1, n // 8)
            if self._recentre_requested or not margin <= row < n - margin:
                model.set_top(centre + n // 2)
        top = model.top_ticks
        lo = top - n + 1
        bp, bq = levels_in(book, BID, lo, top)
        ap, aq = levels_in(book, ASK, lo, top)
        tp = tq = np.empty(0, np.int64)
        if len(self._trades):
            # Trades arrive in time order: skip those already known to be too old.
            ring = self._trades
            first = max(self._vol_seq, ring.total - len(ring))
            recent = ring.since(first)
            cutoff = feed.clock.now_ns() - self._volume_window_ns
            old = int(np.searchsorted(recent["ts_ns"], cutoff, side="left"))
            self._vol_seq = first + old
            recent = recent[old:]
            tp, tq = recent["price_ticks"], recent["qty_lots"]
        model.update(bp, bq, ap, aq, self._own_levels(), tp, tq, bb, ba)
        self.status.setText(f"STALE: {book.stale_reason}" if book.is_stale else "")
        self.status.setStyleSheet("color: rgb(214, 69, 65); font-weight: bold;" if book.is_stale else "")
        if centre and (self._recentre_requested or self.auto_centre.isChecked()):
            row = model.row_of(centre)
            if row != self._centre_row or self._recentre_requested:
                self.table.scrollTo(model.index(row, PRICE), QAbstractItemView.ScrollHint.PositionAtCenter)
                self._centre_row = row
        self._recentre_requested = False
