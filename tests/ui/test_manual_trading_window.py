"""Manual trading in the real main window on the demo exchange: a hotkey and a ladder click
place orders, the orders table names them Manual, Delete cancels one, the help dialog's
key change rebinds the window's action, and quitting cancels what is left.

As in test_main_window.py the scenario runs on the qasync loop and polls with
asyncio.sleep, never qtbot.wait*.
"""
from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from app.domain import OrderStatus, Side
from app.engine.manual_orders import MANUAL
from tests.ui.test_main_window import app_env, until  # noqa: F401 - the fixture
from ui.market.dom_model import BID_SIZE


def test_trader_places_and_cancels_by_hand_in_the_window(app_env):  # noqa: F811 - the fixture
    loop, workspace, window = app_env
    trading = window.trading

    async def scenario() -> None:
        workspace.start()
        window.show()
        book = workspace.demo.feed(workspace.demo_symbol).book
        await until(lambda: book.best_bid_ticks > 0 and book.best_ask_ticks > 0, 5, "a living book")
        await until(lambda: window.ladder.render_count > 0, 5, "the ladder")
        assert trading.ticket.current_market == ("demo", workspace.demo_symbol)
        await until(lambda: trading.ticket.amount.text() != "", 3, "a default amount")
        trading.ticket.amount.setText("0.01")

        # F5: buy the ticket's amount at the best bid
        assert trading.actions["buy_bid"].shortcut() == QKeySequence("F5")
        bid = book.best_bid_ticks
        trading.actions["buy_bid"].trigger()
        await until(lambda: len(workspace.manual.open_orders("demo")) == 1, 3, "the hotkey's order")
        [first] = workspace.manual.open_orders("demo")
        assert first.side is Side.BUY and abs(first.price_ticks - bid) <= 200  # the bid of that moment

        # a click in the Bid column ten rows under the spread buys there
        ladder = window.ladder
        ladder.auto_centre.setChecked(False)
        row = ladder.model.row_of(book.best_bid_ticks) + 10
        price = ladder.model.price_of(row)
        index = ladder.model.index(row, BID_SIZE)
        ladder.table.scrollTo(index)
        centre = ladder.table.visualRect(index).center()
        QTest.mouseClick(ladder.table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
        await until(lambda: any(o.price_ticks == price for o in workspace.manual.open_orders("demo")), 3,
                    "the ladder's order")

        # both are in the orders table as Manual; Delete on one cancels it
        model = window.orders_model
        await until(lambda: model.rowCount() == 2, 3, "the orders table")
        assert {model.data(model.index(r, model.COL_BOT)) for r in range(2)} == {MANUAL}
        trading.cancel_selected([next(r for r in range(2) if model.order_at(r)[1].price_ticks == price)])
        await until(lambda: len(workspace.manual.open_orders("demo")) == 1, 3, "the cancel")
        assert workspace.manual.open_orders("demo")[0].client_order_id == first.client_order_id

        # the help dialog rebinds a key at once
        trading.actions["help"].trigger()
        dialog = trading.help_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.assign("buy_bid", QKeySequence("Ctrl+F5"))
        assert trading.actions["buy_bid"].shortcut() == QKeySequence("Ctrl+F5")
        dialog.close()

        # quitting cancels the manual orders (no bot is running: no question asked)
        done = asyncio.Event()
        window.shutdown_finished.connect(done.set)
        window.quit_action.trigger()
        await asyncio.wait_for(done.wait(), 10)
        assert first.status is OrderStatus.CANCELLED
        assert workspace.demo.open_orders() == []

    loop.run_until_complete(scenario())
