"""A bot's markets: one per role of its strategy, and the one asset they are valued in.

A bot trading several markets (a maker and a taker venue, two legs of an arbitrage) keeps
per market what a single-market bot keeps once: the venue's own-orders view, the feed and
book, the instrument, the PnL from that market's fills, the start balances and the
journal of that account. Roles on one connector (two symbols of one account) share its
OwnOrders view and its journal, so every order is owned, journaled and cancelled once.

PnL over several markets is stated in one valuation asset, the first role's PnL asset
(its quote for spot, its settlement asset for a perpetual). A market whose PnL is in
another asset is converted at the rate the config's `conversion:` section gives, else at
the mid of a market on the bot between the two assets (BTC PnL of an inverse perpetual at
the BTC/USDT mid); the report says which rate was used. Without either the total is
unknown (None), never a sum of different assets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from app.domain import Balance, Instrument, Order
from app.engine.journal.store import BotJournal
from app.engine.own_orders import OwnOrders
from app.engine.pnl import DerivativesPnl, PnlTracker, pnl_tracker_for
from app.interfaces.venue import Connector, MarketFeed

if TYPE_CHECKING:
    from app.engine.bot import Bot
    from app.interfaces.strategy import Strategy


@dataclass(eq=False)
class BotMarket:
    """One role's market in a bot."""

    role: str
    venue: Connector  # the connector itself (events are heard here)
    orders: OwnOrders  # the bot's view of it (shared by the roles on this connector)
    symbol: str
    instrument: Instrument
    feed: MarketFeed
    pnl: PnlTracker | DerivativesPnl
    journal: BotJournal | None = None
    start_balances: dict[str, Balance] = field(default_factory=dict)
    # Set when the bot stops: its summary keeps the figures of that moment instead of
    # following the account (another bot may trade it) and the market afterwards.
    end_balances: dict[str, Balance] | None = None
    end_mark: Decimal | None = None
    frozen: bool = False

    @classmethod
    def build(cls, role: str, venue: Connector, orders: OwnOrders, symbol: str) -> "BotMarket":
        instrument = venue.instruments[symbol]
        return cls(role, venue, orders, symbol, instrument, venue.feed(symbol), pnl_tracker_for(instrument),
                   start_balances=venue.balances())

    @property
    def account(self) -> str:
        return self.venue.name

    def mark_price(self) -> Decimal | None:
        """The mid now; once the bot stopped, the mid as it stopped."""
        if self.frozen:
            return self.end_mark
        book = self.feed.book
        if book.best_bid_ticks <= 0 or book.best_ask_ticks <= 0:
            return None
        return Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2 * self.instrument.tick_size

    def open_orders(self) -> list[Order]:
        return self.orders.open_orders(self.symbol)

    def balances(self) -> dict[str, Balance]:
        """The account's balances now; once the bot stopped, as they were then."""
        return self.end_balances if self.end_balances is not None else self.venue.balances()

    def freeze(self) -> None:
        """Keeps the mark and the account's balances of the moment the bot stopped."""
        self.end_mark = self.mark_price()
        self.end_balances = self.venue.balances()
        self.frozen = True

    def owns(self, order: Order) -> bool:
        return order.symbol == self.symbol and self.orders.owns(order.client_order_id)

    def pnl_value(self) -> Decimal | None:
        """This market's PnL in its own PnL asset at its mark (None without a mark)."""
        mark = self.mark_price()
        return self.pnl.pnl(mark) if mark is not None else None


class Valuation:
    """A bot's markets valued in one asset (see the module docstring)."""

    def __init__(self, markets: Mapping[str, BotMarket], conversion: Mapping[str, Decimal] | None = None) -> None:
        self.markets = markets
        self.asset = next(iter(markets.values())).pnl.quote_asset
        self.conversion = {k: Decimal(v) for k, v in (conversion or {}).items()}

    def _market_between(self, asset: str) -> tuple[BotMarket, bool] | None:
        """A market quoting `asset` against the valuation asset: (market, inverted)."""
        for market in self.markets.values():
            inst = market.instrument
            if inst.base == asset and inst.quote == self.asset:
                return market, False
            if inst.base == self.asset and inst.quote == asset:
                return market, True
        return None

    def can_convert(self, asset: str) -> bool:
        return asset == self.asset or asset in self.conversion or self._market_between(asset) is not None

    def rate(self, asset: str) -> tuple[Decimal | None, str]:
        """What one unit of `asset` is worth in the valuation asset, and where that comes from."""
        if asset == self.asset:
            return Decimal(1), "same asset"
        if asset in self.conversion:
            return self.conversion[asset], "the config's conversion setting"
        found = self._market_between(asset)
        if found is None:
            return None, "no conversion setting and no market between the two assets"
        market, inverted = found
        mid = market.mark_price()
        where = f"the mid of {market.role} {market.symbol}"
        if mid is None or mid <= 0:
            return None, f"{where}, which has no price yet"
        return (1 / mid if inverted else mid), where

    def value(self, amount: Decimal | None, asset: str) -> Decimal | None:
        if amount is None:
            return None
        rate, _ = self.rate(asset)
        return None if rate is None else amount * rate

    def total_pnl(self) -> Decimal | None:
        """Every market's PnL in the valuation asset; None if one cannot be valued yet."""
        total = Decimal(0)
        for market in self.markets.values():
            value = self.value(market.pnl_value(), market.pnl.quote_asset)
            if value is None:
                return None
            total += value
        return total

    def describe(self) -> dict[str, Any]:
        """For the report: the asset and every other asset's rate with its source."""
        rates: dict[str, Any] = {}
        for market in self.markets.values():
            asset = market.pnl.quote_asset
            if asset != self.asset and asset not in rates:
                rate, source = self.rate(asset)
                rates[asset] = {"rate": None if rate is None else str(rate), "source": source}
        return {"asset": self.asset, "rates": rates}


def bind_roles(strategy: "Strategy", connector: Connector | None, symbol: str | None,
                 markets: Mapping[str, tuple[Connector, str]] | None) -> dict[str, tuple[Connector, str]]:
    """The strategy's roles bound to (connector, symbol), in its role order; ValueError for
    a role it does not have, a required role left out or two connectors of one name (events
    are told apart by their source's name)."""
    roles = strategy.roles
    if not markets:
        if connector is None or symbol is None:
            raise ValueError("a bot needs a connector and a symbol, or markets")
        return {roles[0].name: (connector, symbol)}
    known = {r.name for r in roles}
    unknown = [r for r in markets if r not in known]
    if unknown:
        raise ValueError(f"{strategy.name} has no market role {unknown[0]!r} (its roles: {', '.join(r.name for r in roles)})")
    missing = [r.name for r in roles if r.name not in markets and not r.optional]
    if missing:
        raise ValueError(f"{strategy.name} needs a market for the role {missing[0]!r}")
    bound = {r.name: markets[r.name] for r in roles if r.name in markets}
    names: dict[str, int] = {}
    for venue, _symbol in bound.values():
        if names.setdefault(venue.name, id(venue)) != id(venue):
            raise ValueError(f"two connectors are named {venue.name!r}: a bot's venues need distinct names")
    pairs = [(id(v), s) for v, s in bound.values()]
    if len(set(pairs)) != len(pairs):
        raise ValueError("a bot trades each market (connector and symbol) in one role only")
    return bound


def distinct_sources(markets: Iterable[BotMarket]) -> list:
    """Every feed, then every connector, of the markets, each once (roles on one
    connector, or a paper account on another venue's feed, share them)."""
    markets = list(markets)
    seen: dict[int, Any] = {}
    for market in markets:
        seen.setdefault(id(market.feed), market.feed)
    for market in markets:
        seen.setdefault(id(market.venue), market.venue)
    return list(seen.values())


def journal_other_balances(bot: "Bot", reason: str) -> None:
    """Journals the balances of a bot's accounts beyond its first role's ("start": as the
    bot started, "stopped": now); the first account's are in the start/stopped records."""
    done = {id(bot.connector)}
    for market in bot.markets.values():
        if id(market.venue) in done:
            continue
        done.add(id(market.venue))
        balances = market.start_balances if reason == "start" else market.balances()
        try:
            bot.journal.store.record_balances(market.account, balances, reason, bot=bot.name,
                                              ts_ns=bot.clock.now_ns())
        except Exception:  # a closed store: the bot's own records say what happened
            bot._log.exception("balances of %s not journaled", market.account)
