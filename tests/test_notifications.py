"""The notifier (app/wiring/notifications.py) on paper trading in simulated time: fills
(merged per bot and market within a second), bot stops, disconnects and error logs."""
from __future__ import annotations

import logging
from decimal import Decimal as D

from app.domain import Side
from app.domain.events import ConnectionState
from app.engine.manual_ticket import ManualOrder
from app.wiring.notifications import (BOT_STOPPED, DISCONNECTED, FILL, LOGGED_ERROR, RECONNECTED, WARNING,
                                      Notifier)
from connectors.paper.connector import PaperConnector
from tests.paper_support import INST, ScriptedFeed, paper_workspace

MS = 1_000_000


def setup(kinds=None):
    clock, workspace, paper = paper_workspace()
    notifier = Notifier(workspace, **({"kinds": kinds} if kinds else {}))
    return clock, workspace, paper, notifier


def buy(workspace, amount: str, price: str = "100.02") -> None:
    workspace.manual.place(ManualOrder("paper", INST.symbol, Side.BUY, "limit", D(amount), D(price)))


def test_a_fill_is_one_notice_and_a_burst_is_merged():
    clock, workspace, _paper, notifier = setup()
    buy(workspace, "1")
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert notifier.drain() == []  # the merge window is still open
    clock.run(until_ns=clock.now_ns() + 1_000 * MS)
    [notice] = notifier.drain()
    assert notice.kind == FILL and notice.title == "Fill"
    assert notice.text == f"Manual: buy 1 {INST.symbol} @ 100.02 on paper"
    for _ in range(3):
        buy(workspace, "0.5")
    clock.run(until_ns=clock.now_ns() + 1_100 * MS)
    [burst] = notifier.drain()
    assert burst.title == "3 fills"
    assert burst.text == f"Manual: 3 fills on paper {INST.symbol}, bought 1.5, last @ 100.02"
    notifier.close()


def test_bot_stops_say_why():
    clock, workspace, _paper, notifier = setup(kinds=(BOT_STOPPED,))
    bot = workspace.create_bot("simple_quoter", {"order_amount": "0.1"}, connector="paper")
    bot.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    [notice] = notifier.drain()
    assert notice.kind == BOT_STOPPED and notice.text == f"{bot.name} stopped, its orders cancelled"
    notifier.close()


def test_a_disconnect_is_told_once_and_its_end_too():
    clock, _workspace, paper, notifier = setup()
    paper._set_connection(ConnectionState.RECONNECTING, "socket closed")
    paper._set_connection(ConnectionState.DOWN, "gave up")
    paper._set_connection(ConnectionState.LIVE)
    down, back = notifier.drain()
    assert (down.kind, down.level, back.kind) == (DISCONNECTED, WARNING, RECONNECTED)
    assert "paper lost its connection (reconnecting: socket closed)" in down.text
    notifier.close()


def test_error_logs_become_notices_until_closed():
    _clock, _workspace, _paper, notifier = setup()
    logging.getLogger("colibri.test").error("the venue refused   everything")
    [notice] = notifier.drain()
    assert (notice.kind, notice.text) == (LOGGED_ERROR, "the venue refused everything")
    notifier.close()
    logging.getLogger("colibri.test").error("after close")
    assert notifier.drain() == []


def test_accounts_added_later_are_heard_and_removed_ones_forgotten():
    clock, workspace, paper, notifier = setup(kinds=(DISCONNECTED,))
    feed = ScriptedFeed(INST, clock, name="second")
    other = PaperConnector(feed, {"USD": "10"}, clock, name="other")
    workspace.add_connector(other)
    other._set_connection(ConnectionState.DOWN, "x")
    assert [n.title for n in notifier.drain()] == ["other down"]
    workspace.remove_connector("other")
    other._set_connection(ConnectionState.LIVE)
    other._set_connection(ConnectionState.DOWN, "again")
    assert notifier.drain() == []
    notifier.close()
