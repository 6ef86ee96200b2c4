"""Avellaneda-Stoikov on hand-built books and trade streams, in simulated time.

The standard scene: TST/USD (tick 0.01, lot 0.001), mid 100.00; eight trade prints whose
distances to the mid (0.01 x4, 0.02 x2, 0.03 x2) make the intensity survival 8, 4, 2: an
exact line ln(lambda) = c - kappa delta with kappa = ln 2 / 0.01 = 69.3147 per price unit;
then the mid alternates 100.00 / 100.02 once a second for five samples: four changes of
0.02 in 4 s, sigma^2 = 0.0004 per second (sigma = 0.02).
"""
from __future__ import annotations

import logging
import math
from decimal import Decimal

import numpy as np
import pytest

from app.config.bot_config import parse_config
from app.config.schema import ConfigError
from app.domain import BTC_USDT_PERP, Side
from app.engine.bot import Bot, BotState
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from strategies.avellaneda_model import evaluate, inventory_deviation, shaped_lots
from strategies.avellaneda_stoikov import AvellanedaStoikov
from strategies.estimators import IntensityEstimator, VolatilityEstimator
from strategies.execution_timeframe import window_from_params
from strategies.registry import STRATEGIES
from tests.paper_support import INST, ScriptedFeed
from tests.strategy_support import bound_to_book, open_quotes, paper_market, started_on_empty_book

MS = 1_000_000
S = 1_000_000_000
DAY_START = 1_767_225_600 * S  # 2026-01-01 00:00:00 UTC
KAPPA = math.log(2) / 0.01

BASE = {"order_amount": "1", "risk_factor": 10, "volatility_buffer_size": 5, "trading_intensity_buffer_size": 8,
        "infinite_horizon_seconds": 60, "filled_order_delay": 0, "order_refresh_tolerance_bps": 0,
        "order_refresh_time": 600}


def scene(params=None, balances=None, start_ns=1_000 * S, step=2):
    """Runs the standard scene up to the fifth volatility sample; returns (clock, feed, paper, bot)."""
    clock, feed, paper = paper_market(bids={9999: 50_000}, asks={10001: 50_000},
                                      balances=balances or {"TST": "60", "USD": "4000"}, start_ns=start_ns, latency_ns=0)
    bot = Bot("as", paper, INST.symbol, AvellanedaStoikov({**BASE, **(params or {})}))
    bot.start()
    feed.trade((10001, 1, 1), (9999, 1, -1), (10001, 1, 1), (9999, 1, -1),
               (10002, 1, 1), (9998, 1, -1), (10003, 1, 1), (9997, 1, -1))
    t0 = clock.now_ns()
    for i in range(1, 5):
        up = i % 2
        feed.set_levels(bids={9999: 0 if up else 50_000, 9999 + step: 50_000 if up else 0},
                        asks={10001: 0 if up else 50_000, 10001 + step: 50_000 if up else 0})
        clock.run(until_ns=t0 + i * S)
    return clock, feed, paper, bot


# -- the model on the book -------------------------------------------------------------------
def test_reservation_price_moves_against_inventory_by_the_formula():
    # 60 TST + 4000 USD at 100: 100 TST in all, target 50: q = (60 - 50) / 100 = +0.1.
    _, _, paper, bot = scene()
    model = bot.strategy.model()
    assert model.q == pytest.approx(0.1)
    assert model.sigma == pytest.approx(0.02)
    assert model.kappa == pytest.approx(KAPPA)
    # r = 100 - 0.1 x 10 x 0.0004 x 60 = 99.976
    assert model.reservation == pytest.approx(99.976)
    # spread = 10 x 0.0004 x 60 + (2/10) ln(1 + 10/69.3147) = 0.24 + 0.2 x 0.134768 = 0.266954
    assert model.spread == pytest.approx(0.2669536, abs=1e-6)
    # bid 99.976 - 0.133477 = 99.8425 -> 99.84; ask 99.976 + 0.133477 = 100.1095 -> 100.11
    assert open_quotes(paper) == [("buy", 9984, 1000), ("sell", 10011, 1000)]
    refs = bot.strategy.reference_prices()
    assert refs == {"mid": Decimal("100.00"), "reservation price": Decimal("99.98"),
                    "optimal bid": Decimal("99.84"), "optimal ask": Decimal("100.11")}


def test_short_inventory_moves_the_reservation_price_up_and_flat_leaves_it_at_the_mid():
    # 40 TST + 6000 USD: q = (40 - 50) / 100 = -0.1: r = 100 + 0.024
    _, _, _, short = scene(balances={"TST": "40", "USD": "6000"})
    assert short.strategy.model().reservation == pytest.approx(100.024)
    _, _, _, flat = scene(balances={"TST": "50", "USD": "5000"})
    assert flat.strategy.model().reservation == pytest.approx(100.0)


def test_spread_widens_with_risk_aversion_and_with_volatility():
    def spread(params=None, step=2):
        _, _, paper, bot = scene(params, step=step)
        prices = {side: price for side, price, _ in open_quotes(paper)}
        return bot.strategy.model().spread, prices["sell"] - prices["buy"]

    base_model, base_ticks = spread()
    gamma_model, gamma_ticks = spread({"risk_factor": 20})
    vol_model, vol_ticks = spread(step=4)  # mid changes of 0.04: sigma 0.04
    assert gamma_model > base_model and gamma_ticks > base_ticks
    assert vol_model > base_model and vol_ticks > base_ticks
    # 20 x 0.0004 x 60 + 0.1 ln(1 + 20/69.3147) = 0.48 + 0.1 x 0.253509
    assert gamma_model == pytest.approx(0.5053509, abs=1e-6)


def test_min_spread_floors_the_spread_around_the_reservation_price():
    # 100 bp of 100.00 = 1.00 > 0.267: bid 99.976 - 0.5 = 99.476 -> 99.47, ask 100.476 -> 100.48
    _, _, paper, bot = scene({"min_spread": 100})
    assert bot.strategy.model().spread == pytest.approx(1.0)
    assert [(side, price) for side, price, _ in open_quotes(paper)] == [("buy", 9947), ("sell", 10048)]


def test_levels_sit_level_distances_percent_of_the_spread_further_out():
    # step = 50% of 0.266954 = 0.133477: bid 99.8425 - 0.1335 = 99.7090 -> 99.70; ask 100.2430 -> 100.25
    _, _, paper, _ = scene({"order_levels": 2, "level_distances": 50})
    assert [(s, p) for s, p, _ in open_quotes(paper)] == [("buy", 9970), ("buy", 9984), ("sell", 10011), ("sell", 10025)]


def test_shape_factor_shrinks_the_side_that_grows_the_deviation():
    # q = +0.1, eta 5: bids are 1000 lots x exp(-0.5) = 606.5 -> 606, asks the full 1000
    _, _, paper, _ = scene({"order_amount_shape_factor": 5})
    assert [(s, lots) for s, _, lots in open_quotes(paper)] == [("buy", 606), ("sell", 1000)]


# -- estimators -------------------------------------------------------------------------------
def test_kappa_from_a_synthetic_exponential_trade_stream():
    """Distances drawn from an exponential with kappa 20 per price unit (mean 0.05),
    printed on the 0.01 grid, both sides of the mid, through the feed."""
    rng = np.random.default_rng(11)
    clock = SimClock(1_000 * S)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={9999: 50_000}, asks={10001: 50_000})
    strategy = AvellanedaStoikov({**BASE, "trading_intensity_buffer_size": 4000})
    paper = PaperConnector(feed, {"TST": "50", "USD": "5000"}, clock)
    bot = Bot("as", paper, INST.symbol, strategy)
    bot.start()
    ticks = np.floor(rng.exponential(1 / 20, 4000) / 0.01).astype(int)
    sides = rng.choice([-1, 1], 4000)
    for chunk in range(0, 4000, 100):
        clock.run(until_ns=clock.now_ns() + 100 * MS)
        rows = [(10000 + int(s) * int(k), 1, int(s)) for k, s in zip(ticks[chunk:chunk + 100], sides[chunk:chunk + 100])]
        feed.trade(*rows)
    a, kappa = strategy._intensity.fit()
    assert kappa == pytest.approx(20, rel=0.08)
    assert a == pytest.approx(4000 / 3.9, rel=0.15)  # every print at distance >= 0, over 3.9 s


def test_volatility_estimator_counts_gaps_as_time():
    est = VolatilityEstimator(4)
    for second, mid in ((0, 100.0), (1, 100.1), (3, 100.0), (4, 100.2)):  # a missing sample at 2 s
        est.add(second * S, mid)
    # (0.01 + 0.01 + 0.04) / 4 s
    assert est.is_full and est.sigma() == pytest.approx(math.sqrt(0.06 / 4))
    est.add(5 * S, 100.2)  # the oldest sample leaves: (0.01 + 0.04 + 0) / 4 s
    assert est.sigma() == pytest.approx(math.sqrt(0.05 / 4))


def test_intensity_fit_needs_prints_that_thin_out():
    est = IntensityEstimator(4)
    for d in (0.01, 0.01, 0.01):
        est.add(0, d)
    assert est.fit() is None  # one distance only


def _unique_fit(distances: list[float], ts: list[int]) -> tuple[float, float] | None:
    """The fit as first written (np.unique over the buffer, np.sum): the reference."""
    levels, counts = np.unique(np.array(distances), return_counts=True)
    if len(levels) < 2:
        return None
    at_least = np.cumsum(counts[::-1])[::-1].astype(np.float64)
    y = np.log(at_least / max((ts[-1] - ts[0]) / S, 1.0))
    w = at_least
    x_mean = float(np.sum(w * levels) / np.sum(w))
    y_mean = float(np.sum(w * y) / np.sum(w))
    spread = float(np.sum(w * (levels - x_mean) ** 2))
    kappa = -float(np.sum(w * (levels - x_mean) * (y - y_mean))) / spread
    return (math.exp(y_mean + kappa * x_mean), kappa) if spread > 0 and kappa > 0 else None


def test_intensity_fit_is_the_buffers_exact_fit_as_prints_come_and_go():
    """The distances are counted print by print (the oldest leaving the buffer uncounted):
    every fit equals, bit for bit, the one computed from the buffer's contents."""
    rng = np.random.default_rng(7)
    est = IntensityEstimator(50)
    scaled = IntensityEstimator(50)
    kept: list[tuple[int, float]] = []
    ts = 0
    fits = 0
    size = 50
    for batch in range(300):
        n = int(rng.integers(1, 12))
        times = [ts + i * 1_000_000 for i in range(n)]
        ts += 400_000_000
        half_ticks = (rng.geometric(0.3, n) * rng.choice([-1, 1], n)).tolist()
        distances = [d * 0.005 for d in half_ticks]
        est.add_many(times, distances)
        scaled.add_many(times, half_ticks, 0.005)  # the same prints given in half ticks
        kept = (kept + [(t, round(abs(d), 9)) for t, d in zip(times, distances)])[-size:]
        if batch == 150:
            size = 30
            est.resize(size)
            scaled.resize(size)
            kept = kept[-size:]
        expected = _unique_fit([d for _, d in kept], [t for t, _ in kept])
        assert est.fit() == expected and scaled.fit() == expected and len(est) == len(kept)
        fits += expected is not None
    assert fits > 200


def test_model_formulas_by_hand():
    m = evaluate(100.0, 0.5, 2.0, 0.1, 4.0, 10.0, 0.0)
    assert m.reservation == pytest.approx(100 - 0.5 * 2 * 0.01 * 10)  # 99.9
    assert m.spread == pytest.approx(2 * 0.01 * 10 + (2 / 2) * math.log(1 + 2 / 4))  # 0.2 + ln 1.5
    assert inventory_deviation(Decimal(1), Decimal(100), Decimal(100), Decimal(50)) == 0.0
    assert inventory_deviation(Decimal(2), Decimal(0), Decimal(100), Decimal(0)) == 1.0
    assert shaped_lots(1000, -0.2, 1.0) == (1000, 818)


# -- warm-up and time -------------------------------------------------------------------------
def test_no_quotes_until_both_buffers_are_full(caplog):
    clock = SimClock(1_000 * S)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={9999: 50_000}, asks={10001: 50_000})
    paper = PaperConnector(feed, {"TST": "60", "USD": "4000"}, clock, order_latency_ns=0)
    paper.start()
    bot = Bot("as", paper, INST.symbol, AvellanedaStoikov(BASE))
    with caplog.at_level(logging.INFO, logger="colibri.bot.as"):
        bot.start()
        clock.run(until_ns=clock.now_ns() + 10 * S)  # volatility full, no trades yet
    assert paper.open_orders() == [] and bot.strategy.model() is None
    assert bot.strategy.reference_prices() == {"mid": Decimal("100.00")}
    assert bot.strategy.preview() == []
    assert any("warming up" in r.message and "trades 0/8" in r.message for r in caplog.records)
    feed.trade(*[(10001 + i % 3, 1, 1) for i in range(7)])
    clock.run(until_ns=clock.now_ns() + S)
    assert paper.open_orders() == []  # 7 of 8 trades
    feed.trade((10001, 1, 1))
    clock.run(until_ns=clock.now_ns() + S)
    assert len(paper.open_orders()) == 2
    assert sorted(q.side.value for q in bot.strategy.preview()) == ["buy", "sell"]


def test_daily_window_quotes_only_inside_it():
    # the scene ends at 07:59:34 UTC; the window is 08:00 - 09:00
    start = DAY_START + (7 * 3600 + 59 * 60 + 30) * S
    clock, feed, paper, bot = scene({"execution_timeframe": "daily_between_times", "execution_start": "08:00",
                                     "execution_end": "09:00"}, start_ns=start)
    assert paper.open_orders() == [] and bot.strategy.model() is None
    clock.run(until_ns=DAY_START + 8 * 3600 * S + S // 2)  # 08:00:00.5: T - t = 3599.5 s
    assert len(paper.open_orders()) == 2
    assert bot.strategy.model().time_left_s == pytest.approx(3599.5)
    clock.run(until_ns=DAY_START + 9 * 3600 * S + S // 2)  # past 09:00: quotes withdrawn
    assert paper.open_orders() == []


def test_windows_by_hand():
    dated = window_from_params({"execution_timeframe": "from_date_to_date", "execution_start": "2026-01-01 00:00",
                                "execution_end": "2026-01-01 01:00"})
    assert dated.time_left_s(DAY_START - S) is None
    assert dated.time_left_s(DAY_START + 600 * S) == 3000
    assert dated.time_left_s(DAY_START + 3600 * S) is None
    overnight = window_from_params({"execution_timeframe": "daily_between_times", "execution_start": "22:00",
                                    "execution_end": "02:00:00"})
    assert overnight.time_left_s(DAY_START + 23 * 3600 * S) == 3 * 3600
    assert overnight.time_left_s(DAY_START + 3600 * S) == 3600
    assert overnight.time_left_s(DAY_START + 12 * 3600 * S) is None
    forever = window_from_params({"execution_timeframe": "infinite", "infinite_horizon_seconds": 42.0})
    assert forever.time_left_s(0) == 42.0


# -- hanging orders ----------------------------------------------------------------------------
def test_hanging_order_stays_after_a_fill_until_it_drifts_too_far():
    clock, feed, paper, bot = scene({"hanging_orders_enabled": True, "hanging_orders_cancel_pct": 1})
    ask = next(o for o in paper.open_orders() if o.side is Side.SELL)
    feed.trade((9980, 5_000, -1))  # a sell prints through our bid at 99.84
    clock.run(until_ns=clock.now_ns() + 10 * MS)
    assert bot.pnl.buys == 1
    feed.set_levels(bids={9999: 0, 9950: 50_000}, asks={10001: 0, 9952: 50_000})  # mid 99.51: new quotes
    clock.run(until_ns=clock.now_ns() + S)
    asks = [o for o in paper.open_orders() if o.side is Side.SELL]
    assert ask.client_order_id in {o.client_order_id for o in asks} and len(asks) == 2
    feed.set_levels(bids={9950: 0, 9850: 50_000}, asks={9952: 0, 9852: 50_000})  # mid 98.51: 100.11 is 1.6% off
    clock.run(until_ns=clock.now_ns() + S)
    assert ask.client_order_id not in {o.client_order_id for o in paper.open_orders()}


# -- parameters and checks ----------------------------------------------------------------------
@pytest.mark.parametrize("params, field", [
    ({"risk_factor": 0}, "risk_factor"),
    ({"volatility_buffer_size": 1}, "volatility_buffer_size"),
    ({"min_spread": -1}, "min_spread"),
    ({"order_levels": 3, "level_distances": 0}, "level_distances"),
    ({"execution_timeframe": "daily_between_times", "execution_end": "09:00"}, "execution_start"),
    ({"execution_timeframe": "daily_between_times", "execution_start": "25:00", "execution_end": "09:00"},
     "execution_start"),
    ({"execution_timeframe": "from_date_to_date", "execution_start": "2026-02-01 00:00",
      "execution_end": "2026-01-01"}, "execution_end"),
    ({"execution_timeframe": "weekly"}, "execution_timeframe"),
    ({"hanging_orders_cancel_pct": 0}, "hanging_orders_cancel_pct"),
])
def test_bad_parameters_name_the_field(params, field):
    with pytest.raises(ConfigError) as err:
        AvellanedaStoikov(params, source="as.yaml")
    assert err.value.field_path.endswith(field)
    assert str(err.value).startswith("as.yaml: ")


def test_a_bad_live_edit_changes_nothing():
    strategy = AvellanedaStoikov(BASE)
    with pytest.raises(ConfigError) as err:
        strategy.update_params({"order_levels": 2})
    assert err.value.field_path == "level_distances"
    assert strategy.params["order_levels"] == 1
    assert strategy.update_params({"order_levels": 2, "level_distances": 25}) == {
        "order_levels": (1, 2), "level_distances": (Decimal("0"), Decimal("25"))}


def test_fee_warnings_and_amounts():
    strategy = AvellanedaStoikov({"min_spread": 10, "order_amount": "0.5"})
    assert "below the round-trip maker fee" in strategy.fee_warnings(INST)[0]  # 20 bp round trip
    assert AvellanedaStoikov({"min_spread": 20}).fee_warnings(INST) == []
    assert "spot markets only" in strategy.fee_warnings(BTC_USDT_PERP)[0]
    assert strategy.order_amounts_base() == [Decimal("0.5")]


def test_a_perpetual_is_refused_at_the_start():
    bot = started_on_empty_book(AvellanedaStoikov(BASE), BTC_USDT_PERP, {"USDT": "1000"})
    assert bot.state is not BotState.RUNNING and "perpetual_market_making" in bot.error


def test_registered_and_loadable_from_a_config():
    assert STRATEGIES["avellaneda_stoikov"] is AvellanedaStoikov
    cfg = parse_config({"strategy": {"name": "avellaneda_stoikov", "params": {"risk_factor": 0.2}}}, "x.yaml")
    assert cfg.build_strategy().params["risk_factor"] == 0.2
    with pytest.raises(ConfigError, match="strategy.params.order_levels"):
        parse_config({"strategy": {"name": "avellaneda_stoikov", "params": {"order_levels": 0}}}, "x.yaml")


def test_preview_binds_without_running():
    strategy = bound_to_book(AvellanedaStoikov(BASE), INST, bids={9999: 50_000}, asks={10001: 50_000},
                             balances={"TST": "60", "USD": "4000"})
    assert strategy.preview() == [] and strategy.reference_prices() == {"mid": Decimal("100.00")}


def test_the_example_config_backtests_with_fills():
    from app.config.bot_config import load_config
    from app.wiring.session import build_session

    config = load_config("resources/configs/avellaneda_stoikov.yaml")
    clock = SimClock(DAY_START)
    session = build_session(config, simulated=True, clock=clock, start_ns=DAY_START)
    session.start()
    clock.run(until_ns=DAY_START + 300 * S)
    assert session.bot.state is BotState.RUNNING and session.bot.pnl.fills > 0
    assert set(session.bot.strategy.reference_prices()) == {"mid", "reservation price", "optimal bid", "optimal ask"}


def test_pairwise_sum_is_numpys_sum_bit_for_bit():
    """The fit's sums run in Python in numpy's order: equal to np.sum to the last bit, for
    short, blocked and recursively split lengths (a naive left-to-right sum is not)."""
    from strategies.estimators import pairwise_sum

    rng = np.random.default_rng(11)
    naive_differs = 0
    for n in list(range(1, 140)) + [255, 256, 257, 1000]:
        values = (rng.uniform(-1, 1, n) * 10.0 ** rng.integers(-8, 8, n)).tolist()
        assert pairwise_sum(values) == float(np.sum(np.array(values)))
        naive_differs += sum(values) != float(np.sum(np.array(values)))
    assert naive_differs > 0
