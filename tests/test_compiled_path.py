"""The compiled hot path changes the cost of a backtest, never its outcome.

The same recording and strategy run three ways: the replay's compiled loop with the quote
gate (what a backtest uses), the gate called through ordinary listeners (any other feed),
and the plain Python path (no hook: BookUpdated to on_book, plan_orders on every update).
Every order state change and every fill must be the same, in the same order, at the same
simulated time. The recording is a random walk with a gap and trades through the quotes,
so bursts end for every reason the loop has (gap, snapshot, timers, fills): see
tests/compiled_support.py, which the other strategies' equivalence tests share.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from strategies.simple_quoter import SimpleQuoter
from tests.compiled_support import run_once, walk_recording

PARAMS = {"order_amount": "0.002", "bid_spread_bps": "1", "ask_spread_bps": "1.5", "order_levels": 2,
          "level_step_bps": "1", "refresh_tolerance_bps": "0.3", "refresh_seconds": 5, "inventory_skew_bps": "0.5"}
BALANCES = {"USDT": "10000", "BTC": "0.2"}


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return walk_recording(tmp_path_factory.mktemp("walk"))


def _run(recording, *, gate: bool, fast_loop: bool, speed: float = 1.0,
         start_ns: int | None = None) -> tuple[list[tuple], object]:
    return run_once(recording, lambda: SimpleQuoter(PARAMS), BALANCES, gate=gate, fast_loop=fast_loop, speed=speed,
                    start_ns=start_ns)


def test_the_compiled_path_decides_exactly_as_the_python_path(recording):
    compiled, bot = _run(recording, gate=True, fast_loop=True)
    listeners, _ = _run(recording, gate=True, fast_loop=False)
    python, _ = _run(recording, gate=False, fast_loop=False)
    fills = sum(1 for item in compiled if item[0] == "fill")
    assert fills >= 10 and len(compiled) > 200  # the walk really trades: a test that can fail
    assert compiled == listeners
    assert compiled == python
    # The gate kept Python out of most book updates.
    assert bot.strategy.market_hook().python_calls < bot.feed.synchronizer.diffs_applied / 2


def test_the_gate_keeps_time_on_the_clock_not_the_recording(recording):
    """At twice the recorded pace on a clock that starts at 0, the recording's timestamps
    and the clock disagree. Refresh deadlines are on the clock, so the gate must be given
    the clock's time: given the recorded time, every deadline would look past due and the
    gate would call Python on every update (decisions still equal, the point lost)."""
    compiled, bot = _run(recording, gate=True, fast_loop=True, speed=2.0, start_ns=0)
    python, _ = _run(recording, gate=False, fast_loop=False, speed=2.0, start_ns=0)
    assert sum(1 for item in compiled if item[0] == "fill") >= 5
    assert compiled == python
    assert bot.strategy.market_hook().python_calls < bot.feed.synchronizer.diffs_applied / 2


def test_the_gates_ladder_is_the_strategys_ladder(recording):
    """Previews and the gate share one implementation: a fresh strategy's preview on a
    book equals the quotes the gate acted on at that moment."""
    events, meta = recording
    _, bot = _run(recording, gate=True, fast_loop=True)
    strategy = bot.strategy
    quotes = strategy.wanted_quotes()
    book = bot.feed.book
    assert quotes and all(q.amount_lots == 200 for q in quotes)
    bids = [q.price_ticks for q in quotes if q.side.value == "buy"]
    asks = [q.price_ticks for q in quotes if q.side.value == "sell"]
    assert max(bids) < min(asks)
    mid2 = book.best_bid_ticks + book.best_ask_ticks
    assert max(bids) <= mid2 // 2 and min(asks) >= -(-mid2 // 2)
    assert Decimal(str(meta.instrument.tick_size)) == Decimal("0.01")
