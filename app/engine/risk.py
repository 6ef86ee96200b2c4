"""The `risk:` section of a bot: its limits, one Schema for the YAML config, the desktop
form and live edits.

Every limit is off unless given. Two kinds (app/engine/risk_guard.py enforces them):

* per order, checked just before an order would leave (OwnOrders' pre-send check):
  `max_order_size`, `max_open_orders`, `max_order_rate`, and `max_inventory` (spot) or
  `max_position` (derivatives), which a fill of the order could exceed. Such an order is
  refused with the reason, counted and journaled, never sent.
* on PnL, checked after each fill and every second at the mark: the kill switch
  (`kill_switch_loss_pct`, `kill_switch_profit_pct` of the starting value) and
  `max_daily_loss`. A breach stops the bot the normal way, saying why.

`flatten_on_stop` closes the bot's inventory or position whenever it stops (the headless
form of the desktop's Flatten button), within `flatten_slippage_bps` of the touch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.config.schema import ConfigError, Field, Schema
from app.domain import Instrument

if TYPE_CHECKING:
    from app.engine.journal.store import JournalStore

RISK_SCHEMA = Schema(
    (
        Field("kill_switch_loss_pct", "decimal", minimum=0, exclusive_minimum=True, maximum=100, unit="%",
              help="Stop the bot when its PnL falls below minus this share of its starting value (spot: the "
                   "account's quote plus base at the mark when it started; derivatives: the settlement "
                   "asset's wallet). Off when empty."),
        Field("kill_switch_profit_pct", "decimal", minimum=0, exclusive_minimum=True, maximum=100000, unit="%",
              help="Stop the bot (take the profit) when its PnL rises above this share of its starting value. "
                   "Off when empty."),
        Field("max_daily_loss", "decimal", minimum=0, exclusive_minimum=True, unit="PnL asset",
              help="Stop the bot when it loses more than this within one UTC day of its clock (in the PnL "
                   "asset: the quote for spot, the settlement asset for derivatives). Off when empty."),
        Field("max_inventory", "decimal", minimum=0, exclusive_minimum=True, unit="base",
              help="Spot: refuse an order whose fill (with the bot's other orders on that side) could move the "
                   "bot's inventory further than this from where it started. Off when empty."),
        Field("max_position", "decimal", minimum=0, exclusive_minimum=True, unit="contracts",
              help="Derivatives: refuse an order whose fill (with the bot's other orders on that side) could "
                   "take the bot's position beyond this many contracts either way. Off when empty."),
        Field("max_order_size", "decimal", minimum=0, exclusive_minimum=True, unit="base",
              help="Refuse any order larger than this (contracts on derivatives). Off when empty."),
        Field("max_open_orders", "int", minimum=1, maximum=100000,
              help="Refuse a new order while the bot has this many open (orders whose cancel is on its way "
                   "are not counted). Off when empty."),
        Field("max_order_rate", "float", minimum=0, exclusive_minimum=True, maximum=100000, unit="orders/s",
              help="Refuse orders beyond this rate over the sliding window order_rate_window_seconds. "
                   "Off when empty."),
        Field("order_rate_window_seconds", "float", 1.0, minimum=0.001, maximum=3600, unit="s",
              help="The sliding window max_order_rate is counted over: at most rate x window orders in any "
                   "such window."),
        Field("flatten_on_stop", "bool", False,
              help="Whenever the bot stops (the end of a run, Ctrl-C, a risk breach, a failure), close its "
                   "inventory (spot) or position (derivatives) after its orders are cancelled."),
        Field("flatten_slippage_bps", "decimal", Decimal(50), minimum=0, maximum=2000, unit="bp",
              help="Flatten: the worst price accepted, this far beyond the best bid (selling) or ask (buying); "
                   "what cannot trade within it is left and reported."),
    )
)

PER_ORDER = ("max_order_size", "max_open_orders", "max_order_rate", "max_inventory", "max_position")
ON_PNL = ("kill_switch_loss_pct", "kill_switch_profit_pct", "max_daily_loss")


@dataclass(frozen=True)
class RiskLimits:
    """Validated limits (Schema field names; an absent limit is off) and where they came
    from, so a limit that does not suit the market is reported against the right file."""

    values: dict[str, Any] = field(default_factory=lambda: RISK_SCHEMA.validate({}))
    source: str = ""

    def get(self, name: str) -> Any:
        return self.values.get(name)

    @property
    def any_per_order(self) -> bool:
        return any(self.values.get(name) is not None for name in PER_ORDER)

    @property
    def any_on_pnl(self) -> bool:
        return any(self.values.get(name) is not None for name in ON_PNL)

    @property
    def rate_count(self) -> int:
        """Orders allowed in one window (0: no rate limit)."""
        rate = self.values.get("max_order_rate")
        return 0 if rate is None else int(rate * self.values["order_rate_window_seconds"] + 1e-9)

    def given(self) -> dict[str, str]:
        """The limits in force as text (the journal, the report); defaults of the flatten
        settings only when flattening on stop."""
        shown = {k: v for k, v in self.values.items() if k in PER_ORDER + ON_PNL}
        if shown.get("max_order_rate") is not None:
            shown["order_rate_window_seconds"] = self.values["order_rate_window_seconds"]
        if self.values.get("flatten_on_stop"):
            shown["flatten_on_stop"] = True
        shown["flatten_slippage_bps"] = self.values["flatten_slippage_bps"]
        return {k: str(v) for k, v in shown.items()}

    def check_market(self, instrument: Instrument, prefix: str = "risk.") -> None:
        """ConfigError for a limit of the other market family (inventory is spot's,
        position is derivatives')."""
        if instrument.is_derivative and self.values.get("max_inventory") is not None:
            raise ConfigError(self.source, f"{prefix}max_inventory",
                              f"{instrument.symbol} is a {instrument.kind} perpetual: limit it with max_position "
                              "(contracts)")
        if not instrument.is_derivative and self.values.get("max_position") is not None:
            raise ConfigError(self.source, f"{prefix}max_position",
                              f"{instrument.symbol} is a spot market: limit it with max_inventory (base)")


def parse_risk(raw: Any, source: str, prefix: str = "risk.") -> RiskLimits:
    """The `risk:` section (None or empty: every limit off); ConfigError names the field."""
    values = RISK_SCHEMA.validate(raw, source, prefix)
    _check_together(values, source, prefix)
    return RiskLimits(values, source)


def with_changes(limits: RiskLimits, changes: dict[str, Any], source: str = "live edit") -> RiskLimits:
    """`limits` with a live edit applied, checked by the same schema: a value of None (or
    empty text) turns a limit off (a setting with a default goes back to it)."""
    specs = RISK_SCHEMA.by_name()
    values = dict(limits.values)
    given = {k: v for k, v in changes.items() if not _blank(v)}
    values.update(RISK_SCHEMA.validate_changes(given, source))
    for key in (k for k, v in changes.items() if _blank(v)):
        if key not in specs:
            raise ConfigError(source, str(key), "unknown parameter")
        values.pop(key, None)
        if specs[key].default is not None:
            values[key] = specs[key].default
    _check_together(values, source, "")
    return RiskLimits(values, limits.source)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_together(values: dict[str, Any], source: str, prefix: str) -> None:
    rate = values.get("max_order_rate")
    window = values["order_rate_window_seconds"]
    if rate is not None and rate * window + 1e-9 < 1:
        raise ConfigError(source, f"{prefix}max_order_rate",
                          f"{rate:g} orders/s over a window of {window:g} s allows no order at all "
                          f"(at least {1 / window:g} orders/s, or a longer order_rate_window_seconds)")


def journaled_risk(store: "JournalStore", bot: str) -> dict[str, Any] | None:
    """The risk limits `bot` last started with, from its journal's `start` record (a
    resumed bot keeps its limits); None if it had none journaled."""
    row = store._conn.execute("SELECT data FROM records WHERE bot = ? AND kind = 'start' ORDER BY id DESC LIMIT 1",
                              (bot,)).fetchone()
    risk = json.loads(row[0]).get("risk") if row is not None else None
    if not isinstance(risk, dict):
        return None
    return {k: {"True": True, "False": False}.get(v, v) for k, v in risk.items()}
