"""The venues of a config's markets: one per distinct venue, all on one clock.

A config binds each market role to a venue (app/config/roles.py); this builds them
through the venue registry in dependency order (a followed market before its follower,
recordings first in a backtest so the simulated clock starts at the recorded time) and
resolves each role's symbol:

- roles on one live account (the same `exchange_account`) share one connector, which
  then trades both symbols; a simulated venue (demo, replay) holds one market, so each
  role gets its own, even with equal settings (the config refuses the same market twice);
- with several markets each simulated venue is named after its role ("demo-maker",
  "demo-taker", "replay-taker"), so its events and its journal rows are told apart;
- every venue after the first is built on the first one's clock: one SimClock for a
  backtest, the running loop for real time;
- a demo follower gets the followed role's feed (connectors/demo/follower.py).

Live venues connect (markets, streams, reconciliation) in the same order before the bot is
built on them (`open_market_venues`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.config.schema import ConfigError
from app.interfaces.venues import VenueBuild, build_venue

if TYPE_CHECKING:
    from app.config.bot_config import BotConfig
    from app.interfaces.clock import Clock
    from app.interfaces.venue import Connector


@dataclass
class MarketVenues:
    """Each role's venue (roles on one live account share one) and symbol."""

    builds: dict[str, VenueBuild] = field(default_factory=dict)  # role -> venue
    symbols: dict[str, str] = field(default_factory=dict)
    start_order: list[VenueBuild] = field(default_factory=list)  # every venue once, a followed one first

    @property
    def distinct(self) -> list[VenueBuild]:
        """Every venue once, in build (and start) order."""
        seen: dict[int, VenueBuild] = {}
        for build in self.builds.values():
            seen.setdefault(id(build), build)
        return list(seen.values())

    @property
    def clock(self) -> "Clock":
        return next(iter(self.builds.values())).clock

    def connector(self, role: str) -> "Connector":
        return self.builds[role].connector

    def label(self, roles: list[str]) -> str:
        """For reports: the venue alone, or each role's venue."""
        if len(roles) == 1:
            return self.builds[roles[0]].label
        return "; ".join(f"{role}: {self.builds[role].label} {self.symbols[role]}" for role in roles)


class _Builder:
    """Builds one role's venue at a time (the async opener connects each in between)."""

    def __init__(self, config: "BotConfig", *, simulated: bool, clock: Any = None, start_ns: int = 0) -> None:
        import connectors.registry  # noqa: F401 - registers the venue kinds

        self.config = config
        self.bindings = config.bindings()
        self.simulated = simulated
        self.clock = clock
        self.start_ns = start_ns
        self.result = MarketVenues()
        self._by_key: dict[tuple, VenueBuild] = {}
        self._connected: set[tuple] = set()  # live venues connected (their markets loaded)
        self._requests: dict[str, Any] = {}

    def order(self) -> list[str]:
        from app.config.roles import build_order

        replays_first = dict(sorted(self.bindings.items(), key=lambda item: item[1].venue["kind"] != "replay"))
        return build_order(replays_first)

    def build(self, role: str) -> VenueBuild:
        """The role's venue (shared for a live account already built) and its symbol."""
        from app.wiring.live import market_request

        binding = self.bindings[role]
        several = len(self.bindings) > 1
        key = binding.venue_key()
        venue = self._by_key.get(key) if binding.venue["kind"] == "ccxt" else None
        request = market_request(self.config, binding, simulated=self.simulated, clock=self.clock,
                                 start_ns=self.start_ns)
        if venue is None:
            if several and request.kind in ("demo", "replay"):
                request.name = f"{request.kind}-{role}"
            request.extra_symbols = [b.symbol for b in self.bindings.values()
                                     if b.venue_key() == key and b.symbol_given and b is not binding]
            if binding.follow is not None:
                leader = self.result.builds[binding.follow]
                request.follow = leader.connector.feed(self.result.symbols[binding.follow])
            venue = build_venue(request)
            self._by_key[key] = venue
            if self.clock is None:
                self.clock = venue.clock
        self.result.builds[role] = venue
        self._requests[role] = request
        if not venue.needs_connect or key in self._connected:
            self.settle(role)
        return venue

    def connected(self, role: str) -> None:
        """The role's live venue is connected: its markets are known now."""
        self._connected.add(self.bindings[role].venue_key())
        self.settle(role)

    def settle(self, role: str) -> None:
        """The role's symbol, checked against what its venue trades (a live venue's markets
        are known only once it is connected)."""
        binding, venue, request = self.bindings[role], self.result.builds[role], self._requests[role]
        connector = venue.connector
        symbol = binding.symbol if binding.symbol_given else next(iter(connector.instruments), None)
        if symbol is None or symbol not in connector.instruments:
            raise request.market_error(f"on {venue.label}", list(connector.instruments))
        self.result.symbols[role] = symbol


def build_market_venues(config: "BotConfig", *, simulated: bool, clock: Any = None, start_ns: int = 0) -> MarketVenues:
    """Every role's venue, built and not started; a live venue here is refused (it must be
    connected first: `open_market_venues`, real time only)."""
    builder = _Builder(config, simulated=simulated, clock=clock, start_ns=start_ns)
    for role in builder.order():
        venue = builder.build(role)
        if venue.needs_connect:
            where = builder.bindings[role].where("venue.kind")
            raise ConfigError(config.source, where, f"{venue.label} is a live venue: it runs in real time "
                                                    "(python main.py run)")
    return _in_role_order(builder)


async def open_market_venues(config: "BotConfig") -> MarketVenues:
    """Every role's venue for real time, each live one connected before the next is built
    (a follower needs its leader's feed); on a failure the ones opened are closed."""
    from app.wiring.live import _close_quietly, connect_venue

    builder = _Builder(config, simulated=False)
    opened: list[VenueBuild] = []
    try:
        for role in builder.order():
            before = len(builder._by_key)
            venue = builder.build(role)
            if len(builder._by_key) > before:
                opened.append(venue)
                await connect_venue(config, venue, builder.bindings[role].where("venue"))
                if venue.needs_connect:
                    builder.connected(role)
    except BaseException:
        for venue in opened:
            if venue.needs_connect:
                await _close_quietly(venue)
        raise
    return _in_role_order(builder)


def _in_role_order(builder: _Builder) -> MarketVenues:
    """The result with its roles in the strategy's order (built in dependency order)."""
    result = builder.result
    roles = list(builder.bindings)
    return MarketVenues({r: result.builds[r] for r in roles}, {r: result.symbols[r] for r in roles},
                        result.distinct)
