"""Two-market arbitrage on hand-built books: every amount and price below is worked out by
hand (prices in ticks of 0.01, amounts in lots of 0.001 unless a test says otherwise).

The default books: market_1 asks 10000 x 500 (bids 9990 x 1000), market_2 bids 10100 x 300
(asks 10110 x 1000): buying 0.3 TST on market_1 and selling it on market_2 earns 1 %."""
from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from app.config.schema import ConfigError
from app.domain import Instrument
from strategies.arbitrage import Arbitrage
from tests.paper_support import INST
from tests.two_market_support import FREE, TwoMarkets

RICH = {"USD": "100000", "TST": "1000"}
BASE = {"order_amount": "1", "min_profitability": "0.5", "cooldown_seconds": 5, "leg_timeout_seconds": 2}


def arb(params=None, m1=FREE, m2=FREE, bal1=RICH, bal2=RICH, start=True, books=True) -> TwoMarkets:
    m = TwoMarkets(Arbitrage({**BASE, **(params or {})}), {"market_1": (m1, bal1), "market_2": (m2, bal2)})
    if books:
        m.feeds["market_1"].set_levels(bids={9990: 1000}, asks={10000: 500})
        m.feeds["market_2"].set_levels(bids={10100: 300}, asks={10110: 1000})
    if start:
        m.start()
    return m


def sent(m: TwoMarkets, role: str) -> list[tuple[str, str, int, int]]:
    """(side, type, limit ticks, lots) of every order the strategy sent on a role's venue."""
    venue = m.venues[role]
    return [(o.side.value, o.type.value, o.price_ticks, o.amount_lots)
            for o in sorted(venue._orders.values(), key=lambda o: o.created_ns)]


# -- deciding -------------------------------------------------------------------------------------
def test_buys_on_the_cheap_market_and_sells_on_the_dear_one_for_the_top_depth():
    m = arb()
    # 0.3 TST (the 300 lots at market_2's best bid); limits 0.1 % through each book:
    # buy 10000 x 1.001 = 10010, sell 10100 x 0.999 = 10089.9 -> 10090 (inside the bound)
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 300)]
    assert sent(m, "market_2") == [("sell", "ioc", 10090, 300)]
    m.run(20)
    assert m.fills("market_1") == [("buy", 10000, 300)]
    assert m.fills("market_2") == [("sell", 10100, 300)]
    done = m.strategy.history[-1]
    assert done.outcome == "balanced" and done.pnl_m1_quote() == Decimal("0.3")  # 0.3 x 1.00 USD


def test_the_other_direction():
    m = arb(books=False, start=False)
    m.feeds["market_1"].set_levels(bids={10100: 400}, asks={10110: 1000})
    m.feeds["market_2"].set_levels(bids={9990: 1000}, asks={10000: 250})
    m.start()
    assert sent(m, "market_2") == [("buy", "ioc", 10010, 250)]
    assert sent(m, "market_1") == [("sell", "ioc", 10090, 250)]


def test_min_profitability_is_measured_after_both_taker_fees():
    # 10100 x (1 - 0.002) / (10000 x (1 + 0.002)) - 1 = 0.597 %: enough for 0.5 %, not for 0.6 %
    m = arb({"min_profitability": "0.6"}, m1=INST, m2=INST)
    assert m.strategy.opportunity() is None and sent(m, "market_1") == []
    m = arb({"min_profitability": "0.5"}, m1=INST, m2=INST)
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 300)]


def test_no_attempt_without_a_crossed_price():
    m = arb(start=False)
    m.feeds["market_2"].set_levels(bids={10100: 0, 10040: 300})  # 0.4 % < 0.5 %
    m.start()
    assert sent(m, "market_1") == [] and sent(m, "market_2") == []


def test_order_amount_caps_the_attempt():
    m = arb({"order_amount": "0.12"})
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 120)]


def test_budgets_on_both_venues_cap_the_amount():
    # market_1 pays 10 USD at the 10010 limit: 10 / 0.1001 = 99.9 -> 99 lots
    m = arb(bal1={"USD": "10", "TST": "0"})
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 99)]
    # market_2 holds 0.05 TST to sell
    m = arb(bal2={"USD": "0", "TST": "0.05"})
    assert sent(m, "market_2") == [("sell", "ioc", 10090, 50)]


def test_no_attempt_when_a_venue_cannot_pay(caplog):
    caplog.set_level(logging.INFO)
    m = arb(bal2={"USD": "100", "TST": "0"})
    assert sent(m, "market_1") == [] and "balance on market_2" in m.strategy.last_skip


# -- executing ------------------------------------------------------------------------------------
def test_sequential_sends_the_second_leg_only_for_what_the_first_filled():
    m = arb({"execution": "sequential", "first_leg": "buy"})
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 300)] and sent(m, "market_2") == []
    m.run(1)
    m.feeds["market_1"].set_levels(asks={10000: 120})  # only 120 lots left when the buy arrives
    m.run(20)
    assert m.fills("market_1") == [("buy", 10000, 120)]
    assert sent(m, "market_2") == [("sell", "ioc", 10090, 120)]
    m.run(20)
    assert m.fills("market_2") == [("sell", 10100, 120)] and m.strategy.history[-1].outcome == "balanced"


def test_sequential_thinner_side_goes_first_and_a_missed_first_leg_ends_the_attempt():
    m = arb({"execution": "sequential"})  # market_2's bid (300) is thinner than market_1's ask (500)
    assert sent(m, "market_2") == [("sell", "ioc", 10090, 300)] and sent(m, "market_1") == []
    m.run(1)
    m.feeds["market_2"].set_levels(bids={10100: 0})
    m.run(20)
    assert sent(m, "market_1") == []
    assert m.strategy.history[-1].outcome.startswith("first leg did not fill")


def test_a_missed_leg_is_unwound_where_it_was_bought():
    m = arb({"failed_leg_action": "unwind"})
    m.run(1)
    m.feeds["market_2"].set_levels(bids={10100: 0})  # the sell finds no bid
    m.run(50)
    # long 300 on market_1: sold back there at 9990 x 0.999 = 9980.01 -> limit 9980, fills at 9990
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 300), ("sell", "ioc", 9981, 300)]
    assert m.fills("market_1") == [("buy", 10000, 300), ("sell", 9990, 300)]
    attempt = m.strategy.history[-1]
    assert attempt.outcome == "balanced" and attempt.imbalance() == 0
    assert attempt.pnl_m1_quote() == Decimal("-0.03")  # 0.3 x (99.90 - 100.00)


def test_a_missed_leg_is_retried_on_the_other_market():
    m = arb({"failed_leg_action": "retry"})
    m.run(1)
    m.feeds["market_2"].set_levels(bids={10100: 0, 10080: 1000})  # below the sell's 10090 limit
    m.run(50)
    # retried at the new top: 10080 x 0.999 = 10069.92 -> 10069, fills at 10080
    assert sent(m, "market_2") == [("sell", "ioc", 10090, 300), ("sell", "ioc", 10070, 300)]
    assert m.fills("market_2") == [("sell", 10080, 300)]
    assert m.strategy.history[-1].outcome == "balanced"


def test_a_resting_limit_leg_is_cancelled_at_the_timeout_and_the_other_side_unwound():
    m = arb({"leg_order_type": "limit", "leg_timeout_seconds": 2})
    assert sent(m, "market_1") == [("buy", "limit", 10010, 300)]
    m.run(1)
    m.feeds["market_1"].set_levels(asks={10000: 0, 10500: 500})  # the buy rests at 10010
    m.run(1000)
    assert m.open("market_1") == [("buy", 10010, 300)]
    m.run(1100)  # 2 s: cancelled; market_2 sold 300: bought back at 10110 x 1.001 -> 10121
    assert sent(m, "market_2") == [("sell", "limit", 10090, 300), ("buy", "ioc", 10120, 300)]
    m.run(20)
    assert m.fills("market_2") == [("sell", 10100, 300), ("buy", 10110, 300)]
    assert m.strategy.history[-1].outcome == "balanced"


def test_an_unbalanced_position_that_cannot_be_repaired_halts_the_strategy(caplog):
    caplog.set_level(logging.WARNING)
    m = arb({"leg_retries": 0})
    m.run(1)
    m.feeds["market_2"].set_levels(bids={10100: 0})
    m.feeds["market_1"].set_levels(bids={9990: 0})  # nowhere to sell the 300 bought
    m.run(3000)  # one unwind try, then leg_timeout_seconds, then nothing left to try
    attempt = m.strategy.history[-1]
    assert attempt.halted and m.strategy.halted.startswith("halted: long 0.3 TST")
    assert any("arbitrage #1: done: halted" in r.getMessage() for r in caplog.records)
    m.feeds["market_1"].set_levels(bids={9990: 1000})
    m.feeds["market_2"].set_levels(bids={10100: 300})
    m.run(10_000)
    assert len(sent(m, "market_1")) == 1  # no new attempt while halted


def test_cooldown_after_each_attempt():
    m = arb()
    m.run(4000)
    m.feeds["market_1"].set_levels(asks={10000: 500})  # the same prices again (paper forgets
    m.feeds["market_2"].set_levels(bids={10100: 300})  # what it took only at a new book)
    m.run(500)
    assert len(m.strategy.history) == 1 and m.strategy.attempt is None
    m.run(600)  # 5 s after the first attempt ended: the timer starts the second
    assert len(sent(m, "market_1")) == 2
    m.run(20)
    assert len(m.strategy.history) == 2 and m.strategy.history[-1].outcome == "balanced"


def test_a_fill_reported_twice_counts_once():
    m = arb({"execution": "sequential", "first_leg": "buy"})
    m.run(20)
    first_fill = m.routed[0]
    m.route(first_fill)
    m.run(20)
    assert sent(m, "market_2") == [("sell", "ioc", 10090, 300)]
    assert m.strategy.history[-1].outcome == "balanced"


# -- conversion rates and lots ----------------------------------------------------------------------
USDC = Instrument("TST/USDC", "TST", "USDC", tick_size=Decimal("0.1"), lot_size=Decimal("0.01"))


def test_prices_and_lots_of_a_market_with_another_quote_tick_and_lot():
    m = arb({"order_amount": "0.305"}, m2=USDC, bal2={"USDC": "100000", "TST": "1000"}, books=False,
            start=False)
    m.feeds["market_1"].set_levels(bids={9990: 1000}, asks={10000: 500})
    m.feeds["market_2"].set_levels(bids={1010: 100}, asks={1012: 100})  # 101.0 USDC = 10100 ticks of 0.01
    m.start()
    # 0.305 TST = 30.5 lots of 0.01 -> 30; the market_1 leg matches it: 300 lots
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 300)]
    assert sent(m, "market_2") == [("sell", "ioc", 1009, 30)]  # 1010 x 0.999 = 1008.99 -> 1009, inside the bound


def test_a_quote_conversion_rate_can_remove_the_opportunity():
    m = arb({"market_2_to_market_1_quote_conversion_rate": "0.99"}, start=False)
    # market_2's bid is worth 10100 x 0.99 = 9999 in market_1 ticks: below market_1's ask
    m.start()
    assert m.strategy.opportunity() is None and sent(m, "market_1") == []
    assert m.strategy.reference_prices()["market_2_bid"] == Decimal("99.99")


def test_a_base_conversion_rate():
    # 1 market_2 coin = 2 market_1 coins: 202.00 per market_2 coin is 101.00 per market_1 coin
    m = arb({"market_2_to_market_1_base_conversion_rate": 2}, books=False, start=False)
    m.feeds["market_1"].set_levels(bids={9990: 1000}, asks={10000: 500})
    m.feeds["market_2"].set_levels(bids={20200: 100}, asks={20220: 100})
    m.start()
    # 100 market_2 lots = 200 market_1 lots
    assert sent(m, "market_1") == [("buy", "ioc", 10010, 200)]
    assert sent(m, "market_2") == [("sell", "ioc", 20180, 100)]  # 20200 x 0.999 = 20179.8 -> 20180, inside the bound


# -- parameters ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("order_amount", 0), ("min_profitability", -0.1), ("market_1_slippage_buffer", 60),
    ("market_2_slippage_buffer", "x"), ("execution", "parallel"), ("first_leg", "cheaper"),
    ("leg_order_type", "market"), ("leg_timeout_seconds", 0), ("failed_leg_action", "ignore"),
    ("leg_retries", 21), ("cooldown_seconds", -1), ("market_2_to_market_1_base_conversion_rate", 0),
    ("market_2_to_market_1_quote_conversion_rate", -1),
])
def test_bad_values_name_their_field(field, value):
    with pytest.raises(ConfigError) as err:
        Arbitrage({field: value}, source="arb.yaml")
    assert err.value.field_path == field and str(err.value).startswith("arb.yaml: ")


def test_a_context_without_both_markets_is_refused_by_name():
    err = arb(start=False).bind_without("market_2")
    assert err.field_path == "markets" and "market_2" in str(err)


def test_fee_warnings_and_amounts():
    assert Arbitrage({}).fee_warnings(INST) == []
    warned = Arbitrage({"min_profitability": "0.1", "market_2_slippage_buffer": "0.5"}).fee_warnings(INST)
    assert "below the two slippage buffers together (0.6 %)" in warned[0]
    assert Arbitrage({"order_amount": "0.01"}).order_amounts_base() == [Decimal("0.01")]


def test_the_example_config_names_both_roles_and_valid_params():
    import yaml

    with open(Path(__file__).parents[1] / "resources/configs/arbitrage.yaml", encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    assert sorted(config["markets"]) == sorted(r.name for r in Arbitrage.roles)
    strategy = Arbitrage(config["strategy"]["params"], source="arbitrage.yaml")
    assert strategy.fee_warnings(INST) == []
