"""Builds a runnable trading session (clock, venue, connector, bot) from a BotConfig.

The same builder serves the headless CLI, backtests and the desktop app, so a config
behaves identically wherever it runs; only the clock differs (real or simulated).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.config.bot_config import BotConfig
from app.engine.bot import Bot
from app.engine.journal.store import JournalStore
from app.interfaces.clock import Clock
from app.interfaces.venue import Connector, MarketFeed
from app.config.schema import ConfigError
from app.interfaces.venues import VenueBuild, build_venue


@dataclass
class Session:
    config: BotConfig
    clock: Clock
    connector: Connector
    bot: Bot
    venue_label: str
    startables: list = field(default_factory=list)  # feeds/venues started before the connector
    notes: list[str] = field(default_factory=list)  # preflight notes, printed before the run

    def start(self) -> None:
        self.start_venue()
        self.bot.start()

    def start_venue(self) -> None:
        """The feeds, venues and connector, not the bot (recovery runs in between)."""
        for part in self.startables:
            part.start()
        self.connector.start()

    def shutdown(self) -> None:
        """Closes the venue after the bot stopped (its orders are already cancelled)."""
        self.connector.stop()
        for part in reversed(self.startables):
            part.stop()


def build_session(config: BotConfig, *, simulated: bool, start_ns: int = 0, clock: Clock | None = None,
                  journal: JournalStore | None = None, venue: VenueBuild | None = None) -> Session:
    """The venue the config names (through the venue registry; or `venue`, already opened
    by `open_venue` for a live one), its bot (journaled into `journal` if given) and the
    preflight checks; raises ConfigError (naming the config's field) before anything starts."""
    import connectors.registry  # noqa: F401 - registers the venue kinds
    from app.wiring.live import venue_request

    request = venue_request(config, simulated=simulated, clock=clock, start_ns=start_ns)
    if venue is None:
        venue = build_venue(request)
        if venue.needs_connect:
            raise ConfigError(config.source, "venue.kind", f"{venue.label} is a live venue: it runs in real time "
                                                           "(python main.py run)")
    connector = venue.connector
    if not config.symbol_given:
        config.symbol = next(iter(connector.instruments))
    if config.symbol not in connector.instruments:
        raise request.market_error(f"on {venue.label}", list(connector.instruments))
    bot = Bot(config.name, connector, config.symbol, config.build_strategy(), journal=journal, risk=config.risk)
    from app.wiring.preflight import preflight

    notes = preflight(config, connector, bot, venue.startables)  # ConfigError if it can never trade
    return Session(config, venue.clock, connector, bot, venue.label, venue.startables, notes)


def feed_of(session: Session) -> MarketFeed:
    return session.connector.feed(session.config.symbol)
