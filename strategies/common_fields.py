"""Schema fields that several strategies declare: built in one place, so a range, a unit or
a type is the same wherever the parameter means the same thing.

Each builder fixes what the strategies agree on (kind, range, unit) and takes what they
do not as arguments: the parameter's name where strategies spell it differently, its
default, and the help text, which says what the parameter does in that strategy. The
defaults of the arguments are the values most strategies use.
"""
from __future__ import annotations

from decimal import Decimal

from app.config.schema import Field


def order_amount(help: str, *, unit: str = "base") -> Field:
    """The size of each order (0.002 by default), in the base asset or in contracts."""
    return Field("order_amount", "decimal", Decimal("0.002"), minimum=0, exclusive_minimum=True, unit=unit,
                 help=help)


def bps(name: str, default: Decimal | int | None, help: str, *, maximum: int = 5000, unit: str = "bp",
        required: bool = False) -> Field:
    """A distance in basis points (1 bp = 0.01%), from 0 up to `maximum`."""
    value = Decimal(default) if default is not None else None
    return Field(name, "decimal", value, minimum=0, maximum=maximum, unit=unit, help=help, required=required)


def order_levels(help: str = "Orders per side.") -> Field:
    return Field("order_levels", "int", 1, minimum=1, maximum=20, unit="levels", help=help)


def level_step_bps() -> Field:
    return bps("level_step_bps", 2, "Extra distance from the mid for each further level.")


def refresh_time(name: str = "order_refresh_time", default: float = 30.0, *, minimum: float = 0.1,
                 help: str = "Orders older than this are replaced even if their price is still right.") -> Field:
    """How long an order may rest before it is replaced (seconds, up to a day)."""
    return Field(name, "float", default, minimum=minimum, maximum=86400, unit="s", help=help)


def refresh_tolerance_bps(name: str = "order_refresh_tolerance_bps", *,
                          help: str = "An order is kept while the wanted price is within this distance "
                                      "of its own.") -> Field:
    """How far (1 bp by default) the wanted price may move before a resting order is replaced."""
    return bps(name, 1, help, maximum=1000)


def filled_order_delay(name: str = "filled_order_delay", default: float = 1.0, *, maximum: float = 3600,
                       help: str = "Pause before quoting again after a fill.") -> Field:
    return Field(name, "float", default, minimum=0, maximum=maximum, unit="s", help=help)


def inventory_target_base_pct(help: str = "Wanted share of the portfolio value held in the base asset.") -> Field:
    return Field("inventory_target_base_pct", "decimal", Decimal("50"), minimum=0, maximum=100, unit="%", help=help)


def hanging_orders_enabled(help: str) -> Field:
    return Field("hanging_orders_enabled", "bool", False, help=help)


def hanging_orders_cancel_pct(help: str) -> Field:
    """How far (10% by default) a hanging order may drift before it is cancelled."""
    return Field("hanging_orders_cancel_pct", "decimal", Decimal("10"), minimum=0, exclusive_minimum=True,
                 maximum=100, unit="%", help=help)


def post_only(help: str = "Place limit-maker orders, kept one tick off the other side of the book.") -> Field:
    return Field("post_only", "bool", True, help=help)


def conversion_rate(name: str, unit: str, help: str) -> Field:
    """A constant rate between two markets' assets (1 by default: the same asset)."""
    return Field(name, "decimal", Decimal("1"), minimum=0, exclusive_minimum=True, unit=unit, help=help)
