"""Pure market making on its compiled gate decides exactly as on its Python path.

The random-walk recording of tests/compiled_support.py (a gap, a second snapshot, trades
through the quotes on both sides) runs through the replay's compiled loop with the gate,
the gate through listeners, and the plain Python path; every order state change and fill
must be the same at the same simulated time. Each parameter mix exercises a different set
of gate features (strategies/pmm/gating.py); the last needs Python on every update.
"""
from __future__ import annotations

import pytest

from strategies.pure_market_making import PureMarketMaking
from tests.compiled_support import run_three_ways, walk_recording

BALANCES = {"USDT": "10000", "BTC": "0.2"}
MIXES = {
    "refresh on every change": {
        "order_amount": "0.002", "bid_spread": "1", "ask_spread": "1.5", "order_levels": 2, "order_level_spread": "1",
        "order_level_amount": "0.001", "order_refresh_time": 0, "order_refresh_tolerance_pct": "0.003",
        "max_order_age": 5, "filled_order_delay": "0.5", "minimum_spread": "0.5", "inventory_skew_enabled": True,
        "inventory_range_multiplier": 4},
    "timed refresh, hanging orders, cost limit": {
        "order_amount": "0.002", "bid_spread": "1", "ask_spread": "1", "order_refresh_time": 2,
        "order_refresh_tolerance_pct": "0.002", "max_order_age": 6, "filled_order_delay": "0.3",
        "hanging_orders_enabled": True, "hanging_orders_cancel_pct": "0.05", "inventory_cost_price": "limit",
        "minimum_spread": "0.2"},
    "last trade reference, ping-pong, override": {
        "price_type": "last_price", "order_refresh_time": 0, "order_refresh_tolerance_pct": "0.002",
        "max_order_age": 4, "filled_order_delay": 0, "ping_pong_enabled": True,
        "order_override": "buy 1 0.002; buy 3 0.003; sell 2 0.002"},
    "best bid reference, take if crossed, ceiling": {
        "price_type": "best_bid", "bid_spread": "0.5", "ask_spread": "0.2", "order_refresh_time": 0,
        "order_refresh_tolerance_pct": "0.003", "max_order_age": 3, "filled_order_delay": 0,
        "take_if_crossed": True, "price_ceiling": "60500"},
    "order optimisation (Python on every update)": {
        "order_refresh_time": 0, "order_refresh_tolerance_pct": "0.002", "max_order_age": 5, "filled_order_delay": 0,
        "order_optimization_enabled": True, "bid_order_optimization_depth": "0.5"},
}


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return walk_recording(tmp_path_factory.mktemp("walk"))


@pytest.mark.parametrize("mix", list(MIXES))
def test_the_gate_decides_exactly_as_the_python_path(recording, mix):
    runs = run_three_ways(recording, lambda: PureMarketMaking(MIXES[mix]), BALANCES)
    compiled, bot = runs["compiled"]
    fills = sum(1 for item in compiled if item[0] == "fill")
    assert fills >= 5 and len(compiled) > 100  # the walk really trades: a test that can fail
    assert compiled == runs["listeners"][0]
    assert compiled == runs["python"][0]
    gate = bot.strategy.market_hook()
    if not gate.every_update:  # the gate kept Python out of most book updates
        assert gate.python_calls < bot.feed.synchronizer.diffs_applied / 2


def test_the_gates_ladder_is_compute_quotes():
    """The gate's C ladder against strategies/pmm/quotes.py on random integers: every
    rule (fee, caps, own lowest ask, crossing, minimum spread, band, ping-pong, scales)."""
    import random

    from strategies.pmm.params import QuoteParams
    from strategies.pmm.quotes import compute_quotes
    from strategies.pmm_gate import PmmGate
    from strategies.quoting import UNITS

    rng = random.Random(7)
    checked = 0
    for _ in range(3000):
        levels = rng.randint(0, 3)
        bids = tuple(sorted((rng.randint(0, 50_000), rng.randint(1, 400)) for _ in range(levels)))
        asks = tuple(sorted((rng.randint(0, 50_000), rng.randint(1, 400)) for _ in range(rng.randint(0, 3))))
        qp = QuoteParams(bid_levels=bids, ask_levels=asks,
                         min_spread_units=rng.choice((-1, 0, 5_000, 20_000)), fee_units=rng.choice((0, 100_000, -20_000)),
                         optimise=False, take_if_crossed=rng.random() < 0.3, cost_limit=False,
                         min_notional_ticks_lots=rng.choice((0, 500_000, 1_200_000)),
                         ceiling_ticks=0, floor_ticks=0)
        mid = rng.randint(5_000, 20_000)
        bb, ba = mid - rng.randint(0, 5), mid + rng.randint(1, 5)
        ref2 = rng.choice((bb + ba, 2 * bb, 2 * ba, 2 * rng.randint(mid - 20, mid + 20), 0))
        scales = (rng.choice((UNITS, UNITS // 2, 0, 2 * UNITS)), rng.choice((UNITS, UNITS // 3, 3 * UNITS)))
        caps = (rng.choice((0, mid - 3, mid + 3)), rng.choice((0, mid + 2, mid - 2)))
        band = (rng.choice((0, mid - 10, mid + 10)), rng.choice((0, mid - 10, mid + 10)))
        pingpong = rng.choice((-1, 0, 0, 1))
        gate = PmmGate()
        gate.configure_pmm(None, list(bids), list(asks), qp.min_spread_units, qp.fee_units, qp.take_if_crossed,
                           int(qp.min_notional_ticks_lots), 0, 1, 0, "mid_price")
        gate.set_inputs(*scales, *caps, *band, pingpong)
        expected = [(q.side.sign, q.price_ticks, q.amount_lots)
                    for q in compute_quotes(qp, ref2, bb, ba, 0, 0, *scales, *caps, *band, pingpong)]
        assert gate.ladder(ref2, bb, ba) == expected
        checked += bool(expected)
    assert checked > 1000
