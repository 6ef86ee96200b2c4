"""Pure market making: each feature's decision on hand-built books and fills.

The market is tests/paper_support.INST (tick 0.01, lot 0.001, maker 0.1%, taker 0.2%) with
others' best bid 100.00 and best ask 100.02 (mid 100.01) unless a test says otherwise.
Prices below are worked out by hand: a bid 2 bp under 100.01 is floor(10001 x 0.9998) =
9998 ticks, an ask 2 bp over it ceil(10001 x 1.0002) = 10004 ticks. Orders are paper
orders with 5 ms latency; time is simulated.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from app.config.bot_config import load_config
from app.config.schema import ConfigError
from app.domain import BookUpdated, Instrument, Side
from app.engine.bot import Bot, BotState
from app.interfaces.clock import SimClock
from app.interfaces.strategy import MarketContext, Quote, StrategyContext
from connectors.paper.connector import PaperConnector
from strategies.pmm.inventory import InventoryCost, skew_scales
from strategies.pmm.params import derive
from strategies.pmm.quotes import compute_quotes
from strategies.pure_market_making import PureMarketMaking
from strategies.quoting import UNITS
from strategies.registry import STRATEGIES
from tests.paper_support import INST, ScriptedFeed
from tests.strategy_support import open_quotes, paper_market

MS = 1_000_000
S = 1_000 * MS
ROOT = Path(__file__).resolve().parents[1]
BASE = {"order_amount": "0.1", "bid_spread": 2, "ask_spread": 2, "order_refresh_time": 10, "filled_order_delay": 0}


class Rig:
    """A bot running pure market making on paper against a scripted book."""

    def __init__(self, params: dict | None = None, balances: dict | None = None,
                 bids: dict | None = None, asks: dict | None = None) -> None:
        self.clock, self.feed, self.paper = paper_market(bids=bids, asks=asks, balances=balances)
        self.strategy = PureMarketMaking({**BASE, **(params or {})})
        self.bot = Bot("t", self.paper, INST.symbol, self.strategy)
        self.bot.start()
        self.run()

    def run(self, ns: int = 50 * MS) -> None:
        self.clock.run(until_ns=self.clock.now_ns() + ns)

    def quotes(self) -> list[tuple[str, int, int]]:
        return open_quotes(self.paper)

    def prices(self) -> list[tuple[str, int]]:
        return sorted((o.side.value, o.price_ticks) for o in self.paper.open_orders())

    def ids(self, side: Side | None = None) -> set[str]:
        return {o.client_order_id for o in self.paper.open_orders() if side is None or o.side is side}

    def sell_into_bids(self, price: int = 9990) -> None:
        """A large sell prints through our bid (fills it)."""
        self.feed.trade((price, 100_000, -1))
        self.run()

    def buy_into_asks(self, price: int = 10020) -> None:
        self.feed.trade((price, 100_000, 1))
        self.run()


# -- levels and refresh ---------------------------------------------------------------------
def test_levels_step_out_in_price_and_amount():
    rig = Rig({"order_levels": 3, "order_level_spread": 10, "order_level_amount": "0.05"})
    assert rig.quotes() == [("buy", 9978, 200), ("buy", 9988, 150), ("buy", 9998, 100),
                            ("sell", 10004, 100), ("sell", 10014, 150), ("sell", 10024, 200)]


def test_orders_wait_for_the_refresh_time_then_move():
    rig = Rig({"order_refresh_time": 5})
    first = rig.ids()
    rig.feed.set_levels(bids={10000: 0, 10050: 5000}, asks={10002: 0, 10052: 5000})
    rig.run(S)
    assert rig.ids() == first  # not yet: Hummingbot refreshes every order_refresh_time
    rig.run(5 * S)
    assert rig.prices() == [("buy", 10048), ("sell", 10054)]  # mid 100.51 -+ 2 bp


def test_tolerance_keeps_orders_and_a_larger_move_replaces_them():
    rig = Rig({"order_refresh_time": 1, "order_refresh_tolerance_pct": "0.05"})  # 5 bp: about 5 ticks
    first = rig.ids()
    rig.feed.set_levels(bids={10000: 0, 10002: 5000}, asks={10002: 0, 10004: 5000})
    rig.run(2 * S)
    assert rig.ids() == first
    rig.feed.set_levels(bids={10002: 0, 10030: 5000}, asks={10004: 0, 10032: 5000})
    rig.run(2 * S)
    assert not rig.ids() & first
    assert rig.prices() == [("buy", 10028), ("sell", 10034)]


def test_refresh_time_zero_follows_every_price_change():
    rig = Rig({"order_refresh_time": 0})
    rig.feed.set_levels(bids={10000: 0, 10010: 5000}, asks={10002: 0, 10012: 5000})
    rig.run()
    assert rig.prices() == [("buy", 10008), ("sell", 10014)]


def test_max_order_age_replaces_orders_within_the_tolerance():
    rig = Rig({"order_refresh_time": 1, "order_refresh_tolerance_pct": 1, "max_order_age": 3})
    first = rig.ids()
    rig.run(2 * S)
    assert rig.ids() == first
    rig.run(2 * S)
    assert rig.ids() and not rig.ids() & first
    assert rig.prices() == [("buy", 9998), ("sell", 10004)]


def test_unchanged_book_reads_no_orders():
    rig = Rig({"order_refresh_time": 0})
    reads = []
    original = rig.bot.orders.open_orders
    rig.bot.orders.open_orders = lambda *a: reads.append(1) or original(*a)  # type: ignore[method-assign]
    for qty in range(1, 50):
        rig.feed.set_levels(bids={9000: qty})  # far from the top: the quotes cannot change
    rig.run()
    assert reads == []
    rig.feed.set_levels(bids={10000: 0, 10010: 5000}, asks={10002: 0, 10012: 5000})
    assert reads  # the mid moved: orders are looked at


def test_minimum_spread_cancels_at_once_between_refreshes():
    rig = Rig({"order_refresh_time": 60, "minimum_spread": "1.5"})
    bid_ids = rig.ids(Side.BUY)
    rig.feed.set_levels(bids={10000: 0, 10002: 5000}, asks={10002: 0, 10004: 5000})  # mid 100.03
    rig.run()
    # Our ask at 100.04 is now 1 bp from the mid: cancelled at once; the bid, 5 bp away, stays.
    assert rig.ids(Side.BUY) == bid_ids
    assert rig.prices() == [("buy", 9998)]
    rig.run(60 * S)  # the next refresh quotes both sides again
    assert rig.prices() == [("buy", 10000), ("sell", 10006)]


def test_filled_order_delay_holds_new_orders_back():
    rig = Rig({"filled_order_delay": 5})
    rig.sell_into_bids()
    assert rig.bot.pnl.buys == 1
    assert [side for side, _ in rig.prices()] == ["sell"]
    rig.run(4 * S)
    assert [side for side, _ in rig.prices()] == ["sell"]
    rig.run(2 * S)
    assert [side for side, _ in rig.prices()] == ["buy", "sell"]


# -- inventory --------------------------------------------------------------------------------
def test_skew_beyond_the_range_quotes_only_the_side_that_rebalances():
    rig = Rig({"inventory_skew_enabled": True}, balances={"USD": "10000", "TST": "50"})
    assert rig.quotes() == [("buy", 9998, 200)]  # a third in base, target a half: bids doubled, no asks


def test_skew_inside_the_range_scales_sizes():
    rig = Rig({"inventory_skew_enabled": True, "inventory_range_multiplier": 500},
              balances={"USD": "10000", "TST": "50"})
    # Target 74.99 TST within +-50: 50 held is 25% of the range -> bids x1.4999, asks x0.5001.
    assert rig.quotes() == [("buy", 9998, 149), ("sell", 10004, 50)]


def test_skew_scales_by_hand():
    assert skew_scales(Decimal(50), Decimal(5000), Decimal(100), Decimal(50), Decimal(1), Decimal(1000)) == (
        UNITS, UNITS)
    assert skew_scales(Decimal(0), Decimal(100), Decimal(1), Decimal(50), Decimal(1), Decimal(1)) == (2 * UNITS, 0)
    assert skew_scales(Decimal(100), Decimal(0), Decimal(1), Decimal(50), Decimal(1), Decimal(1)) == (0, 2 * UNITS)


def test_inventory_cost_follows_buys_and_survives_sells():
    cost = InventoryCost()
    cost.start(Decimal(1), Decimal(100))
    cost.on_fill(Side.BUY, Decimal(90), Decimal(1), Decimal("0.2"))
    assert cost.price == Decimal("95.1")
    cost.on_fill(Side.SELL, Decimal(120), Decimal("1.5"), Decimal(0))
    assert cost.price == Decimal("95.1") and cost.amount == Decimal("0.5")
    cost.on_fill(Side.SELL, Decimal(120), Decimal(1), Decimal(0))
    assert cost.price is None


def test_inventory_cost_limit_keeps_asks_at_or_above_cost():
    rig = Rig({"inventory_cost_price": "limit", "inventory_cost_start_price": "100.10"})
    assert rig.prices() == [("buy", 9998), ("sell", 10010)]
    assert rig.strategy.reference_prices()["inventory cost"] == Decimal("100.10")


def test_inventory_cost_moves_with_own_buys():
    rig = Rig({"inventory_cost_price": "track", "inventory_cost_start_price": "100"})
    rig.sell_into_bids()
    # 100 TST at 100 plus 0.1 at 99.98 with a 0.009998 USD fee.
    expected = (Decimal(10000) + Decimal("9.998") + Decimal("0.009998")) / Decimal("100.1")
    assert rig.strategy.reference_prices()["inventory cost"] == expected


# -- hanging orders, ping-pong, price band ---------------------------------------------------
def test_hanging_order_survives_refresh_and_is_cancelled_beyond_its_pct():
    rig = Rig({"hanging_orders_enabled": True, "hanging_orders_cancel_pct": 1, "order_refresh_time": 1})
    ask_ids = rig.ids(Side.SELL)
    rig.sell_into_bids()  # the bid fills: the ask hangs
    rig.feed.set_levels(bids={10000: 0, 9960: 5000}, asks={10002: 0, 9962: 5000})  # mid 99.61
    rig.run(2 * S)
    assert ask_ids <= rig.ids(Side.SELL)  # kept although far off the wanted price
    assert rig.prices() == [("buy", 9959), ("sell", 9963), ("sell", 10004)]
    rig.feed.set_levels(bids={9960: 0, 9899: 5000}, asks={9962: 0, 9901: 5000})  # mid 99.00: 1.05% away
    rig.run()
    assert not ask_ids & rig.ids()  # cancelled at once, before the next refresh
    rig.run(2 * S)
    assert rig.prices() == [("buy", 9898), ("sell", 9902)]


def test_without_hanging_orders_the_other_side_is_refreshed():
    rig = Rig({"order_refresh_time": 1})
    ask_ids = rig.ids(Side.SELL)
    rig.sell_into_bids()
    rig.feed.set_levels(bids={10000: 0, 10040: 5000}, asks={10002: 0, 10042: 5000})
    rig.run(2 * S)
    assert not ask_ids & rig.ids()


def test_ping_pong_alternates_sides_until_balanced():
    rig = Rig({"ping_pong_enabled": True})
    rig.sell_into_bids()
    assert [side for side, _ in rig.prices()] == ["sell"]
    rig.buy_into_asks()
    assert [side for side, _ in rig.prices()] == ["buy", "sell"]


def test_price_ceiling_and_floor():
    assert [s for s, _ in Rig({"price_ceiling": 99}).prices()] == ["sell"]  # 100.01 above the ceiling
    assert [s for s, _ in Rig({"price_floor": 101}).prices()] == ["buy"]
    assert [s for s, _ in Rig({"price_ceiling": 101, "price_floor": 99}).prices()] == ["buy", "sell"]


def test_moving_price_band_recentres_after_its_refresh_time():
    rig = Rig({"moving_price_band_enabled": True, "moving_price_band_ceiling_pct": 1,
               "moving_price_band_floor_pct": 1, "moving_price_band_refresh_time": 60, "order_refresh_time": 1})
    assert rig.strategy.reference_prices()["band ceiling"] == Decimal("101.01")
    rig.feed.set_levels(bids={10000: 0, 10200: 5000}, asks={10002: 0, 10202: 5000})  # 102.01: above the band
    rig.run(2 * S)
    assert [s for s, _ in rig.prices()] == ["sell"]
    rig.run(60 * S)
    assert [s for s, _ in rig.prices()] == ["buy", "sell"]
    assert rig.strategy.reference_prices()["band floor"] == Decimal("100.99")


# -- prices -----------------------------------------------------------------------------------
def test_order_optimisation_jumps_inside_others_but_not_our_own_orders():
    rig = Rig({"order_optimization_enabled": True, "order_refresh_time": 0, "order_levels": 2,
               "order_level_spread": 10}, bids={9900: 5000}, asks={10100: 5000})
    # Mid 100.00: 99.98 and 99.88 shift down to just inside 99.00; asks up to just inside 101.00.
    assert rig.prices() == [("buy", 9891), ("buy", 9901), ("sell", 10099), ("sell", 10109)]
    rig.feed.set_levels(bids={9901: 100})  # the venue shows our own bid: nothing to jump
    rig.run()
    assert rig.prices()[:2] == [("buy", 9891), ("buy", 9901)]
    rig.feed.set_levels(bids={9901: 150})  # 50 lots of others joined us at 99.01
    rig.run()
    assert rig.prices()[:2] == [("buy", 9892), ("buy", 9902)]


def test_order_optimisation_ignores_dust_up_to_the_depth():
    rig = Rig({"order_optimization_enabled": True, "order_refresh_time": 0, "bid_order_optimization_depth": "0.06"},
              bids={9900: 5000, 9950: 50}, asks={10100: 5000})
    assert rig.prices()[0] == ("buy", 9901)  # the 0.05 at 99.50 is dust


def test_transaction_costs_widen_prices_by_the_fee():
    rig = Rig({"add_transaction_costs": True})
    assert rig.prices() == [("buy", 9988), ("sell", 10015)]  # 99.98 x 0.999, 100.04 x 1.001 (rounded outwards)


@pytest.mark.parametrize("price_type, expected", [
    ("mid_price", [("buy", 9998), ("sell", 10004)]),
    ("best_bid", [("buy", 9998), ("sell", 10002)]),
    ("best_ask", [("buy", 9999), ("sell", 10005)]),
])
def test_book_price_types(price_type, expected):
    assert Rig({"price_type": price_type}).prices() == expected


def test_last_price_uses_the_last_public_trade():
    rig = Rig({"price_type": "last_price", "order_refresh_time": 0})
    assert rig.prices() == [("buy", 9998), ("sell", 10004)]  # no trade yet: the mid
    rig.feed.trade((9999, 1, -1))  # the reference follows the trade without waiting for a book update
    rig.run()
    assert rig.prices() == [("buy", 9997), ("sell", 10001)]


def test_last_own_trade_price_and_crossing_quotes_are_skipped():
    rig = Rig({"price_type": "last_own_trade_price", "order_refresh_time": 0})
    rig.sell_into_bids()  # our bid filled at 99.98
    # Reference 99.98: bid 99.96; the ask at 100.00 would cross the best bid 100.00: skipped.
    assert rig.prices() == [("buy", 9996)]


def test_inventory_cost_price_type():
    rig = Rig({"price_type": "inventory_cost", "inventory_cost_price": "track",
               "inventory_cost_start_price": "100.5"})
    assert rig.prices() == [("sell", 10053)]  # the bid (100.47) would cross the best ask


def test_take_if_crossed_sends_a_taker_limit():
    skipped = Rig({"price_type": "best_bid", "bid_spread": 0, "ask_spread": 0})
    assert skipped.prices() == [("buy", 10000)]
    taken = Rig({"price_type": "best_bid", "bid_spread": 0, "ask_spread": 0, "take_if_crossed": True,
                 "filled_order_delay": 60})
    assert taken.bot.pnl.sells == 1 and taken.bot.pnl.fills == 1
    assert taken.bot.pnl.fees_quote == Decimal("0.02") and taken.bot.pnl.maker_fills == 0  # the taker rate (0.2% of 10.00)


def test_order_override_replaces_the_levels():
    rig = Rig({"order_override": "buy 5 0.1; sell 3 0.2; sell 6 0.1", "order_levels": 5})
    assert rig.quotes() == [("buy", 9995, 100), ("sell", 10005, 200), ("sell", 10008, 100)]


def test_order_override_from_yaml_entries(tmp_path):
    path = tmp_path / "pmm.yaml"
    path.write_text("strategy:\n  name: pure_market_making\n  params:\n    order_override:\n"
                    "      - {side: buy, spread: 5, amount: 0.1}\n      - [sell, 3, 0.2]\n")
    params = load_config(path).params
    assert str(params["order_override"]) == "buy 5 0.1; sell 3 0.2"


def test_external_price_source():
    clock = SimClock(1_000 * MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    other = Instrument("TST/EUR", "TST", "EUR", Decimal("0.1"), Decimal("0.001"))
    source_feed = ScriptedFeed(other, clock, name="elsewhere")
    source_feed.set_levels(bids={999: 10}, asks={1001: 10})  # mid 100.0 in 0.1 ticks
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=5 * MS)
    source_venue = PaperConnector(source_feed, {"EUR": "1"}, clock, name="elsewhere")
    paper.start()
    strategy = PureMarketMaking({**BASE, "price_source": "external_market", "order_refresh_time": 0})
    ctx = StrategyContext(clock, paper, feed, INST, logging.getLogger("test"), markets={
        "market": MarketContext("market", paper, feed, INST),
        "price_source": MarketContext("price_source", source_venue, source_feed, other)})
    for publisher in (feed, source_feed):
        publisher.add_listener(lambda e: strategy.on_book(e) if isinstance(e, BookUpdated) else None)
    strategy.start(ctx)
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    assert sorted((o.side.value, o.price_ticks) for o in paper.open_orders()) == [("buy", 9998), ("sell", 10002)]
    source_feed.set_levels(bids={999: 0, 1001: 10}, asks={1001: 0, 1003: 10})  # 100.2 there
    clock.run(until_ns=clock.now_ns() + 50 * MS)
    # Bid 100.17 would cross our market's ask 100.02: skipped; ask ceil(100.2 x 1.0002).
    assert sorted((o.side.value, o.price_ticks) for o in paper.open_orders()) == [("sell", 10023)]


def test_external_price_source_without_its_market_stops_the_bot_with_the_reason():
    rig = Rig({"price_source": "external_market"})
    assert rig.bot.state is not BotState.RUNNING
    assert "price_source" in rig.bot.error and "external_market" in rig.bot.error


# -- the pure computation ----------------------------------------------------------------------
def test_compute_quotes_is_a_function_of_its_integers():
    qp = derive(PureMarketMaking({**BASE}).params, INST)
    args = dict(best_bid=10000, best_ask=10002, top_bid=0, top_ask=0, bid_scale=UNITS, ask_scale=UNITS,
                bid_cap=0, ask_min=0, ceiling=0, floor=0, pingpong=0)
    both = [Quote(Side.BUY, 9998, 100), Quote(Side.SELL, 10004, 100)]
    assert compute_quotes(qp, 20002, **args) == both
    assert compute_quotes(qp, 0, **args) == []
    assert compute_quotes(qp, 20002, **{**args, "pingpong": 1}) == both[1:]
    assert compute_quotes(qp, 20002, **{**args, "pingpong": -2}) == both[:1]
    assert compute_quotes(qp, 20002, **{**args, "bid_cap": 9990, "ask_min": 10010}) == [
        Quote(Side.BUY, 9990, 100), Quote(Side.SELL, 10010, 100)]
    assert compute_quotes(qp, 20002, **{**args, "bid_scale": UNITS // 2}) == [
        Quote(Side.SELL, 10004, 100)]  # 50 lots at 99.98 are below the 5 USD minimum notional


# -- checks -------------------------------------------------------------------------------------
def test_fee_warning_when_spreads_cannot_pay_the_fees():
    (warning,) = PureMarketMaking(BASE).fee_warnings(INST)
    assert "4 bp" in warning and "20 bp" in warning
    assert PureMarketMaking({**BASE, "add_transaction_costs": True}).fee_warnings(INST) == []
    assert PureMarketMaking({**BASE, "bid_spread": 10, "ask_spread": 10}).fee_warnings(INST) == []


def test_order_amounts_cover_every_level():
    strategy = PureMarketMaking({**BASE, "order_levels": 3, "order_level_amount": "0.05"})
    assert strategy.order_amounts_base() == [Decimal("0.1"), Decimal("0.15"), Decimal("0.2")]


@pytest.mark.parametrize("params, field", [
    ({"bid_spread": -1}, "bid_spread"),
    ({"order_levels": 0}, "order_levels"),
    ({"price_ceiling": 100, "price_floor": 101}, "price_floor"),
    ({"price_ceiling": "-0.5"}, "price_ceiling"),
    ({"order_levels": 3, "order_level_amount": "-0.05"}, "order_level_amount"),
    ({"price_type": "inventory_cost"}, "price_type"),
    ({"price_type": "vwap"}, "price_type"),
    ({"order_override": "hold 1 0.1"}, "order_override[0].side"),
    ({"order_override": [["buy", 1]]}, "order_override[0]"),
    ({"hanging_orders_cancel_pct": 0}, "hanging_orders_cancel_pct"),
    ({"order_refresh_tolerance_pct": "nan"}, "order_refresh_tolerance_pct"),
])
def test_bad_parameters_name_the_field(tmp_path, params, field):
    with pytest.raises(ConfigError) as caught:
        PureMarketMaking(params)
    assert caught.value.field_path == field
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps({"strategy": {"name": "pure_market_making", "params": params}}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.field_path == f"strategy.params.{field}"
    assert str(caught.value).startswith(f"{path}: strategy.params.{field}: ")


def test_live_edit_checks_the_fields_together():
    strategy = PureMarketMaking({**BASE, "price_ceiling": 100})
    with pytest.raises(ConfigError) as caught:
        strategy.apply_params({"price_floor": 101})
    assert caught.value.field_path == "price_floor"
    assert strategy.params["price_floor"] == Decimal(-1)
    assert strategy.apply_params({"price_floor": 99}) == {"price_floor": (Decimal(-1), Decimal(99))}


def test_live_edit_takes_effect():
    rig = Rig()
    rig.bot.update_params({"bid_spread": "10"}, who="test")
    rig.run()
    assert rig.prices() == [("buy", 9990), ("sell", 10004)]


def test_stale_book_cancels_everything():
    rig = Rig()
    rig.feed.go_stale("gap")
    rig.run()
    assert rig.paper.open_orders() == []
    rig.feed.resync()
    rig.feed.set_levels(bids={10000: 5000})
    rig.run()
    assert rig.prices() == [("buy", 9998), ("sell", 10004)]


def test_registered_with_its_roles():
    assert STRATEGIES["pure_market_making"] is PureMarketMaking
    assert [role.name for role in PureMarketMaking.roles] == ["market", "price_source"]
    assert PureMarketMaking.roles[1].optional


def test_example_config_backtests_with_fills_through_the_cli(tmp_path):
    report_path = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "main.py", "backtest", "--config",
                             "resources/configs/pure_market_making.yaml", "--duration", "60", "--report", str(report_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert report["fills"] > 0
    assert report["open_orders_at_exit"] == 0
