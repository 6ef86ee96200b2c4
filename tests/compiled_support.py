"""Runs one strategy over one recording three ways, for the compiled-path equivalence tests.

The replay's compiled loop with the strategy's gate (what a backtest uses), the gate
called through ordinary listeners (any other feed), and the plain Python path (no hook:
BookUpdated to on_book, TradesEvent to on_trades). What the tests compare: every order
state change and every fill, in order, at its simulated time.
"""
from __future__ import annotations

from typing import Callable

from app.domain import BookUpdated, OrderFilled, OrderUpdated
from app.engine.bot import Bot
from app.interfaces.clock import SimClock
from app.interfaces.strategy import Strategy
from connectors.paper.connector import PaperConnector
from connectors.replay.feed import ReplayFeed


def run_three_ways(recording, make: Callable[[], Strategy], balances: dict[str, str]) -> dict[str, tuple[list, Bot]]:
    """{"compiled", "listeners", "python"}: (what happened, the bot)."""
    return {name: run_once(recording, make, balances, gate=gate, fast_loop=fast)
            for name, gate, fast in (("compiled", True, True), ("listeners", True, False), ("python", False, False))}


def run_once(recording, make: Callable[[], Strategy], balances: dict[str, str], *, gate: bool,
             fast_loop: bool) -> tuple[list[tuple], Bot]:
    events, meta = recording
    clock = SimClock(int(events["ts_ns"][0]))
    feed = ReplayFeed(events, meta, clock, speed=1.0, on_finished=clock.stop)
    paper = PaperConnector(feed, balances, clock, order_latency_ns=20_000_000, cancel_latency_ns=20_000_000)
    strategy = make()
    if not gate:
        strategy.market_hook = lambda: None  # the plain Python path
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
