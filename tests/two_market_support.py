"""Two hand-driven markets for a two-role strategy, before the engine binds several roles.

Each role is a ScriptedFeed with its own PaperConnector (wrapped in OwnOrders, as a bot
trades) on one SimClock; a small router hands each event to the strategy hook a bot would
call, so decisions can be checked against books and fills written by hand.
"""
from __future__ import annotations

import logging
from decimal import Decimal

from app.domain import (
    BookResynced,
    BookStale,
    BookUpdated,
    Instrument,
    OrderFilled,
    OrderUpdated,
    TradesEvent,
)
from app.config.schema import ConfigError
from app.engine.own_orders import OwnOrders
from app.interfaces.clock import SimClock
from app.interfaces.strategy import MarketContext, Strategy, StrategyContext
from connectors.paper.connector import PaperConnector
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000
S = 1_000_000_000

FREE = INST.with_rules(maker_fee=Decimal(0), taker_fee=Decimal(0), min_notional=Decimal(0))
"""TST/USD without fees or minimum: prices worked out by hand stay short."""


class TwoMarkets:
    """`roles` maps role name -> (instrument, balances); events reach `strategy` like a bot's."""

    def __init__(self, strategy: Strategy, roles: dict[str, tuple[Instrument, dict[str, str]]],
                 latency_ms: int = 5) -> None:
        self.clock = SimClock(1_000 * MS)
        self.strategy = strategy
        self.feeds: dict[str, ScriptedFeed] = {}
        self.venues: dict[str, PaperConnector] = {}
        self.own: dict[str, OwnOrders] = {}
        self.log = logging.getLogger(f"test.{strategy.name}")
        markets = {}
        for role, (inst, balances) in roles.items():
            feed = ScriptedFeed(inst, self.clock, name=f"{role}-feed")
            venue = PaperConnector(feed, balances, self.clock, order_latency_ns=latency_ms * MS,
                                   cancel_latency_ns=latency_ms * MS, name=f"{role}-venue")
            venue.start()
            own = OwnOrders(venue)
            self.feeds[role], self.venues[role], self.own[role] = feed, venue, own
            markets[role] = MarketContext(role, own, feed, inst)
        first = next(iter(markets.values()))
        self.ctx = StrategyContext(self.clock, first.connector, first.feed, first.instrument, self.log,
                                   markets=markets)
        self.routed: list[object] = []
        for role in roles:
            self.feeds[role].add_listener(self.route)
            self.venues[role].add_listener(self.route)

    def start(self) -> None:
        self.strategy.start(self.ctx)

    def route(self, event: object) -> None:
        """What a bot does with each event (own orders only, hooks while running)."""
        if not self.strategy.running:
            return
        s = self.strategy
        if isinstance(event, BookUpdated):
            s.on_book(event)
        elif isinstance(event, TradesEvent):
            s.on_trades(event)
        elif isinstance(event, OrderUpdated):
            if self._owned(event.order.client_order_id):
                s.on_order(event)
        elif isinstance(event, OrderFilled):
            if self._owned(event.fill.client_order_id):
                self.routed.append(event)
                s.on_fill(event)
        elif isinstance(event, BookStale):
            s.on_stale(event)
        elif isinstance(event, BookResynced):
            s.on_resynced(event)

    def _owned(self, client_order_id: str) -> bool:
        return any(own.owns(client_order_id) for own in self.own.values())

    def bind_without(self, role: str) -> ConfigError:
        """The error binding the strategy gives once `role`'s market is taken out of its context."""
        self.ctx.markets.pop(role)
        try:
            self.strategy.bind(self.ctx)
        except ConfigError as err:
            return err
        raise AssertionError(f"{self.strategy.name} bound without its {role} market")

    def run(self, ms: float) -> None:
        self.clock.run(until_ns=self.clock.now_ns() + int(ms * MS))

    def open(self, role: str) -> list[tuple[str, int, int]]:
        """(side, price ticks, remaining lots) of the open orders on a role's venue, sorted."""
        return sorted((o.side.value, o.price_ticks, o.remaining_lots) for o in self.venues[role].open_orders())

    def fills(self, role: str) -> list[tuple[str, int, int]]:
        """(side, price ticks, lots) of every fill routed from a role's venue, in order."""
        inst = self.ctx.markets[role].instrument
        return [(e.fill.side.value, inst.price_to_ticks(e.fill.price), inst.amount_to_lots(e.fill.amount))
                for e in self.routed if e.source == self.venues[role].name]
