"""Builds a runnable trading session (clock, venues, connectors, bot) from a BotConfig.

The same builder serves the headless CLI, backtests and the desktop app, so a config
behaves identically wherever it runs; only the clock differs (real or simulated). A config
with several markets (a `markets:` section) gets one venue per distinct venue, all on one
clock (app/wiring/market_venues.py), and one bot over its roles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.config.bot_config import BotConfig
from app.engine.bot import Bot
from app.engine.journal.store import JournalStore
from app.interfaces.clock import Clock
from app.interfaces.venue import Connector, MarketFeed
from app.config.schema import ConfigError
from app.interfaces.venues import VenueBuild
from app.wiring.market_venues import MarketVenues, build_market_venues


@dataclass
class Session:
    config: BotConfig
    clock: Clock
    connector: Connector  # the first role's
    bot: Bot
    venue_label: str
    startables: list = field(default_factory=list)  # feeds/venues started before the connectors
    notes: list[str] = field(default_factory=list)  # preflight notes, printed before the run
    venues: list[VenueBuild] = field(default_factory=list)  # every venue once, in start order

    @property
    def connectors(self) -> list[Connector]:
        """Every connector of the session once (the first role's first)."""
        found = {id(self.connector): self.connector}
        for venue in self.venues:
            found.setdefault(id(venue.connector), venue.connector)
        return list(found.values())

    def start(self) -> None:
        self.start_venue()
        self.bot.start()

    def start_venue(self) -> None:
        """The feeds, venues and connectors, not the bot (recovery runs in between): venue
        by venue, a followed market before its follower."""
        if not self.venues:
            for part in self.startables:
                part.start()
            self.connector.start()
            return
        for venue in self.venues:
            for part in venue.startables:
                part.start()
            venue.connector.start()

    def shutdown(self) -> None:
        """Closes the venues after the bot stopped (its orders are already cancelled)."""
        if not self.venues:
            self.connector.stop()
            for part in reversed(self.startables):
                part.stop()
            return
        for venue in reversed(self.venues):
            venue.connector.stop()
            for part in reversed(venue.startables):
                part.stop()


def build_session(config: BotConfig, *, simulated: bool, start_ns: int = 0, clock: Clock | None = None,
                  journal: JournalStore | None = None, venue: VenueBuild | None = None,
                  venues: MarketVenues | None = None) -> Session:
    """The venues the config names (through the venue registry; or `venues`, already opened
    by `open_market_venues` for live ones; `venue`: a single market's, opened by
    `open_venue`), its bot (journaled into `journal` if given) and the preflight checks;
    raises ConfigError (naming the config's field) before anything starts."""
    roles = list(config.bindings())
    if venues is None and venue is not None and len(roles) == 1:
        venues = _single(config, venue, roles[0])
    if venues is None:
        venues = build_market_venues(config, simulated=simulated, clock=clock, start_ns=start_ns)
    connector = venues.connector(roles[0])
    if not config.symbol_given:
        config.symbol = venues.symbols[roles[0]]
    strategy = config.build_strategy()
    if len(roles) == 1:
        bot = Bot(config.name, connector, config.symbol, strategy, journal=journal, risk=config.risk)
    else:
        try:
            bot = Bot(config.name, None, None, strategy, journal=journal, risk=config.risk, conversion=config.conversion,
                      markets={role: (venues.connector(role), venues.symbols[role]) for role in roles})
        except ValueError as exc:
            raise ConfigError(config.source, "markets", str(exc)) from None
        _check_valuation(config, bot)
    from app.wiring.preflight import preflight_markets

    startables = [part for build in venues.start_order for part in build.startables]
    # ConfigError if it can never trade:
    notes = preflight_markets(config, bot, {role: venues.builds[role].startables for role in roles})
    return Session(config, venues.clock, connector, bot, venues.label(roles), startables, notes,
                   list(venues.start_order))


def _single(config: BotConfig, venue: VenueBuild, role: str) -> MarketVenues:
    """A single market's venue, opened by the caller, as the session's venues."""
    from app.wiring.live import venue_request

    symbol = config.symbol if config.symbol_given else next(iter(venue.connector.instruments))
    if symbol not in venue.connector.instruments:
        raise venue_request(config, simulated=False).market_error(f"on {venue.label}", list(venue.connector.instruments))
    return MarketVenues({role: venue}, {role: symbol}, [venue])


def _check_valuation(config: BotConfig, bot: Bot) -> None:
    """Every market's PnL must be convertible into the valuation asset."""
    valuation = bot.valuation
    for market in bot.markets.values():
        asset = market.pnl.quote_asset
        if not valuation.can_convert(asset):
            raise ConfigError(config.source, "conversion",
                              f"markets.{market.role} ({market.symbol}) has its PnL in {asset}, the bot values PnL in "
                              f"{valuation.asset} (the first market's) and no market on the bot converts one into "
                              f"the other: give conversion: {{{asset}: <value of 1 {asset} in {valuation.asset}>}}")


def feed_of(session: Session) -> MarketFeed:
    return session.connector.feed(session.config.symbol)
