"""The DCA strategy on paper trading, in simulated time, with hand-built books and prints.

Test market (tests/paper_support.py): tick 0.01, lot 0.001, minimum notional 5, maker
0.1%, taker 0.2%. The book starts at 100.00 / 100.02. The default cycle buys 0.1 (100
lots) at market, then up to 2 more entries, each 1% below the last and twice as large,
with a take-profit 1% over the average entry.
"""
from decimal import Decimal
from pathlib import Path

import pytest

from app.config.bot_config import load_config, parse_config
from app.config.schema import ConfigError
from app.engine.bot import Bot
from app.wiring.runners import run_simulated
from strategies.dca import Dca
from tests.paper_support import INST
from tests.strategy_support import open_quotes, paper_market, run_ms

ROOT = Path(__file__).resolve().parents[1]
DCA = {"first_amount": "0.1", "step_pct": "1", "max_entries": 3, "amount_multiplier": "2", "take_profit_pct": "1"}


def make(params=None, balances=None):
    clock, feed, paper = paper_market(balances=balances)
    strategy = Dca({**DCA, **(params or {})})
    bot = Bot("dca", paper, INST.symbol, strategy)
    return clock, feed, paper, bot, strategy


def started(params=None, balances=None):
    clock, feed, paper, bot, dca = make(params, balances)
    bot.start()
    run_ms(clock)
    return clock, feed, paper, bot, dca


def test_the_first_entry_takes_then_the_next_entry_and_the_take_profit_rest():
    clock, feed, paper, bot, dca = started()
    assert bot.pnl.fills == 1 and bot.pnl.buys == 1  # 100 lots at the ask, 100.02
    # next entry: 100.02 x 0.99 = 99.0198 -> 99.01 (down); take profit: 100.02 x 1.01 = 101.0202 -> 101.03 (up)
    assert open_quotes(paper) == [("buy", 9901, 200), ("sell", 10103, 100)]
    status = dca.dca_status()
    assert (status.cycle, status.entries, status.position) == (1, 1, Decimal("0.1"))
    assert status.average_entry == Decimal("100.02") and status.next_entry == Decimal("99.01")
    assert dca.reference_prices()["dca take profit"] == Decimal("101.03")


def test_an_entry_fill_moves_the_take_profit_over_the_new_average():
    clock, feed, paper, bot, dca = started()
    feed.trade((9900, 1000, -1))  # prints through the entry at 99.01: 200 lots fill
    run_ms(clock)
    # average (100.02 x 100 + 99.01 x 200) / 300 = 99.34666..; x 1.01 = 100.340133.. -> 100.35
    # next entry: 99.01 x 0.99 = 98.0199 -> 98.01, 400 lots
    assert open_quotes(paper) == [("buy", 9801, 400), ("sell", 10035, 300)]
    status = dca.dca_status()
    assert status.entries == 2 and status.position == Decimal("0.3")
    assert status.average_entry == Decimal(2980400) / 300 * Decimal("0.01")


def test_no_entry_beyond_max_entries():
    clock, feed, paper, bot, dca = started({"max_entries": 2})
    feed.trade((9900, 1000, -1))
    run_ms(clock)
    assert open_quotes(paper) == [("sell", 10035, 300)]
    assert dca.dca_status().next_entry is None


def test_take_profit_closes_the_cycle_and_a_new_one_opens():
    clock, feed, paper, bot, dca = started()
    feed.trade((9900, 1000, -1))
    run_ms(clock)
    feed.set_levels(bids={10000: 0, 10036: 5000}, asks={10002: 0, 10038: 5000})
    feed.trade((10040, 1000, 1))  # through the take-profit at 100.35
    run_ms(clock)
    status = dca.dca_status()
    assert status.cycles_won == 1
    assert status.realized == Decimal("0.301")  # sold 0.3 at 100.35 = 30.105, bought for 10.002 + 19.802
    assert status.cycle == 2 and status.entries == 1 and status.average_entry == Decimal("100.38")
    # new cycle at the ask 100.38: next entry 99.3762 -> 99.37, take profit 101.3838 -> 101.39
    assert open_quotes(paper) == [("buy", 9937, 200), ("sell", 10139, 100)]


def test_without_restart_the_take_profit_stops_it():
    clock, feed, paper, bot, dca = started({"restart": False})
    feed.set_levels(bids={10000: 0, 10104: 5000}, asks={10002: 0, 10106: 5000})
    feed.trade((10107, 1000, 1))
    run_ms(clock)
    assert open_quotes(paper) == []
    assert dca.dca_status().stopped == "take profit reached (restart is off)"
    assert dca.dca_status().realized == Decimal("0.101")  # (101.03 - 100.02) x 0.1


def test_restart_waits_for_the_delay():
    clock, feed, paper, bot, dca = started({"restart_delay_seconds": 10})
    feed.set_levels(bids={10000: 0, 10104: 5000}, asks={10002: 0, 10106: 5000})
    feed.trade((10107, 1000, 1))
    run_ms(clock, 5_000)
    assert open_quotes(paper) == [] and dca.dca_status().cycle == 1
    run_ms(clock, 5_100)
    assert dca.dca_status().cycle == 2 and len(open_quotes(paper)) == 2


def test_stop_loss_cancels_closes_at_market_and_stops():
    clock, feed, paper, bot, dca = started({"stop_loss_pct": "2"})
    assert dca.dca_status().stop_loss == Decimal("98.01")  # 100.02 x 0.98 = 98.0196 -> 98.01
    feed.set_levels(bids={10000: 0, 9800: 5000}, asks={10002: 0, 9802: 5000})  # no print: the entry does not fill
    run_ms(clock, 100)
    assert open_quotes(paper) == []
    status = dca.dca_status()
    assert status.stopped == "stop loss: position closed" and status.position == 0
    assert status.realized == Decimal("-0.202")  # (98.00 - 100.02) x 0.1
    assert bot.pnl.sells == 1 and bot.pnl.fills == 2
    feed.set_levels(bids={9800: 0, 10000: 5000}, asks={9802: 0, 10002: 5000})
    run_ms(clock)
    assert open_quotes(paper) == []  # stopped for good


def test_short_sells_first_adds_higher_and_buys_back_lower():
    clock, feed, paper, bot, dca = started({"direction": "short"})
    # sold 100 lots at the bid 100.00: next entry 101.00, take profit 99.00
    assert open_quotes(paper) == [("buy", 9900, 100), ("sell", 10100, 200)]
    assert bot.pnl.sells == 1


def test_a_first_entry_that_cannot_be_paid_for_stops_without_sending():
    clock, feed, paper, bot, dca = started(balances={"USD": "5", "TST": "0"})
    assert open_quotes(paper) == [] and bot.rejects == 0 and bot.pnl.fills == 0
    assert "cannot be paid for" in dca.dca_status().stopped


def test_a_live_edit_of_the_take_profit_moves_the_order():
    clock, feed, paper, bot, dca = started()
    bot.update_params({"take_profit_pct": "2"})
    run_ms(clock)
    assert open_quotes(paper) == [("buy", 9901, 200), ("sell", 10203, 100)]  # 100.02 x 1.02 = 102.0204 -> 102.03


@pytest.mark.parametrize("params, field, words", [
    ({"stop_loss_pct": "1"}, "stop_loss_pct", "must be above step_pct 1"),
    ({"first_amount": "0"}, "first_amount", "greater than 0"),
    ({"take_profit_pct": "0"}, "take_profit_pct", "greater than 0"),
    ({"step_pct": "0"}, "step_pct", "greater than 0"),
    ({"max_entries": 0}, "max_entries", "at least 1"),
    ({"direction": "up"}, "direction", "not one of"),
])
def test_bad_parameters_name_the_field(params, field, words):
    with pytest.raises(ConfigError) as err:
        parse_config({"venue": {"kind": "demo"}, "strategy": {"name": "dca", "params": {**DCA, **params}}},
                     "dca.yaml")
    assert err.value.field_path == f"strategy.params.{field}" and words in str(err.value)


def test_a_stop_loss_inside_the_step_is_fine_with_one_entry():
    assert Dca({**DCA, "max_entries": 1, "stop_loss_pct": "0.5"}).params["stop_loss_pct"] == Decimal("0.5")


def test_order_amounts_for_preflight_and_fee_warning():
    assert Dca(DCA).order_amounts_base() == [Decimal("0.1"), Decimal("0.4")]
    assert Dca(DCA).fee_warnings(INST) == []  # 1% over 0.3% (taker 0.2 + maker 0.1)
    low = Dca({**DCA, "take_profit_pct": "0.3"}).fee_warnings(INST)
    assert len(low) == 1 and "does not cover the fees of a cycle (0.3%" in low[0]


def test_the_example_config_trades_in_a_five_minute_backtest():
    report = run_simulated(load_config(ROOT / "resources/configs/dca.yaml"), 300)
    assert report["fills"] > 1 and report["open_orders_at_exit"] == 0
