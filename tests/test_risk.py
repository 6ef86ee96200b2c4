"""Per-bot risk limits, cancel-all and flatten, on hand-built books (ScriptedFeed + paper
trading in simulated time): each limit refuses or breaches, a breach stops the bot
cleanly and is journaled, another bot on the same account goes on, flatten closes."""
from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from app.cli import main as cli_main
from app.config.bot_config import load_config, parse_config
from app.config.schema import ConfigError, Schema
from app.domain import Instrument, OrderStatus, OrderType, Side
from app.engine.bot import Bot, BotState
from app.engine.journal import JournalStore
from app.engine.report import build_report, format_summary
from app.engine.risk import journaled_risk, parse_risk
from app.interfaces.clock import SimClock
from app.interfaces.strategy import Strategy
from connectors.paper.connector import PaperConnector
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000
S = 1_000 * MS
DAY = 86_400 * S

PERP = Instrument(symbol="TST/USD:USD", base="TST", quote="USD", tick_size=D("0.01"), lot_size=D("0.001"),
                  min_notional=D("5"), maker_fee=D("0.001"), taker_fee=D("0.002"), kind="linear")


class Manual(Strategy):
    """Places exactly what the test asks for and nothing else."""

    name = "manual"
    title = "Manual"
    schema = Schema(())

    def on_book(self, event) -> None:
        pass

    def place(self, side: Side, lots: int, ticks: int, kind: OrderType = OrderType.LIMIT):
        return self.ctx.connector.place_order(self.ctx.instrument.symbol, side, kind, lots, ticks)


class Market:
    """A scripted book with one bid and one ask level that moves as a whole."""

    def __init__(self, instrument=INST, balances=None, start_ns=1_000 * MS, depth=5000):
        self.clock = SimClock(start_ns)
        self.feed = ScriptedFeed(instrument, self.clock)
        self.levels = ({}, {})
        self.depth = depth
        self.move(10000, 10002)
        self.paper = PaperConnector(self.feed, balances or {"USD": "1000", "TST": "5"}, self.clock,
                                    order_latency_ns=5 * MS, cancel_latency_ns=5 * MS)
        self.paper.start()

    def move(self, bid: int, ask: int, bid_depth: dict[int, int] | None = None) -> None:
        old_bids, old_asks = self.levels
        bids = {p: 0 for p in old_bids} | (bid_depth or {bid: self.depth})
        asks = {p: 0 for p in old_asks} | {ask: self.depth}
        self.feed.set_levels(bids=bids, asks=asks)
        self.levels = ({p: q for p, q in bids.items() if q}, {ask: self.depth})

    def run(self, ns: int) -> None:
        self.clock.run(until_ns=self.clock.now_ns() + ns)

    def bot(self, name="r", risk=None, strategy=None, journal=None, source="test") -> Bot:
        limits = parse_risk(risk, source) if risk is not None else None
        bot = Bot(name, self.paper, self.feed.instrument.symbol, strategy or Manual(), journal=journal, risk=limits)
        bot.start()
        return bot


def quoter() -> SimpleQuoter:
    return SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": 2, "ask_spread_bps": 2, "refresh_seconds": 60})


# -- per-order limits: refused before they leave ---------------------------------------------------------
def test_an_order_above_max_order_size_is_refused_with_the_reason_and_never_sent():
    m = Market()
    bot = m.bot(risk={"max_order_size": "0.5"})
    order = bot.strategy.place(Side.BUY, 600, 9990)
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "risk: order size 0.6 TST > max_order_size 0.5 TST"
    assert m.paper.get_order(order.client_order_id) is None  # the venue never saw it
    assert bot.rejects == 1 and bot.risk.refused == {"max_order_size": 1}
    assert bot.strategy.place(Side.BUY, 500, 9990).status is OrderStatus.PENDING_CREATE  # at the limit: sent


def test_max_open_orders_counts_open_orders_but_not_those_being_cancelled():
    m = Market()
    bot = m.bot(risk={"max_open_orders": 2})
    first = bot.strategy.place(Side.BUY, 100, 9990)
    bot.strategy.place(Side.BUY, 100, 9989)
    third = bot.strategy.place(Side.SELL, 100, 10010)
    assert third.status is OrderStatus.REJECTED and third.reason == "risk: 2 open orders, max_open_orders 2 reached"
    m.run(10 * MS)
    bot.orders.cancel_order(first.client_order_id)  # pending cancel: its cancel went out first
    assert bot.strategy.place(Side.SELL, 100, 10010).status is OrderStatus.PENDING_CREATE
    assert bot.strategy.place(Side.SELL, 100, 10011).status is OrderStatus.REJECTED
    assert bot.risk.refused == {"max_open_orders": 2}


def test_max_order_rate_is_counted_over_a_sliding_window():
    m = Market()
    bot = m.bot(risk={"max_order_rate": 0.5, "order_rate_window_seconds": 4})  # 2 orders in any 4 s
    assert bot.strategy.place(Side.BUY, 100, 9990).status is OrderStatus.PENDING_CREATE
    m.run(1 * S)
    assert bot.strategy.place(Side.BUY, 100, 9989).status is OrderStatus.PENDING_CREATE
    m.run(2 * S)
    refused = bot.strategy.place(Side.BUY, 100, 9988)
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason == "risk: 2 orders in the last 4 s, max_order_rate 0.5/s allows 2"
    m.run(1 * S + MS)  # the first order left the window; the refused one never counted
    assert bot.strategy.place(Side.BUY, 100, 9988).status is OrderStatus.PENDING_CREATE
    assert bot.strategy.place(Side.BUY, 100, 9987).status is OrderStatus.REJECTED


def test_max_inventory_refuses_an_order_whose_fill_could_exceed_it_and_allows_reducing_ones():
    m = Market()
    bot = m.bot(risk={"max_inventory": "1.5"})
    bot.strategy.place(Side.BUY, 1000, 10002, OrderType.IOC)
    m.run(10 * MS)
    assert bot.pnl.base_delta == D("1")
    assert bot.strategy.place(Side.BUY, 400, 9900).status is OrderStatus.PENDING_CREATE  # up to 1.4
    refused = bot.strategy.place(Side.BUY, 200, 9899)  # with the resting 0.4: 1.6
    assert refused.status is OrderStatus.REJECTED
    assert refused.reason == ("risk: inventory could reach +1.6 TST if this buy and the bot's other buys fill, "
                              "beyond max_inventory 1.5 TST")
    assert bot.strategy.place(Side.SELL, 2500, 10100).status is OrderStatus.PENDING_CREATE  # down to -1.5
    assert bot.strategy.place(Side.SELL, 100, 10101).status is OrderStatus.REJECTED  # -1.6
    assert bot.risk.refused == {"max_inventory": 2}


def test_max_position_limits_a_perpetual_in_contracts():
    m = Market(PERP, balances={"USD": "10000"})
    bot = m.bot(risk={"max_position": "1"})
    bot.strategy.place(Side.BUY, 800, 10002, OrderType.IOC)
    m.run(10 * MS)
    assert bot.pnl.position_lots == 800
    refused = bot.strategy.place(Side.BUY, 300, 9990)
    assert refused.status is OrderStatus.REJECTED and "position could reach +1.1 contracts" in refused.reason
    assert "max_position 1 contracts" in refused.reason
    assert bot.strategy.place(Side.SELL, 1800, 10010).status is OrderStatus.PENDING_CREATE  # to -1


def test_a_refusal_is_journaled_like_a_venue_refusal(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    m = Market()
    bot = m.bot(risk={"max_order_size": "0.1"}, journal=store)
    order = bot.strategy.place(Side.SELL, 200, 10010)
    rows = [r for r in store.records(bot="r") if r["kind"] == "order"]
    assert rows == [{**rows[0], "id": order.client_order_id, "status": "rejected",
                     "reason": "risk: order size 0.2 TST > max_order_size 0.1 TST"}]
    start = next(r for r in store.records(bot="r") if r["kind"] == "start")
    assert start["risk"]["max_order_size"] == "0.1"
    store.close()


# -- PnL limits: a breach stops the bot -------------------------------------------------------------------
def test_the_kill_switch_stops_the_bot_cleanly_and_journals_the_breach(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    m = Market(balances={"USD": "500", "TST": "5"})  # starting value 500 + 5 x 100.01 = 1000.05 USD
    bot = m.bot(risk={"kill_switch_loss_pct": "0.05"}, strategy=quoter(), journal=store)
    other = m.bot("other", strategy=quoter())  # same account, no limits
    m.run(50 * MS)
    m.feed.trade((9990, 100_000, -1))  # both bids fill: +0.1 TST each
    m.run(50 * MS)
    assert bot.pnl.base_delta == D("0.1") and bot.state is BotState.RUNNING
    m.move(9000, 9002)  # no fill: the timer at the mark finds the loss
    m.run(1_100 * MS)
    assert bot.state is BotState.STOPPED and bot.open_orders() == []
    assert bot.stopped_by.startswith("risk: kill switch: loss 1.0")
    assert "% of the starting value 1000.05 USD > kill_switch_loss_pct 0.05%" in bot.stopped_by
    assert bot.status().stopped_by == bot.stopped_by and bot.error is None
    kinds = [r["kind"] for r in store.records(bot="r")]
    assert kinds.index("risk_breach") < kinds.index("stop") < kinds.index("stopped") == len(kinds) - 1
    breach = next(r for r in store.records(bot="r") if r["kind"] == "risk_breach")
    assert breach["limit"] == "kill_switch_loss_pct" and breach["reason"] == bot.stopped_by
    assert breach["start_value"] == "1000.05" and breach["mark"] == "90.01"
    assert store.bot("r").state == "stopped" and not store.orders(bot="r", open_only=True)
    # The other bot on the same account goes on quoting.
    assert other.state is BotState.RUNNING and len(other.open_orders()) == 2
    report = build_report(bot, venue="paper", mode="simulated")
    assert report["risk"]["stopped_by"] == bot.stopped_by
    assert report["risk"]["breach"]["limit"] == "kill_switch_loss_pct"
    assert f"stopped by {bot.stopped_by}" in format_summary(report)
    store.close()


def test_the_profit_kill_switch_takes_the_profit():
    m = Market(balances={"USD": "1000", "TST": "0"})
    bot = m.bot(risk={"kill_switch_profit_pct": "1"})
    bot.strategy.place(Side.BUY, 2000, 10002, OrderType.IOC)  # 2 TST
    m.run(10 * MS)
    m.move(10400, 10402)  # +2 x 4 = +8 USD: 0.8%
    m.run(2 * S)
    assert bot.state is BotState.RUNNING
    m.move(10600, 10602)  # +12 USD: 1.2%
    m.run(2 * S)
    assert bot.state is BotState.STOPPED
    assert bot.stopped_by.startswith("risk: kill switch: profit 11.5")
    assert bot.stopped_by.endswith("> kill_switch_profit_pct 1%")


def test_max_daily_loss_is_checked_right_after_a_fill():
    m = Market()
    bot = m.bot(risk={"max_daily_loss": "0.1"})
    bot.strategy.place(Side.BUY, 1000, 10002, OrderType.IOC)  # taker: half the spread and a 0.2 USD fee
    m.run(10 * MS)  # well before the timer's first check
    assert bot.state is BotState.STOPPED
    assert bot.stopped_by == "risk: daily loss 0.21004 USD > max_daily_loss 0.1 USD"


def test_max_daily_loss_counts_each_utc_day_of_the_clock_from_its_start():
    m = Market(start_ns=20_000 * DAY - 10 * S)  # ten seconds before midnight UTC
    bot = m.bot(risk={"max_daily_loss": "0.5"})
    bot.strategy.place(Side.BUY, 1000, 10002, OrderType.IOC)
    m.run(10 * MS)
    m.move(9980, 9982)  # PnL -0.41 today
    m.run(15 * S)  # past midnight: the new day counts from here
    assert bot.state is BotState.RUNNING
    m.move(9950, 9952)  # -0.71 in all, -0.30 today
    m.run(2 * S)
    assert bot.state is BotState.RUNNING
    m.move(9920, 9922)  # -0.60 today
    m.run(2 * S)
    assert bot.state is BotState.STOPPED
    assert bot.stopped_by == "risk: daily loss 0.6 USD > max_daily_loss 0.5 USD"


# -- flatten and cancel-all --------------------------------------------------------------------------------
def test_flatten_cancels_everything_then_brings_the_inventory_back():
    m = Market(balances={"USD": "1000", "TST": "5"})
    bot = m.bot(strategy=quoter())
    m.run(50 * MS)
    m.feed.trade((9990, 100_000, -1))
    m.run(50 * MS)
    assert bot.pnl.base_delta == D("0.1") and bot.open_orders()  # its ask still rests
    bot.flatten(who="test")
    m.run(50 * MS)
    assert bot.state is BotState.STOPPED and bot.open_orders() == [] and m.paper.open_orders() == []
    assert bot.pnl.base_delta == 0 and m.paper.balances()["TST"].total == D("5")
    flat = bot.risk.report()["flatten"]
    assert flat["status"] == "closed" and flat["by"] == "test" and flat["side"] == "sell"
    assert flat["amount"] == "0.1" and flat["worst_price"] == "99.5" and flat["left"] == "0"
    with pytest.raises(RuntimeError, match="only a running bot can flatten"):
        bot.flatten()


def test_flatten_stays_within_its_slippage_bound_and_reports_what_is_left():
    m = Market(balances={"USD": "1000", "TST": "0"})
    bot = m.bot(risk={"flatten_on_stop": True, "flatten_slippage_bps": 50})
    bot.strategy.place(Side.BUY, 100, 10002, OrderType.IOC)
    m.run(10 * MS)
    m.move(10000, 10002, bid_depth={10000: 40, 9900: 5000})  # 0.04 at the touch, the rest 1% away
    bot.stop()
    m.run(50 * MS)
    assert bot.state is BotState.STOPPED and m.paper.open_orders() == []
    assert bot.pnl.base_delta == D("0.06")
    flat = build_report(bot, venue="paper", mode="simulated")["risk"]["flatten"]
    assert flat["by"] == "flatten_on_stop" and flat["left"] == "0.06"
    assert flat["status"] == "partly closed: no more liquidity within 50 bp"


def test_a_breach_with_flatten_on_stop_closes_a_perpetual_position():
    m = Market(PERP, balances={"USD": "10000"})
    bot = m.bot(risk={"max_daily_loss": "1", "flatten_on_stop": True})
    bot.strategy.place(Side.SELL, 2000, 10000, OrderType.IOC)  # short 2 contracts
    m.run(10 * MS)
    assert bot.pnl.position_lots == -2000
    m.move(10100, 10102)  # -2 x 1.01 - fees: a loss beyond 1 USD
    m.run(2 * S)
    assert bot.state is BotState.STOPPED and bot.stopped_by.startswith("risk: daily loss")
    assert bot.pnl.position_lots == 0 and m.paper.open_orders() == []


def test_cancel_all_cancels_every_order_and_the_bot_goes_on():
    m = Market()
    bot = m.bot(strategy=quoter())
    m.run(50 * MS)
    ids = bot.cancel_all(who="test")
    assert len(ids) == 2
    m.run(50 * MS)
    assert bot.state is BotState.RUNNING and bot.audit[-1]["action"] == "cancel_all"
    assert all(m.paper.get_order(i).status is OrderStatus.CANCELLED for i in ids)
    m.move(10000, 10002)  # the next market event: it quotes afresh
    m.run(50 * MS)
    assert len(bot.open_orders()) == 2 and not set(ids) & {o.client_order_id for o in bot.open_orders()}


# -- live edits and configuration --------------------------------------------------------------------------
def test_risk_limits_are_live_editable_with_the_same_schema():
    m = Market()
    bot = m.bot(risk={"max_order_size": "1"})
    with pytest.raises(ConfigError, match="live edit: max_order_size: must be greater than 0"):
        bot.update_risk({"max_order_size": "-1"})
    with pytest.raises(ConfigError, match="live edit: max_inventory_x: unknown parameter"):
        bot.update_risk({"max_inventory_x": "1"})
    with pytest.raises(ConfigError, match="live edit: max_position: .* spot market"):
        bot.update_risk({"max_position": "1"})
    assert bot.risk.limits.get("max_order_size") == D("1")
    assert bot.update_risk({"max_order_size": "0.2"}, who="test") == {"max_order_size": (D("1"), D("0.2"))}
    assert bot.strategy.place(Side.BUY, 300, 9990).status is OrderStatus.REJECTED
    bot.update_risk({"max_order_size": None, "max_daily_loss": "0.1"})
    assert bot.strategy.place(Side.BUY, 300, 9990).status is OrderStatus.PENDING_CREATE
    assert bot.audit[-1]["action"] == "update_risk"
    bot.strategy.place(Side.BUY, 1000, 10002, OrderType.IOC)  # the new PnL limit is enforced at once
    m.run(10 * MS)
    assert bot.state is BotState.STOPPED and "max_daily_loss 0.1" in bot.stopped_by


@pytest.mark.parametrize(
    "risk, field, reason",
    [
        ({"max_order_size": -1}, "risk.max_order_size", "must be greater than 0"),
        ({"max_open_orders": 1.5}, "risk.max_open_orders", "expected a whole number"),
        ({"kill_switch_loss_pct": 150}, "risk.kill_switch_loss_pct", "must be at most 100"),
        ({"max_daily_loss": "lots"}, "risk.max_daily_loss", "expected a number"),
        ({"flatten_on_stop": "yes"}, "risk.flatten_on_stop", "expected true or false"),
        ({"max_order_rate": 0.5}, "risk.max_order_rate", "allows no order at all"),
        ({"max_orders": 3}, "risk.max_orders", "unknown field"),
        ([1, 2], "risk", "expected a mapping of settings"),
    ],
)
def test_bad_risk_values_name_the_field(risk, field, reason):
    with pytest.raises(ConfigError) as caught:
        parse_config({"risk": risk}, "bot.yaml")
    assert caught.value.field_path == field and reason in caught.value.reason
    assert str(caught.value).startswith(f"bot.yaml: {field}: ")


def test_a_limit_of_the_other_market_family_is_refused_when_the_bot_is_built():
    m = Market(PERP, balances={"USD": "10000"})
    with pytest.raises(ConfigError, match="bot.yaml: risk.max_inventory: .*perpetual: limit it with max_position"):
        Bot("p", m.paper, PERP.symbol, Manual(), risk=parse_risk({"max_inventory": 1}, "bot.yaml"))


def test_the_risk_section_is_optional_and_all_off_by_default(tmp_path):
    path = tmp_path / "bot.yaml"
    path.write_text("risk:\n  max_order_size: 0.01\n  flatten_on_stop: true\n")
    cfg = load_config(path)
    assert cfg.risk.get("max_order_size") == D("0.01") and cfg.risk.get("flatten_on_stop") is True
    default = parse_config({}, "none.yaml").risk
    assert not default.any_per_order and not default.any_on_pnl and default.get("flatten_on_stop") is False


def test_a_resumed_bot_gets_its_journaled_limits_back(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    m = Market()
    m.bot(risk={"max_order_size": "0.3", "flatten_on_stop": True}, journal=store)
    back = journaled_risk(store, "r")
    assert parse_risk(back, "journal").values == parse_risk({"max_order_size": "0.3", "flatten_on_stop": True},
                                                            "t").values
    assert journaled_risk(store, "nobody") is None
    store.close()


def test_a_backtest_ends_when_its_bot_breaches_and_the_summary_says_why(tmp_path, capsys):
    config = tmp_path / "risky.yaml"
    text = (Path(__file__).resolve().parents[1] / "resources/configs/demo.yaml").read_text()
    config.write_text(text + "risk:\n  max_daily_loss: 0.000001\n  flatten_on_stop: true\n")
    report_path = tmp_path / "report.json"
    assert cli_main(["backtest", "--config", str(config), "--duration", "600", "--report", str(report_path)]) == 0
    report = json.loads(report_path.read_text())
    assert report["risk"]["stopped_by"].startswith("risk: daily loss")
    assert report["risk"]["flatten"]["left"] == "0" and report["open_orders_at_exit"] == 0
    assert report["simulated_seconds"] < 600
    assert "stopped by risk: daily loss" in capsys.readouterr().out


def test_the_guides_example_parses_and_a_wrong_family_limit_exits_2(tmp_path, capsys):
    guide = (Path(__file__).resolve().parents[1] / "docs/user-guide.md").read_text()
    example = guide.split("```yaml\nrisk:\n", 1)[1].split("```", 1)[0]
    limits = parse_config(yaml.safe_load("risk:\n" + example), "guide").risk
    assert limits.rate_count == 10 and limits.get("flatten_slippage_bps") == D("30")
    config = tmp_path / "spot.yaml"
    text = (Path(__file__).resolve().parents[1] / "resources/configs/demo.yaml").read_text()
    config.write_text(text + "risk:\n  max_position: 1\n")
    assert cli_main(["backtest", "--config", str(config), "--duration", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spot.yaml: risk.max_position: BTC/USDT is a spot market" in err[0]
