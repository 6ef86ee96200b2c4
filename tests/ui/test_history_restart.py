"""History after a restart: the real window on a real SQLite journal file trades on the demo
exchange (a bot and an order by hand), quits cleanly, and a new window on the same file
shows the same orders, fills and PnL, marked as history, with the Bot column.
"""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import qasync
from PySide6.QtCore import QSettings

from app.domain import Side
from app.engine.bot import BotState
from app.engine.journal import JournalStore
from app.engine.manual_ticket import ManualOrder
from app.interfaces.clock import RealClock
from app.wiring.workspace import build_workspace
from ui.main_window import MainWindow
from ui.models import EXACT_ROLE

TIGHT = {"order_amount": "0.01", "bid_spread_bps": "0", "ask_spread_bps": "0", "refresh_seconds": "2"}


async def until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def _window(loop, tmp_path, path):
    store = JournalStore(path)
    workspace = build_workspace(RealClock(loop), journal=store)
    settings = QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)
    return store, workspace, MainWindow(workspace, settings=settings)


def _column(model, name):
    return model.COLUMNS.index(name)


def _rows(model, key_column, *columns):
    """{key cell: (cells...)} of a table model, the exact texts (what CSV export writes)."""
    out = {}
    for row in range(model.rowCount()):
        cell = lambda c: model.index(row, c).data(EXACT_ROLE)  # noqa: E731
        out[cell(key_column)] = tuple(cell(c) for c in columns)
    return out


async def _quit(window) -> None:
    window.shutdown_now()
    await until(lambda: window._closed, 20, "the window to stop its bots and close")


def test_orders_fills_and_pnl_come_back_after_a_restart(qapp, tmp_path, monkeypatch, qtmodeltester):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path))
    qapp.setQuitOnLastWindowClosed(False)
    path = tmp_path / "journal.sqlite"
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    seen: dict = {}
    try:
        store, workspace, window = _window(loop, tmp_path, path)

        async def first_run() -> None:
            workspace.start()
            window.show()
            book = workspace.demo.feed(workspace.demo_symbol).book
            await until(lambda: book.best_bid_ticks > 0 and book.best_ask_ticks > 0, 5, "a living book")
            bot = workspace.create_bot("simple_quoter", TIGHT, connector="demo")
            bot.start()
            workspace.manual.place(ManualOrder("demo", workspace.demo_symbol, Side.BUY, "market", Decimal("0.01")))
            await until(lambda: bot.pnl.fills >= 2, 90, "the bot's fills")
            # The PnL the bot shows as it stops (a stopped bot's figure still moves with the mid).
            bot.stop(lambda: seen.update(pnl=bot.pnl_value()))
            await until(lambda: bot.state is BotState.STOPPED, 10, "the bot to stop")
            seen["bot"], seen["fills"] = bot.name, bot.pnl.fills
            window.orders_model.set_show_finished(True)
            window.flusher.flush_now()
            orders, fills = window.orders_model, window.fills_model
            seen["orders"] = _rows(orders, _column(orders, "Order ID"), _column(orders, "Bot"),
                                   _column(orders, "Status"), _column(orders, "Filled"))
            seen["fill_rows"] = _rows(fills, _column(fills, "Trade ID"), _column(fills, "Bot"),
                                      _column(fills, "Price"), _column(fills, "Amount"), _column(fills, "Fee"))
            await _quit(window)

        loop.run_until_complete(first_run())
        store.close()
        assert seen["fills"] >= 2 and len(seen["fill_rows"]) >= 3  # the bot's fills and the one by hand
        assert {cells[0] for cells in seen["fill_rows"].values()} == {seen["bot"], "Manual"}

        store, workspace, window = _window(loop, tmp_path, path)

        async def second_run() -> None:
            workspace.start()
            window.show()
            window.show_finished.setChecked(True)  # the orders table's "Show finished" box
            window.flusher.flush_now()
            orders, fills = window.orders_model, window.fills_model
            after = _rows(orders, _column(orders, "Order ID"), _column(orders, "Bot"), _column(orders, "Status"),
                          _column(orders, "Filled"))
            assert after == seen["orders"]  # every order, filled and cancelled, with its bot
            assert all(orders.is_history(orders.key_at(r)) for r in range(orders.rowCount()))  # greyed
            assert all(fills.is_history(fills.key_at(r)) for r in range(fills.rowCount()))
            assert _rows(fills, _column(fills, "Trade ID"), _column(fills, "Bot"), _column(fills, "Price"),
                         _column(fills, "Amount"), _column(fills, "Fee")) == seen["fill_rows"]
            history = window.bot_history.model
            await until(lambda: history.rowCount() >= 2, 10, "the bot history")
            qtmodeltester.check(history)
            rows = _rows(history, 0, _column(history, "State"), _column(history, "Fills"),
                         _column(history, "PnL at stop"))
            state, fills_text, at_stop = rows[seen["bot"]]
            assert state == "history: stopped" and history.is_history(seen["bot"])
            assert int(fills_text) == seen["fills"]
            assert Decimal(at_stop) == seen["pnl"]  # the figure the bots table showed when it stopped
            # A new bot never takes an earlier bot's name (its history would merge with the old one's).
            assert workspace.new_bot_name() != seen["bot"]
            await _quit(window)

        loop.run_until_complete(second_run())
        store.close()
    finally:
        asyncio.set_event_loop(None)
        loop.close()
