"""A stopped bot's summary keeps its own figures: the account's balances and the mark as
the bot stopped, not as another bot (or a person) trades the account afterwards."""
from decimal import Decimal

from app.domain import OrderType, Side
from app.engine.bot import Bot, BotState
from app.engine.report import build_report, format_summary
from tests.strategy_support import paper_market, run_ms
from tests.test_risk import Manual


def test_a_stopped_bots_summary_is_frozen_while_the_account_trades_on():
    clock, feed, paper = paper_market(balances={"USD": "10000", "TST": "100"})
    first = Bot("first", paper, "TST/USD", Manual())
    second = Bot("second", paper, "TST/USD", Manual())
    first.start()
    second.start()
    first.strategy.place(Side.BUY, 1000, 10002, OrderType.IOC)  # 1 TST bought by the first bot
    run_ms(clock)
    first.stop()
    run_ms(clock)
    assert first.state is BotState.STOPPED
    before = build_report(first, venue="paper", mode="real time")
    assert before["end_balances"]["TST"]["total"] == "101"

    second.strategy.place(Side.BUY, 2000, 10002, OrderType.IOC)  # the other bot trades the account
    run_ms(clock)
    feed.set_levels(bids={11000: 5000}, asks={11002: 5000})  # and the market moves
    run_ms(clock)
    assert paper.balances()["TST"].total == 103

    after = build_report(first, venue="paper", mode="real time")
    assert after["end_balances"] == before["end_balances"]
    assert after["mark_price"] == before["mark_price"] == "100.01"
    assert after["pnl"] == before["pnl"]
    assert format_summary(after) == format_summary(before)
    assert first.status().mid == Decimal("100.01")  # its row in the bots table too
    assert second.status().mid == Decimal("110.01")  # a running bot still follows the market
