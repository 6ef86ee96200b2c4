"""The ladder's and the tape's CellDelegate draw what Qt's styled delegate draws, pixel for
pixel, from one call per cell: texts, colours, backgrounds (best prices, own and manual
orders), alignment, selection, and "…" for a text wider than its column."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QStyledItemDelegate

from app.domain import OrderType, Side
from tests.ui.market_fakes import ScriptedConnector, ladder_feed, shown
from ui.market import DomLadderView, TradesTapeView
from ui.market.cell_delegate import CellDelegate

MID = 10_000


def rendered(table) -> QImage:  # noqa: ANN001 - QTableView
    QApplication.processEvents()
    return table.viewport().grab().toImage()


def same_as_styled(table) -> bool:  # noqa: ANN001
    """Whether the table looks the same drawn by its CellDelegate and by Qt's styled delegate."""
    fast = table.itemDelegate()
    assert isinstance(fast, CellDelegate)
    rendered(table)  # settled: the first paint after a change may still move columns
    table.setItemDelegate(QStyledItemDelegate(table))
    theirs = rendered(table)
    table.setItemDelegate(fast)
    ours = rendered(table)
    return ours == theirs


def test_the_tape_paints_as_the_styled_delegate_selection_and_elision_included(qtbot):
    feed = ladder_feed(MID)
    view = shown(qtbot, TradesTapeView(), 300, 400)
    qtbot.waitExposed(view)
    view.set_source(feed)
    now = feed.clock.now_ns()
    feed.trades([(now + k, MID + k % 3 - 1, 1 + 37 * k, 1 if k % 2 else -1) for k in range(30)])
    assert view.refresh()
    assert view.model.rowCount() == 30
    assert same_as_styled(view.table)
    view.table.selectionModel().select(view.model.index(3, 0),
                                       QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
    assert same_as_styled(view.table)
    view.table.setColumnWidth(1, 24)  # too narrow for a price: elided, as Qt does
    assert same_as_styled(view.table)


@pytest.mark.parametrize("ticks_per_row", [1, 10])
def test_the_ladder_paints_as_the_styled_delegate_with_own_and_manual_orders(qtbot, ticks_per_row):
    feed = ladder_feed(MID)
    conn = ScriptedConnector(feed)
    view = shown(qtbot, DomLadderView(rows=60, ticks_per_row=ticks_per_row), 320, 500)
    qtbot.waitExposed(view)
    view.set_source(feed, conn)
    symbol = feed.instrument.symbol
    conn.place_order(symbol, Side.BUY, OrderType.LIMIT, 25, MID - 3)
    conn.place_order(symbol, Side.SELL, OrderType.LIMIT, 40, MID + 4)
    manual = conn.place_order(symbol, Side.BUY, OrderType.LIMIT, 5, MID - 6)
    view.is_manual = lambda client_order_id: client_order_id == manual.client_order_id  # its own background
    feed.trades([(feed.clock.now_ns(), MID + 1, 12, 1)])
    assert view.refresh()
    assert same_as_styled(view.table)
