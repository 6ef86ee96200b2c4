"""What a strategy is, and what it may touch.

A strategy declares the market roles it trades (`roles`: one "market" by default; e.g.
"maker" and "taker" for cross-exchange market making). A bot binds each role to an account
and a symbol; the strategy sees each role as a MarketContext (feed + book, instrument, and
its own orders on that venue) through its StrategyContext, reacts to each event at once (no polling tick) and to its own timers
on the context's clock. The same strategy object therefore runs live, on paper, on the
demo exchange and in a backtest without knowing which.

A hook or timer callback that raises does not reach the venue, feed or clock: the bot
running the strategy catches it, records it and stops (app/engine/bot.py).
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from app.config.schema import Schema
from app.domain import (
    BookResynced,
    BookStale,
    BookUpdated,
    Instrument,
    OrderFilled,
    OrderUpdated,
    Side,
    TradesEvent,
)
from app.interfaces.clock import Clock

if TYPE_CHECKING:
    from app.interfaces.venue import Connector, MarketFeed


@dataclass(frozen=True, slots=True)
class MarketRole:
    """A market a strategy needs, by the name its config binds (`markets: {maker: ...}`)."""

    name: str
    title: str
    help: str = ""
    optional: bool = False  # e.g. an external price source: bound only when the config names it


PRIMARY_ROLE = MarketRole("market", "Market", "The market the strategy quotes.")
"""The one role of a single-market strategy (today's configs: `venue:` + `symbol:`)."""


@dataclass(slots=True)
class MarketContext:
    """One role's market as the strategy sees it."""

    role: str
    connector: "Connector"  # in a bot: its OwnOrders view (only the bot's own orders there)
    feed: "MarketFeed"
    instrument: Instrument

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def book(self):  # app.book.orderbook.OrderBook
        return self.feed.book

    def owns(self, source: str | None, symbol: str | None) -> bool:
        """Whether an event with this `source` (the feed's or the venue's name) and symbol
        is this market's."""
        return symbol == self.instrument.symbol and source in (self.feed.name, self.connector.name)


@dataclass(slots=True)
class StrategyContext:
    """What a running strategy may touch. `connector`, `feed` and `instrument` are the first
    role's (all a single-market strategy needs); `markets` has every role by name."""

    clock: Clock  # in a bot: a GuardedClock, so a timer callback that raises stops the bot only
    connector: "Connector"  # in a bot: its OwnOrders view (only the bot's own orders)
    feed: "MarketFeed"
    instrument: Instrument
    log: logging.Logger
    bot_name: str = "bot"
    markets: dict[str, MarketContext] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.markets:
            self.markets = {PRIMARY_ROLE.name: MarketContext(PRIMARY_ROLE.name, self.connector, self.feed,
                                                             self.instrument)}

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    @property
    def book(self):  # app.book.orderbook.OrderBook
        return self.feed.book

    def role_of(self, event: object) -> str | None:
        """The role an event belongs to (by its venue and symbol), None if none: a book,
        trades, order or fill event of any role's market."""
        source = getattr(event, "source", None)
        order = getattr(event, "order", None)
        symbol = order.symbol if order is not None else getattr(event, "symbol", None)
        for market in self.markets.values():
            if market.owns(source, symbol):
                return market.role
        return None


@dataclass(frozen=True, slots=True)
class Quote:
    """One order the strategy wants resting: exact integer ticks/lots."""

    side: Side
    price_ticks: int
    amount_lots: int


class Strategy(ABC):
    """Base class. Subclasses declare `name`, `title`, `schema` and implement on_book."""

    name: ClassVar[str]
    title: ClassVar[str]
    schema: ClassVar[Schema]
    roles: ClassVar[tuple[MarketRole, ...]] = (PRIMARY_ROLE,)
    """The markets it trades; the first is the context's `connector`/`feed`/`instrument`."""
    acts_while_stopping: ClassVar[bool] = False
    """True: `on_fill` and `on_order` still run while its bot stops (a fill of a quote whose
    cancel was in flight must be hedged, an arbitrage leg evened out); the stop finishes when
    what it sends then has ended too. Quoting must check `running` itself."""

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        self.params: dict[str, Any] = self.schema.validate(params or {}, source=source)
        self.ctx: StrategyContext | None = None
        self.running = False

    # -- life cycle -----------------------------------------------------------------
    def bind(self, ctx: StrategyContext) -> None:
        """Gives the strategy its market without starting it (previews use this)."""
        self.ctx = ctx

    def start(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        self.running = True
        self.on_start()

    def stop(self) -> None:
        """Stops reacting; the bot runner cancels the orders."""
        self.running = False
        self.on_stop()

    def update_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Validates and applies a live edit; returns what changed (old, new) per key."""
        applied = self.apply_params(changes)
        if applied:
            self.on_params_changed(applied)
        return applied

    def apply_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        """`update_params` without calling `on_params_changed`: a bot calls that hook itself,
        inside its guard, so an invalid edit (ConfigError, for the form) is told apart from
        a strategy that fails on a valid one."""
        checked = self.schema.validate_changes(changes)
        applied = {k: (self.params.get(k), v) for k, v in checked.items() if self.params.get(k) != v}
        self.params.update(checked)
        return applied

    # -- hooks --------------------------------------------------------------------------
    def on_start(self) -> None: ...

    def on_stop(self) -> None: ...

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None: ...

    @abstractmethod
    def on_book(self, event: BookUpdated) -> None: ...

    def on_trades(self, event: TradesEvent) -> None: ...

    def on_order(self, event: OrderUpdated) -> None: ...

    def on_fill(self, event: OrderFilled) -> None: ...

    def on_stale(self, event: BookStale) -> None: ...

    def on_resynced(self, event: BookResynced) -> None: ...

    # -- the compiled hot path ---------------------------------------------------------------
    def market_hook(self):
        """A MarketHook (app/interfaces/market_hook.pyx) that replaces `on_book` on every
        book update: the bot registers it on the feed instead of delivering BookUpdated
        events, and wraps its `callback` (the strategy's Python work) in the bot's guard.
        None (the default): `on_book` gets every BookUpdated."""
        return None

    # -- for views ------------------------------------------------------------------------
    def preview(self) -> list[Quote]:
        """The quotes the strategy would place on the current book (for the bot form)."""
        return []

    def preview_note(self) -> str:
        """Why `preview()` is empty on this book, in one sentence for the bot form (a model
        still warming up, a cycle waiting for its entry); "" when the strategy cannot tell."""
        return ""

    def reference_prices(self) -> dict[str, Decimal]:
        """Named prices worth drawing (fair value, reservation price...)."""
        return {}

    # -- for checks before the start ------------------------------------------------------
    def fee_warnings(self, instrument: Instrument) -> list[str]:
        """Why these parameters lose to fees on `instrument` (shown by the bot form and
        printed before a run); empty when nothing is wrong or the strategy cannot tell."""
        return []

    def order_amounts_base(self) -> list[Decimal]:
        """The order amounts the strategy will place (base asset; contracts for derivatives),
        so that a bot whose orders can never be placed (below the lot or the minimum
        notional, or unaffordable) is refused before it starts. Default: none to check."""
        return []
