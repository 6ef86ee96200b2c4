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

from app.config.schema import ConfigError, Field, Schema
from strategies.registry import STRATEGIES

VENUE_SCHEMA = Schema(
    (
        Field("kind", "choice", "demo", choices=("demo", "replay"),
              help="demo: the embedded simulated exchange; replay: a recorded market with paper trading."),
        Field("account", "choice", "exchange", choices=("exchange", "paper"),
              help="demo only: trade on the demo exchange itself, or paper-trade against its feed."),
        Field("seed", "int", 7, minimum=0, help="demo: seed of the synthetic order flow (same seed, same market)."),
        Field("step_ms", "int", 20, minimum=1, maximum=1000, unit="ms",
              help="demo: how often the simulated market is advanced and published."),
        Field("speed", "float", 1.0, minimum=0.01, maximum=10000,
              help="replay: playback speed in real time (1 = as recorded)."),
        Field("latency_ms", "float", 20.0, minimum=0, maximum=60000, unit="ms",
              help="paper: delay before an order or cancel reaches the simulated venue."),
    )
)

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

    def build_strategy(self):
        return STRATEGIES[self.strategy](self.params, source=self.source)


_TOP_LEVEL = ("name", "venue", "recordings", "balances", "symbol", "strategy")


def parse_config(data: Any, source: str, base_dir: Path | None = None) -> BotConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "", f"the file must hold a mapping of settings, not {type(data).__name__}")
    unknown = sorted(set(data) - set(_TOP_LEVEL))
    if unknown:
        raise ConfigError(source, unknown[0], f"unknown section (known: {', '.join(_TOP_LEVEL)})")
    cfg = BotConfig(source=source)
    if "name" in data:
        cfg.name = Field("name", "str").coerce(data["name"], source)
    cfg.venue = VENUE_SCHEMA.validate(data.get("venue"), source, "venue.")
    cfg.balances = _parse_balances(data.get("balances", DEFAULT_BALANCES), source)
    if "symbol" in data:
        cfg.symbol = Field("symbol", "str").coerce(data["symbol"], source)
    cfg.recordings = _parse_recordings(data.get("recordings", []), source, base_dir)
    if cfg.venue["kind"] == "replay" and not cfg.recordings:
        raise ConfigError(source, "recordings", "a replay venue needs at least one recording file")
    strategy = data.get("strategy", {}) or {}
    if not isinstance(strategy, dict):
        raise ConfigError(source, "strategy", "expected a mapping with 'name' and 'params'")
    extra = sorted(set(strategy) - {"name", "params"})
    if extra:
        raise ConfigError(source, f"strategy.{extra[0]}", "unknown field (known: name, params)")
    cfg.strategy = strategy.get("name", cfg.strategy)
    if cfg.strategy not in STRATEGIES:
        raise ConfigError(source, "strategy.name", f"unknown strategy {cfg.strategy!r} (known: {', '.join(STRATEGIES)})")
    cfg.params = STRATEGIES[cfg.strategy].schema.validate(strategy.get("params"), source, "strategy.params.")
    return cfg


def _parse_balances(raw: Any, source: str) -> dict[str, Decimal]:
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(source, "balances", "expected a mapping of asset to amount, e.g. {USDT: 10000, BTC: 0.2}")
    out = {}
    for asset, amount in raw.items():
        value = Field(str(asset), "decimal", minimum=0).coerce(amount, source, "balances.")
        out[str(asset).upper()] = value
    return out


def _parse_recordings(raw: Any, source: str, base_dir: Path | None) -> list[Path]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise ConfigError(source, "recordings", "expected a list of file paths")
    paths = []
    for i, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(source, f"recordings[{i}]", f"expected a file path, got {item!r}")
        path = Path(item).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise ConfigError(source, f"recordings[{i}]", f"file not found: {path}")
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
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, "", f"invalid YAML: {where}{problem}") from None
    return parse_config(data, source, path.parent)
