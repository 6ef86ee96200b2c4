"""Exact price and amount conversions the execution strategies share (grid, twap, dca).

Percentages and basis points become integer fractions of 1e8 (`strategies.quoting`), and
prices stay integer ticks, so a take-profit or an offset is one integer multiplication
and division, rounded in the direction that keeps the promise: a take-profit never below
the percentage asked, a buy never above its limit.
"""
from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from app.domain import Instrument
from strategies.quoting import UNITS


def scale_ratio(numerator: int, denominator: int, units: int, *, up: bool) -> int:
    """(numerator / denominator) x (1 + units / 1e8) in whole ticks, rounded up or down:
    a price given as an exact ratio (an average entry: cost / lots) moved by a fraction."""
    value = numerator * (UNITS + units)
    whole = denominator * UNITS
    return -(-value // whole) if up else value // whole


def offset_ticks(ticks: int, units: int, *, up: bool) -> int:
    """`ticks` moved by a fraction (`units` of 1e-8) up or down, by at least that much."""
    distance = -(-ticks * units // UNITS)
    return ticks + distance if up else ticks - distance


def lots_for_value(instrument: Instrument, ticks: int, value: Decimal) -> int:
    """The whole lots an order worth `value` quote is at `ticks` (rounded down).

    Spot and linear markets: value / (price x lot x contract size); an inverse contract is
    worth `contract_size` quote whatever the price."""
    if ticks <= 0 or value <= 0:
        return 0
    if instrument.is_inverse:
        per_lot = instrument.lot_size * instrument.contract_size
    else:
        per_lot = instrument.tick_size * ticks * instrument.lot_size * instrument.contract_size
    return int((value / per_lot).to_integral_value(rounding=ROUND_FLOOR))
