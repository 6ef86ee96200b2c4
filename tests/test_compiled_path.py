"""The compiled hot path changes the cost of a backtest, never its outcome.

The same recording and strategy run three ways: the replay's compiled loop with the quote
gate (what a backtest uses), the gate called through ordinary listeners (any other feed),
and the plain Python path (no hook: BookUpdated to on_book, plan_orders on every update).
Every order state change and every fill must be the same, in the same order, at the same
simulated time. The recording is a random walk with a gap and trades through the quotes,
so bursts end for every reason the loop has (gap, snapshot, timers, fills).
"""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from app.data.store import load_events
from app.domain import BookUpdated, OrderFilled, OrderUpdated
from app.engine.bot import Bot
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from connectors.replay.feed import ReplayFeed
from strategies.simple_quoter import SimpleQuoter
from tests.synthetic_recordings import diff, snapshot, trade, write_recording

PARAMS = {"order_amount": "0.002", "bid_spread_bps": "1", "ask_spread_bps": "1.5", "order_levels": 2,
          "level_step_bps": "1", "refresh_tolerance_bps": "0.3", "refresh_seconds": 5, "inventory_skew_bps": "0.5"}


def _price(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}"


def _walk(seed: int = 3, messages: int = 2500) -> list[dict]:
    """A snapshot, chained diffs moving the top of book, a gap with a second snapshot, and
    trades printing through levels on both sides."""
    rng = random.Random(seed)
    mid = 6_000_000  # 60,000.00 in ticks of 0.01
    uid = 1000
    out: list[dict] = [snapshot(uid, [[_price(mid - 5 - i), "1.00000"] for i in range(20)],
                                [[_price(mid + 5 + i), "1.00000"] for i in range(20)])]
    trade_id = 1
    for n in range(messages):
        step = rng.choice((-300, -40, -10, 0, 0, 0, 0, 0, 10, 40, 300))
        old_bid, old_ask = mid - 5, mid + 5
        mid += step
        bids = [[_price(old_bid), "0.00000"]] if step else []
        asks = [[_price(old_ask), "0.00000"]] if step else []
        bids += [[_price(mid - 5 - i), f"{rng.randint(1, 300_000) / 100_000:.5f}"] for i in range(3)]
        asks += [[_price(mid + 5 + i), f"{rng.randint(1, 300_000) / 100_000:.5f}"] for i in range(3)]
        if n == 1200:  # a gap: the chain breaks, the book is stale until the next snapshot
            uid += 50
        out.append(diff(uid + 1, uid + 3, bids, asks))
        uid += 3
        if n == 1260:
            out.append(snapshot(uid, [[_price(mid - 5 - i), "2.00000"] for i in range(20)],
                                [[_price(mid + 5 + i), "2.00000"] for i in range(20)]))
        if rng.random() < 0.4:
            sell = rng.random() < 0.5
            distance = rng.randint(0, 1600)
            price = mid - distance if sell else mid + distance
            out.append(trade(trade_id, _price(price), f"{rng.randint(1, 500_000) / 100_000:.5f}", sell))
            trade_id += 1
    return out


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = write_recording(tmp_path_factory.mktemp("walk") / "walk.gz", _walk())
    return load_events([path], cache_dir=path.parent / "cache")


def _run(recording, *, gate: bool, fast_loop: bool, speed: float = 1.0,
         start_ns: int | None = None) -> tuple[list[tuple], object]:
    events, meta = recording
    clock = SimClock(int(events["ts_ns"][0]) if start_ns is None else start_ns)
    feed = ReplayFeed(events, meta, clock, speed=speed, on_finished=clock.stop)
    paper = PaperConnector(feed, {"USDT": "10000", "BTC": "0.2"}, clock, order_latency_ns=20_000_000,
                           cancel_latency_ns=20_000_000)
    strategy = SimpleQuoter(PARAMS)
    if not gate:
        strategy.market_hook = lambda: None  # the plain Python path: on_book on every update
    seen: list[tuple] = []

    def record(event) -> None:
        if isinstance(event, OrderUpdated):
            o = event.order
            seen.append(("order", clock.now_ns(), o.side.value, o.price_ticks, o.amount_lots, o.status.value))
        elif isinstance(event, OrderFilled):
            f = event.fill
            seen.append(("fill", clock.now_ns(), f.side.value, f.price, f.amount, f.is_maker))

    paper.add_listener(record)
    if not fast_loop:
        feed.add_listener(lambda event: None, (BookUpdated,))  # a view: the loop must not skip its events
    feed.start()
    paper.start()
    bot = Bot("walk", paper, meta.instrument.symbol, strategy)
    bot.start()
    clock.run()
    done: list[bool] = []
    bot.stop(lambda: done.append(True))
    clock.run(until_ns=clock.now_ns() + 5_000_000_000)
    assert done and feed.finished
    return seen, bot


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
