"""Venues by kind: each concrete venue (connectors/...) registers a factory here, and the
wiring module builds whatever a config names without knowing the concrete classes.

A factory receives a VenueRequest (the config's venue section, the market asked for,
balances, the user's instrument rules, how time runs) and returns a VenueBuild: the
connector a bot trades through, the parts to start before it (feeds, an exchange under a
paper account, funding), its clock and a label for reports. Bad settings raise
ConfigError naming the config's field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Protocol

from app.config.schema import ConfigError
from app.interfaces.clock import Clock, RealClock, SimClock
from app.interfaces.venue import Connector


@dataclass
class VenueRequest:
    kind: str
    settings: dict[str, Any]  # the config's venue section, validated
    symbol: str | None  # None: the venue's (or recording's) own market
    balances: dict[str, Decimal]
    instrument_overrides: dict[str, Any] = field(default_factory=dict)
    recordings: list[Path] = field(default_factory=list)
    simulated: bool = False
    clock: Clock | None = None  # a given clock wins over `simulated`
    start_ns: int = 0
    source: str = ""  # the config file, for error messages
    account: Any = None  # ccxt: the saved account (exchange id, sandbox, url), resolved by the wiring
    credentials: Any = None  # ccxt: its trading credentials, from the OS keyring (never from a config)
    name: str | None = None  # the connector's name when the kind's default would clash (several roles)
    extra_symbols: list[str] = field(default_factory=list)  # more markets on this connector (roles sharing it)
    follow: Any = None  # a demo follower: the followed market's MarketFeed (on the same clock)
    field_prefix: str = ""  # where the config's venue settings are: "" or "markets.taker."

    def make_clock(self, first_ns: int) -> Clock:
        """The session's clock: the given one, a SimClock at `first_ns`, or real time."""
        if self.clock is not None:
            return self.clock
        return SimClock(first_ns) if self.simulated else RealClock()

    def market_error(self, what: str, available: list[str]) -> ConfigError:
        return ConfigError(self.source, f"{self.field_prefix}symbol", f"{self.symbol!r} is not traded {what} "
                                                                      f"(it trades: {', '.join(available)})")

    def where(self, name: str) -> str:
        """A config field of this venue, as error messages name it ("venue.seed",
        "markets.taker.venue.seed", "markets.taker.instrument")."""
        return f"{self.field_prefix}{name}"


@dataclass
class VenueBuild:
    connector: Connector
    clock: Clock
    label: str
    startables: list = field(default_factory=list)  # started in order before the connector
    needs_connect: bool = False  # a live venue: `await connector.connect()` before bots are built


class VenueFactory(Protocol):
    def __call__(self, request: VenueRequest) -> VenueBuild: ...


_FACTORIES: dict[str, VenueFactory] = {}


def register_venue(kind: str, factory: VenueFactory | Callable[[VenueRequest], VenueBuild]) -> None:
    """Makes `kind` buildable; a kind registered twice keeps the last factory (tests)."""
    _FACTORIES[kind] = factory  # type: ignore[assignment]


def venue_kinds() -> list[str]:
    return sorted(_FACTORIES)


def build_venue(request: VenueRequest) -> VenueBuild:
    factory = _FACTORIES.get(request.kind)
    if factory is None:
        raise ConfigError(request.source, request.where("venue.kind"),
                          f"unknown venue {request.kind!r} (known: {', '.join(venue_kinds())})")
    return factory(request)
