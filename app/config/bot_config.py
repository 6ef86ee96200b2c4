"""The bot configuration file (YAML): venue, account balances, market and strategy.

An invalid file never starts a bot: every error names the file, the field and the reason
(and the line, for YAML syntax errors).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from app.markets.registry import OVERRIDE_FIELDS
from app.config.schema import INT64_MAX, ConfigError, Field, Schema, show
from app.engine.risk import RiskLimits, parse_risk
from strategies.registry import STRATEGIES
from strategies.user_files import ensure_loaded, strategy_file_of

VENUE_SCHEMA = Schema(
    (
        Field("kind", "choice", "demo", choices=("demo", "replay", "ccxt"),
              help="demo: the embedded simulated exchange; replay: a recorded market with paper trading; "
                   "ccxt: a live exchange account (see exchange_account)."),
        Field("exchange_account", "str",
              help="ccxt: the saved account to trade with (python main.py keys list); its keys stay in the "
                   "OS keyring."),
        Field("websocket_orders", "bool", False,
              help="ccxt: place and cancel over the exchange's websocket API where ccxt has it (else REST)."),
        Field("order_rate", "float", 10.0, minimum=0.1, maximum=1000, unit="orders/s",
              help="ccxt: our own budget of orders per second for this account (bursts of twice that); "
                   "orders beyond it are refused with the reason."),
        Field("account", "choice", "exchange", choices=("exchange", "paper"),
              help="demo only: trade on the demo exchange itself, or paper-trade against its feed."),
        Field("seed", "int", 7, minimum=0, maximum=INT64_MAX,
              help="demo: seed of the synthetic order flow (same seed, same market)."),
        Field("step_ms", "int", 20, minimum=1, maximum=1000, unit="ms",
              help="demo: how often the simulated market is advanced and published."),
        Field("speed", "float", 1.0, minimum=0.01, maximum=10000,
              help="replay: playback speed in real time (1 = as recorded)."),
        Field("latency_ms", "float", 20.0, minimum=0, maximum=60000, unit="ms",
              help="paper: delay before an order or cancel reaches the simulated venue."),
        Field("leverage", "decimal", Decimal(10), minimum=1, maximum=125, unit="x",
              help="perpetuals: initial margin = order or position value / leverage."),
        Field("funding_rate", "decimal", minimum=Decimal("-0.05"), maximum=Decimal("0.05"),
              help="perpetuals: funding rate per 8 h paid at 00:00, 08:00 and 16:00 UTC (0.0001 = 0.01%); "
                   "a recording's markPrice stream gives the rates itself."),
        Field("follow", "str",
              help="demo, in a markets: section: the role whose market this demo exchange's prices follow "
                   "(with lag_ms and noise_bps), for cross-market strategies offline."),
        Field("lag_ms", "float", minimum=0, maximum=600_000, unit="ms",
              help="demo follower: how far its prices lag the followed market's (default 250 ms)."),
        Field("noise_bps", "float", minimum=0, maximum=1000, unit="bps",
              help="demo follower: standard deviation of the slowly wandering gap between its price and the "
                   "followed market's (default 1 bps; 10 s mean reversion)."),
    )
)

_FEE_HELP = "a fraction of the notional: 0.001 = 0.1%; negative for a rebate (at least -0.01)"
INSTRUMENT_SCHEMA = Schema(
    (
        Field("tick", "decimal", minimum=0, exclusive_minimum=True, help="Price step (tick size)."),
        Field("lot", "decimal", minimum=0, exclusive_minimum=True,
              help="Amount step (lot size); in contracts for derivatives."),
        Field("min_notional", "decimal", minimum=0,
              help="Smallest order value, in the settlement asset (quote for spot)."),
        Field("contract_size", "decimal", minimum=0, exclusive_minimum=True,
              help="Derivatives: what one contract is worth (1 for spot and USD-M)."),
        Field("maker_fee", "decimal", minimum=Decimal("-0.01"), maximum=Decimal("0.1"), help="Maker fee, " + _FEE_HELP),
        Field("taker_fee", "decimal", minimum=Decimal("-0.01"), maximum=Decimal("0.1"), help="Taker fee, " + _FEE_HELP),
        Field("kind", "choice", choices=("spot", "linear", "inverse"),
              help="spot; linear: a perpetual settled in the quote asset; inverse: settled in the base asset."),
        Field("base", "str", help="Base asset (BTC in BTC/USDT)."),
        Field("quote", "str", help="Quote asset (USDT in BTC/USDT)."),
        Field("settle", "str", help="Derivatives: the settlement asset, if not the usual one."),
    )
)
"""The `instrument:` section: the market's rules when the venue does not know them or the
user wants others. Only the given keys are kept; what consumes them (CLI flags, then this
section, then the exchange's metadata, then what a recording implies) is the registry's."""

INSTRUMENT_FIELDS = OVERRIDE_FIELDS
"""Config key -> app.domain.instrument.Instrument field name (the registry's one table)."""


def parse_instrument(raw: Any, source: str, prefix: str = "instrument.") -> dict[str, Any]:
    """The validated `instrument:` section as Instrument field names (only the keys given)."""
    if raw is None:
        return {}
    values = INSTRUMENT_SCHEMA.validate(raw, source, prefix)
    for key in ("base", "quote", "settle"):
        if key in values:
            values[key] = _asset(values[key], source, f"{prefix}{key}")
    if values.get("kind") == "spot" and "settle" in values:
        raise ConfigError(source, f"{prefix}settle", "a spot market has no settlement asset (only linear or inverse)")
    return {INSTRUMENT_FIELDS[key]: value for key, value in values.items()}


def _asset(raw: Any, source: str, path: str) -> str:
    text = str(raw).strip().upper()
    if not (1 <= len(text) <= 20 and text.isascii() and text.isalnum()):
        raise ConfigError(source, path, f"expected an asset code such as BTC or USDT, got {show(raw)}")
    return text


DEFAULT_BALANCES = {"USDT": Decimal("10000"), "BTC": Decimal("0.2")}


@dataclass
class BotConfig:
    source: str = "<defaults>"
    venue: dict[str, Any] = field(default_factory=lambda: VENUE_SCHEMA.validate({}))
    recordings: list[Path] = field(default_factory=list)
    balances: dict[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_BALANCES))
    symbol: str = "BTC/USDT"
    strategy: str = "simple_quoter"
    params: dict[str, Any] = field(default_factory=dict)
    name: str = "bot-1"
    symbol_given: bool = False  # False: trade the venue's or the recording's own market
    instrument_overrides: dict[str, Any] = field(default_factory=dict)
    """Market rules given by the user (`instrument:` section, then command-line flags), as
    Instrument field names: tick_size, lot_size, min_notional, contract_size, maker_fee,
    taker_fee, kind, base, quote, settle. Only what was given."""
    risk: RiskLimits = field(default_factory=RiskLimits)  # the `risk:` section (app/engine/risk.py)
    markets: dict[str, Any] = field(default_factory=dict)
    """The `markets:` section (app/config/roles.py: role -> MarketBinding), empty for a
    single-market config; then the top-level venue, symbol and balances bind the first role.
    With it, the top-level fields above are the first role's (same objects)."""
    conversion: dict[str, Decimal] = field(default_factory=dict)
    """`conversion:` what one unit of an asset is worth in the valuation asset (the first
    market's PnL asset), for markets valued in another asset with no market on the bot to
    convert it."""

    strategy_file: Path | None = None
    """The user strategy file defining `strategy` (strategies/user_files.py), None for a
    built-in: a worker process (backtest panel, sweeps) loads it from this path, since
    classes do not travel between processes."""

    def strategy_class(self):
        """The strategy's class; its file is (re)loaded here first if this process does
        not have it as it is now. ConfigError for an unknown name or a broken file."""
        if self.strategy_file is not None:
            ensure_loaded(self.strategy_file)
        cls = STRATEGIES.get(self.strategy)
        if cls is None:
            raise ConfigError(self.source, "strategy.name", _unknown(self.strategy))
        return cls

    def build_strategy(self):
        return self.strategy_class()(self.params, source=self.source)

    def bindings(self) -> dict[str, Any]:
        """Every bound role's market (app/config/roles.py MarketBinding), in the strategy's
        role order: the `markets:` section, or the top-level fields as the first role."""
        if self.markets:
            return dict(self.markets)
        from app.config.roles import MarketBinding

        cls = STRATEGIES.get(self.strategy)
        role = cls.roles[0].name if cls is not None else "market"
        return {role: MarketBinding(role, self.venue, self.symbol, self.symbol_given, self.balances,
                                    self.recordings, self.instrument_overrides, "")}


_TOP_LEVEL = ("name", "venue", "recordings", "balances", "symbol", "instrument", "markets", "conversion", "strategy",
              "risk")


def parse_config(data: Any, source: str, base_dir: Path | None = None) -> BotConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"the file must hold a mapping of settings (name: value), not {show(data)}")
    unknown = sorted(set(data) - set(_TOP_LEVEL), key=str)
    if unknown:
        raise ConfigError(source, unknown[0], f"unknown section (known: {', '.join(_TOP_LEVEL)})")
    cfg = BotConfig(source=source)
    if "name" in data:
        cfg.name = Field("name", "str").coerce(data["name"], source)
    if "markets" in data:
        cfg.risk = parse_risk(data.get("risk"), source)
        _parse_strategy(cfg, data, source, base_dir)
        return _with_markets(cfg, data, source, base_dir)
    cfg.venue = VENUE_SCHEMA.validate(data.get("venue"), source, "venue.")
    _single_market_venue(cfg.venue, source)
    cfg.balances = _parse_balances(data.get("balances", DEFAULT_BALANCES), source)
    if "symbol" in data:
        cfg.symbol = Field("symbol", "str").coerce(data["symbol"], source)
        cfg.symbol_given = True
    cfg.recordings = _parse_recordings(data.get("recordings", []), source, base_dir)
    if cfg.venue["kind"] == "replay" and not cfg.recordings:
        raise ConfigError(source, "recordings", "a replay venue needs at least one recording file")
    cfg.instrument_overrides = parse_instrument(data.get("instrument"), source)
    cfg.risk = parse_risk(data.get("risk"), source)
    _parse_strategy(cfg, data, source, base_dir)
    roles = cfg.strategy_class().roles
    required = [r.name for r in roles[1:] if not r.optional]
    if required:
        raise ConfigError(source, "markets", f"{cfg.strategy} trades several markets ({', '.join(r.name for r in roles)}): "
                                             "bind each in a markets: section (see docs/user-guide.md)")
    from app.config.roles import parse_conversion

    cfg.conversion = parse_conversion(data.get("conversion"), source)
    return cfg


def _single_market_venue(venue: dict[str, Any], source: str) -> None:
    for key in ("follow", "lag_ms", "noise_bps"):
        if key in venue:
            raise ConfigError(source, f"venue.{key}", "a venue follows another market only in a markets: section "
                                                      "(markets.<role>.venue.follow)")


def _with_markets(cfg: BotConfig, data: dict[str, Any], source: str, base_dir: Path | None) -> BotConfig:
    """A config with a `markets:` section: the roles' markets; the top-level market fields
    become the first role's (for the readers that know one market)."""
    from app.config.roles import parse_conversion, parse_markets

    beside = [key for key in ("venue", "symbol", "balances", "recordings", "instrument") if key in data]
    if beside:
        raise ConfigError(source, beside[0], "with a markets: section each market has its own "
                                             f"{beside[0]} (markets.<role>.{beside[0]})")
    cfg.markets = parse_markets(data["markets"], source, base_dir, cfg.strategy, cfg.strategy_class().roles)
    for role, binding in cfg.markets.items():
        for key in ("lag_ms", "noise_bps"):
            if key in binding.venue and binding.follow is None:
                raise ConfigError(source, f"markets.{role}.venue.{key}", "only a follower (venue.follow) has a "
                                                                         f"{key.split('_')[0]}")
    if len(cfg.markets) > 1:
        _single_market_risk(cfg.risk, source)
    first = next(iter(cfg.markets.values()))
    cfg.venue, cfg.symbol, cfg.symbol_given = first.venue, first.symbol, first.symbol_given
    cfg.balances, cfg.recordings, cfg.instrument_overrides = first.balances, first.recordings, first.instrument_overrides
    cfg.conversion = parse_conversion(data.get("conversion"), source)
    return cfg


def _single_market_risk(risk: RiskLimits, source: str) -> None:
    """Per-order limits and flatten act on one market: on a bot whose markets hedge each
    other they would refuse or close one leg and leave the other open. Refused here; the PnL
    limits (kill switch, daily loss) apply to the bot's total and are allowed."""
    from app.engine.risk import PER_ORDER

    for name in (*PER_ORDER, "flatten_on_stop"):
        if risk.get(name):
            raise ConfigError(source, f"risk.{name}", "applies to one market, and this bot trades several (its "
                                                      "markets hedge each other); use kill_switch_loss_pct, "
                                                      "kill_switch_profit_pct or max_daily_loss")


def _parse_strategy(cfg: BotConfig, data: dict[str, Any], source: str, base_dir: Path | None) -> None:
    strategy = data.get("strategy")
    if strategy is None:
        strategy = {}
    if not isinstance(strategy, dict):
        raise ConfigError(source, "strategy", f"expected a mapping with 'name' and 'params', got {show(strategy)}")
    extra = sorted(set(strategy) - {"name", "params", "file"}, key=str)
    if extra:
        raise ConfigError(source, f"strategy.{extra[0]}", "unknown field (known: name, params, file)")
    if "name" in strategy:
        cfg.strategy = Field("name", "str").coerce(strategy["name"], source, "strategy.")
    if "file" in strategy:
        _strategy_from_file(cfg, strategy["file"], "name" in strategy, base_dir)
    elif cfg.strategy not in STRATEGIES:
        raise ConfigError(source, "strategy.name", _unknown(cfg.strategy))
    else:
        cfg.strategy_file = strategy_file_of(cfg.strategy)
    cfg.params = cfg.strategy_class().schema.validate(strategy.get("params"), source, "strategy.params.")


def _unknown(name: str) -> str:
    return (f"unknown strategy {name!r} (known: {', '.join(STRATEGIES)}; a strategy of your own: strategy.file "
            "in the config, --strategy-file, or a file in the strategies folder)")


def _strategy_from_file(cfg: BotConfig, raw: Any, named: bool, base_dir: Path | None) -> None:
    """`strategy.file`: a user strategy file (relative to the config's folder), loaded
    now; `strategy.name` may be left out when the file defines one strategy."""
    text = Field("file", "str").coerce(raw, cfg.source, "strategy.")
    try:
        path = Path(text).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        found = path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:
        raise ConfigError(cfg.source, "strategy.file", f"not a usable file path {show(text)}: {exc}") from None
    if not found:
        raise ConfigError(cfg.source, "strategy.file", f"file not found: {path}")
    loaded = ensure_loaded(path)  # StrategyFileError: the file and line
    if not named:
        if len(loaded.names) > 1:
            raise ConfigError(cfg.source, "strategy.name", f"{path.name} defines several strategies "
                                                           f"({', '.join(loaded.names)}): say which")
        cfg.strategy = loaded.names[0]
    elif cfg.strategy not in loaded.names:
        raise ConfigError(cfg.source, "strategy.name", f"{cfg.strategy!r} is not defined in {path} "
                                                       f"(it defines: {', '.join(loaded.names)})")
    cfg.strategy_file = loaded.path


def _parse_balances(raw: Any, source: str, where: str = "balances") -> dict[str, Decimal]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(source, where, "expected a mapping of asset to amount, e.g. {USDT: 10000, BTC: 0.2}")
    out = {}
    for asset, amount in raw.items():
        if not isinstance(asset, str):
            raise ConfigError(source, f"{where}.{asset}", f"expected an asset code such as BTC or USDT, got {show(asset)}")
        code = _asset(asset, source, f"{where}.{asset}")
        value = Field(str(asset), "decimal", minimum=0).coerce(amount, source, f"{where}.")
        if code in out:
            raise ConfigError(source, f"{where}.{asset}", f"{code} is given twice")
        out[code] = value
    return out


def _parse_recordings(raw: Any, source: str, base_dir: Path | None, where: str = "recordings") -> list[Path]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(source, where, "expected a list of file paths")
    paths = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(source, f"{where}[{i}]", f"expected a file path, got {item!r}")
        try:
            path = Path(item).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            found = path.is_file()
        except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name too long, ~nobody
            raise ConfigError(source, f"{where}[{i}]", f"not a usable file path {show(item)}: {exc}") from None
        if not found:
            raise ConfigError(source, f"{where}[{i}]", f"file not found: {path}")
        paths.append(path)
    return paths


def load_config(path: str | Path) -> BotConfig:
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "", f"cannot read the file: {exc}") from None
    if not text.strip():
        raise ConfigError(source, "", "the file is empty (expected settings such as venue:, balances:, strategy:)")
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, "", f"invalid YAML: {where}{problem}") from None
    except RecursionError:
        raise ConfigError(source, "", "invalid YAML: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more than 4300 digits
        raise ConfigError(source, "", f"invalid YAML: {exc}") from None
    if data is None:
        raise ConfigError(source, "", "the file is empty: it holds only comments (expected settings such as "
                                      "venue:, balances:, strategy:)")
    return parse_config(data, source, path.parent)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults`: keys given next to it override the merged ones
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # unhashable: the base class reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"the key {show(key)} is given twice (first on line {seen[key].line + 1})",
                        key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)
