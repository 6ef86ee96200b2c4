"""A hand-driven MarketFeed for the paper-trading tests.

The tests decide every book level and every public trade, so each queue and fill rule can
be checked against numbers worked out by hand. The book is the real compiled OrderBook.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from app.book.orderbook import ASK, BID, OrderBook
from app.domain import TRADE_DTYPE, BookResynced, BookStale, BookUpdated, Instrument, TradesEvent
from app.interfaces.clock import Clock, SimClock
from app.interfaces.venue import MarketFeed

__all__ = ["ASK", "BID", "INST", "ScriptedFeed", "trades"]

INST = Instrument(
    symbol="TST/USD",
    base="TST",
    quote="USD",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("0.001"),
    min_notional=Decimal("5"),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.002"),
)
"""Distinct maker and taker fees so a test can tell which one was charged."""


def trades(*rows: tuple[int, int, int], ts_ns: int = 0) -> np.ndarray:
    """TRADE_DTYPE batch from (price_ticks, qty_lots, taker_side) rows."""
    out = np.zeros(len(rows), dtype=TRADE_DTYPE)
    for i, (price, qty, taker) in enumerate(rows):
        out[i] = (ts_ns, price, qty, taker)
    return out


class ScriptedFeed(MarketFeed):
    """Book and trades set by the test; every change is published like a real feed."""

    def __init__(self, instrument: Instrument = INST, clock: Clock | None = None, name: str = "scripted") -> None:
        super().__init__()
        self.name = name
        self.instrument = instrument
        self.clock = clock if clock is not None else SimClock()
        self._book = OrderBook(instrument.symbol)
        self.running = False

    @property
    def book(self) -> OrderBook:
        return self._book

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def set_levels(self, bids: dict[int, int] | None = None, asks: dict[int, int] | None = None) -> None:
        """Sets absolute level quantities (0 removes) and publishes one BookUpdated."""
        changed = 0
        for side, levels in ((BID, bids or {}), (ASK, asks or {})):
            for price, qty in levels.items():
                self._book.apply_delta(side, price, qty)
                changed += 1
        self._emit(BookUpdated(self.name, self.instrument.symbol, self.clock.now_ns(), changed))

    def trade(self, *rows: tuple[int, int, int]) -> None:
        """Publishes public trades (price_ticks, qty_lots, taker_side) as one batch."""
        self._emit(TradesEvent(self.name, self.instrument.symbol, trades(*rows, ts_ns=self.clock.now_ns())))

    def go_stale(self, reason: str = "gap in depth updates") -> None:
        self._book.mark_stale(reason)
        self._emit(BookStale(self.name, self.instrument.symbol, self.clock.now_ns(), reason))

    def resync(self) -> None:
        self._book.mark_fresh()
        self._emit(BookResynced(self.name, self.instrument.symbol, self.clock.now_ns()))


def paper_workspace(journal=None):  # noqa: ANN001, ANN201 - JournalStore | None -> (SimClock, Workspace, PaperConnector)
    """A started workspace with one paper account on a scripted 100.00 / 100.02 book, in
    simulated time (1 ms order and cancel latency): the manual desk's and the notifier's
    tests trade on it."""
    from app.wiring.workspace import Workspace
    from connectors.paper.connector import PaperConnector

    ms = 1_000_000
    clock = SimClock(1_000 * ms)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10002: 5000})
    paper = PaperConnector(feed, {"USD": "10000", "TST": "100"}, clock, order_latency_ns=ms, cancel_latency_ns=ms)
    workspace = Workspace(clock, journal=journal)
    workspace.add_connector(paper)
    workspace.start()
    return clock, workspace, paper
