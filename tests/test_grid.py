"""The grid strategy on paper trading, in simulated time, with hand-built books and prints.

The test market (tests/paper_support.py): tick 0.01, lot 0.001, minimum notional 5,
maker fee 0.1%, taker fee 0.2%. A grid from 99 to 101 in 5 levels has levels 99, 99.5,
100, 100.5 and 101 (ticks 9900 ... 10100); with the book at 100.00 / 100.02 the level
nearest the mid (100) stays free.
"""
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from app import cli
from app.config.bot_config import load_config, parse_config
from app.config.schema import ConfigError
from app.domain import Side
from app.engine.bot import Bot
from app.wiring.runners import run_simulated
from strategies.grid import Grid
from strategies.grid_levels import Armed, Level, close_order, level_prices, start_layout
from tests.paper_support import INST
from tests.strategy_support import open_quotes, paper_market, run_ms

ROOT = Path(__file__).resolve().parents[1]
GRID = {"lower_price": "99", "upper_price": "101", "levels": 5, "amount": "0.1"}


def make(params=None, balances=None):
    clock, feed, paper = paper_market(balances=balances)
    strategy = Grid({**GRID, **(params or {})})
    bot = Bot("grid", paper, INST.symbol, strategy)
    return clock, feed, paper, bot, strategy


START = [("buy", 9900, 100), ("buy", 9950, 100), ("sell", 10050, 100), ("sell", 10100, 100)]


# -- levels ------------------------------------------------------------------------------------
def test_arithmetic_and_geometric_levels_on_the_tick():
    assert level_prices(Decimal(99), Decimal(101), 5, "arithmetic", INST) == [9900, 9950, 10000, 10050, 10100]
    # 100 * 1.1^i: 100, 110, 121 exactly
    assert level_prices(Decimal(100), Decimal(121), 3, "geometric", INST) == [10000, 11000, 12100]
    # 100 .. 101 in 4 steps of 0.25: 100.25 and 100.75 are whole ticks, 100.5 too
    assert level_prices(Decimal(100), Decimal(101), 5, "arithmetic", INST) == [10000, 10025, 10050, 10075, 10100]


def test_a_counter_order_waits_while_its_level_is_busy():
    levels = [Level(i, 9900 + 50 * i, 100) for i in range(5)]
    assert start_layout(levels, 20002) == 2
    # The buy at level 0 fills before the one at level 1 (fills out of price order):
    levels[0].filled_lots, levels[0].filled_cost = 100, 9900 * 100
    close_order(levels, levels[0], INST)
    assert levels[0].want is None
    assert levels[1].want.side is Side.BUY and [a.side for a in levels[1].queue] == [Side.SELL]
    levels[1].filled_lots, levels[1].filled_cost = 100, 9950 * 100
    close_order(levels, levels[1], INST)
    assert levels[2].want == Armed(Side.SELL, 100, Decimal(9950), Decimal(0))
    assert levels[1].want.side is Side.SELL and levels[1].want.opened_ticks == 9900
    assert not levels[1].queue


# -- start ---------------------------------------------------------------------------------------
def test_start_places_buys_below_and_sells_above_with_the_nearest_level_free():
    clock, feed, paper, bot, grid = make()
    bot.start()
    run_ms(clock)
    assert open_quotes(paper) == START
    assert [q.price_ticks for q in grid.preview()] == [9900, 9950, 10050, 10100]


def test_quote_amounts_buy_fewer_lots_at_higher_levels():
    clock, feed, paper, bot, grid = make({"amount": "10", "amount_unit": "quote"})
    bot.start()
    run_ms(clock)
    # 10 USD / (99 x 0.001) = 101.01 lots -> 101; at 99.5: 100.5 -> 100; 100.5: 99.5 -> 99; 101: 99.0 -> 99
    assert open_quotes(paper) == [("buy", 9900, 101), ("buy", 9950, 100), ("sell", 10050, 99), ("sell", 10100, 99)]


def test_start_places_only_what_the_balances_pay_for_nearest_first():
    # A buy of 0.1 at 99.5 locks 9.95 x 1.002 = 9.9699 USD; the one at 99 would need 9.9198 more.
    clock, feed, paper, bot, grid = make(balances={"USD": "15", "TST": "0"})
    bot.start()
    run_ms(clock)
    assert open_quotes(paper) == [("buy", 9950, 100)]
    assert bot.rejects == 0


# -- re-arming -----------------------------------------------------------------------------------
def test_a_filled_buy_arms_a_sell_one_level_up_and_the_pair_earns_one_step():
    clock, feed, paper, bot, grid = make()
    bot.start()
    run_ms(clock)
    feed.trade((9940, 1000, -1))  # a sell prints through the bid at 99.50
    run_ms(clock)
    # The sell at 100.00 is post-only and the bid is still 100.00: it waits for the book.
    assert open_quotes(paper) == [("buy", 9900, 100), ("sell", 10050, 100), ("sell", 10100, 100)]
    feed.set_levels(bids={10000: 0, 9940: 5000}, asks={10002: 0, 9945: 5000})
    run_ms(clock)
    assert open_quotes(paper) == [("buy", 9900, 100), ("sell", 10000, 100), ("sell", 10050, 100), ("sell", 10100, 100)]
    feed.set_levels(bids={9940: 0, 10005: 5000}, asks={9945: 0, 10010: 5000})
    feed.trade((10012, 1000, 1))  # a buy prints through the ask at 100.00
    run_ms(clock)
    assert open_quotes(paper) == START  # the buy at 99.50 is back, the level at 100 free again
    status = grid.grid_status()
    assert status.steps == 1
    assert status.gross == Decimal("0.05")  # (100.00 - 99.50) x 0.1
    assert status.fees == Decimal("0.01995")  # 0.1% of 9.95 + 0.1% of 10.00
    assert status.net == Decimal("0.03005")
    assert (status.last_step.bought_ticks, status.last_step.sold_ticks) == (9950, 10000)


def test_a_sell_filled_first_arms_a_buy_one_level_down():
    clock, feed, paper, bot, grid = make()
    bot.start()
    run_ms(clock)
    feed.set_levels(bids={10000: 0, 10055: 5000}, asks={10002: 0, 10060: 5000})
    feed.trade((10058, 1000, 1))  # through the ask at 100.50
    run_ms(clock)
    assert open_quotes(paper) == [("buy", 9900, 100), ("buy", 9950, 100), ("buy", 10000, 100), ("sell", 10100, 100)]
    assert grid.grid_status().steps == 0  # a sell of the start layout closes nothing


# -- stops -----------------------------------------------------------------------------------------
def test_out_of_range_keep_leaves_the_orders_resting():
    clock, feed, paper, bot, grid = make({"out_of_range": "keep"})
    bot.start()
    run_ms(clock)
    feed.set_levels(bids={10000: 0, 9880: 5000}, asks={10002: 0, 9882: 5000})
    run_ms(clock)
    assert open_quotes(paper) == START
    assert grid.grid_status().stopped == ""


def test_out_of_range_stop_cancels_everything_and_stays_stopped():
    clock, feed, paper, bot, grid = make({"out_of_range": "stop"})
    bot.start()
    run_ms(clock)
    feed.set_levels(bids={10000: 0, 9880: 5000}, asks={10002: 0, 9882: 5000})  # mid 98.81 < 99
    run_ms(clock)
    assert open_quotes(paper) == []
    assert "left the range 99..101" in grid.grid_status().stopped
    feed.set_levels(bids={9880: 0, 10000: 5000}, asks={9882: 0, 10002: 5000})
    run_ms(clock)
    assert open_quotes(paper) == []


@pytest.mark.parametrize("params, bid, reason", [
    ({"take_profit_price": "102"}, 10200, "take profit: the mid 102.01 reached 102"),
    ({"stop_loss_price": "98"}, 9799, "stop loss: the mid 98 fell to 98"),
])
def test_take_profit_and_stop_loss_prices_stop_the_grid(params, bid, reason):
    clock, feed, paper, bot, grid = make(params)
    bot.start()
    run_ms(clock)
    feed.set_levels(bids={10000: 0, bid: 5000}, asks={10002: 0, bid + 2: 5000})
    run_ms(clock)
    assert open_quotes(paper) == [] and grid.grid_status().stopped == reason


def test_a_stale_book_keeps_the_orders_and_places_nothing_new_until_resync():
    clock, feed, paper, bot, grid = make()
    bot.start()
    run_ms(clock)
    feed.trade((9940, 1000, -1))
    feed.go_stale("gap")
    feed.set_levels(bids={10000: 0, 9940: 5000}, asks={10002: 0, 9945: 5000})
    run_ms(clock)
    assert open_quotes(paper) == [("buy", 9900, 100), ("sell", 10050, 100), ("sell", 10100, 100)]
    feed.resync()
    feed.set_levels(bids={9940: 5000})
    run_ms(clock)
    assert ("sell", 10000, 100) in open_quotes(paper)


# -- parameters ------------------------------------------------------------------------------------
def test_a_live_edit_of_the_shape_lays_the_grid_out_again():
    clock, feed, paper, bot, grid = make()
    bot.start()
    run_ms(clock)
    bot.update_params({"levels": 3})
    run_ms(clock)
    assert open_quotes(paper) == [("buy", 9900, 100), ("sell", 10100, 100)]


def test_a_live_edit_breaking_a_rule_is_refused_and_changes_nothing():
    clock, feed, paper, bot, grid = make()
    bot.start()
    run_ms(clock)
    with pytest.raises(ConfigError) as err:
        bot.update_params({"upper_price": "98"})
    assert err.value.field_path == "upper_price" and "above lower_price 99" in str(err.value)
    with pytest.raises(ConfigError) as err:  # 100 levels in 2 USD: closer than the tick
        bot.update_params({"levels": 300})
    assert err.value.field_path == "levels"
    assert grid.params["levels"] == 5 and open_quotes(paper) == START


@pytest.mark.parametrize("params, field, words", [
    ({"lower_price": "101", "upper_price": "100"}, "upper_price", "must be above lower_price 101"),
    ({"upper_price": "99"}, "upper_price", "must be above lower_price 99"),
    ({"take_profit_price": "100.5"}, "take_profit_price", "must be above upper_price 101"),
    ({"stop_loss_price": "99"}, "stop_loss_price", "must be below lower_price 99"),
    ({"levels": 1}, "levels", "at least 2"),
    ({"amount": "0"}, "amount", "greater than 0"),
    ({"spacing": "log"}, "spacing", "not one of"),
    ({"lower_price": None}, "lower_price", "is required"),
])
def test_bad_parameters_name_the_field(params, field, words):
    values = {k: v for k, v in {**GRID, **params}.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        Grid(values, source="grid.yaml")
    assert err.value.field_path.endswith(field) and words in str(err.value)


def test_a_config_with_lower_above_upper_is_one_line_naming_file_and_field():
    with pytest.raises(ConfigError) as err:
        parse_config({"venue": {"kind": "demo"}, "strategy": {"name": "grid", "params": {
            "lower_price": 60000, "upper_price": 59000}}}, "grid.yaml")
    assert str(err.value) == "grid.yaml: strategy.params.upper_price: must be above lower_price 60000, got 59000"


def test_levels_closer_than_the_tick_fail_the_start_naming_the_field():
    clock, feed, paper, bot, grid = make({"lower_price": "100", "upper_price": "100.02", "levels": 5})
    bot.start()
    assert bot.failed and "strategy.params.levels" in bot.error and open_quotes(paper) == []


@pytest.mark.parametrize("params, message", [
    ({"lower_price": 60000, "upper_price": "60000.03", "levels": 10},
     "strategy.params.levels: 10 levels between 60000 and 60000.03 are closer than the tick 0.01 of BTC/USDT"),
    ({"lower_price": 1000, "upper_price": 2000, "amount": "0.001"},
     "strategy.params.amount: an order of 0.001 base at 1000 is below the lot 0.00001 or the minimum notional 5 "
     "of BTC/USDT"),
])
def test_a_grid_the_market_cannot_hold_is_refused_before_the_start(tmp_path, capsys, params, message):
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({"venue": {"kind": "demo"}, "strategy": {"name": "grid", "params": params}}))
    assert cli.main(["backtest", "--config", str(path), "--duration", "10"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: {message}\n"


def test_order_amounts_for_preflight_and_fee_warning():
    assert Grid(GRID).order_amounts_base() == [Decimal("0.1")]
    quote = Grid({**GRID, "amount": "10", "amount_unit": "quote"}).order_amounts_base()
    assert quote == [Decimal(10) / 101, Decimal(10) / 99]
    # A 0.5 step at 99 is 50.5 bp, above two maker fees (20 bp); at 100 levels of 0.02 it is not.
    assert Grid(GRID).fee_warnings(INST) == []
    narrow = Grid({**GRID, "levels": 101}).fee_warnings(INST)
    assert len(narrow) == 1 and "below the round-trip maker fee (20 bp" in narrow[0]


def test_the_example_config_trades_in_a_five_minute_backtest():
    report = run_simulated(load_config(ROOT / "resources/configs/grid.yaml"), 300)
    assert report["fills"] > 0 and report["open_orders_at_exit"] == 0
