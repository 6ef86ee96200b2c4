"""Orders, fills and balances models, their proxy and CSV export."""
from __future__ import annotations

import csv
import datetime
import re
from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from app.domain import Instrument, OrderFilled, OrderStatus, Side
from tests.ui.shell_fakes import FakeConnector
from ui.models import (
    EXACT_ROLE,
    SORT_ROLE,
    BalancesModel,
    CsvExportAction,
    FillsModel,
    ModelFlusher,
    OrdersModel,
    TableProxy,
    fmt_clock_ns,
    fmt_money,
    fmt_time_ns,
    table_rows,
    write_csv,
)

TOOLTIP = Qt.ItemDataRole.ToolTipRole


class SignalLog:
    """Records the model signals a flush emits."""

    def __init__(self, model) -> None:
        self.inserted: list[tuple[int, int]] = []
        self.removed: list[tuple[int, int]] = []
        self.changed: list[tuple[int, int]] = []
        self.resets = 0
        model.rowsInserted.connect(lambda _p, a, b: self.inserted.append((a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.removed.append((a, b)))
        model.dataChanged.connect(lambda tl, br, _roles=None: self.changed.append((tl.row(), br.row())))
        model.modelReset.connect(self._reset)

    def _reset(self) -> None:
        self.resets += 1

    def clear(self) -> None:
        self.inserted.clear(), self.removed.clear(), self.changed.clear()


def cell(model, row: int, column: str) -> str:
    return model.data(model.index(row, model.COLUMNS.index(column)))


# -- orders ---------------------------------------------------------------------------------
def test_orders_model_lifecycle_and_signals(qtmodeltester):
    model = OrdersModel()
    qtmodeltester.check(model)
    conn = FakeConnector("acct-a")
    model.add_account("A", conn)
    log = SignalLog(model)
    first = conn.place(Side.BUY, "50000.01", "0.01")
    second = conn.place(Side.SELL, "50100", "0.5")
    assert model.rowCount() == 0, "listeners only queue; nothing is applied before flush()"
    assert model.flush() is True
    assert log.inserted == [(0, 1)]
    assert cell(model, 0, "Price") == "50000.01" and cell(model, 0, "Amount") == "0.01"
    assert cell(model, 1, "Price") == "50100" and cell(model, 1, "Side") == "sell"
    assert cell(model, 0, "Account") == "A"
    assert model.data(model.index(0, model.COLUMNS.index("Price")), SORT_ROLE) == Decimal("50000.01")

    log.clear()
    conn.ack(second)  # two events for one order between two flushes: one dataChanged
    conn.fill(second, 1000)
    model.flush()
    assert log.changed == [(1, 1)] and not log.inserted and not log.removed
    assert cell(model, 1, "Filled") == "0.01" and cell(model, 1, "Status") == "partially filled"
    assert cell(model, 1, "Remaining") == "0.49"

    log.clear()
    assert model.flush() is False, "nothing queued: no signals"
    assert log.changed == []

    conn.cancel_order(first.client_order_id)
    model.flush()
    assert log.removed == [(0, 0)]
    assert model.rowCount() == 1 and model.order_at(0)[1] is second

    model.set_show_finished(True)
    assert model.rowCount() == 2
    assert {cell(model, r, "Status") for r in range(2)} == {"cancelled", "partially filled"}
    conn.fill(second, second.remaining_lots)
    model.flush()
    assert model.rowCount() == 2, "finished orders stay while the toggle is on"
    model.set_show_finished(False)
    assert model.rowCount() == 0


def test_orders_model_coalesces_and_seeds_open_orders(qtmodeltester):
    conn = FakeConnector("x")
    early = conn.place()
    model = OrdersModel()
    qtmodeltester.check(model)
    model.add_account("X", conn)
    model.flush()
    assert model.rowCount() == 1 and model.order_at(0)[1] is early, "open orders are seeded"
    log = SignalLog(model)
    conn.ack(early)
    for _ in range(30):
        conn.fill(early, 1)
    assert model.pending() == 1
    model.flush()
    assert log.changed == [(0, 0)]
    assert cell(model, 0, "Filled") == "0.0003"


def test_orders_model_several_accounts_and_removal(qtmodeltester):
    model = OrdersModel()
    qtmodeltester.check(model)
    a, b = FakeConnector("a"), FakeConnector("b")
    model.add_account("A", a)
    model.add_account("B", b)
    with pytest.raises(ValueError):
        model.add_account("A", a)
    a.place()
    b.place()
    b.place(price="49000")
    model.flush()
    assert sorted(cell(model, r, "Account") for r in range(3)) == ["A", "B", "B"]
    model.remove_account("B")
    assert model.rowCount() == 1 and model.accounts() == ["A"]
    b.place()
    model.flush()
    assert model.rowCount() == 1, "a removed account's connector no longer feeds the model"


def test_orders_model_unknown_instrument_shows_raw_units():
    conn = FakeConnector("x", instruments={})
    model = OrdersModel()
    model.add_account("X", conn)
    conn.place(price="123.45", amount="0.002")
    model.flush()
    assert cell(model, 0, "Price") == "12345 ticks"
    assert cell(model, 0, "Amount") == "200 lots"


def test_orders_model_finished_history_is_bounded():
    conn = FakeConnector("x")
    model = OrdersModel(show_finished=True, max_finished=3)
    model.add_account("X", conn)
    for _ in range(5):
        conn.cancel_order(conn.place().client_order_id)
    model.flush()
    assert model.rowCount() == 3


# -- fills ----------------------------------------------------------------------------------
def test_fills_model_bounded_and_deduplicated(qtmodeltester):
    model = FillsModel(max_rows=5)
    qtmodeltester.check(model)
    conn = FakeConnector("f")
    model.add_account("F", conn)
    log = SignalLog(model)
    order = conn.place(amount="1")
    conn.ack(order)
    fills = [conn.fill(order, 1000, trade_id=f"T{i}") for i in range(8)]
    model.flush()
    assert model.rowCount() == 5
    assert [cell(model, r, "Trade ID") for r in range(5)] == ["T3", "T4", "T5", "T6", "T7"]
    assert model.fill_at(4) == ("F", fills[-1])
    assert cell(model, 0, "Price") == "50000.01" and cell(model, 0, "Quote") == "500"  # rounded for reading
    quote = model.index(0, model.COLUMNS.index("Quote"))
    assert model.data(quote, SORT_ROLE) == Decimal("500.0001")
    assert model.data(quote, EXACT_ROLE) == model.data(quote, TOOLTIP) == "500.0001"
    log.clear()
    conn._emit(OrderFilled("f", order, fills[-1]))
    model.flush()
    assert model.rowCount() == 5 and log.inserted == [], "a replayed fill is not shown twice"
    conn.fill(order, 1000, trade_id="T8")
    model.flush()
    assert log.inserted == [(5, 5)] and log.removed == [(0, 0)]
    assert cell(model, 0, "Trade ID") == "T4"


def test_fills_model_history_and_account_removal(qtmodeltester):
    model = FillsModel()
    qtmodeltester.check(model)
    a, b = FakeConnector("a"), FakeConnector("b")
    order = b.place()
    b.ack(order)
    old = b.fill(order, 10)
    model.add_account("A", a)
    model.add_account("B", b, history=[old])
    model.flush()
    assert model.rowCount() == 1 and cell(model, 0, "Account") == "B"
    model.remove_account("B")
    assert model.rowCount() == 0


# -- balances -------------------------------------------------------------------------------
def test_balances_model_updates_changed_rows_only(qtmodeltester):
    conn = FakeConnector("b")
    conn.set_balance("USDT", "1000.5", "100")
    conn.set_balance("BTC", "0.5")
    conn.set_balance("ETH", "0")
    model = BalancesModel()
    qtmodeltester.check(model)
    model.add_account("B", conn)
    model.flush()
    assert model.rowCount() == 2, "zero balances are hidden by default"
    row = model.row_of(("B", "USDT"))
    assert cell(model, row, "Available") == "900.5" and cell(model, row, "Locked") == "100"
    log = SignalLog(model)
    conn.set_balance("BTC", "0.75")
    conn.set_balance("USDT", "1000.5", "100")  # unchanged values: no signal for this row
    model.flush()
    assert log.changed == [(model.row_of(("B", "BTC")),) * 2]
    conn.set_balance("BTC", "0")
    model.flush()
    assert model.row_of(("B", "BTC")) is None and len(log.removed) == 1
    model.set_hide_zero(False)
    assert model.rowCount() == 3
    assert model.balance("B", "USDT").available == Decimal("900.5")
    model.remove_account("B")
    assert model.rowCount() == 0


# -- proxy ----------------------------------------------------------------------------------
def _proxy_with_orders(qtmodeltester):
    model = OrdersModel()
    conn = FakeConnector("p")
    model.add_account("P", conn)
    for price in ("9.75", "100", "10.5", "1000.01"):
        conn.place(price=price, amount="1")
    conn.place(Side.SELL, price="55.5", amount="1")
    model.flush()
    proxy = TableProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    return model, proxy, conn


def test_proxy_sorts_decimals_numerically(qtmodeltester):
    model, proxy, _ = _proxy_with_orders(qtmodeltester)
    price = model.COLUMNS.index("Price")
    proxy.sort(price, Qt.SortOrder.AscendingOrder)
    shown = [proxy.data(proxy.index(r, price)) for r in range(proxy.rowCount())]
    assert shown == ["9.75", "10.5", "55.5", "100", "1000.01"]
    proxy.sort(price, Qt.SortOrder.DescendingOrder)
    assert proxy.data(proxy.index(0, price)) == "1000.01"


def test_proxy_sort_keeps_exact_decimal_order():
    from ui.models.proxy import _sort_less

    a, b = Decimal("0.10000000000000000001"), Decimal("0.10000000000000000002")
    assert float(a) == float(b), "floats cannot tell these apart"
    assert _sort_less(a, b) and not _sort_less(b, a)
    assert _sort_less(None, Decimal(1)) and not _sort_less(Decimal(1), None)


def test_proxy_text_and_column_filters(qtmodeltester):
    model, proxy, conn = _proxy_with_orders(qtmodeltester)
    proxy.set_filter_text("SELL")
    assert proxy.rowCount() == 1 and proxy.filter_text() == "SELL"
    proxy.set_filter_text("10")
    assert proxy.rowCount() == 3  # 100, 10.5, 1000.01
    proxy.set_filter_text("")
    assert proxy.rowCount() == 5
    proxy.set_column_filter(model.COLUMNS.index("Account"), "nobody")
    assert proxy.rowCount() == 0
    proxy.set_column_filter(None)
    assert proxy.rowCount() == 5
    conn.place(price="1.5", amount="1")
    model.flush()
    assert proxy.rowCount() == 6, "new rows reach the proxy dynamically"


# -- CSV export -----------------------------------------------------------------------------
def test_csv_exports_visible_rows_only(qtmodeltester, tmp_path, qtbot):
    model, proxy, _ = _proxy_with_orders(qtmodeltester)
    price = model.COLUMNS.index("Price")
    proxy.sort(price, Qt.SortOrder.AscendingOrder)
    proxy.set_filter_text("buy")
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    action = CsvExportAction(view.model, view)
    target = tmp_path / "orders.csv"
    assert action.export_to(str(target)) == 4
    rows = list(csv.reader(target.open(newline="", encoding="utf-8")))
    assert rows[0] == list(model.COLUMNS)
    assert [r[price] for r in rows[1:]] == ["9.75", "10.5", "100", "1000.01"]
    assert action.export_to(str(tmp_path / "missing-dir" / "x.csv")) == -1


def test_write_csv_neutralises_formulas(tmp_path):
    target = tmp_path / "x.csv"
    assert write_csv(target, ["a", "b"], [["=cmd()", "-1.5"], ["@x", None]]) == 2
    rows = list(csv.reader(target.open(newline="", encoding="utf-8")))
    assert rows == [["a", "b"], ["'=cmd()", "-1.5"], ["'@x", ""]]
    assert not (tmp_path / "x.csv.part").exists()


def test_table_rows_of_empty_model():
    headers, rows = table_rows(FillsModel())
    assert headers == list(FillsModel.COLUMNS) and rows == []


# -- flushing -------------------------------------------------------------------------------
def test_flusher_skips_hidden_views(qtbot):
    model = BalancesModel()
    conn = FakeConnector("h")
    model.add_account("H", conn)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    flusher = ModelFlusher(hz=1000)
    assert flusher.interval_ms >= 33, "capped at 30 Hz"
    flusher.add(model, view)
    conn.set_balance("BTC", "1")
    assert flusher.flush_now() == 0 and model.rowCount() == 0, "hidden: nothing applied"
    view.show()
    qtbot.waitExposed(view)
    assert flusher.flush_now() == 1 and model.rowCount() == 1
    flusher.start()
    conn.set_balance("ETH", "2")
    qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=2000)
    flusher.stop()


def test_large_fill_table_sorts_quickly(qtmodeltester):
    import time

    model = FillsModel(max_rows=10_000)
    conn = FakeConnector("big", instruments={"X/Y": Instrument("X/Y", "X", "Y", Decimal("0.01"), Decimal("1"))})
    model.add_account("B", conn)
    order = conn.place(price="1", amount="100000", symbol="X/Y")
    conn.ack(order)
    for i in range(10_000):
        conn.fill(order, 1, trade_id=str(i), price=Decimal((i * 7919) % 10_007) / 100)
    model.flush()
    proxy = TableProxy()
    proxy.setSourceModel(model)
    started = time.perf_counter()
    proxy.sort(model.COLUMNS.index("Price"), Qt.SortOrder.AscendingOrder)
    elapsed = time.perf_counter() - started
    values = [proxy.data(proxy.index(r, model.COLUMNS.index("Price")), SORT_ROLE) for r in range(0, 10_000, 500)]
    assert values == sorted(values)
    assert elapsed < 5.0, f"sorting 10,000 fills took {elapsed:.2f}s"
    assert proxy.rowCount(QModelIndex()) == 10_000
    assert OrderStatus.PARTIALLY_FILLED == order.status


def test_models_with_the_real_paper_connector(qtmodeltester):
    """The models against PaperConnector's real events (not only the scripted fake)."""
    from connectors.paper.connector import PaperConnector
    from tests.paper_support import INST, ScriptedFeed

    feed = ScriptedFeed()
    paper = PaperConnector(feed, {"USD": "1000", "TST": "5"})
    feed.start()
    paper.start()
    orders, fills, balances = OrdersModel(), FillsModel(), BalancesModel()
    for model in (orders, fills, balances):
        qtmodeltester.check(model)
        model.add_account("paper", paper)
    from app.domain import OrderType

    order = paper.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, INST.amount_to_lots("1"), INST.price_to_ticks("10"))
    resting = paper.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, INST.amount_to_lots("1"), INST.price_to_ticks("9.5"))
    feed.clock.run(until_ns=feed.clock.now_ns() + 10**9)
    for model in (orders, fills, balances):
        model.flush()
    assert orders.rowCount() == 2 and cell(orders, orders.row_of(("paper", order.client_order_id)), "Status") == "open"
    usd = balances.row_of(("paper", "USD"))
    assert cell(balances, usd, "Locked") == "19.539", "10.02 + 9.519 locked incl. the larger fee"

    feed.trade((INST.price_to_ticks("10"), INST.amount_to_lots("5"), -1))  # a sell taker hits our bid
    feed.clock.run(until_ns=feed.clock.now_ns() + 10**9)
    paper.cancel_order(resting.client_order_id)
    feed.clock.run(until_ns=feed.clock.now_ns() + 10**9)
    for model in (orders, fills, balances):
        model.flush()
    assert order.status is OrderStatus.FILLED
    assert orders.rowCount() == 0, "filled and cancelled orders leave the open-orders table"
    assert fills.rowCount() == 1 and cell(fills, 0, "Price") == "10" and cell(fills, 0, "Amount") == "1"
    assert cell(balances, balances.row_of(("paper", "TST")), "Total") == "6"
    assert cell(balances, balances.row_of(("paper", "USD")), "Locked") == "0"


def test_fmt_decimal_is_exact_and_plain():
    from ui.models import fmt_decimal

    assert fmt_decimal(Decimal("1E+2")) == "100"
    assert fmt_decimal(Decimal("19.53900000")) == "19.539"
    assert fmt_decimal(Decimal("0.00000001")) == "0.00000001"
    assert fmt_decimal(Decimal("-0.000")) == "0"
    assert fmt_decimal(Decimal("123456789012345678.123456789")) == "123456789012345678.123456789"
    assert fmt_decimal(None) == ""


# -- readable cells: time of day, rounded money; exact tooltip, sort and CSV ---------------------
def test_fmt_money_rounds_for_reading():
    assert fmt_money(Decimal("0.4600478802")) == "0.460048"
    assert fmt_money(Decimal("0.06004878")) == "0.0600488"
    assert fmt_money(Decimal("99393.1408475")) == "99393.14"
    assert fmt_money(Decimal("509.7944454")) == "509.794"
    assert fmt_money(Decimal("1.09198")) == "1.09198", "short values are shown whole"
    assert fmt_money(Decimal("0.00000123")) == "0.00000123", "small fees keep their digits"
    assert fmt_money(Decimal("123456789.125")) == "123456789.12", "at least two decimals, half-even"
    assert fmt_money(Decimal("6.000")) == "6" and fmt_money(Decimal("0")) == "0"
    assert fmt_money(Decimal("-2.5000001")) == "-2.5"
    assert fmt_money(Decimal("0.000000001")) == "0.000000001", "never a misleading zero"
    assert fmt_money(None) == ""


def test_time_cells_show_time_of_day_with_full_timestamp_in_tooltip():
    ts = 1_700_000_000_123_456_789
    moment = datetime.datetime.fromtimestamp(1_700_000_000)
    assert fmt_clock_ns(ts) == moment.strftime("%H:%M:%S") + ".123"
    assert fmt_time_ns(ts) == moment.strftime("%Y-%m-%d %H:%M:%S") + ".123"
    assert fmt_clock_ns(1_700_000_000_999_999_999).endswith(".999"), "truncated, never rounded up a second"
    assert fmt_clock_ns(0) == fmt_time_ns(0) == ""


def _fill_rows(conn: FakeConnector, model: FillsModel):
    order = conn.place(price="60046.46", amount="0.01")
    conn.ack(order)
    conn.clock.run(until_ns=conn.clock.now_ns() + 123_456_789)
    first = conn.fill(order, 849, trade_id="T1", price=Decimal("60046.46"), amount=Decimal("0.00849"),
                      fee=Decimal("0.5097944454"))
    second = conn.fill(order, 151, trade_id="T2", price=Decimal("60046.46"), amount=Decimal("0.00151"),
                       fee=Decimal("0.0906701546"))
    model.flush()
    return first, second


def test_fills_show_rounded_money_and_time_of_day_but_sort_and_export_exactly(qtmodeltester, tmp_path):
    model = FillsModel()
    conn = FakeConnector("f")
    model.add_account("F", conn)
    first, second = _fill_rows(conn, model)
    qtmodeltester.check(model)
    row = model.row_of(("F", "T1", first.client_order_id))
    assert cell(model, row, "Quote") == "509.794" and cell(model, row, "Fee") == "0.509794"
    assert cell(model, row, "Price") == "60046.46" and cell(model, row, "Amount") == "0.00849", "grid values stay exact"
    quote, fee, time = (model.index(row, model.COLUMNS.index(c)) for c in ("Quote", "Fee", "Time"))
    assert model.data(quote, SORT_ROLE) == Decimal("509.7944454") and model.data(fee, SORT_ROLE) == Decimal("0.5097944454")
    assert model.data(quote, TOOLTIP) == "509.7944454" and model.data(fee, TOOLTIP) == "0.5097944454"
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.123", model.data(time)), "one line: time of day with milliseconds"
    assert model.data(time, TOOLTIP) == fmt_time_ns(first.ts_ns) and model.data(time, TOOLTIP).endswith(model.data(time))
    assert model.data(time, SORT_ROLE) == first.ts_ns
    price = model.index(row, model.COLUMNS.index("Price"))
    assert model.data(price, TOOLTIP) is None, "no tooltip where the cell already shows everything"

    proxy = TableProxy()
    proxy.setSourceModel(model)
    proxy.sort(model.COLUMNS.index("Fee"), Qt.SortOrder.AscendingOrder)
    assert [proxy.data(proxy.index(r, model.COLUMNS.index("Trade ID"))) for r in range(2)] == ["T2", "T1"]
    target = tmp_path / "fills.csv"
    assert CsvExportAction(lambda: proxy, None).export_to(str(target)) == 2
    rows = list(csv.DictReader(target.open(newline="", encoding="utf-8")))
    assert [(r["Quote"], r["Fee"]) for r in rows] == [("90.6701546", "0.0906701546"), ("509.7944454", "0.5097944454")]
    assert rows[1]["Time"] == fmt_time_ns(first.ts_ns), "CSV keeps the date"


def test_sort_is_exact_where_rounded_cells_look_equal(qtmodeltester):
    model = BalancesModel()
    conn = FakeConnector("b")
    conn.set_balance("AAA", "0.12345674")
    conn.set_balance("BBB", "0.12345671")
    model.add_account("B", conn)
    model.flush()
    proxy = TableProxy()
    proxy.setSourceModel(model)
    total = model.COLUMNS.index("Total")
    assert {proxy.data(proxy.index(r, total)) for r in range(2)} == {"0.123457"}
    proxy.sort(total, Qt.SortOrder.AscendingOrder)
    assert [proxy.data(proxy.index(r, 1)) for r in range(2)] == ["BBB", "AAA"]


def test_orders_updated_cell_is_time_of_day_with_date_in_tooltip_and_csv(qtmodeltester):
    model = OrdersModel()
    conn = FakeConnector("o")
    model.add_account("O", conn)
    conn.clock.run(until_ns=conn.clock.now_ns() + 7_000_000)
    order = conn.place()
    model.flush()
    updated = model.index(0, model.COLUMNS.index("Updated"))
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.007", model.data(updated))
    assert model.data(updated, TOOLTIP) == fmt_time_ns(order.created_ns)
    headers, rows = table_rows(model)
    assert rows[0][headers.index("Updated")] == fmt_time_ns(order.created_ns)
    assert rows[0][headers.index("Price")] == "50000.01"


def test_balances_show_readable_amounts_exact_in_tooltip_sort_and_csv(qtmodeltester):
    model = BalancesModel()
    conn = FakeConnector("b")
    conn.set_balance("USDT", "99393.1408475", "1801.9270269")
    model.add_account("B", conn)
    model.flush()
    qtmodeltester.check(model)
    row = model.row_of(("B", "USDT"))
    assert [cell(model, row, c) for c in ("Total", "Available", "Locked")] == ["99393.14", "97591.21", "1801.93"]
    total = model.index(row, model.COLUMNS.index("Total"))
    assert model.data(total, TOOLTIP) == "99393.1408475" and model.data(total, SORT_ROLE) == Decimal("99393.1408475")
    headers, rows = table_rows(model)
    assert rows[0][2:] == ["99393.1408475", "97591.2138206", "1801.9270269"]


def test_rows_from_the_journal_are_marked_as_history(qtmodeltester):
    """Orders and fills given as history (an earlier run's, from the journal) are greyed, with
    a tooltip on their Bot cell; this run's rows are not."""
    from ui.models.base import HISTORY_TIP

    conn = FakeConnector("h")
    old = conn.place(amount="1")
    conn.ack(old)
    old_fill = conn.fill(old, 1000, trade_id="T-old")
    conn.cancel_order(old.client_order_id)
    orders = OrdersModel(show_finished=True, owner=lambda cid: "bot-1")
    fills = FillsModel(owner=lambda cid: "bot-1")
    qtmodeltester.check(orders)
    qtmodeltester.check(fills)
    orders.add_account("H", conn, history=[old])
    fills.add_account("H", conn, history=[old_fill])
    new = conn.place(amount="1")
    conn.ack(new)
    conn.fill(new, 1000, trade_id="T-new")
    orders.flush(), fills.flush()
    for model, old_key in ((orders, ("H", old.client_order_id)), (fills, ("H", "T-old", old.client_order_id))):
        assert model.rowCount() == 2
        rows = {model.key_at(r): r for r in range(2)}
        old_row = rows.pop(old_key)
        [new_row] = rows.values()
        bot = model.COLUMNS.index("Bot")
        account = model.COLUMNS.index("Account")
        assert model.is_history(old_key)
        assert model.data(model.index(old_row, account), Qt.ItemDataRole.ForegroundRole) is not None
        assert model.data(model.index(old_row, bot), TOOLTIP) == HISTORY_TIP
        assert model.data(model.index(new_row, account), Qt.ItemDataRole.ForegroundRole) is None
        assert model.data(model.index(new_row, bot), TOOLTIP) is None
    orders.remove_account("H")
    assert not orders.is_history(("H", old.client_order_id))
