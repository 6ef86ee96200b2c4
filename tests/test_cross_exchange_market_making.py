"""Cross-exchange market making on two hand-built markets: every price and amount below is
worked out by hand from the books the test writes (prices in ticks of 0.01, amounts in
lots of 0.001 unless a test says otherwise)."""
from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest

from app.config.schema import ConfigError
from app.domain import Instrument
from strategies.xemm import CrossExchangeMarketMaking
from tests.paper_support import INST
from tests.two_market_support import FREE, TwoMarkets

RICH = {"USD": "100000", "TST": "1000"}
SIMPLE = {
    "order_amount": "0.75", "min_profitability": "1", "adjust_order_enabled": False,
    "order_size_taker_volume_factor": 100, "order_size_taker_balance_factor": 100,
    "order_size_portfolio_ratio_limit": 100, "slippage_buffer": 0, "anti_hysteresis_duration": 60,
    "limit_order_min_expiration": 3600,
}
"""Limits out of the way, so a test sees only the rule it is about."""


def xemm(params=None, maker=FREE, taker=FREE, maker_bal=RICH, taker_bal=RICH, start=True) -> TwoMarkets:
    m = TwoMarkets(CrossExchangeMarketMaking({**SIMPLE, **(params or {})}),
                   {"maker": (maker, maker_bal), "taker": (taker, taker_bal)})
    m.feeds["maker"].set_levels(bids={9800: 100}, asks={10500: 100})
    if taker is FREE or taker is INST:
        m.feeds["taker"].set_levels(bids={10000: 1000, 9990: 2000}, asks={10010: 5000})
    if start:
        m.start()
        m.run(10)
    return m


# -- prices ----------------------------------------------------------------------------------------
def test_quotes_are_priced_off_the_taker_depth_for_the_whole_amount():
    # 2.0 TST sold on the taker: 1000 lots at 10000 and 1000 at 9990, average 9995;
    # bid = 9995 / 1.01 = 9896.04 -> 9896. Ask: 5000 lots at 10010, 10010 * 1.01 = 10110.1 -> 10111.
    m = xemm({"order_amount": "2"})
    assert m.open("maker") == [("buy", 9896, 2000), ("sell", 10111, 2000)]
    assert len(m.venues["maker"]._orders) == 2  # one order per side was ever sent


def test_a_change_deep_in_the_walked_taker_book_moves_the_quote():
    m = xemm({"order_amount": "2", "anti_hysteresis_duration": 0})
    m.feeds["taker"].set_levels(bids={9990: 0, 9980: 1000})  # second level 1 tick worse
    m.run(20)
    # (1000 x 10000 + 1000 x 9980) / 2000 = 9990; 9990 / 1.01 = 9891.09 -> 9891
    assert m.open("maker") == [("buy", 9891, 2000), ("sell", 10111, 2000)]


def test_fees_of_both_markets_are_priced_in():
    # bid = 10000 x (1 - 0.002) / ((1 + 0.001) x (1 + 0.005)) = 9920.43 -> 9920
    # ask = 10010 x (1 + 0.002) x (1 + 0.005) / (1 - 0.001) = 10090.26 -> 10091
    m = xemm({"min_profitability": "0.5"}, maker=INST, taker=INST)
    assert m.open("maker") == [("buy", 9920, 750), ("sell", 10091, 750)]


def test_a_quote_exactly_at_min_profitability_stays_and_one_below_is_cancelled():
    m = xemm(start=False)
    m.feeds["taker"].set_levels(bids={10000: 0, 9990: 0}, asks={10010: 0})
    m.feeds["taker"].set_levels(bids={10100: 1000}, asks={10110: 5000})
    m.start()
    m.run(10)
    # 10100 / 1.01 = 10000 exactly: a fill earns 1 % exactly; ask 10110 x 1.01 = 10211.1 -> 10212
    assert m.open("maker") == [("buy", 10000, 750), ("sell", 10212, 750)]
    first = sorted(m.venues["maker"].open_orders(), key=lambda o: o.side.value)
    m.feeds["taker"].set_levels(bids={10100: 5000})  # deeper, same price: still exactly 1 %
    m.run(100)
    assert [o.status.value for o in first] == ["open", "open"]
    m.feeds["taker"].set_levels(bids={10100: 0, 10099: 5000})  # 10099 / 10000 - 1 = 0.99 % < 1 %
    m.run(1)
    assert m.venues["maker"].get_order(first[0].client_order_id).status.value == "pending_cancel"
    m.run(20)  # cancel confirmed, then the new bid: 10099 / 1.01 = 9999.01 -> 9999
    assert m.open("maker")[0] == ("buy", 9999, 750)


def test_a_resting_quote_that_keeps_its_margin_is_not_touched():
    m = xemm()
    bid = [o for o in m.venues["maker"].open_orders() if o.side.value == "buy"][0]
    m.feeds["taker"].set_levels(asks={10011: 100})  # the taker's asks move: the bid's hedge does not
    m.feeds["maker"].set_levels(bids={9700: 5})
    m.run(100)
    assert m.venues["maker"].get_order(bid.client_order_id).status.value == "open"


def test_a_negative_min_profitability_never_crosses_its_own_quotes():
    # bid 10000 / 0.99 = 10101.01 -> 10101, ask 10010 x 0.99 = 9909.9 -> 9910: the bid goes to 9909
    m = xemm({"min_profitability": "-1", "cancel_order_threshold": "-1"})
    assert m.open("maker") == [("buy", 9909, 750), ("sell", 9910, 750)]


# -- sizes -----------------------------------------------------------------------------------------
def test_order_size_is_capped_by_the_taker_volume_factor():
    # 2.0 TST wanted: the walk reaches 9990, where 1000 + 2000 lots rest; 25 % of 3000 = 750
    # lots, whose hedge is all at 10000: bid 10000 / 1.01 = 9900.99 -> 9900.
    m = xemm({"order_amount": "2", "order_size_taker_volume_factor": 25})
    bid = [q for q in m.open("maker") if q[0] == "buy"]
    assert bid == [("buy", 9900, 750)]
    # the ask's hedge walks 2000 lots of the 5000 at 10010: at most 25 % of 5000 = 1250 lots
    assert [q for q in m.open("maker") if q[0] == "sell"] == [("sell", 10111, 1250)]


def test_order_size_is_capped_by_the_taker_balance_factor():
    # bid hedge sells taker base: 0.5 TST x 50 % = 250 lots; ask hedge buys with taker quote:
    # 100 USD x 50 % / (10010 x 0.01 x 0.001 per lot) = 50 / 0.1001 = 499.5 -> 499 lots
    m = xemm({"order_size_taker_balance_factor": 50}, taker_bal={"USD": "100", "TST": "0.5"})
    assert m.open("maker") == [("buy", 9900, 250), ("sell", 10111, 499)]


def test_order_size_is_capped_by_the_portfolio_ratio():
    # maker mid (9800 + 10200) / 2 = 100 USD; portfolio 10 + 10 TST + 20000 USD / 100 = 220 TST;
    # 1 % of it = 2.2 TST = 2200 lots (order_amount asks for 5)
    bal = {"USD": "10000", "TST": "10"}
    m = xemm({"order_amount": "5", "order_size_portfolio_ratio_limit": 1}, maker_bal=bal, taker_bal=bal,
             start=False)
    m.feeds["maker"].set_levels(asks={10500: 0, 10200: 100})
    m.feeds["taker"].set_levels(bids={10000: 5000}, asks={10010: 5000})
    m.start()
    m.run(10)
    assert m.open("maker") == [("buy", 9900, 2200), ("sell", 10111, 2200)]


# -- adjusting to the maker's top ------------------------------------------------------------------------
def test_adjust_goes_just_inside_the_top_ignoring_levels_below_the_tolerance():
    m = xemm({"adjust_order_enabled": True, "top_depth_tolerance": "0.05"}, start=False)
    m.feeds["maker"].set_levels(bids={9850: 1})  # 1 lot at 9850: dust below 50 lots
    m.start()
    m.run(10)
    # top with >= 50 lots is 9800 -> 9801 (profitable up to 9900); asks: 10500 - 1 = 10499 >= 10111
    assert m.open("maker") == [("buy", 9801, 750), ("sell", 10499, 750)]


def test_adjust_without_tolerance_follows_any_top_and_never_beyond_the_profitable_price():
    m = xemm({"adjust_order_enabled": True}, start=False)
    m.feeds["maker"].set_levels(bids={9850: 1}, asks={10500: 0, 10050: 3})
    m.start()
    m.run(10)
    # bid 9851; the ask would be 10049 inside the top but must stay >= 10111 to be profitable
    assert m.open("maker") == [("buy", 9851, 750), ("sell", 10111, 750)]


def test_adjust_does_not_chase_its_own_quote_on_the_book():
    m = xemm({"adjust_order_enabled": True})
    bid = [o for o in m.venues["maker"].open_orders() if o.side.value == "buy"][0]
    assert bid.price_ticks == 9801
    m.feeds["maker"].set_levels(bids={9801: 750})  # the venue shows our own bid: not "the top"
    m.run(120 * 1000)
    assert m.venues["maker"].get_order(bid.client_order_id).status.value == "open"


def test_anti_hysteresis_holds_a_reprice_and_then_does_it():
    m = xemm({"adjust_order_enabled": True, "anti_hysteresis_duration": 60})
    bid = [o for o in m.venues["maker"].open_orders() if o.side.value == "buy"][0]
    m.run(10_000)
    m.feeds["maker"].set_levels(bids={9820: 100})  # a better bid from someone else: wanted 9821
    m.run(45_000)  # 55 s after the quote went out
    assert m.venues["maker"].get_order(bid.client_order_id).status.value == "open"
    m.run(6_000)  # past 60 s: the timer reprices without another book update
    assert ("buy", 9821, 750) in m.open("maker")


def test_passive_quotes_stay_until_below_the_cancel_threshold():
    m = xemm({"active_order_canceling": False, "cancel_order_threshold": "-0.5"})
    bid = [o for o in m.venues["maker"].open_orders() if o.side.value == "buy"][0]
    assert bid.price_ticks == 9900
    m.feeds["taker"].set_levels(bids={10000: 0, 9990: 0, 9900: 5000})  # hedged: 0 % >= -0.5 %
    m.run(100)
    assert m.venues["maker"].get_order(bid.client_order_id).status.value == "open"
    m.feeds["taker"].set_levels(bids={9900: 0, 9840: 5000})  # 9840 / 9900 - 1 = -0.606 %
    m.run(100)
    assert m.venues["maker"].get_order(bid.client_order_id).status.value == "cancelled"
    assert ("buy", 9742, 750) in m.open("maker")  # 9840 / 1.01 = 9742.57


def test_quotes_are_refreshed_when_they_expire():
    m = xemm({"limit_order_min_expiration": 30, "active_order_canceling": False})
    first = {o.client_order_id for o in m.venues["maker"].open_orders()}
    m.run(29_000)
    assert {o.client_order_id for o in m.venues["maker"].open_orders()} == first
    m.run(2_000)
    again = m.venues["maker"].open_orders()
    assert not first & {o.client_order_id for o in again}
    assert sorted((o.side.value, o.price_ticks) for o in again) == [("buy", 9900), ("sell", 10111)]


# -- hedging ---------------------------------------------------------------------------------------
def test_every_partial_maker_fill_is_hedged_at_once_by_its_amount():
    m = xemm()
    m.feeds["maker"].trade((9900, 300, -1))  # a seller hits 300 of our 750 lots at 9900
    m.run(20)
    m.feeds["maker"].trade((9900, 450, -1))  # and the other 450
    m.run(20)
    assert m.fills("maker") == [("buy", 9900, 300), ("buy", 9900, 450)]
    assert m.fills("taker") == [("sell", 10000, 300), ("sell", 10000, 450)]
    assert m.strategy.hedger.exposure == 0 and not m.strategy.hedger.failing


def test_hedges_are_limit_orders_through_the_book_by_the_slippage_buffer():
    m = xemm({"slippage_buffer": 5})
    m.feeds["maker"].trade((9900, 750, -1))
    m.run(1)  # the hedge has left, not yet arrived
    hedge = m.venues["taker"].open_orders()
    assert [(o.side.value, o.type.value, o.price_ticks, o.amount_lots) for o in hedge] == [
        ("sell", "ioc", 9500, 750)]  # 10000 x (1 - 5 %)
    m.run(20)
    assert m.fills("taker") == [("sell", 10000, 750)]


def test_a_fill_reported_twice_is_hedged_once():
    m = xemm()
    m.feeds["maker"].trade((9900, 300, -1))
    m.run(20)
    fill = m.routed[0]
    sent = m.strategy.hedger.stats.hedges_sent
    m.route(fill)  # the venue reports the same trade again (a reconnect)
    m.run(20)
    assert m.strategy.hedger.stats.hedges_sent == sent == 1
    assert m.fills("taker") == [("sell", 10000, 300)]


def test_a_failed_hedge_pauses_quoting_and_is_retried_for_what_is_left(caplog):
    m = xemm({"hedge_retry_seconds": 1})
    caplog.set_level(logging.WARNING)
    m.feeds["maker"].trade((9900, 750, -1))
    m.run(1)
    m.feeds["taker"].set_levels(bids={9990: 0, 10000: 100})  # the taker empties while the hedge travels
    m.run(100)
    assert m.fills("taker") == [("sell", 10000, 100)]  # IOC: 100 filled, 650 cancelled
    assert m.strategy.hedger.failing and m.strategy.hedger.exposure == 650
    assert m.open("maker") == []  # no new exposure while a hedge is owed
    assert any("hedge not done" in r.message for r in caplog.records)
    m.feeds["taker"].set_levels(bids={10000: 0, 9990: 5000})
    m.run(1000)
    assert m.fills("taker") == [("sell", 10000, 100), ("sell", 9990, 650)]
    assert m.strategy.hedger.exposure == 0 and not m.strategy.hedger.failing
    m.run(20)
    assert ("buy", 9891, 750) in m.open("maker")  # quoting again: 9990 / 1.01 = 9891.09


def test_a_maker_ask_fill_is_hedged_by_a_taker_buy():
    m = xemm()
    m.feeds["maker"].trade((10111, 200, 1))  # a buyer lifts 200 lots of our ask
    m.run(20)
    assert m.fills("maker") == [("sell", 10111, 200)]
    assert m.fills("taker") == [("buy", 10010, 200)]


# -- conversion rates --------------------------------------------------------------------------------
USDC = Instrument("TST/USDC", "TST", "USDC", tick_size=Decimal("0.1"), lot_size=Decimal("0.01"))
WRAPPED = Instrument("WTST/USDC", "WTST", "USDC", tick_size=Decimal("0.1"), lot_size=Decimal("0.01"))


def test_quote_conversion_rate_and_a_different_tick():
    # taker 50.0 USDC (500 ticks of 0.1) x 2 USD per USDC = 100.00 USD = 10000 maker ticks
    m = xemm({"taker_to_maker_quote_conversion_rate": 2}, taker=USDC,
             taker_bal={"USDC": "100000", "TST": "1000"}, start=False)
    m.feeds["taker"].set_levels(bids={500: 1000}, asks={501: 1000})
    m.start()
    m.run(10)
    # bid 10000 / 1.01 -> 9900; ask 50.1 x 2 = 100.20 -> 10020 x 1.01 = 10120.2 -> 10121
    assert m.open("maker") == [("buy", 9900, 750), ("sell", 10121, 750)]


def test_base_conversion_rate_scales_prices_and_the_hedged_amount():
    # 1 WTST = 2 TST: 200.0 USDC per WTST is 100.00 per TST; 0.3 TST bought -> 0.15 WTST sold
    m = xemm({"taker_to_maker_base_conversion_rate": 2}, taker=WRAPPED,
             taker_bal={"USDC": "100000", "WTST": "1000"}, start=False)
    m.feeds["taker"].set_levels(bids={2000: 1000}, asks={2002: 1000})
    m.start()
    m.run(10)
    assert ("buy", 9900, 750) in m.open("maker")
    m.feeds["maker"].trade((9900, 300, -1))
    m.run(20)
    assert m.fills("taker") == [("sell", 2000, 15)]


# -- staleness ---------------------------------------------------------------------------------------
def test_a_stale_taker_book_cancels_the_quotes_until_it_resyncs():
    m = xemm()
    m.feeds["taker"].go_stale("gap")
    m.run(20)
    assert m.open("maker") == []
    m.feeds["taker"].resync()
    m.run(20)
    assert m.open("maker") == [("buy", 9900, 750), ("sell", 10111, 750)]


# -- views and checks -----------------------------------------------------------------------------------
def test_preview_reference_prices_and_amounts():
    m = xemm(start=False)
    m.strategy.bind(m.ctx)
    assert [(q.side.value, q.price_ticks, q.amount_lots) for q in m.strategy.preview()] == [
        ("buy", 9900, 750), ("sell", 10111, 750)]
    refs = m.strategy.reference_prices()
    assert refs["taker_bid"] == Decimal("100") and refs["taker_ask"] == Decimal("100.1")
    assert refs["bid_limit"] == Decimal(10000) / Decimal("1.01") * Decimal("0.01")
    assert m.strategy.order_amounts_base() == [Decimal("0.75")]


def test_fee_warnings_only_for_thresholds_that_accept_a_loss():
    assert CrossExchangeMarketMaking({}).fee_warnings(INST) == []
    assert "min_profitability is negative" in CrossExchangeMarketMaking(
        {"min_profitability": "-0.1", "cancel_order_threshold": "-0.2"}).fee_warnings(INST)[0]
    passive = CrossExchangeMarketMaking({"active_order_canceling": False, "cancel_order_threshold": "-1"})
    assert "may lose up to 1 %" in passive.fee_warnings(INST)[0]


@pytest.mark.parametrize("field, value", [
    ("order_amount", 0), ("min_profitability", 60), ("order_size_taker_volume_factor", 0),
    ("order_size_taker_balance_factor", 101), ("order_size_portfolio_ratio_limit", -1),
    ("slippage_buffer", 51), ("taker_to_maker_base_conversion_rate", 0),
    ("taker_to_maker_quote_conversion_rate", "x"), ("anti_hysteresis_duration", -1),
    ("limit_order_min_expiration", 0), ("adjust_order_enabled", "yes"), ("hedge_retry_seconds", 0),
])
def test_bad_values_name_their_field(field, value):
    with pytest.raises(ConfigError) as err:
        CrossExchangeMarketMaking({field: value}, source="x.yaml")
    assert err.value.field_path == field and str(err.value).startswith("x.yaml: ")


def test_a_cancel_threshold_above_min_profitability_is_refused_also_as_a_live_edit():
    with pytest.raises(ConfigError) as err:
        CrossExchangeMarketMaking({"min_profitability": "0.2", "cancel_order_threshold": "0.3"})
    assert err.value.field_path == "cancel_order_threshold"
    s = CrossExchangeMarketMaking({"min_profitability": "0.2"})
    with pytest.raises(ConfigError) as err:
        s.update_params({"cancel_order_threshold": "0.5"})
    assert err.value.field_path == "cancel_order_threshold"
    assert s.params["cancel_order_threshold"] == Decimal("0")


def test_a_context_without_both_markets_is_refused_by_name():
    err = xemm(start=False).bind_without("taker")
    assert err.field_path == "markets" and "taker" in str(err)


def test_live_edit_keeps_what_is_unhedged():
    m = xemm({"hedge_retry_seconds": 1})
    m.feeds["maker"].trade((9900, 300, -1))
    m.run(1)
    m.feeds["taker"].set_levels(bids={10000: 0, 9990: 0})  # nothing left to hedge against
    m.run(20)
    assert m.strategy.hedger.exposure == 300 and m.strategy.hedger.failing
    m.strategy.update_params({"min_profitability": "2"})
    assert m.strategy.hedger.exposure == 300 and m.strategy.hedger.failing
    m.feeds["taker"].set_levels(bids={10000: 1000})
    m.run(1500)
    assert m.fills("taker") == [("sell", 10000, 300)]
    assert not m.strategy.hedger.failing


def test_the_example_config_names_both_roles_and_valid_params():
    import yaml

    path = Path(__file__).parents[1] / "resources/configs/cross_exchange_market_making.yaml"
    with open(path, encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    assert sorted(config["markets"]) == sorted(r.name for r in CrossExchangeMarketMaking.roles)
    assert config["markets"]["taker"]["venue"]["follow"] == "maker"
    strategy = CrossExchangeMarketMaking(config["strategy"]["params"], source="xemm.yaml")
    assert strategy.fee_warnings(INST) == []


def test_a_maker_fill_while_the_bot_stops_is_still_hedged():
    """A real bot over two paper venues: the maker bid fills while its cancel travels (after
    Stop). The fill is hedged on the taker before the stop finishes: nothing left unhedged."""
    from app.engine.bot import Bot, BotState
    from app.interfaces.clock import SimClock
    from connectors.paper.connector import PaperConnector
    from tests.paper_support import ScriptedFeed

    ms = 1_000_000
    clock = SimClock(1_000 * ms)
    feeds, venues = {}, {}
    for role in ("maker", "taker"):
        feeds[role] = ScriptedFeed(FREE, clock, name=f"{role}-feed")
        venues[role] = PaperConnector(feeds[role], RICH, clock, order_latency_ns=5 * ms, cancel_latency_ns=50 * ms,
                                      name=f"{role}-venue")
        venues[role].start()
    feeds["maker"].set_levels(bids={9800: 100}, asks={10500: 100})
    feeds["taker"].set_levels(bids={10000: 1000, 9990: 2000}, asks={10010: 5000})
    bot = Bot("x", None, None, CrossExchangeMarketMaking(dict(SIMPLE)),
              markets={role: (venue, FREE.symbol) for role, venue in venues.items()})
    bot.start()
    clock.run(until_ns=clock.now_ns() + 20 * ms)
    bid = next(o for o in venues["maker"].open_orders() if o.side.value == "buy")
    done: list[bool] = []
    bot.stop(lambda: done.append(True))
    clock.run(until_ns=clock.now_ns() + ms)
    feeds["maker"].trade((bid.price_ticks, bid.amount_lots, -1))  # a seller hits the bid during the cancel
    clock.run(until_ns=clock.now_ns() + 2_000 * ms)
    assert done and bot.state is BotState.STOPPED
    assert bot.markets["maker"].pnl.fills == 1 and bot.markets["taker"].pnl.fills == 1
    assert bot.strategy.hedger.exposure == 0 and bot.net_inventory() == 0
