"""Perpetuals: positions, entry prices, PnL in the settlement asset, margin, funding.

The expected figures are worked out by hand in the comments (Binance's formulas)."""
from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from app.cli import main
from app.domain import BTC_USD_INVERSE, BTC_USDT_PERP, Fill, Order, OrderStatus, OrderType, Side
from app.domain.events import FundingPaid
from app.domain.margin import MarginLedger
from app.interfaces.clock import SimClock
from app.engine.pnl import DerivativesPnl
from connectors.demo.exchange import DemoExchange
from connectors.funding import FUNDING_PERIOD_NS, FundingSchedule
from tests.test_markets import needs_data
from tests.market_variants import make_variant

INV = BTC_USD_INVERSE.with_rules(maker_fee=D("0.0002"))


def _fill(inst, led, pnl, cid, side, price, contracts):
    ticks, lots = inst.price_to_ticks(price), inst.amount_to_lots(contracts)
    order = Order(cid, inst.symbol, side, OrderType.LIMIT, ticks, lots, 0)
    led.lock_for_order(order, inst, ticks)
    fee = led.settle_fill(order, inst, ticks, lots, is_maker=True)
    pnl.on_fill(Fill(cid, cid, inst.symbol, side, D(price), D(contracts), fee, inst.fee_asset, True, 0))
    return fee


def test_inverse_pnl_by_hand() -> None:
    led, pnl = MarginLedger({"BTC": D(1)}, leverage=10), DerivativesPnl(INV)
    # buy 10 contracts (1,000 USD) at 50,000 and 10 at 40,000: entry is the harmonic mean
    # 20 / (10/50,000 + 10/40,000) = 44,444.44...; fees 1000/50000*0.0002 = 0.000004 and
    # 1000/40000*0.0002 = 0.000005 BTC.
    assert _fill(INV, led, pnl, "a", Side.BUY, "50000", "10") == D("0.000004")
    assert _fill(INV, led, pnl, "b", Side.BUY, "40000", "10") == D("0.000005")
    assert led.position(INV.symbol).lots == 20 and round(pnl.entry, 6) == round(D(20) / D("0.00045"), 6)
    # unrealised at 45,000: 2,000 USD x (1/44,444.44 - 1/45,000) = 2000 x 0.0000225 - 2000/45000
    assert round(pnl.unrealized(D(45000)), 12) == round(D(2000) * D("0.0000225") - D(2000) / D(45000), 12)
    # sell all 20 at 45,000: realised 0.000555..., fee 2000/45000 x 0.0002 = 0.00000888...
    fee = _fill(INV, led, pnl, "c", Side.SELL, "45000", "20")
    realized = D(2000) * D("0.0000225") - D(2000) / D(45000)
    assert round(fee, 12) == round(D(2000) / D(45000) * D("0.0002"), 12)
    assert round(pnl.trading_realized, 12) == round(realized, 12)
    assert pnl.position_lots == 0 and pnl.unrealized(D(1)) == 0
    # the wallet got exactly the realised PnL minus the three fees, and nothing stays locked
    wallet = led.balance("BTC")
    assert round(wallet.total, 12) == round(1 + realized - D("0.000009") - fee, 12) and wallet.locked == 0
    assert round(pnl.pnl(D(45000)), 12) == round(wallet.total - 1, 12)


def test_linear_flip_realises_and_reopens_at_the_fill_price() -> None:
    inst = BTC_USDT_PERP
    led, pnl = MarginLedger({"USDT": D(100000)}, leverage=5), DerivativesPnl(inst)
    _fill(inst, led, pnl, "a", Side.BUY, "60000.0", "0.010")   # long 0.01 at 60,000
    _fill(inst, led, pnl, "b", Side.SELL, "61000.0", "0.030")  # close (+10 USDT), short 0.02 at 61,000
    assert pnl.trading_realized == D("10.0000") and pnl.base_delta == D("-0.02") and pnl.entry == D("61000.0")
    assert pnl.unrealized(D("60500")) == D("10.000")  # 0.02 x (61,000 - 60,500)
    # margin kept for the position: 0.02 x 61,000 / 5 = 244 USDT
    assert led.balance("USDT").locked == D("244.000")


def test_an_order_the_margin_cannot_carry_is_rejected_with_the_reason() -> None:
    clock = SimClock(0)
    ex = DemoExchange(clock, balances={"USDT": D(100)}, instrument=BTC_USDT_PERP, leverage=2)
    ex.start()
    clock.run(until_ns=1_000_000_000)
    # 0.01 BTC at 50,000 = 500 USDT of value: 250 USDT of margin at 2x plus the 0.05% taker
    # fee (0.25), with only 100 there.
    order = ex.place_order(BTC_USDT_PERP.symbol, Side.BUY, OrderType.LIMIT, 10, 500_000)
    assert order.status is OrderStatus.REJECTED
    assert order.reason.startswith("insufficient margin: needs 250.25 USDT") and "at 2x" in order.reason


def test_funding_from_the_config_is_paid_at_the_8h_mark() -> None:
    start = 3 * FUNDING_PERIOD_NS - 5_000_000_000  # 5 s before 00:00 UTC
    clock = SimClock(start)
    ex = DemoExchange(clock, balances={"USDT": D(10000)}, instrument=BTC_USDT_PERP)
    schedule = FundingSchedule(ex, ex.feed(BTC_USDT_PERP.symbol), clock, D("0.0001"))
    paid: list[FundingPaid] = []
    ex.add_listener(lambda e: paid.append(e) if isinstance(e, FundingPaid) else None)
    ex.start()
    schedule.start()
    order = ex.place_order(BTC_USDT_PERP.symbol, Side.BUY, OrderType.MARKET, 100)  # long 0.1 BTC
    clock.run(until_ns=start + 1_000_000_000)
    assert order.status is OrderStatus.FILLED
    before = ex.balances()["USDT"].total
    clock.run(until_ns=start + 6_000_000_000)
    assert len(paid) == 1 and paid[0].ts_ns == 3 * FUNDING_PERIOD_NS
    # a long pays: 0.1 BTC x mark x 0.0001
    assert paid[0].amount == -D("0.1") * paid[0].mark * D("0.0001")
    assert ex.balances()["USDT"].total == before + paid[0].amount
    assert ex.position(BTC_USDT_PERP.symbol).funding == paid[0].amount


def _backtest(tmp_path: Path, capsys, name: str, balances: str, amount: str) -> dict:
    import json

    rec = make_variant(name, tmp_path, limit=20_000)
    cfg = tmp_path / "bot.yaml"
    cfg.write_text(f"venue: {{kind: replay}}\nrecordings: [{rec}]\nbalances: {balances}\n"
                   f"strategy: {{name: simple_quoter, params: {{order_amount: {amount}, bid_spread_bps: 0.5, "
                   f"ask_spread_bps: 0.5}}}}\n")
    out = tmp_path / "report.json"
    assert main(["backtest", "--config", str(cfg), "--duration", "600", "--report", str(out)]) == 0
    capsys.readouterr()
    return json.loads(out.read_text())


@needs_data
def test_spot_backtest_pnl_is_the_value_change_at_the_mark(tmp_path: Path, capsys) -> None:
    r = _backtest(tmp_path, capsys, "spot_ethusdt.gz", "{USDT: 10000, ETH: 2}", "0.02")
    assert r["symbol"] == "ETH/USDT" and r["pnl_asset"] == "USDT" and r["fills"] > 0
    start, end, mark = r["start_balances"], r["end_balances"], D(r["mark_price"])
    value = lambda b: D(b["USDT"]["total"]) + D(b["ETH"]["total"]) * mark  # noqa: E731
    assert D(r["pnl"]) == value(end) - value(start) == D(r["pnl_quote"])


@needs_data
@pytest.mark.parametrize("name, balances, amount, asset", [
    ("usdm_ethusdt.gz", "{USDT: 10000}", "0.05", "USDT"),
    ("coinm_btcusd_perp.gz", "{BTC: 1}", "2", "BTC"),
])
def test_perpetual_backtest_names_its_pnl_asset_and_adds_up(tmp_path: Path, capsys, name, balances, amount, asset) -> None:
    r = _backtest(tmp_path, capsys, name, balances, amount)
    assert r["pnl_asset"] == asset and "position" in r and "pnl_quote" not in r and r["fills"] > 0
    wallet_change = D(r["end_balances"][asset]["total"]) - D(r["start_balances"][asset]["total"])
    # PnL = what the wallet gained (realised - fees + funding) + the open position's unrealised PnL
    assert abs(D(r["pnl"]) - (wallet_change + D(r["unrealized_pnl"]))) < D("1e-9")


def test_funding_rate_from_a_recorded_markprice_stream(tmp_path: Path) -> None:
    """A USD-M recording with markPrice messages that spans 00:00 UTC: the recorded rate, not
    the config's, is paid on the position at the funding time."""
    from app.data.binance_recording import parse_recordings
    from app.domain import MarkPrice
    from connectors.paper.connector import PaperConnector
    from connectors.replay.feed import ReplayFeed
    from tests.synthetic_recordings import write_recording

    funding_at = 20_000 * FUNDING_PERIOD_NS
    t0 = funding_at - 2_000_000_000  # 100 ms per line: the funding falls on line 20

    def depth(first, last, prev, bids, asks):
        return {"stream": "ethusdt@depth@0ms", "data": {"e": "depthUpdate", "E": 1, "T": 1, "s": "ETHUSDT",
                                                        "U": first, "u": last, "pu": prev, "b": bids, "a": asks}}

    def mark(rate):
        return {"stream": "ethusdt@markPrice@1s", "data": {"e": "markPriceUpdate", "E": 1, "s": "ETHUSDT",
                                                           "p": "3000.12345678", "r": rate, "T": funding_at // 1_000_000}}
    lines = [depth(1, 5, 0, [["2999.99", "10.01"]], [["3000.01", "10.01"]]),
             {"lastUpdateId": 4, "E": 1, "T": 1, "bids": [["2999.99", "10.01"]], "asks": [["3000.01", "10.01"]]},
             mark("0.00030000")]
    lines += [depth(5 + i, 5 + i, 4 + i, [], []) for i in range(1, 30)]
    events, meta = parse_recordings([write_recording(tmp_path / "f.gz", lines, start_ns=t0)])
    assert meta.instrument.symbol == "ETH/USDT:USDT" and meta.messages["markPrice"] == 1
    clock = SimClock(t0)
    feed = ReplayFeed(events, meta, clock)
    paper = PaperConnector(feed, {"USDT": D(10000)}, clock, order_latency_ns=0)
    schedule = FundingSchedule(paper, feed, clock, rate=D("0.0001"))
    marks, paid = [], []
    feed.add_listener(lambda e: marks.append(e) if isinstance(e, MarkPrice) else None)
    paper.add_listener(lambda e: paid.append(e) if isinstance(e, FundingPaid) else None)
    feed.start()
    schedule.start()
    clock.run(until_ns=t0 + 500_000_000)
    paper.start()
    order = paper.place_order(meta.instrument.symbol, Side.SELL, OrderType.MARKET, 100)  # short 1 ETH
    clock.run(until_ns=funding_at + 500_000_000)  # the schedule re-arms every 8 h: run to a time
    assert order.status is OrderStatus.FILLED and marks[0].funding_rate == D("0.0003")
    assert marks[0].mark == D("3000.12")  # marks are finer than the tick: nearest tick
    # A short receives: 1 ETH x 3000.12 x 0.0003 = 0.900036 USDT, at 00:00 UTC exactly.
    assert len(paid) == 1 and paid[0].ts_ns == funding_at and paid[0].amount == D("0.900036")
