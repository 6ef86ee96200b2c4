"""One scripted market on paper trading, the scene the single-market strategy tests share.

A SimClock, a ScriptedFeed with a book set by hand and a started PaperConnector on it:
each strategy's test file puts its strategy and a Bot on top, with its own book, balances
and latencies where the default scene (TST/USD at 100.00 / 100.02, 10,000 USD and 100 TST,
5 ms latency) does not fit.
"""
from __future__ import annotations

import logging

from app.domain import Instrument
from app.engine.bot import Bot
from app.interfaces.clock import SimClock
from app.interfaces.strategy import Strategy, StrategyContext
from connectors.paper.connector import PaperConnector
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000
S = 1_000 * MS


def paper_market(instrument: Instrument = INST, *, bids: dict[int, int] | None = None,
                 asks: dict[int, int] | None = None, balances: dict[str, str] | None = None,
                 start_ns: int = S, latency_ns: int = 5 * MS,
                 **paper_options) -> tuple[SimClock, ScriptedFeed, PaperConnector]:
    """(clock, feed, paper) with the book set and the paper venue started; `paper_options`
    go to the PaperConnector (leverage, ...)."""
    clock = SimClock(start_ns)
    feed = ScriptedFeed(instrument, clock)
    feed.set_levels(bids=bids or {10000: 5000}, asks=asks or {10002: 5000})
    paper = PaperConnector(feed, balances or {"USD": "10000", "TST": "100"}, clock, order_latency_ns=latency_ns,
                           cancel_latency_ns=latency_ns, **paper_options)
    paper.start()
    return clock, feed, paper


def open_quotes(paper: PaperConnector) -> list[tuple[str, int, int]]:
    """(side, price ticks, lots) of the open orders, sorted."""
    return sorted((o.side.value, o.price_ticks, o.amount_lots) for o in paper.open_orders())


def run_ms(clock: SimClock, ms: float = 50) -> None:
    """Lets the scene run `ms` milliseconds of simulated time."""
    clock.run(until_ns=clock.now_ns() + int(ms * MS))


def started_on_empty_book(strategy: Strategy, instrument: Instrument, balances: dict[str, str]) -> Bot:
    """A bot started with `strategy` on a market with no book (no latency): for the checks
    a strategy makes at its start (a market kind it cannot trade)."""
    clock = SimClock(S)
    paper = PaperConnector(ScriptedFeed(instrument, clock), balances, clock)
    bot = Bot(strategy.name, paper, instrument.symbol, strategy)
    bot.start()
    return bot


def bound_to_book(strategy: Strategy, instrument: Instrument, *, bids: dict[int, int], asks: dict[int, int],
                  balances: dict[str, str], **paper_options) -> Strategy:
    """`strategy` bound (not started) to a paper venue on a book set by hand, as the bot
    form binds one for its preview and checks."""
    clock = SimClock(1_000 * S)
    feed = ScriptedFeed(instrument, clock)
    feed.set_levels(bids=bids, asks=asks)
    paper = PaperConnector(feed, balances, clock, **paper_options)
    strategy.bind(StrategyContext(clock, paper, feed, instrument, logging.getLogger("t")))
    return strategy
