"""Run analytics: markouts, drawdown, attribution and time quoted worked out by hand, the
collector on a scripted market, and real backtests whose attribution adds up to the PnL."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from app.domain import BTC_USD_INVERSE, BTC_USDT_PERP, Fill, Side
from app.domain.events import FundingPaid
from app.engine.analytics import RunAnalytics
from app.engine.bot import Bot
from app.engine.pnl import DerivativesPnl, PnlTracker
from app.engine.report import build_report, format_summary
from app.engine.run_metrics import FillPoint, QuotedTime, attribution, markouts, max_drawdown, portfolio_value
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000
S = 1_000_000_000


def point(side: Side, price: str, amount: str, mid: str | None, *later: str | None) -> FillPoint:
    return FillPoint(0, side.sign, D(price), D(amount), None if mid is None else D(mid),
                     [None if m is None else D(m) for m in later])


def test_markouts_by_hand() -> None:
    fills = [
        point(Side.BUY, "99.9", "1", "100", "100.1", "99.8"),   # mid +10 bp after 1 s, -20 bp after 10 s
        point(Side.SELL, "100.2", "2", "100", "99.5", None),    # mid -50 bp after 1 s (good for a sell)
        point(Side.SELL, "100.4", "1", None, "100.1", "100.1"),  # no book at the fill: not counted
    ]
    m = markouts(fills, ["1s", "10s"])
    one, ten = m["1s"], m["10s"]
    assert (one["count"], one["of"], one["buys"], one["sells"]) == (2, 3, 1, 1)
    assert (one["buy"], one["sell"], one["all"]) == (10.0, 50.0, 30.0)
    # against the fill price: (100.1 - 99.9) / 99.9 and (100.2 - 99.5) / 100.2, in bp
    assert one["buy_vs_fill"] == round(0.2 / 99.9 * 1e4, 3) == 20.02
    assert one["sell_vs_fill"] == round(0.7 / 100.2 * 1e4, 3) == 69.86
    assert (ten["count"], ten["buy"], ten["sell"], ten["all"]) == (1, -20.0, None, -20.0)


def test_drawdown_by_hand() -> None:
    # peak 8 then 1: 7 down, 7 / (100 + 8) of the capital; the earlier 5 -> 2 is smaller
    worst, pct = max_drawdown([D(0), D(5), D(2), D(8), D(1), D(3)], base=D(100))
    assert worst == D(7) and pct == pytest.approx(700 / 108)
    assert max_drawdown([D(-3), D(-1)]) == (D(3), 0.0)  # the curve starts at 0: losing at once is a drawdown
    assert max_drawdown([D(1), D(2), D(3)], base=D(10)) == (D(0), 0.0)


def test_time_quoted_by_hand() -> None:
    quoted = QuotedTime(0)
    quoted.update(1 * S, bids=1, asks=0)  # bid only from 1 s
    quoted.update(3 * S, bids=2, asks=1)  # both from 3 s
    quoted.update(5 * S, bids=1, asks=1)  # still both: no change
    quoted.update(7 * S, bids=0, asks=1)  # ask only from 7 s
    assert quoted.shares_pct(10 * S) == {"both": 40.0, "bid_only": 20.0, "ask_only": 30.0, "none": 10.0}


def _fill(side: Side, price: str, amount: str, fee: str, asset: str) -> Fill:
    return Fill("t", "c", "X", side, D(price), D(amount), D(fee), asset, True, 0)


def test_spot_attribution_by_hand_adds_up_exactly() -> None:
    pnl = PnlTracker("USD")
    pnl.on_fill(_fill(Side.BUY, "99.9", "1", "0.0999", "USD"))
    pnl.on_fill(_fill(Side.SELL, "100.3", "0.4", "0.04012", "USD"))
    fills = [point(Side.BUY, "99.9", "1", "100"), point(Side.SELL, "100.3", "0.4", "100.2")]
    mark = D("100.5")
    parts = attribution(fills, INST, mark, fees=pnl.fees_quote, funding=None, pnl=pnl.pnl(mark))
    # spread: 1 x (100 - 99.9) + 0.4 x (100.3 - 100.2) = 0.14; revaluation: 1 x (100.5 - 100)
    # - 0.4 x (100.5 - 100.2) = 0.38; fees 0.0999 + 0.04012
    assert parts == {"spread_capture": D("0.14"), "inventory_revaluation": D("0.38"), "fees": D("-0.14002"),
                     "other": D(0)}
    assert sum(parts.values()) == pnl.pnl(mark) == D("0.37998")


def test_a_fill_without_a_book_has_no_spread_capture() -> None:
    parts = attribution([point(Side.BUY, "99", "1", None)], INST, D(100), fees=D(0), funding=None, pnl=D(1))
    assert parts["spread_capture"] == 0 and parts["inventory_revaluation"] == D(1) and parts["other"] == 0


def test_linear_perpetual_attribution_with_funding_adds_up_exactly() -> None:
    inst = BTC_USDT_PERP
    pnl = DerivativesPnl(inst)
    # three buys whose average entry does not terminate (180000.03 / 3), then a partial sell
    for price in ("60000.0", "60000.1", "59999.9"):
        pnl.on_fill(_fill(Side.BUY, price, "0.001", "0.012", "USDT"))
    pnl.on_fill(_fill(Side.SELL, "60001.0", "0.002", "0.024", "USDT"))
    pnl.on_funding(FundingPaid("demo", inst.symbol, 0, D("0.0001"), D("60000"), D(0), "USDT"))
    fills = [point(Side.BUY, "60000.0", "0.001", "60000.5"), point(Side.BUY, "60000.1", "0.001", "60000.5"),
             point(Side.BUY, "59999.9", "0.001", "60000.2"), point(Side.SELL, "60001.0", "0.002", "60000.4")]
    mark = D("60010")
    total = pnl.pnl(mark)
    parts = attribution(fills, inst, mark, fees=pnl.fees_quote, funding=pnl.funding, pnl=total)
    # spread: 0.001 x (0.5 + 0.4 + 0.3) + 0.002 x 0.6 = 0.0024; revaluation: 0.001 x (9.5 + 9.5
    # + 9.8) - 0.002 x 9.6 = 0.0096; fees 0.06; funding: the long 0.001 left pays 0.001 x 60000 x 0.0001
    assert parts["spread_capture"] == D("0.0024") and parts["inventory_revaluation"] == D("0.0096")
    assert parts["fees"] == D("-0.060") and parts["funding"] == D("-0.006")
    assert abs(parts["other"]) < D("1e-20")  # the rounding of the average entry price, nothing more
    assert sum(parts.values()) == total


def test_inverse_perpetual_attribution_adds_up_exactly() -> None:
    inst = BTC_USD_INVERSE
    pnl = DerivativesPnl(inst)
    pnl.on_fill(_fill(Side.BUY, "50000", "10", "0.000004", "BTC"))
    pnl.on_fill(_fill(Side.BUY, "40000", "10", "0.000005", "BTC"))
    pnl.on_fill(_fill(Side.SELL, "45000", "5", "0.000001", "BTC"))
    fills = [point(Side.BUY, "50000", "10", "50010"), point(Side.BUY, "40000", "10", "40004"),
             point(Side.SELL, "45000", "5", "44990")]
    mark = D(46000)
    total = pnl.pnl(mark)
    parts = attribution(fills, inst, mark, fees=pnl.fees_quote, funding=pnl.funding, pnl=total)
    cs = inst.contract_size
    spread = 10 * cs * (1 / D(50000) - 1 / D(50010)) + 10 * cs * (1 / D(40000) - 1 / D(40004)) \
        - 5 * cs * (1 / D(45000) - 1 / D(44990))
    assert abs(parts["spread_capture"] - spread) < D("1e-17") and parts["spread_capture"] > 0
    assert abs(parts["other"]) < D("1e-16")
    assert sum(parts.values()) == total


def test_portfolio_value() -> None:
    assert portfolio_value({"TST": D(2), "USD": D(10), "BNB": D(5)}, INST, D("100.5")) == D("211.0")
    assert portfolio_value({"USDT": D(1000)}, BTC_USDT_PERP, D(60000), D("-3")) == D(997)


@pytest.fixture
def scripted():
    clock = SimClock(1_000 * MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=5 * MS,
                           cancel_latency_ns=5 * MS)
    paper.start()
    strategy = SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": 2, "ask_spread_bps": 2, "refresh_seconds": 600,
                             "refresh_tolerance_bps": 100})
    bot = Bot("t", paper, INST.symbol, strategy)
    return clock, feed, bot


def test_collector_on_a_scripted_market(scripted) -> None:
    clock, feed, bot = scripted
    analytics = RunAnalytics(bot)
    bot.start()
    start = clock.now_ns()
    clock.run(until_ns=start + 50 * MS)  # quotes 99.98 / 100.04 rest from 5 ms (the paper latency)
    feed.trade((9990, 100_000, -1))  # a sell prints through our bid: buy 0.1 at 99.98, mid 100.01
    clock.run(until_ns=start + 60 * MS)
    feed.set_levels(bids={10000: 4000})  # the mid is the same: the bid is quoted again, resting from 65 ms
    clock.run(until_ns=start + 500 * MS)
    feed.set_levels(bids={10000: 0, 10020: 5000}, asks={10002: 0, 10022: 5000})  # mid 100.21, within tolerance
    clock.run(until_ns=start + 20 * S)
    done: list[bool] = []
    bot.stop(lambda: done.append(True))
    clock.run(until_ns=clock.now_ns() + 100 * MS)
    assert done and bot.stop_ns == start + 20 * S + 5 * MS  # the cancels took 5 ms
    report = build_report(bot, venue="paper", mode="simulated", analytics=analytics)
    assert report["fills"] == 1 and report["analytics"]["fills_seen"] == 1
    one = report["markouts_bps"]["1s"]
    assert one["count"] == 1 and one["buy"] == round(0.2 / 100.01 * 1e4, 3)  # the mid rose 0.20 after our buy
    assert report["markouts_bps"]["60s"]["count"] == 0  # the run ended first
    assert report["own_fills"]["points"] == [[0.05, "buy", "99.98", "0.1", "100.01"]]
    # spread 0.1 x (100.01 - 99.98); revaluation 0.1 x (100.21 - 100.01); fee 0.1% of 9.998
    assert report["attribution"] == {"spread_capture": "0.003", "inventory_revaluation": "0.02",
                                     "fees": "-0.009998", "other": "0"}
    assert sum(D(v) for v in report["attribution"].values()) == D(report["pnl"])
    # placed: the first bid and ask, then the bid again: 0.1 filled of 0.3
    assert report["orders_placed"] == 3 and report["placed_amount"] == "0.3" and report["filled_amount"] == "0.1"
    assert report["fill_rate"] == round(1 / 3, 6) and report["order_to_trade_ratio"] == 3
    # of 20.005 s: nothing for 5 ms, both sides 5-50 ms, the ask alone 50-65 ms, both again until the stop
    assert report["quoting_pct"] == {"both": round(100 * 19.985 / 20.005, 3), "bid_only": 0.0,
                                     "ask_only": round(100 * 0.015 / 20.005, 3), "none": round(100 * 0.005 / 20.005, 3)}
    assert report["quoted_both_sides_pct"] == report["quoting_pct"]["both"]
    # holding 100 TST and 10000 USD: 20001 at the first mid 100.01, 20021 at the last 100.21
    assert (report["start_value"], report["hold_value"]) == ("20001", "20021")
    assert D(report["vs_hold"]) == D(report["pnl"])
    assert D(report["trade_value"]) == D(20021) + D(report["pnl"])
    assert report["hold_return_pct"] == round(100 * 20 / 20001, 6)
    assert report["return_pct"] == round(float((D(report["trade_value"]) - 20001) / 20001 * 100), 6)
    # right after the fill the PnL was 0.003 - 0.009998 (spread less fee), from the peak 0
    assert report["max_drawdown"] == "0.006998" and report["max_drawdown_pct"] == round(100 * 0.006998 / 20001, 6)
    assert "markout 1s" in format_summary(report) and "attribution (USD)" in format_summary(report)


def _assert_complete(report: dict) -> None:
    keys = ("hold_value", "trade_value", "vs_hold", "return_pct", "max_drawdown", "max_drawdown_pct",
            "quoted_both_sides_pct", "quoting_pct", "fill_rate", "order_to_trade_ratio", "orders_placed",
            "markouts_bps", "attribution", "own_fills", "price_path", "curve", "fees_quote")
    assert not [k for k in keys if report.get(k) is None]
    assert set(report["markouts_bps"]) == {"1s", "10s", "60s"}
    assert report["analytics"]["fills_seen"] == report["fills"] > 0
    assert sum(D(v) for v in report["attribution"].values()) == D(report["pnl"])
    assert report["own_fills"]["total"] == report["fills"] == len(report["own_fills"]["points"])
    assert 0 < report["fill_rate"] <= 1 and report["quoted_both_sides_pct"] > 50


def test_demo_backtest_report_has_every_figure_and_its_attribution_adds_up() -> None:
    from app.cli import DEMO_CONFIG
    from app.config.bot_config import load_config
    from app.wiring.runners import run_simulated

    report = run_simulated(load_config(DEMO_CONFIG), 120)
    _assert_complete(report)
    assert D(report["attribution"]["other"]) == 0  # spot: nothing left over
    assert D(report["vs_hold"]) == D(report["pnl_quote"])  # one bot on the account: the same thing
    assert D(report["attribution"]["fees"]) == -D(report["fees_quote"])
    assert report["price_path"]["points"][0][0] == 0.0 and report["price_path"]["points"][-1][0] >= 119


def test_perpetual_demo_backtest_attribution_adds_up() -> None:
    from app.cli import DEMO_CONFIG
    from app.config.bot_config import load_config
    from app.wiring.runners import run_simulated

    config = load_config(DEMO_CONFIG)
    config.symbol = BTC_USDT_PERP.symbol
    report = run_simulated(config, 120)
    _assert_complete(report)
    assert report["pnl_asset"] == "USDT" and "funding" in report["attribution"]
    assert abs(D(report["attribution"]["other"])) < D("1e-18")
