"""Manual trading in the real main window on the demo exchange: a hotkey places an order and
another cancels it, a ladder click places one that the orders table names Manual and its
Cancel order cancels, the help dialog's key change rebinds the window's action, and
quitting cancels what is left.

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

        # F5: buy the ticket's amount at the best bid; F9 cancels it (unless the market filled it first)
        assert trading.actions["buy_bid"].shortcut() == QKeySequence("F5")
        bid = book.best_bid_ticks
        trading.actions["buy_bid"].trigger()
        first = trading.trading.last_order  # sent at once: the demo account asks no confirmation
        assert first is not None and first.status is not OrderStatus.REJECTED
        assert first.side is Side.BUY and abs(first.price_ticks - bid) <= 200  # the bid of that moment
        trading.actions["cancel_all"].trigger()
        await until(lambda: first.status.is_done, 3, "cancel all")

        # a click in the Bid column 30 rows under the spread buys there
        ladder = window.ladder
        ladder.auto_centre.setChecked(False)

        def click_bid(rows_under: int) -> int:
            row = ladder.model.row_of(book.best_bid_ticks) + rows_under
            index = ladder.model.index(row, BID_SIZE)
            ladder.table.scrollTo(index)
            centre = ladder.table.visualRect(index).center()
            QTest.mouseClick(ladder.table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
            return ladder.model.price_of(row)

        price = click_bid(30)
        await until(lambda: any(o.price_ticks == price for o in workspace.manual.open_orders("demo")), 3,
                    "the ladder's order")
        [second] = workspace.manual.open_orders("demo")

        # it is in the orders table as Manual; the table's Cancel order cancels it
        model = window.orders_model
        await until(lambda: model.rowCount() == 1, 3, "the orders table")
        assert model.data(model.index(0, model.COL_BOT)) == MANUAL
        trading.cancel_selected([0])
        await until(lambda: second.status.is_done, 3, "the cancel")
        assert second.status is OrderStatus.CANCELLED

        # the help dialog rebinds a key at once
        trading.actions["help"].trigger()
        dialog = trading.help_dialog
        assert dialog is not None and dialog.isVisible()
        assert dialog.assign("buy_bid", QKeySequence("Ctrl+F5"))
        assert trading.actions["buy_bid"].shortcut() == QKeySequence("Ctrl+F5")
        dialog.close()

        # quitting cancels the manual orders left (no bot is running: no question asked)
        click_bid(30)
        await until(lambda: len(workspace.manual.open_orders("demo")) == 1, 3, "another order")
        [third] = workspace.manual.open_orders("demo")
        done = asyncio.Event()
        window.shutdown_finished.connect(done.set)
        window.quit_action.trigger()
        await asyncio.wait_for(done.wait(), 10)
        assert third.status is OrderStatus.CANCELLED
        assert workspace.demo.open_orders() == []

    loop.run_until_complete(scenario())
