"""Builds a runnable trading session (clock, venue, connector, bot) from a BotConfig.

The same builder serves the headless CLI, backtests and the desktop app, so a config
behaves identically wherever it runs; only the clock differs (real or simulated).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from app.config.bot_config import BotConfig
from app.engine.bot import Bot
from app.engine.clock import Clock, SimClock
from connectors.base import Connector, MarketFeed

_MS = 1_000_000


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
        for part in self.startables:
            part.start()
        self.connector.start()
        self.bot.start()

    def shutdown(self) -> None:
        """Closes the venue after the bot stopped (its orders are already cancelled)."""
        self.connector.stop()
        for part in reversed(self.startables):
            part.stop()


def _replay_feed(config: BotConfig, clock_factory: Callable[[int], Clock], speed: float | None):
    from app.data.store import load_events
    from connectors.replay.feed import ReplayFeed

    events, meta = load_events(config.recordings)
    clock = clock_factory(int(events["ts_ns"][0]))
    feed = ReplayFeed(events, meta, clock, speed=speed)
    return clock, feed


def build_session(config: BotConfig, *, simulated: bool, start_ns: int = 0, clock: Clock | None = None) -> Session:
    venue = config.venue
    latency = int(venue["latency_ms"] * _MS)

    def make_clock(first_ns: int) -> Clock:
        if clock is not None:
            return clock
        if simulated:
            return SimClock(first_ns)
        from app.engine.clock import RealClock

        return RealClock()

    startables: list = []
    if venue["kind"] == "demo":
        from connectors.demo.exchange import DemoExchange

        the_clock = make_clock(start_ns)
        exchange = DemoExchange(
            the_clock,
            balances=config.balances,
            seed=venue["seed"],
            step_ns=venue["step_ms"] * _MS,
        )
        if venue["account"] == "paper":
            from connectors.paper.connector import PaperConnector

            startables.append(exchange)
            connector: Connector = PaperConnector(
                exchange.feed(config.symbol), config.balances, the_clock,
                order_latency_ns=latency, cancel_latency_ns=latency,
            )
            label = f"paper on demo (seed {venue['seed']})"
        else:
            connector = exchange
            label = f"demo (seed {venue['seed']})"
    else:
        from connectors.paper.connector import PaperConnector

        # Simulated time follows the recorded timestamps (the SimClock jumps, so it costs nothing).
        the_clock, feed = _replay_feed(config, make_clock, 1.0 if simulated else venue["speed"])
        startables.append(feed)
        connector = PaperConnector(
            feed, config.balances, the_clock, order_latency_ns=latency, cancel_latency_ns=latency
        )
        label = "paper on replay of " + ", ".join(p.name for p in config.recordings)
    if config.symbol not in connector.instruments:
        from app.config.schema import ConfigError

        raise ConfigError(config.source, "symbol", f"{config.symbol!r} is not traded on {label} "
                          f"(available: {', '.join(connector.instruments)})")
    bot = Bot(config.name, connector, config.symbol, config.build_strategy())
    from app.engine.preflight import preflight

    notes = preflight(config, connector, bot, startables)  # ConfigError if it can never trade
    return Session(config, the_clock, connector, bot, label, startables, notes)


def feed_of(session: Session) -> MarketFeed:
    return session.connector.feed(session.config.symbol)
