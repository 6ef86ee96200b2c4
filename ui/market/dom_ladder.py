"""DOM price ladder: book sizes, own orders with queue position and recent traded volume.

Own orders placed by hand (`is_manual`, set by ui/trading/, which also makes the ladder
clickable) are marked "M" on a violet cell, apart from the bots' blue ones.

The ladder covers a fixed window of rows that is re-based only when the market walks
near its edge; within the window, refreshes change only the rows whose numbers moved.
A row groups 1, 10, 100 or 1000 ticks (the "Step" combo; by default chosen from the
price so ~40 rows span ~10 bp), so the spread and quotes a few hundred ticks away show
together. Columns are sized to their contents: they only grow, measured from the rows
that changed and are in view (or within a few rows of it; rows scrolled into view are
measured then), so a refresh costs no layout pass unless a wider number appeared, and
does not format the rows nobody sees. Auto-centre scrolls the table so the spread stays in the middle of the
viewport; the trader can switch it off to look elsewhere and press "Centre" to come back.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
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
from ui.market.cell_delegate import CellDelegate
from ui.market.dom_model import GROUPINGS, HEADERS, PRICE, DomModel, OwnLevel, auto_ticks_per_row

_CELL_PAD = 10  # item text margins + a little air
_HEADER_PAD = 12
SCROLL_MARGIN_ROWS = 8
"""Rows beyond each edge of the viewport whose widths a refresh checks too."""
from ui.market.trade_ring import TradeRing


class DomLadderView(MarketViewBase):
    def __init__(self, parent: QWidget | None = None, *, rows: int = 400, ticks_per_row: int | None = None,
                 volume_window_s: float = 300.0, refresh_hz: float = 20.0) -> None:
        super().__init__(parent, refresh_hz=refresh_hz)
        self.model = DomModel(rows, self, ticks_per_row=ticks_per_row or 1)
        self._fixed_group = ticks_per_row  # None: chosen from the price once it is known
        self._group_pending = ticks_per_row is None
        self._widths = [0] * len(HEADERS)
        self._advances: dict[str, int] = {}
        self._volume_window_ns = int(volume_window_s * 1e9)
        self._trades = TradeRing(100_000)
        self._vol_seq = 0  # sequence of the oldest trade that may still be recent
        self._centre_row: int | None = None
        self._recentre_requested = True
        self.is_manual: Callable[[str], bool] | None = None
        """Whether an order (client id) was placed by hand: its cell is marked "M" (set by ui/trading/)."""

        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setItemDelegate(CellDelegate(self.model.cell, self.table))  # one call per cell
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(18)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(16)
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
        self.group_box = QComboBox(self)
        self.group_box.setToolTip("Price step per row (rows add up the sizes of the ticks they cover)")
        self.group_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._fill_group_box()
        self.group_box.activated.connect(self._on_group_chosen)
        self.status = QLabel("", self)
        self.status.hide()

        bar = QHBoxLayout()
        bar.setSpacing(4)
        bar.addWidget(self.centre_button)
        bar.addWidget(self.auto_centre)
        bar.addStretch(1)
        bar.addWidget(self.group_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self._reset_widths()
        # Rows scrolled into view get their widths checked (a refresh checks only visible ones).
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._fit_shown_rows())

    # -- actions ----------------------------------------------------------------------
    def centre(self) -> None:
        """Re-bases the window on the spread and scrolls it to the middle of the viewport."""
        self._recentre_requested = True
        self.mark_dirty()
        self.refresh()

    def _on_auto_toggled(self, on: bool) -> None:
        if on:
            self.centre()

    # -- grouping ---------------------------------------------------------------------
    @property
    def ticks_per_row(self) -> int:
        return self.model.ticks_per_row

    def set_ticks_per_row(self, ticks: int) -> None:
        """Groups `ticks` ticks per row (the trader's choice: kept until changed)."""
        self._fixed_group = int(ticks)
        self._group_pending = False
        self._apply_group(int(ticks))

    def _apply_group(self, ticks: int) -> None:
        if ticks != self.model.ticks_per_row:
            self.model.set_ticks_per_row(ticks)
            self._reset_widths()
            self._centre_row = None
            self._recentre_requested = True
        self._sync_group_box()
        self.mark_dirty()

    def _fill_group_box(self) -> None:
        inst = self._feed.instrument if self._feed is not None else None
        self.group_box.blockSignals(True)
        self.group_box.clear()
        for g in GROUPINGS:
            label = fmt_price(inst, g) if inst is not None else f"{g} tick{'s' if g > 1 else ''}"
            self.group_box.addItem(label, g)
            self.group_box.setItemData(self.group_box.count() - 1,
                                       f"{g} tick{'s' if g > 1 else ''} per row", Qt.ItemDataRole.ToolTipRole)
        self.group_box.blockSignals(False)
        self._sync_group_box()

    def _sync_group_box(self) -> None:
        i = self.group_box.findData(self.model.ticks_per_row)
        if i >= 0 and i != self.group_box.currentIndex():
            self.group_box.blockSignals(True)
            self.group_box.setCurrentIndex(i)
            self.group_box.blockSignals(False)

    def _on_group_chosen(self, index: int) -> None:
        self.set_ticks_per_row(int(self.group_box.itemData(index)))
        self.refresh()

    # -- column widths ------------------------------------------------------------------
    def column_widths(self) -> list[int]:
        return [self.table.columnWidth(c) for c in range(len(HEADERS))]

    def _reset_widths(self) -> None:
        """Header-sized columns; contents then widen them as numbers appear."""
        self._advances.clear()  # also follows a font change
        fm = self.table.horizontalHeader().fontMetrics()
        self._widths = [fm.horizontalAdvance(h) + _HEADER_PAD for h in HEADERS]
        for col, w in enumerate(self._widths):
            self.table.setColumnWidth(col, w)

    def _grow(self, col: int, text: str) -> None:
        need = self._advance(text) + _CELL_PAD
        if need > self._widths[col]:
            self._widths[col] = need
            self.table.setColumnWidth(col, need)

    def _shown_rows(self) -> tuple[int, int]:
        """The first and last row in the viewport, with a margin of SCROLL_MARGIN_ROWS."""
        table = self.table
        n = self.model.rowCount()
        first = table.rowAt(0)
        last = table.rowAt(table.viewport().height() - 1)
        first = 0 if first < 0 else first
        last = n - 1 if last < 0 else last
        return max(0, first - SCROLL_MARGIN_ROWS), min(n - 1, last + SCROLL_MARGIN_ROWS)

    def _fit_shown_rows(self) -> None:
        if self.model.rowCount():
            first, last = self._shown_rows()
            self._fit_columns(np.arange(first, last + 1))

    def _fit_columns(self, rows: np.ndarray) -> None:
        """Widens columns for the texts of `rows` (changed rows) and the window's prices.

        Texts come from the model's row cache (the paint reuses them); per column only the
        texts at least as long as the longest one are measured, through a width cache.
        """
        m = self.model
        # Prices: the widest of the window's edges (digit counts only grow at the edges).
        for ticks in (m.top_ticks, max(m.bottom_ticks, 0)):
            self._grow(PRICE, m.price_text(ticks))
        ncol = len(HEADERS)
        longest = [0] * ncol
        cands: list[list[str]] = [[] for _ in range(ncol)]
        row_cells = m.row_cells
        for row in rows.tolist():
            texts = row_cells(row)[0]
            for col in range(ncol):
                text = texts[col]
                n = len(text)
                if n and n >= longest[col] and col != PRICE:
                    if n > longest[col]:
                        longest[col] = n
                        cands[col] = [text]
                    else:
                        cands[col].append(text)
        for col in range(ncol):
            best = 0
            best_text = ""
            for text in set(cands[col]):
                w = self._advance(text)
                if w > best:
                    best, best_text = w, text
            if best_text and best + _CELL_PAD > self._widths[col]:
                self._grow(col, best_text)

    def _advance(self, text: str) -> int:
        """Pixel width of a cell text in the table's font (cached: the same numbers recur)."""
        w = self._advances.get(text)
        if w is None:
            if len(self._advances) > 4096:
                self._advances.clear()
            w = self._advances[text] = self.table.fontMetrics().horizontalAdvance(text)
        return w

    # -- events -----------------------------------------------------------------------
    def _on_source_changed(self) -> None:
        self._trades.clear()
        self._vol_seq = 0
        self._centre_row = None
        self._recentre_requested = True
        self.model.set_instrument(self._feed.instrument if self._feed else None)
        self._group_pending = self._fixed_group is None
        self._fill_group_box()
        self._reset_widths()

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
        is_manual = self.is_manual
        for order in conn.open_orders(feed.instrument.symbol):
            if order.price_ticks <= 0 or order.remaining_lots <= 0:
                continue
            side = BID if order.side is Side.BUY else ASK
            out.append(OwnLevel(side, order.price_ticks, order.remaining_lots,
                                conn.queue_ahead_lots(order.client_order_id),
                                is_manual is not None and is_manual(order.client_order_id)))
        return out

    def _render(self) -> None:
        feed = self._feed
        if feed is None:
            self.status.setText("no feed")
            self.status.show()
            return
        book = feed.book
        bb, ba = book.best_bid_ticks, book.best_ask_ticks
        centre = int(round(book.mid_ticks)) if bb and ba else (bb or ba)
        model = self.model
        n = model.window_rows
        if centre and self._group_pending:
            self._group_pending = False
            self._apply_group(auto_ticks_per_row(centre))
        g = model.ticks_per_row
        if centre:
            row = model.row_of(centre)
            margin = max(1, n // 8)
            if self._recentre_requested or not margin <= row < n - margin:
                model.set_top(centre + (n // 2) * g)
        top = model.top_ticks + g - 1
        lo = model.bottom_ticks
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
        if len(model.last_changed_rows):
            first, last = self._shown_rows()
            changed = model.last_changed_rows
            self._fit_columns(changed[(changed >= first) & (changed <= last)])
        if book.is_stale:
            self.status.setText(f"STALE: {book.stale_reason}")
            self.status.setStyleSheet("color: rgb(214, 69, 65); font-weight: bold;")
            self.status.show()
        elif self.status.isVisible() or self.status.text():
            self.status.setText("")
            self.status.hide()
        if centre and (self._recentre_requested or self.auto_centre.isChecked()):
            row = model.row_of(centre)
            if row != self._centre_row or self._recentre_requested:
                # Rows just inserted or reset are laid out later; a scroll before that is lost, and
                # a quiet market would leave the ladder off the spread until the mid moved a row.
                self.table.doItemsLayout()
                self.table.scrollTo(model.index(row, PRICE), QAbstractItemView.ScrollHint.PositionAtCenter)
                self._centre_row = row
        self._recentre_requested = False
