"""Perpetual market making on hand-built books and fills (paper trading, simulated time).

The standard scene: BTC/USDT:USDT (tick 0.1, lot 0.001, maker 0.02%, taker 0.05%), best bid
59999.0 and best ask 60001.0, so the mid is 60000.0; orders of 0.002 (2 lots, 120 USDT).
"""
from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from app.config.schema import ConfigError
from app.domain import BTC_USD_INVERSE, BTC_USDT, BTC_USDT_PERP, MarkPrice, Side
from app.engine.bot import Bot, BotState
from app.interfaces.clock import SimClock
from strategies.perpetual_market_making import PerpetualMarketMaking
from strategies.registry import STRATEGIES
from tests.strategy_support import bound_to_book, open_quotes, paper_market, started_on_empty_book

MS = 1_000_000
S = 1_000_000_000
PERP = BTC_USDT_PERP
BASE = {"order_amount": "0.002", "bid_spread_bps": 5, "ask_spread_bps": 5, "filled_order_delay": 0,
        "order_refresh_tolerance_bps": 0, "max_long_position": "0.01", "max_short_position": "0.01"}


def scene(params=None, instrument=PERP, balances=None, leverage=10, bid=599_990, ask=600_010):
    clock, feed, paper = paper_market(instrument, bids={bid: 100_000}, asks={ask: 100_000},
                                      balances=balances or {"USDT": "10000"}, start_ns=1_000 * S, latency_ns=0,
                                      leverage=leverage)
    bot = Bot("perp", paper, instrument.symbol, PerpetualMarketMaking({**BASE, **(params or {})}))
    bot.start()
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    return clock, feed, paper, bot


def move(feed, clock, bid, ask):
    """Replaces the book's best levels."""
    book = feed.book
    old = {book.best_bid_ticks: 0}, {book.best_ask_ticks: 0}
    feed.set_levels(bids={**old[0], bid: 100_000}, asks={**old[1], ask: 100_000})
    clock.run(until_ns=clock.now_ns() + 10 * MS)


def test_quotes_both_sides_at_the_spread():
    _, _, paper, _ = scene()
    # 60000 -+ 5 bp = 59970.0 / 60030.0
    assert open_quotes(paper) == [("buy", 599_700, 2), ("sell", 600_300, 2)]


def test_position_limit_silences_the_side_that_would_exceed_it():
    clock, feed, paper, bot = scene({"order_levels": 2, "level_step_bps": 5, "max_long_position": "0.003"})
    # long room 3 lots: the first bid (2) fits, the second (4 in all) would not
    assert open_quotes(paper) == [("buy", 599_700, 2), ("sell", 600_300, 2), ("sell", 600_600, 2)]
    feed.trade((599_600, 100, -1))  # a sell prints through our bid at 59970.0: long 2 lots
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert bot.strategy.position.lots == 2
    assert [q for q in open_quotes(paper) if q[0] == "buy"] == []  # 2 + 2 > 3: no bid at all
    assert len([q for q in open_quotes(paper) if q[0] == "sell"]) == 2


def test_short_limit_reached_stops_the_asks():
    clock, feed, paper, bot = scene({"max_short_position": "0.002"})
    feed.trade((600_400, 100, 1))  # a buy prints through our ask: short 2 lots
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert bot.strategy.position.lots == -2
    assert [q[0] for q in open_quotes(paper)] == ["buy"]


def test_positive_funding_leans_the_quotes_short():
    # 0.01% assumed, 2 bp per 0.01%: everything 2 bp lower: bid 7 bp under, ask 3 bp over
    _, _, paper, bot = scene({"funding_skew_bps": 2, "assumed_funding_rate": "0.0001"})
    assert open_quotes(paper) == [("buy", 599_580, 2), ("sell", 600_180, 2)]
    assert bot.strategy.reference_prices()["funding-skewed mid"] == Decimal("59988")


def test_negative_funding_leans_long():
    _, _, paper, _ = scene({"funding_skew_bps": 2, "assumed_funding_rate": "-0.0001"})
    assert open_quotes(paper) == [("buy", 599_820, 2), ("sell", 600_420, 2)]  # 3 bp under, 7 bp over


def test_the_feeds_mark_price_funding_rate_replaces_the_assumed_one():
    clock, feed, paper, bot = scene({"funding_skew_bps": 2, "assumed_funding_rate": "0.0001"})
    feed._emit(MarkPrice(feed.name, PERP.symbol, clock.now_ns(), Decimal("60000"), Decimal("0.0003"), 0))
    move(feed, clock, 599_990, 600_010)  # the same book again: a requote with the new rate
    assert bot.strategy.funding_rate() == Decimal("0.0003")
    # 6 bp lower: bid 11 bp under = 59934.0; the ask at 1 bp under the mid would cross: joins at 59999.1
    assert open_quotes(paper) == [("buy", 599_340, 2), ("sell", 599_991, 2)]
    bot.stop()
    assert bot.strategy._on_feed_event not in feed._listeners


def test_take_profit_closes_a_long_at_market_with_the_pnl_by_hand(caplog):
    clock, feed, paper, bot = scene({"take_profit_pct": "0.1"})
    feed.trade((599_600, 100, -1))  # our bid fills: long 0.002 at 59970.0 (maker fee 0.023988)
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert bot.strategy.position.lots == 2 and bot.strategy.position.entry == Decimal("59970.0")
    # trigger: 59970 x 1.001 = 60029.97 -> 60030.0 on the bid
    assert bot.strategy.reference_prices()["take profit"] == Decimal("60030")
    move(feed, clock, 600_290, 600_310)  # best bid 60029.0: not yet
    assert paper.position(PERP.symbol).lots == 2
    with caplog.at_level(logging.INFO, logger="colibri.bot.perp"):
        move(feed, clock, 600_300, 600_320)  # best bid 60030.0: close
    assert paper.position(PERP.symbol).lots == 0 and bot.strategy.position.lots == 0
    # realised 0.002 x (60030 - 59970) = 0.12; fees 0.023988 (maker) + 0.002 x 60030 x 0.0005 = 0.06003 (taker)
    assert bot.strategy.position.realized == Decimal("0.12")
    assert paper.balances()["USDT"].total == Decimal("10000") + Decimal("0.12") - Decimal("0.023988") - Decimal("0.06003")
    assert bot.pnl.pnl(Decimal("60030")) == Decimal("0.035982")
    assert any("take-profit: long 0.002" in r.message and "market sell" in r.message for r in caplog.records)
    assert any("close filled" in r.message for r in caplog.records)
    move(feed, clock, 600_300, 600_320)  # quoting resumes once the close is done
    assert [q[0] for q in open_quotes(paper)] == ["buy", "sell"]


def test_stop_loss_closes_a_short_at_market_with_the_pnl_by_hand(caplog):
    clock, feed, paper, bot = scene({"stop_loss_pct": "0.5"})
    feed.trade((600_400, 100, 1))  # our ask fills: short 0.002 at 60030.0 (maker fee 0.024012)
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert bot.strategy.position.lots == -2
    # trigger: 60030 x 1.005 = 60330.15 -> 60330.2 on the ask
    move(feed, clock, 603_280, 603_300)  # ask 60330.0: not yet
    assert bot.strategy.position.lots == -2
    with caplog.at_level(logging.INFO, logger="colibri.bot.perp"):
        move(feed, clock, 603_300, 603_310)  # ask 60331.0: stop
    assert paper.position(PERP.symbol).lots == 0
    # realised -0.002 x (60331 - 60030) = -0.602; fees 0.024012 + 0.002 x 60331 x 0.0005 = 0.060331
    assert bot.strategy.position.realized == Decimal("-0.602")
    assert paper.balances()["USDT"].total == Decimal("10000") - Decimal("0.602") - Decimal("0.024012") - Decimal("0.060331")
    assert any(r.message.startswith("stop-loss: short 0.002") for r in caplog.records)


def test_take_profit_on_an_inverse_perpetual_by_hand():
    # BTC/USD:BTC, contracts of 100 USD; mid 60000.0; 1 contract per order
    clock, feed, paper, bot = scene({"order_amount": "1", "max_long_position": "5", "max_short_position": "5",
                                     "take_profit_pct": "1"}, instrument=BTC_USD_INVERSE, balances={"BTC": "1"})
    assert open_quotes(paper) == [("buy", 599_700, 1), ("sell", 600_300, 1)]
    feed.trade((599_600, 10, -1))  # long 1 contract at 59970.0
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    move(feed, clock, 605_700, 605_710)  # 59970 x 1.01 = 60569.7: best bid 60570.0 closes
    pos = paper.position(BTC_USD_INVERSE.symbol)
    assert pos.lots == 0
    # realised 100 x (1/59970 - 1/60570) BTC
    expected = Decimal(100) * (1 / Decimal("59970.0") - 1 / Decimal("60570.0"))
    assert bot.strategy.position.realized == expected and pos.realized == expected


def test_a_venue_with_another_leverage_is_refused():
    _, _, paper, bot = scene({"leverage": 20}, leverage=10)
    assert bot.state is not BotState.RUNNING
    assert "leverage" in bot.error and "20x differs from the venue's 10x" in bot.error
    _, _, paper, bot = scene({"leverage": 5}, leverage=5)
    assert bot.state is BotState.RUNNING and len(paper.open_orders()) == 2
    assert bot.strategy.leverage() == 5
    with pytest.raises(ConfigError, match="leverage: 3x differs from the venue's 5x"):
        bot.update_params({"leverage": 3})
    assert bot.strategy.params["leverage"] == 5


def test_leverage_0_takes_the_venues_and_the_form_shows_a_mismatch():
    _, _, _, bot = scene(leverage=20)
    assert bot.state is BotState.RUNNING and bot.strategy.leverage() == 20
    strategy = bound_to_book(PerpetualMarketMaking({**BASE, "leverage": 20}), PERP, bids={599_990: 1000},
                             asks={600_010: 1000}, balances={"USDT": "1000"}, leverage=10)
    assert any("20x differs from the venue's 10x" in note and "refuse to start" in note
               for note in strategy.fee_warnings(PERP))


def test_a_spot_market_is_refused():
    bot = started_on_empty_book(PerpetualMarketMaking(BASE), BTC_USDT, {"USDT": "1000"})
    assert bot.state is not BotState.RUNNING and "spot market" in bot.error


def test_margin_is_budgeted_at_the_strategys_leverage():
    # 20 USDT: a 120 USDT order needs 12 margin + 0.06 fee at 10x: one order, not two
    _, _, paper, _ = scene(balances={"USDT": "20"})
    assert len(paper.open_orders()) == 1


@pytest.mark.parametrize("params, field", [
    ({"order_amount": 0}, "order_amount"),
    ({"leverage": "0.5"}, "leverage"),
    ({"leverage": 200}, "leverage"),
    ({"max_long_position": "0.001", "max_short_position": "0"}, "max_long_position"),
    ({"position_mode": "hedge"}, "position_mode"),
    ({"take_profit_pct": -1}, "take_profit_pct"),
    ({"stop_loss_pct": 101}, "stop_loss_pct"),
    ({"assumed_funding_rate": "0.1"}, "assumed_funding_rate"),
    ({"funding_skew_bps": "x"}, "funding_skew_bps"),
])
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(ConfigError) as err:
        PerpetualMarketMaking({**BASE, **params}, source="perp.yaml")
    assert err.value.field_path == field and str(err.value).startswith("perp.yaml: ")


def test_a_bad_live_edit_changes_nothing():
    strategy = PerpetualMarketMaking(BASE)
    with pytest.raises(ConfigError):
        strategy.update_params({"max_long_position": "0", "max_short_position": "0"})
    assert strategy.params["max_long_position"] == Decimal("0.01")


def test_fee_warnings_and_amounts():
    strategy = PerpetualMarketMaking({**BASE, "bid_spread_bps": 1, "ask_spread_bps": 1, "take_profit_pct": "0.05"})
    notes = strategy.fee_warnings(PERP)
    assert "below the round-trip maker fee (4 bp" in notes[0]
    assert "take_profit_pct 0.05% does not cover" in notes[1] and "0.07%" in notes[1]
    assert PerpetualMarketMaking(BASE).fee_warnings(PERP) == []
    assert "spot market" in strategy.fee_warnings(BTC_USDT)[0]
    assert strategy.order_amounts_base() == [Decimal("0.002")]


def test_preview_and_reference_prices_on_a_bound_strategy():
    strategy = bound_to_book(PerpetualMarketMaking(BASE), PERP, bids={599_990: 1000}, asks={600_010: 1000},
                             balances={"USDT": "1000"})
    assert [(q.side, q.price_ticks) for q in strategy.preview()] == [(Side.BUY, 599_700), (Side.SELL, 600_300)]
    assert strategy.reference_prices() == {"mid": Decimal("60000")}


def test_registered():
    assert STRATEGIES["perpetual_market_making"] is PerpetualMarketMaking


def test_the_example_config_backtests_with_fills():
    from app.config.bot_config import load_config
    from app.wiring.session import build_session

    start = 1_767_225_600 * S
    config = load_config("resources/configs/perpetual_market_making.yaml")
    clock = SimClock(start)
    session = build_session(config, simulated=True, clock=clock, start_ns=start)
    session.start()
    clock.run(until_ns=start + 300 * S)
    assert session.bot.state is BotState.RUNNING and session.bot.pnl.fills > 0
    strategy = session.bot.strategy
    assert abs(strategy.position.lots) <= 10  # within max_long_position / max_short_position (0.01)
