"""TablePanel: single-line rows; columns fitted once rows exist, then only widened for new rows."""
from __future__ import annotations

from decimal import Decimal

from PySide6.QtWidgets import QHeaderView

from tests.ui.shell_fakes import FakeConnector
from ui.models import FillsModel, OrdersModel
from ui.table_panel import TablePanel


def _panel(qtbot, model, name="orders") -> TablePanel:
    panel = TablePanel(model, name)
    qtbot.addWidget(panel)
    panel.resize(1000, 400)
    panel.show()
    return panel


def test_rows_are_single_line_and_uniform(qtbot):
    panel = _panel(qtbot, OrdersModel())
    view = panel.view
    assert not view.wordWrap()
    rows = view.verticalHeader()
    assert rows.sectionResizeMode(0) == QHeaderView.ResizeMode.Fixed
    line = view.fontMetrics().height()
    assert line < rows.defaultSectionSize() < 2 * line, "room for one line of text, not two"
    assert view.horizontalHeader().stretchLastSection()


def test_columns_fit_contents_once_rows_exist_then_keep_user_widths(qtbot):
    model = OrdersModel()
    conn = FakeConnector("acct")
    model.add_account("A", conn)
    panel = _panel(qtbot, model)
    view = panel.view
    order_id = model.COLUMNS.index("Order ID")
    assert not panel.columns_fitted, "nothing to fit in an empty table"
    conn.place()
    model.flush()
    qtbot.waitUntil(lambda: panel.columns_fitted, timeout=2000)
    assert view.columnWidth(order_id) >= view.sizeHintForColumn(order_id), "the order id is not cut"
    account, symbol = model.COLUMNS.index("Account"), model.COLUMNS.index("Symbol")
    view.setColumnWidth(account, 333)  # the user's choice
    view.setColumnWidth(symbol, 200)  # wider than needed: a flush must not shrink it back
    panel._user_sized.discard(symbol)  # as if fitted by the panel itself
    for _ in range(3):
        conn.place()
        model.flush()
    qtbot.wait(20)
    assert view.columnWidth(account) == 333, "a column the user sized is left alone"
    assert view.columnWidth(symbol) == 200, "flushes do not refit (never shrink) the columns"
    model.set_show_finished(True)  # a reset refits, except what the user sized
    qtbot.waitUntil(lambda: panel.columns_fitted and view.columnWidth(symbol) < 200, timeout=2000)
    assert view.columnWidth(account) == 333


def test_later_longer_values_widen_their_column_but_only_for_inserted_rows(qtbot):
    model = FillsModel()
    conn = FakeConnector("f")
    model.add_account("F", conn)
    order = conn.place()
    conn.ack(order)
    panel = _panel(qtbot, model, "fills")
    fee = model.COLUMNS.index("Fee")
    conn.fill(order, 1, fee=Decimal("0.6"))
    model.flush()
    qtbot.waitUntil(lambda: panel.columns_fitted, timeout=2000)
    view = panel.view
    narrow = view.columnWidth(fee)
    calls = []
    original = view.sizeHintForIndex
    view.sizeHintForIndex = lambda index: calls.append(index.row()) or original(index)  # type: ignore[method-assign]
    conn.fill(order, 1, fee=Decimal("0.0024018612"))  # shown as 0.00240186: wider than "0.6"
    model.flush()
    qtbot.waitUntil(lambda: view.columnWidth(fee) > narrow, timeout=2000)
    shown = model.data(model.index(1, fee))
    assert view.columnWidth(fee) >= view.fontMetrics().horizontalAdvance(shown)
    assert set(calls) == {1}, "only the inserted row is measured"


def test_time_column_fits_one_line(qtbot):
    model = FillsModel()
    conn = FakeConnector("f")
    model.add_account("F", conn)
    order = conn.place()
    conn.ack(order)
    conn.fill(order, 1000)
    panel = _panel(qtbot, model, "fills")
    model.flush()
    qtbot.waitUntil(lambda: panel.columns_fitted, timeout=2000)
    view = panel.view
    time = model.COLUMNS.index("Time")
    text = model.data(model.index(0, time))
    assert view.columnWidth(time) >= view.fontMetrics().horizontalAdvance(text)
    assert view.rowHeight(0) == view.verticalHeader().defaultSectionSize()
