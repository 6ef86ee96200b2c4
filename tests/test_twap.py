"""The TWAP strategy on paper trading, in simulated time, with hand-built books and prints.

Test market (tests/paper_support.py): tick 0.01, lot 0.001, minimum notional 5, maker
0.1%, taker 0.2%. The book starts at 100.00 / 100.02. The default execution buys 1.0 in
4 slices over 100 s: 0.25 (250 lots) due every 25 s, re-priced after 10 s.
"""
import logging
from decimal import Decimal
from pathlib import Path

import pytest

from app.config.bot_config import load_config, parse_config
from app.config.schema import ConfigError
from app.domain import Side
from app.engine.bot import Bot
from app.wiring.runners import run_simulated
from strategies.twap import Twap
from tests.paper_support import INST
from tests.strategy_support import S, open_quotes, paper_market

ROOT = Path(__file__).resolve().parents[1]
TWAP = {"side": "buy", "target_amount": "1", "duration_seconds": 100, "slices": 4, "slice_timeout_seconds": 10}


def make(params=None, balances=None):
    clock, feed, paper = paper_market(balances=balances)
    sent = []
    place = paper.place_order

    def recording_place(symbol, side, order_type, amount_lots, price_ticks=0, **kw):
        sent.append((side.value, order_type.value, price_ticks, amount_lots))
        return place(symbol, side, order_type, amount_lots, price_ticks, **kw)

    paper.place_order = recording_place
    strategy = Twap({**TWAP, **(params or {})})
    bot = Bot("twap", paper, INST.symbol, strategy)
    return clock, feed, paper, bot, strategy, sent


def until(clock, seconds_after_start):
    clock.run(until_ns=S + int(seconds_after_start * S))




def test_the_first_slice_rests_at_the_best_bid():
    clock, feed, paper, bot, twap, sent = make()
    bot.start()
    until(clock, 1)
    assert open_quotes(paper) == [("buy", 10000, 250)]
    assert twap.progress().due == Decimal("0.25") and twap.progress().slice == 1


def test_an_unfilled_order_is_repriced_after_the_timeout_only():
    clock, feed, paper, bot, twap, sent = make()
    bot.start()
    until(clock, 1)
    feed.set_levels(bids={10000: 0, 10010: 5000}, asks={10002: 0, 10012: 5000})
    until(clock, 9.9)
    assert open_quotes(paper) == [("buy", 10000, 250)]  # not chased on every book change
    until(clock, 10.1)
    assert open_quotes(paper) == [("buy", 10010, 250)]


def test_the_unfilled_remainder_is_carried_into_the_next_slice():
    clock, feed, paper, bot, twap, sent = make()
    bot.start()
    until(clock, 1)
    feed.trade((9990, 100, -1))  # a sell of 0.1 prints through our bid: 100 of 250 lots fill
    until(clock, 2)
    assert twap.progress().filled == Decimal("0.1")
    until(clock, 25.1)
    assert open_quotes(paper) == [("buy", 10000, 400)]  # 500 due - 100 filled


def test_the_offset_rests_further_from_the_market():
    clock, feed, paper, bot, twap, sent = make({"offset_bps": "10"})
    bot.start()
    until(clock, 1)
    assert open_quotes(paper) == [("buy", 9990, 250)]  # 100.00 - 10 bp
    clock, feed, paper, bot, twap, sent = make({"side": "sell", "offset_bps": "10"})
    bot.start()
    until(clock, 1)
    assert open_quotes(paper) == [("sell", 10013, 250)]  # 100.02 + 10 bp = 100.12002 -> 100.13


@pytest.mark.parametrize("side, limit, price", [("buy", "99.95", 9995), ("sell", "100.10", 10010)])
def test_a_limit_price_is_never_crossed(side, limit, price):
    clock, feed, paper, bot, twap, sent = make({"side": side, "limit_price": limit})
    bot.start()
    until(clock, 1)
    assert open_quotes(paper) == [(side, price, 250)]
    assert twap.reference_prices()["twap limit"] == Decimal(limit)


def test_catch_up_takes_the_earlier_slices_shortfall_then_rests_the_current_one():
    clock, feed, paper, bot, twap, sent = make({"catch_up_pct": "20", "catch_up_slippage_bps": "10"})
    bot.start()
    until(clock, 25.1)  # slice 1 (250 lots, 25% of the target) unfilled when slice 2 begins
    ioc = [s for s in sent if s[1] == "ioc"]
    assert ioc == [("buy", "ioc", 10013, 250)]  # at most 100.02 + 10 bp
    assert bot.pnl.fills == 1 and twap.progress().filled == Decimal("0.25")
    assert twap.progress().taker_share == 1
    assert open_quotes(paper) == [("buy", 10000, 250)]  # slice 2, passive
    assert twap.progress().average_price == Decimal("100.02")


def test_catch_up_stays_within_the_limit_price():
    clock, feed, paper, bot, twap, sent = make({"catch_up_pct": "20", "limit_price": "100.01"})
    bot.start()
    until(clock, 25.1)
    assert [s for s in sent if s[1] == "ioc"] == [("buy", "ioc", 10001, 250)]
    assert bot.pnl.fills == 0  # the ask at 100.02 is beyond the limit: nothing taken
    assert open_quotes(paper) == [("buy", 10000, 500)]


def test_no_catch_up_below_the_threshold():
    clock, feed, paper, bot, twap, sent = make({"catch_up_pct": "30"})
    bot.start()
    until(clock, 25.1)
    assert [s for s in sent if s[1] == "ioc"] == []


def test_done_when_the_target_is_filled_and_logged(caplog):
    clock, feed, paper, bot, twap, sent = make({"target_amount": "0.3", "slices": 1})
    caplog.set_level(logging.INFO, logger="colibri.bot.twap")
    bot.start()
    until(clock, 1)
    feed.trade((9990, 1000, -1))
    until(clock, 2)
    progress = twap.progress()
    assert progress.done and progress.filled == Decimal("0.3") and progress.note == "target 0.3 reached"
    assert "twap done (target 0.3 reached): bought 0.3 TST of 0.3 at an average 100" in caplog.text
    until(clock, 200)
    assert open_quotes(paper) == [] and len(sent) == 1  # nothing more after the target


def test_a_slice_below_the_minimum_notional_is_carried_until_it_is_large_enough():
    # 0.1 in 4 slices: 25 lots (2.50 USD) due first, below the 5 USD minimum; 50 lots at slice 2.
    clock, feed, paper, bot, twap, sent = make({"target_amount": "0.1"})
    bot.start()
    until(clock, 24)
    assert open_quotes(paper) == []
    until(clock, 25.1)
    assert open_quotes(paper) == [("buy", 10000, 50)]


def test_an_order_is_cut_to_what_the_balance_pays_for():
    # 99 lots at 100 lock 9.9198 USD (with the 0.2% fee); 100 lots would need 10.02.
    clock, feed, paper, bot, twap, sent = make(balances={"USD": "10", "TST": "0"})
    bot.start()
    until(clock, 1)
    assert open_quotes(paper) == [("buy", 10000, 99)] and bot.rejects == 0


def test_a_stale_book_cancels_the_order_until_resync():
    clock, feed, paper, bot, twap, sent = make()
    bot.start()
    until(clock, 1)
    feed.go_stale("gap")
    until(clock, 2)
    assert open_quotes(paper) == []
    feed.resync()
    feed.set_levels(bids={10000: 5000})
    until(clock, 3)
    assert open_quotes(paper) == [("buy", 10000, 250)]


def test_sell_side_rests_at_the_best_ask():
    clock, feed, paper, bot, twap, sent = make({"side": "sell"})
    bot.start()
    until(clock, 1)
    assert open_quotes(paper) == [("sell", 10002, 250)]
    assert [q.side for q in twap.preview()] == [Side.SELL]


def test_a_live_edit_of_the_target_resizes_the_order():
    clock, feed, paper, bot, twap, sent = make()
    bot.start()
    until(clock, 1)
    bot.update_params({"target_amount": "2"})
    until(clock, 2)
    assert open_quotes(paper) == [("buy", 10000, 500)]


@pytest.mark.parametrize("params, field, words", [
    ({"duration_seconds": 1, "slices": 100}, "slices", "at least 0.1 s"),
    ({"target_amount": "0"}, "target_amount", "greater than 0"),
    ({"side": "short"}, "side", "not one of"),
    ({"catch_up_pct": "101"}, "catch_up_pct", "at most 100"),
    ({"slice_timeout_seconds": 0}, "slice_timeout_seconds", "at least 0.1"),
])
def test_bad_parameters_name_the_field(params, field, words):
    with pytest.raises(ConfigError) as err:
        parse_config({"venue": {"kind": "demo"}, "strategy": {"name": "twap", "params": {**TWAP, **params}}},
                     "twap.yaml")
    assert err.value.field_path == f"strategy.params.{field}" and words in str(err.value)
    assert str(err.value).startswith("twap.yaml: ")


def test_a_missing_target_is_required():
    with pytest.raises(ConfigError) as err:
        Twap({"side": "buy"})
    assert err.value.field_path == "target_amount" and "is required" in str(err.value)


def test_order_amounts_for_preflight_are_one_slice():
    assert Twap(TWAP).order_amounts_base() == [Decimal("0.25")]


def test_the_example_config_trades_in_a_five_minute_backtest():
    report = run_simulated(load_config(ROOT / "resources/configs/twap.yaml"), 300)
    assert report["fills"] > 0 and report["open_orders_at_exit"] == 0
