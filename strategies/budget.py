"""How much of an order an account can pay for, when not all of it.

An execution strategy (a TWAP slice, a position's exit) would rather send the part it
can pay for than nothing. The cost rule itself is `strategies.quoting.spend_if_affordable`
(the one every strategy uses), so this only searches the largest affordable size with it.
"""
from __future__ import annotations

from decimal import Decimal

from app.domain import Instrument, Side
from strategies.quoting import spend_if_affordable


def affordable_lots(inst: Instrument, side: Side, price_ticks: int, lots: int, budget: dict[str, Decimal]) -> int:
    """The most lots, at most `lots`, that `budget` pays for (their cost is taken off it);
    0 when not even one lot is affordable."""
    if lots <= 0:
        return 0
    if spend_if_affordable(inst, side, price_ticks, lots, budget):
        return lots
    low, high = 0, lots  # low is affordable, high is not
    while high - low > 1:
        middle = (low + high) // 2
        if spend_if_affordable(inst, side, price_ticks, middle, dict(budget)):
            low = middle
        else:
            high = middle
    if low:
        spend_if_affordable(inst, side, price_ticks, low, budget)
    return low
