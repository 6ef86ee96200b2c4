"""Builds a runnable trading session (clock, venue, connector, bot) from a BotConfig.

The same builder serves the headless CLI, backtests and the desktop app, so a config
behaves identically wherever it runs; only the clock differs (real or simulated).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from app.config.bot_config import BotConfig
from app.config.schema import ConfigError
from app.data.binance_recording import RecordingError
from app.engine.bot import Bot
from app.interfaces.clock import Clock, SimClock
from app.interfaces.venue import Connector, MarketFeed

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


def _market_error(config: BotConfig, what: str, available: list[str]) -> Exception:
    from app.config.schema import ConfigError

    return ConfigError(config.source, "symbol", f"{config.symbol!r} is not traded {what} "
                       f"(it trades: {', '.join(available)})")


def _replay_feed(config: BotConfig, clock_factory: Callable[[int], Clock], speed: float | None):
    """The recording's feed and its instrument: the rules inferred from the data, with the
    user's overrides (config `instrument:`, command-line flags) on top (app/markets)."""
    from app.data.store import load_market
    from connectors.replay.feed import ReplayFeed

    try:
        events, meta, resolved = load_market(config.recordings, overrides=config.instrument_overrides,
                                             where=f"{config.source} (instrument)")
    except ValueError as exc:
        if isinstance(exc, RecordingError):
            raise
        raise ConfigError(config.source, "instrument", str(exc)) from None
    if config.symbol_given and config.symbol not in (resolved.symbol, meta.symbol):
        raise _market_error(config, "in " + ", ".join(p.name for p in config.recordings), [resolved.symbol])
    if len(events) == 0:
        raise _market_error(config, "(the recording holds no market data)", [])
    from app.data.store import check_replayable

    check_replayable(events, config.recordings)  # RecordingError: no snapshot, receive times going backwards
    clock = clock_factory(int(events["ts_ns"][0]))
    feed = ReplayFeed(events, resolved, clock, speed=speed, market=meta.market)
    return clock, feed


def _demo_instrument(config: BotConfig):
    """The demo exchange's market for the config's symbol: spot BTC/USDT by default, or one
    of the demo perpetuals; the config's `instrument:` rules apply on top."""
    from app.markets.registry import BUILT_IN, resolve

    symbol = config.symbol if config.symbol_given else "BTC/USDT"
    if symbol not in BUILT_IN:
        raise _market_error(config, "on the demo exchange", list(BUILT_IN))
    try:
        return resolve(BUILT_IN[symbol].with_rules(source="demo exchange rules"),
                       config=config.instrument_overrides, config_where=f"{config.source} (instrument)")
    except ValueError as exc:
        from app.config.schema import ConfigError

        raise ConfigError(config.source, "instrument", str(exc)) from None


def build_session(config: BotConfig, *, simulated: bool, start_ns: int = 0, clock: Clock | None = None) -> Session:
    venue = config.venue
    latency = int(venue["latency_ms"] * _MS)
    leverage = venue.get("leverage", 10)

    def make_clock(first_ns: int) -> Clock:
        if clock is not None:
            return clock
        if simulated:
            return SimClock(first_ns)
        from app.interfaces.clock import RealClock

        return RealClock()

    startables: list = []
    if venue["kind"] == "demo":
        from connectors.demo.exchange import DemoExchange

        instrument = _demo_instrument(config)
        the_clock = make_clock(start_ns)
        exchange = DemoExchange(
            the_clock,
            balances=config.balances,
            seed=venue["seed"],
            step_ns=venue["step_ms"] * _MS,
            instrument=instrument,
            leverage=leverage,
        )
        if venue["account"] == "paper":
            from connectors.paper.connector import PaperConnector

            startables.append(exchange)
            connector: Connector = PaperConnector(
                exchange.feed(instrument.symbol), config.balances, the_clock,
                order_latency_ns=latency, cancel_latency_ns=latency, leverage=leverage,
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
            feed, config.balances, the_clock, order_latency_ns=latency, cancel_latency_ns=latency,
            leverage=leverage,
        )
        label = "paper on replay of " + ", ".join(p.name for p in config.recordings)
    instrument = connector.instrument  # type: ignore[attr-defined]
    if not config.symbol_given:
        config.symbol = instrument.symbol
    if instrument.is_derivative:
        from connectors.funding import FundingSchedule

        startables.append(FundingSchedule(connector, connector.feed(instrument.symbol), the_clock,  # type: ignore[arg-type]
                                          venue.get("funding_rate")))
    if config.symbol not in connector.instruments:
        from app.config.schema import ConfigError

        raise ConfigError(config.source, "symbol", f"{config.symbol!r} is not traded on {label} "
                          f"(available: {', '.join(connector.instruments)})")
    bot = Bot(config.name, connector, config.symbol, config.build_strategy())
    from app.wiring.preflight import preflight

    notes = preflight(config, connector, bot, startables)  # ConfigError if it can never trade
    return Session(config, the_clock, connector, bot, label, startables, notes)


def feed_of(session: Session) -> MarketFeed:
    return session.connector.feed(session.config.symbol)
