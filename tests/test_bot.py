"""The bot runner with the simple quoter on paper trading, in simulated time."""
from decimal import Decimal

import pytest

from app.domain import OrderStatus, OrderType, Side
from app.engine.bot import Bot, BotState
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000


@pytest.fixture
def setup():
    clock = SimClock(1_000 * MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=5 * MS, cancel_latency_ns=5 * MS)
    paper.start()
    strategy = SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": 2, "ask_spread_bps": 2, "refresh_seconds": 60})
    bot = Bot("t", paper, INST.symbol, strategy)
    return clock, feed, paper, bot


def prices(paper):
    return sorted((o.side.value, o.price_ticks) for o in paper.open_orders())


def test_quotes_both_sides_at_the_configured_distance(setup):
    clock, feed, paper, bot = setup
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert prices(paper) == [("buy", 9998), ("sell", 10004)]
    assert all(o.status is OrderStatus.OPEN for o in paper.open_orders())


def test_requotes_when_the_mid_moves_beyond_tolerance(setup):
    clock, feed, paper, bot = setup
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    feed.set_levels(bids={10000: 0, 10020: 5000}, asks={10002: 0, 10022: 5000})
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert prices(paper) == [("buy", 10018), ("sell", 10024)]  # mid 10021 -+ 2 bp


def test_fill_counts_in_pnl_and_report(setup):
    clock, feed, paper, bot = setup
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    feed.trade((9990, 100_000, -1))  # a large sell prints through our bid
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert bot.pnl.fills == 1 and bot.pnl.buys == 1
    assert bot.pnl.base_delta == Decimal("0.1")
    assert bot.status().fills == 1


def test_live_parameter_edit_is_audited_and_takes_effect(setup):
    clock, feed, paper, bot = setup
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    applied = bot.update_params({"bid_spread_bps": "10"}, who="test")
    assert applied == {"bid_spread_bps": (Decimal("2"), Decimal("10"))}
    assert bot.audit[-1]["changes"] == {"bid_spread_bps": ["2", "10"]}
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert ("buy", 9990) in prices(paper)


def test_stale_book_cancels_quotes_until_resync(setup):
    clock, feed, paper, bot = setup
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    feed.go_stale("gap")
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert paper.open_orders() == []
    feed.set_levels(bids={10000: 5000})  # updates while stale must not requote
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert paper.open_orders() == []
    feed.resync()
    feed.set_levels(bids={10000: 5000})
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert len(paper.open_orders()) == 2


def test_stop_cancels_everything_and_reports_when_done(setup):
    clock, feed, paper, bot = setup
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    done = []
    bot.stop(lambda: done.append(clock.now_ns()))
    assert bot.state is BotState.STOPPING and not done
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert done and bot.state is BotState.STOPPED
    assert paper.open_orders() == []
    feed.set_levels(bids={10010: 5000})
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert paper.open_orders() == []  # a stopped bot never quotes again
    with pytest.raises(RuntimeError):
        bot.start()


def test_budget_check_skips_unaffordable_side():
    clock = SimClock(0)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "0"}, clock, order_latency_ns=MS)
    paper.start()
    bot = Bot("t", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}))
    bot.start()
    clock.run(until_ns=20 * MS)
    assert [o.side for o in paper.open_orders()] == [Side.BUY]
    assert bot.rejects == 0


def test_two_bots_on_one_account_keep_to_their_own_orders_and_fills():
    clock = SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=MS, cancel_latency_ns=MS)
    paper.start()
    near = Bot("near", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": 2, "ask_spread_bps": 2}))
    far = Bot("far", paper, INST.symbol, SimpleQuoter({"order_amount": "0.2", "bid_spread_bps": 20, "ask_spread_bps": 20}))
    near.start()
    far.start()
    clock.run(until_ns=clock.now_ns() + 20 * MS)
    assert len(paper.open_orders()) == 4  # neither bot cancelled the other's quotes
    assert {o.price_ticks for o in near.open_orders()} == {9998, 10004}
    assert {o.price_ticks for o in far.open_orders()} == {9980, 10022}
    feed.trade((9995, 100_000, -1))  # prints through near's bid only
    clock.run(until_ns=clock.now_ns() + 20 * MS)
    assert (near.pnl.fills, far.pnl.fills) == (1, 0)
    done = []
    near.stop(lambda: done.append("near"))
    clock.run(until_ns=clock.now_ns() + 20 * MS)
    assert done == ["near"] and near.open_orders() == []
    assert len(far.open_orders()) == 2  # stopping one bot leaves the other's orders alone


def test_immediate_rejects_are_counted_once():
    clock = SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "1", "TST": "0"}, clock, order_latency_ns=MS)
    paper.start()
    bot = Bot("poor", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}))
    bot.start()
    order = bot.orders.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 9000)
    assert order.status is OrderStatus.REJECTED and bot.rejects == 1
    assert not bot.orders.owns(order.client_order_id)


def test_a_stopping_bot_sends_nothing_while_its_cancels_travel():
    """The strategy's compiled gate hears book updates through a listener on this feed; once
    the bot stops, a moving market must not make it quote again (its stop would chase its
    own new orders and never finish)."""
    clock = SimClock(1_000 * MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=5 * MS,
                           cancel_latency_ns=300 * MS)
    paper.start()
    bot = Bot("t", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": 2,
                                                     "ask_spread_bps": 2, "refresh_tolerance_bps": 0}))
    bot.start()
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert len(paper.open_orders()) == 2
    created_after_stop: list[str] = []
    paper.add_listener(lambda e: created_after_stop.append(e.order.client_order_id)
                       if getattr(e, "order", None) is not None and e.order.status is OrderStatus.PENDING_CREATE
                       else None)
    done: list[bool] = []
    bot.stop(lambda: done.append(True))
    for step in range(1, 20):  # the market rises every 20 ms while the cancels take 300 ms
        feed.set_levels(bids={10000 + 10 * (step - 1): 0, 10000 + 10 * step: 5000},
                        asks={10002 + 10 * (step - 1): 0, 10002 + 10 * step: 5000})
        clock.run(until_ns=clock.now_ns() + 20 * MS)
    clock.run(until_ns=clock.now_ns() + 500 * MS)
    assert created_after_stop == []
    assert done and bot.state is BotState.STOPPED and paper.open_orders() == []
