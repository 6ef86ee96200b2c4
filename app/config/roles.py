"""The `markets:` section: each market role of a strategy bound to a venue, a symbol and
balances (cross-exchange market making: a maker and a taker market; arbitrage: two).

    markets:
      maker: {venue: {kind: demo, seed: 7}, symbol: BTC/USDT, balances: {USDT: 10000, BTC: 0.2}}
      taker: {venue: {kind: demo, follow: maker, lag_ms: 250, noise_bps: 1, seed: 8}, symbol: BTC/USDT}

A market takes the keys a single-market config has at its top level (`venue`, `symbol`,
`balances`, `recordings`, `instrument`), with the same defaults and checks; errors name
the field under the role (`markets.taker.venue.seed: ...`). A single-market config (those
keys at the top level) binds the strategy's first role, so every config has one shape for
the wiring: `BotConfig.bindings()`.

Rules: every non-optional role of the strategy is bound, optional ones may be, nothing
else; the same venue and symbol twice is refused (a bot cannot be two roles on one
market); a demo venue may `follow` another bound role's market (connectors/demo/follower.py),
without cycles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.config.schema import ConfigError, Field, show

if TYPE_CHECKING:
    from app.interfaces.strategy import MarketRole

MARKET_KEYS = ("venue", "symbol", "balances", "recordings", "instrument")
"""What a market of the `markets:` section holds (a single-market config's top-level keys)."""

DEMO_DEFAULT_SYMBOL = "BTC/USDT"


@dataclass
class MarketBinding:
    """One role's market as the config gives it (validated; the venue is not built yet)."""

    role: str
    venue: dict[str, Any]
    symbol: str
    symbol_given: bool
    balances: dict[str, Decimal]
    recordings: list[Path] = field(default_factory=list)
    instrument_overrides: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""  # where its fields are in the config: "" (top level) or "markets.taker."

    @property
    def follow(self) -> str | None:
        return self.venue.get("follow")

    def venue_key(self) -> tuple:
        """What makes two roles' venues the same one: a live account by its name, a
        simulated venue by all its settings (and its recordings)."""
        if self.venue["kind"] == "ccxt":
            return ("ccxt", self.venue.get("exchange_account"))
        return (self.venue["kind"], tuple(sorted((k, str(v)) for k, v in self.venue.items())),
                tuple(str(p) for p in self.recordings))

    def market_key(self) -> tuple:
        """The venue and the market on it: the same twice is refused."""
        symbol = self.symbol if self.symbol_given else (DEMO_DEFAULT_SYMBOL if self.venue["kind"] == "demo" else None)
        return (self.venue_key(), symbol)

    def where(self, name: str = "") -> str:
        """A field of this market for messages: "markets.taker.venue.seed" (or "venue.seed")."""
        return f"{self.prefix}{name}" if name else self.prefix.rstrip(".") or "venue"


def parse_market(raw: Any, role: str, source: str, base_dir: Path | None) -> MarketBinding:
    """One entry of the `markets:` section, checked like a single-market config's top level."""
    from app.config.bot_config import DEFAULT_BALANCES, VENUE_SCHEMA, _parse_balances, _parse_recordings, \
        parse_instrument

    prefix = f"markets.{role}."
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(source, f"markets.{role}", f"expected a mapping with {', '.join(MARKET_KEYS)}, got {show(raw)}")
    unknown = sorted(set(raw) - set(MARKET_KEYS), key=str)
    if unknown:
        raise ConfigError(source, f"{prefix}{unknown[0]}", f"unknown field (known: {', '.join(MARKET_KEYS)})")
    venue = VENUE_SCHEMA.validate(raw.get("venue"), source, f"{prefix}venue.")
    symbol_given = "symbol" in raw
    symbol = Field("symbol", "str").coerce(raw["symbol"], source, prefix) if symbol_given else DEMO_DEFAULT_SYMBOL
    balances = _parse_balances(raw.get("balances", DEFAULT_BALANCES), source, f"{prefix}balances")
    recordings = _parse_recordings(raw.get("recordings", []), source, base_dir, f"{prefix}recordings")
    if venue["kind"] == "replay" and not recordings:
        raise ConfigError(source, f"{prefix}recordings", "a replay venue needs at least one recording file")
    overrides = parse_instrument(raw.get("instrument"), source, f"{prefix}instrument.")
    return MarketBinding(role, venue, symbol, symbol_given, balances, recordings, overrides, prefix)


def parse_markets(raw: Any, source: str, base_dir: Path | None, strategy: str,
                  roles: "tuple[MarketRole, ...]") -> dict[str, MarketBinding]:
    """The `markets:` section against the strategy's roles, in the strategy's role order."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(source, "markets", f"expected a mapping of role to market, e.g. "
                                             f"{{{', '.join(r.name + ': {venue: ..., symbol: ...}' for r in roles)}}}")
    known = {r.name: r for r in roles}
    for key in raw:
        if key not in known:
            raise ConfigError(source, f"markets.{key}", f"{strategy} has no market role {show(key)} "
                                                        f"(its roles: {_role_list(roles)})")
    for role in roles:
        if role.name not in raw and not role.optional:
            raise ConfigError(source, f"markets.{role.name}", f"is required: {strategy} trades a {role.title.lower()} "
                                                              f"market ({role.help or role.name})")
    bindings = {r.name: parse_market(raw[r.name], r.name, source, base_dir) for r in roles if r.name in raw}
    check_bindings(bindings, source)
    return bindings


def check_bindings(bindings: dict[str, MarketBinding], source: str) -> None:
    """No market twice; `follow` names another bound role of a demo venue, without a cycle."""
    seen: dict[tuple, str] = {}
    for role, binding in bindings.items():
        key = binding.market_key()
        if key in seen:
            what = binding.symbol if binding.symbol_given or key[1] else "its market"
            raise ConfigError(source, f"markets.{role}", f"the same venue and symbol ({what}) as markets.{seen[key]}: "
                                                         "a bot trades each market in one role only")
        seen[key] = role
        follow = binding.follow
        if follow is None:
            continue
        where = f"markets.{role}.venue.follow"
        if binding.venue["kind"] != "demo":
            raise ConfigError(source, where, f"only a demo venue can follow another market, not {binding.venue['kind']}")
        if follow == role:
            raise ConfigError(source, where, "a market cannot follow itself")
        if follow not in bindings:
            raise ConfigError(source, where, f"{show(follow)} is not a market of this config "
                                             f"(its markets: {', '.join(bindings)})")
    for role in bindings:
        chain = [role]
        while (nxt := bindings[chain[-1]].follow) is not None:
            if nxt in chain:
                raise ConfigError(source, f"markets.{role}.venue.follow",
                                  f"the markets follow each other in a circle ({' -> '.join(chain + [nxt])})")
            chain.append(nxt)


def build_order(bindings: dict[str, MarketBinding]) -> list[str]:
    """Roles in the order their venues are built and started: a followed market first."""
    order: list[str] = []

    def visit(role: str) -> None:
        if role in order:
            return
        follow = bindings[role].follow
        if follow is not None:
            visit(follow)
        order.append(role)

    for role in bindings:
        visit(role)
    return order


def parse_conversion(raw: Any, source: str) -> dict[str, Decimal]:
    """`conversion: {USDC: 1.0}`: what one unit of an asset is worth in the valuation asset
    (the first market's PnL asset), for markets whose PnL is in another asset."""
    from app.config.bot_config import _asset

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(source, "conversion", "expected a mapping of asset to its value in the valuation asset, "
                                                "e.g. {USDC: 1.0}")
    out: dict[str, Decimal] = {}
    for asset, rate in raw.items():
        code = _asset(asset, source, f"conversion.{asset}")
        out[code] = Field(str(asset), "decimal", minimum=0, exclusive_minimum=True).coerce(rate, source, "conversion.")
    return out


def _role_list(roles: "tuple[MarketRole, ...]") -> str:
    return ", ".join(r.name + (" (optional)" if r.optional else "") for r in roles)
