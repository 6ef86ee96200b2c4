"""Avellaneda-Stoikov on its compiled gate decides exactly as on its Python path.

The random-walk recording of tests/compiled_support.py runs through the replay's
compiled loop with the gate (its ladder and the trade prints' record in C), the gate
through listeners, and the plain Python path (on_book, on_trades); every order state
change and fill must be the same at the same simulated time. Small buffers make the model
quote after a few seconds, and the volatility samples, fills and pauses refresh it often.
"""
from __future__ import annotations

import pytest

from strategies.avellaneda_stoikov import AvellanedaStoikov
from tests.compiled_support import run_three_ways, walk_recording

BALANCES = {"USDT": "10000", "BTC": "0.2"}
BASE = {"order_amount": "0.002", "risk_factor": "0.5", "volatility_buffer_size": 5,
        "trading_intensity_buffer_size": 30, "infinite_horizon_seconds": "0.5", "order_refresh_time": 5,
        "order_refresh_tolerance_bps": "0.3", "filled_order_delay": "0.4"}
MIXES = {
    "two levels, shaped sizes, min spread": {"order_levels": 2, "level_distances": 40,
                                             "order_amount_shape_factor": 2, "min_spread": "1"},
    "one level, no pause": {"filled_order_delay": 0, "order_refresh_tolerance_bps": "0.1"},
    "hanging orders (Python on every update while they rest)": {"hanging_orders_enabled": True,
                                                                "hanging_orders_cancel_pct": "0.02"},
}


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    return walk_recording(tmp_path_factory.mktemp("walk"))


@pytest.mark.parametrize("mix", list(MIXES))
def test_the_gate_decides_exactly_as_the_python_path(recording, mix):
    runs = run_three_ways(recording, lambda: AvellanedaStoikov({**BASE, **MIXES[mix]}), BALANCES)
    compiled, bot = runs["compiled"]
    fills = sum(1 for item in compiled if item[0] == "fill")
    assert fills >= 5 and len(compiled) > 100  # the model really quotes and trades
    assert compiled == runs["listeners"][0]
    assert compiled == runs["python"][0]
    gate = bot.strategy.market_hook()
    if not MIXES[mix].get("hanging_orders_enabled"):  # the gate kept Python out of most book updates
        assert gate.python_calls < bot.feed.synchronizer.diffs_applied / 2


def test_warming_up_the_gate_stays_idle_with_the_same_orders_and_log_lines(recording, caplog):
    """Until the buffers are full the strategy has nothing to do but say why: the gate skips
    those calls (strategies/as_gate.pyx, idle) and the run stays the Python path's, down to
    the log lines and when they come."""
    import logging

    from tests.compiled_support import run_once

    class Counted(AvellanedaStoikov):
        """Notes the gate's Python calls and the book updates when the first order goes out."""

        at_first_order: tuple[int, int] | None = None

        def on_order(self, event) -> None:  # noqa: ANN001
            if self.at_first_order is None:
                hook = self._gate
                self.at_first_order = (hook.python_calls, self.ctx.feed.synchronizer.diffs_applied)
            super().on_order(event)

    params = {**BASE, "volatility_buffer_size": 20, "trading_intensity_buffer_size": 120}
    runs = {}
    for name, gate, fast in (("compiled", True, True), ("python", False, False)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="colibri"):
            seen, bot = run_once(recording, lambda: Counted(params), BALANCES, gate=gate, fast_loop=fast)
        runs[name] = (seen, [(r.name, r.getMessage()) for r in caplog.records], bot)
    compiled, python = runs["compiled"], runs["python"]
    assert any(item[0] == "fill" for item in compiled[0]) and compiled[0] == python[0]
    assert any("warming up" in message for _, message in compiled[1]) and compiled[1] == python[1]
    calls, updates = compiled[2].strategy.at_first_order
    assert updates > 200 and calls < updates / 10  # about one call per volatility sample while warming up
