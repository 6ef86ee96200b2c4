"""Funding payments on a simulated perpetual account, every 8 hours as Binance does.

At 00:00, 08:00 and 16:00 UTC of the clock's time, the account's position pays (long, with
a positive rate) or receives funding: position value at the mark x rate, in the settlement
asset (app/domain/margin.py). The rate is the latest one a recording's markPrice stream
carried (MarkPrice events of the feed), else the config's `venue.funding_rate`; with
neither, nothing is paid. The mark is the stream's, else the book's mid.
"""
from __future__ import annotations

from decimal import Decimal

from app.domain import Event, MarkPrice
from app.interfaces.clock import Clock, TimerHandle
from app.interfaces.venue import MarketFeed
from connectors.simulated import SimulatedAccount

FUNDING_PERIOD_NS = 8 * 3600 * 1_000_000_000


def next_funding_ns(now_ns: int) -> int:
    """The first funding time strictly after `now_ns` (epoch ns, UTC)."""
    return (now_ns // FUNDING_PERIOD_NS + 1) * FUNDING_PERIOD_NS


class FundingSchedule:
    def __init__(self, account: SimulatedAccount, feed: MarketFeed, clock: Clock,
                 rate: Decimal | None = None) -> None:
        self.account = account
        self.feed = feed
        self.clock = clock
        self.config_rate = rate
        self.data_rate: Decimal | None = None
        self.data_mark: Decimal | None = None
        self.payments = 0
        self._timer: TimerHandle | None = None

    def start(self) -> None:
        if self._timer is None and self.account.instrument.is_derivative:
            self.feed.add_listener(self._on_event)
            self._timer = self.clock.call_at(next_funding_ns(self.clock.now_ns()), self._pay)

    def stop(self) -> None:
        self.feed.remove_listener(self._on_event)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_event(self, event: Event) -> None:
        if isinstance(event, MarkPrice):
            self.data_rate, self.data_mark = event.funding_rate, event.mark

    def _pay(self) -> None:
        now = self.clock.now_ns()
        rate = self.data_rate if self.data_rate is not None else self.config_rate
        mark = self.data_mark or self._mid()
        if rate is not None and mark:
            self.account._pay_funding(mark, rate, now)
            self.payments += 1
        self._timer = self.clock.call_at(next_funding_ns(now), self._pay)

    def _mid(self) -> Decimal | None:
        book = self.feed.book
        if book.best_bid_ticks <= 0 or book.best_ask_ticks <= 0:
            return None
        return Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2 * self.account.instrument.tick_size


def funding(account: SimulatedAccount, clock: Clock, settings: dict) -> list[FundingSchedule]:
    """The funding schedule of a simulated perpetual account ([] for spot), to start with it."""
    if not account.instrument.is_derivative:
        return []
    symbol = account.instrument.symbol
    return [FundingSchedule(account, account.feed(symbol), clock, settings.get("funding_rate"))]
