"""Runs one strategy over one recording three ways, for the compiled-path equivalence tests,
and the random-walk recording they share.

The replay's compiled loop with the strategy's gate (what a backtest uses), the gate
called through ordinary listeners (any other feed), and the plain Python path (no hook:
BookUpdated to on_book, TradesEvent to on_trades). What the tests compare: every order
state change and every fill, in order, at its simulated time.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

from app.data.store import load_events
from app.domain import BookUpdated, OrderFilled, OrderUpdated
from app.engine.bot import Bot
from app.interfaces.clock import SimClock
from app.interfaces.strategy import Strategy
from connectors.paper.connector import PaperConnector
from connectors.replay.feed import ReplayFeed
from tests.synthetic_recordings import diff, snapshot, trade, write_recording


def _price(ticks: int) -> str:
    return f"{ticks // 100}.{ticks % 100:02d}"


def walk(seed: int = 3, messages: int = 2500) -> list[dict]:
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


def walk_recording(folder: Path):
    """`walk()` written as a recording in `folder` and loaded: (events, meta)."""
    path = write_recording(folder / "walk.gz", walk())
    return load_events([path], cache_dir=path.parent / "cache")


def run_three_ways(recording, make: Callable[[], Strategy], balances: dict[str, str]) -> dict[str, tuple[list, Bot]]:
    """{"compiled", "listeners", "python"}: (what happened, the bot)."""
    return {name: run_once(recording, make, balances, gate=gate, fast_loop=fast)
            for name, gate, fast in (("compiled", True, True), ("listeners", True, False), ("python", False, False))}


def run_once(recording, make: Callable[[], Strategy], balances: dict[str, str], *, gate: bool,
             fast_loop: bool, speed: float = 1.0, start_ns: int | None = None) -> tuple[list[tuple], Bot]:
    """One run: `gate` False takes the plain Python path, `fast_loop` False keeps a view on
    the feed (the gate through listeners); `start_ns` starts the clock elsewhere than the
    recording's first time, `speed` replays faster or slower."""
    events, meta = recording
    clock = SimClock(int(events["ts_ns"][0]) if start_ns is None else start_ns)
    feed = ReplayFeed(events, meta, clock, speed=speed, on_finished=clock.stop)
    paper = PaperConnector(feed, balances, clock, order_latency_ns=20_000_000, cancel_latency_ns=20_000_000)
    strategy = make()
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
